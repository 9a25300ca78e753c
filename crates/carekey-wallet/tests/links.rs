//! SMART Health Links in the wallet (issue 11): what a draft refuses before anything reaches a
//! node, that a failed upload leaves the wallet unchanged, and that erasing a shared record
//! ends the link. (The node and a stock viewer are in tests/tests/e2e/links.rs.)
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use carekey_wallet::{LinkChoice, LinkState, PatientWallet};

mod common;

use common::{patient, NOW};

fn import(w: &mut PatientWallet, dir: &Path, name: &str, body: &str) -> carekey_wallet::RecordId {
    let file = dir.join(name);
    std::fs::write(&file, body).unwrap();
    w.records().import(&file, NOW, &mut |_, _| {}).unwrap()[0].id
}

/// Pins a node on this machine where nothing listens (drafts never call it).
fn pin_a_dead_node(w: &mut PatientWallet) {
    let log = carekey_ledger::note::NoteKey::new(
        "carekey.test/links",
        carekey_crypto::SigningKey::from_bytes(&[3; 32]),
    )
    .unwrap();
    w.ledger()
        .add_node("http://127.0.0.1:9", &log.verifier().to_vkey(), &[], 0)
        .unwrap();
}

const ALLERGY: &str = r#"{"resourceType":"AllergyIntolerance","code":{"text":"Penicillin"}}"#;

#[test]
fn issue11_a_link_draft_refuses_bad_choices_before_any_node() {
    let dir = tempfile::tempdir().unwrap();
    let mut w = patient(dir.path());
    let allergy = import(&mut w, dir.path(), "a.json", ALLERGY);
    let text = import(&mut w, dir.path(), "note.txt", "not FHIR");
    let choice = LinkChoice {
        records: vec![allergy],
        ..LinkChoice::default()
    };
    let code = |w: &mut PatientWallet, c: &LinkChoice| w.links().draft(c, NOW).unwrap_err().code();
    assert_eq!(code(&mut w, &choice), "no_link_node", "no node pinned");
    pin_a_dead_node(&mut w);
    assert_eq!(code(&mut w, &LinkChoice::default()), "empty_share");
    let label = LinkChoice {
        label: Some("x".repeat(81)),
        ..choice.clone()
    };
    assert_eq!(code(&mut w, &label), "bad_label");
    let past = LinkChoice {
        expires_at: Some(NOW),
        ..choice.clone()
    };
    assert_eq!(code(&mut w, &past), "bad_expiry");
    let passcode = LinkChoice {
        passcode: Some(String::new()),
        ..choice.clone()
    };
    assert_eq!(code(&mut w, &passcode), "bad_passcode");
    let attempts = LinkChoice {
        passcode: Some("1234".into()),
        attempts: Some(0),
        ..choice.clone()
    };
    assert_eq!(code(&mut w, &attempts), "bad_passcode");
    let not_fhir = LinkChoice {
        records: vec![text],
        ..choice.clone()
    };
    assert_eq!(code(&mut w, &not_fhir), "not_a_health_record");

    // A good draft: the node it names is down, so nothing is stored and nothing changes.
    let draft = w.links().draft(&choice, NOW).unwrap();
    let err = carekey_wallet::agent::publish_link(&draft).unwrap_err();
    assert_eq!(err.code(), "link_not_stored");
    assert!(
        w.links().list(NOW).is_empty(),
        "a failed upload keeps no link"
    );
}

#[test]
fn issue11_a_committed_link_is_listed_and_ends_when_its_record_is_erased() {
    let dir = tempfile::tempdir().unwrap();
    let mut w = patient(dir.path());
    let allergy = import(&mut w, dir.path(), "a.json", ALLERGY);
    pin_a_dead_node(&mut w);
    let choice = LinkChoice {
        records: vec![allergy],
        label: Some("For the clinic".into()),
        expires_at: Some(NOW + 3600),
        ..LinkChoice::default()
    };
    let draft = w.links().draft(&choice, NOW).unwrap();
    // As if the node had accepted it at this URL.
    let id = draft.id().to_owned();
    let view = w
        .links()
        .commit(draft, &format!("http://127.0.0.1:9/v1/links/{id}"), NOW)
        .unwrap();
    assert_eq!(view.state, LinkState::Active);
    let uri = w.links().uri(&view.id, None).unwrap();
    let payload = carekey_model::shl::ShlPayload::from_uri(&uri).unwrap();
    assert_eq!(payload.url(), format!("http://127.0.0.1:9/v1/links/{id}"));
    assert_eq!(w.links().list(NOW + 3600)[0].state, LinkState::Expired);

    w.erasure().erase_record(&allergy, NOW + 60).unwrap();
    let after = w.links().get(&view.id, NOW + 60).unwrap();
    assert_eq!(
        after.state,
        LinkState::Ending,
        "ended here, the node not yet told"
    );
    assert_eq!(after.ended_at, Some(NOW + 60));
}
