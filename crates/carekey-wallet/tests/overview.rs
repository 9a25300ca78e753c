//! What the patient sees at a glance (issue 10): the home screen's holders and what needs
//! attention, a grant's page, the unseen-access mark, provider directories a patient adds and
//! removes, and the backup rules (due, schedule, a folder on the wallet's own disk).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use carekey_crypto::SigningKey;
use carekey_model::ProviderVerification;
use carekey_wallet::{
    DirectoryDesk, FileStore, GrantState, HolderKind, KdfParams, Passphrase, PatientWallet,
    ProviderWallet, RequestInput, RequestSpec, ShareChoice, DEFAULT_BACKUP_INTERVAL_SECS,
    SCHEDULED_BACKUP_FILE,
};

mod common;

use common::{patient, DAY, NOW};

fn provider(dir: &Path, name: &str) -> ProviderWallet {
    ProviderWallet::create(
        &dir.join(name.replace(' ', "-")),
        name,
        &Passphrase::new("a provider passphrase".into()),
        KdfParams::TEST,
        Box::new(FileStore::new(
            dir.join(format!("{}.device", name.replace(' ', "-"))),
        )),
    )
    .unwrap()
}

/// Imports one FHIR observation and shares it with `provider` for `days` days.
fn share(wallet: &mut PatientWallet, dir: &Path, provider: &mut ProviderWallet, days: u64) {
    let file = dir.join(format!("obs-{days}.json"));
    std::fs::write(
        &file,
        r#"{"resourceType":"Observation","status":"final","code":{"text":"Glucose"},"valueQuantity":{"value":6.3,"unit":"mmol/L"}}"#,
    )
    .unwrap();
    wallet.records().import(&file, NOW, &mut |_, _| {}).unwrap();
    let request = provider
        .request(
            &RequestSpec {
                record_ids: Vec::new(),
                resource_types: vec!["Observation".into()],
                purpose: "follow-up".into(),
                duration_secs: days * DAY,
                nodes: Vec::new(),
                valid_for_secs: 600,
            },
            NOW,
        )
        .unwrap();
    let review = wallet
        .sharing()
        .review_request(RequestInput::Bytes(request.as_bytes()), NOW)
        .unwrap();
    let choice = ShareChoice::everything_asked(&review);
    wallet.sharing().share(&review, &choice, NOW).unwrap();
}

#[test]
fn issue10_home_lists_who_can_see_what_soonest_end_first() {
    let dir = tempfile::tempdir().unwrap();
    let mut wallet = patient(dir.path());
    let home = wallet.overview().home(NOW);
    assert!(home.holders.is_empty(), "nobody has access yet");
    assert_eq!(home.next_expiry, None);
    assert!(home.backup.due, "no backup yet is due");
    assert_eq!(home.unseen_accesses, 0);

    let mut berg = provider(dir.path(), "Dr Berg");
    let mut lab = provider(dir.path(), "Northgate Lab");
    share(&mut wallet, dir.path(), &mut berg, 30);
    share(&mut wallet, dir.path(), &mut lab, 2);
    let home = wallet.overview().home(NOW + 60);
    let who: Vec<&str> = home
        .holders
        .iter()
        .map(|h| h.grant.provider_name.as_str())
        .collect();
    assert_eq!(who, ["Northgate Lab", "Dr Berg"], "soonest end first");
    assert!(home.holders.iter().all(|h| h.kind == HolderKind::Grant));
    assert!(
        home.holders.iter().all(|h| !h.verified),
        "no directory pinned"
    );
    assert!(home.holders.iter().all(|h| h.last_access.is_none()));
    assert_eq!(home.next_expiry, Some(NOW + 2 * DAY));
    assert_eq!(home.expiring_soon, 1, "the lab's two days are within three");

    // Revoked: off the home screen; its page says when it ended.
    let lab_grant = home.holders[0].grant.id;
    wallet.sharing().revoke(&lab_grant, NOW + 120).unwrap();
    let home = wallet.overview().home(NOW + 180);
    assert_eq!(home.holders.len(), 1);
    let page = wallet.overview().grant_page(&lab_grant, NOW + 180).unwrap();
    assert_eq!(page.ended_at, Some(NOW + 120));
    assert_eq!(page.grant.status, GrantState::Revoked);
    assert_eq!(page.records.len(), 2, "both observations were shared");
    assert!(page.accesses.is_empty());
    assert_eq!(page.verification, ProviderVerification::NoTrustedDirectory);
    assert_eq!(
        page.provider_code,
        carekey_model::provider_code(&lab.public_key())
    );
}

#[test]
fn issue10_a_directory_the_patient_adds_verifies_providers_and_can_be_removed() {
    let dir = tempfile::tempdir().unwrap();
    let mut wallet = patient(dir.path());
    let mut berg = provider(dir.path(), "Dr Berg");
    share(&mut wallet, dir.path(), &mut berg, 30);
    let mut desk = DirectoryDesk::create(
        &dir.path().join("desk"),
        "Medical Council",
        &Passphrase::new("a directory passphrase".into()),
        KdfParams::TEST,
        Box::new(FileStore::new(dir.path().join("desk.device"))),
    )
    .unwrap();
    desk.add("Dr Berg", &berg.public_key().to_string()).unwrap();
    let signed = desk.sign(NOW).unwrap();

    // A file with another directory's key is refused, and nothing is pinned.
    let stranger = SigningKey::generate().public().to_string();
    let err = wallet
        .sharing()
        .add_directory(signed.as_bytes(), &stranger)
        .unwrap_err();
    assert_eq!(err.code(), "directory_key_mismatch");
    assert!(wallet.sharing().directories().is_empty());

    let key = desk.public_key().to_string();
    let added = wallet
        .sharing()
        .add_directory(signed.as_bytes(), &key)
        .unwrap();
    assert_eq!(added.name.as_deref(), Some("Medical Council"));
    assert_eq!(added.providers, 1);
    assert_eq!(wallet.sharing().directories(), [added]);
    let home = wallet.overview().home(NOW);
    assert!(home.holders[0].verified, "the council lists Dr Berg");

    wallet.sharing().remove_directory(&key).unwrap();
    assert!(wallet.sharing().directories().is_empty());
    assert!(!wallet.overview().home(NOW).holders[0].verified);
    assert_eq!(
        wallet.sharing().remove_directory(&key).unwrap_err().code(),
        "not_found"
    );
}

#[test]
fn issue10_a_backup_is_due_until_written_and_again_after_the_interval() {
    let dir = tempfile::tempdir().unwrap();
    let mut wallet = patient(dir.path());
    assert!(wallet.backups().state(NOW).due);
    let out = dir.path().join("usb").join("b.ckb");
    std::fs::create_dir_all(out.parent().unwrap()).unwrap();
    wallet.backups().write(&out, NOW).unwrap();
    let state = wallet.backups().state(NOW + DAY);
    assert!(!state.due);
    assert_eq!(state.last.as_ref().map(|(at, _)| *at), Some(NOW));
    let later = NOW + DEFAULT_BACKUP_INTERVAL_SECS;
    assert!(wallet.backups().state(later).due, "30 days on, due again");
}

#[test]
fn issue10_scheduled_backups_run_when_due_and_say_why_they_could_not() {
    let dir = tempfile::tempdir().unwrap();
    let mut wallet = patient(dir.path());
    let folder = dir.path().join("drive");
    // A folder that is not there cannot be scheduled.
    let err = wallet
        .backups()
        .set_schedule(Some((&folder, 7)))
        .unwrap_err();
    assert_eq!(err.code(), "backup_folder_missing");
    std::fs::create_dir_all(&folder).unwrap();
    assert_eq!(
        wallet
            .backups()
            .set_schedule(Some((&folder, 0)))
            .unwrap_err()
            .code(),
        "bad_interval"
    );
    wallet.backups().set_schedule(Some((&folder, 7))).unwrap();

    // Due at once (never written), then not for seven days.
    let written = wallet.backups().run_scheduled(NOW).unwrap().unwrap();
    assert_eq!(written, folder.join(SCHEDULED_BACKUP_FILE));
    assert!(written.is_file());
    assert!(wallet.backups().run_scheduled(NOW + 6 * DAY).is_none());
    let state = wallet.backups().state(NOW + 6 * DAY);
    assert_eq!(state.schedule.as_ref().unwrap().next_at, NOW + 7 * DAY);
    assert!(!state.due);

    // The drive is unplugged when the next one is due: kept as the schedule's problem, and
    // the next run after it is back clears it.
    std::fs::rename(&folder, dir.path().join("elsewhere")).unwrap();
    let err = wallet
        .backups()
        .run_scheduled(NOW + 7 * DAY)
        .unwrap()
        .unwrap_err();
    assert_eq!(err.code(), "backup_folder_missing");
    let problem = wallet
        .backups()
        .state(NOW + 7 * DAY)
        .schedule
        .unwrap()
        .last_problem;
    assert!(problem.unwrap().contains("plugged in"));
    std::fs::rename(dir.path().join("elsewhere"), &folder).unwrap();
    wallet
        .backups()
        .run_scheduled(NOW + 8 * DAY)
        .unwrap()
        .unwrap();
    assert_eq!(
        wallet
            .backups()
            .state(NOW + 8 * DAY)
            .schedule
            .unwrap()
            .last_problem,
        None
    );
    wallet.backups().set_schedule(None).unwrap();
    assert!(wallet.backups().run_scheduled(NOW + 30 * DAY).is_none());
}

#[test]
fn issue10_a_folder_beside_the_wallet_is_on_the_same_disk() {
    let dir = tempfile::tempdir().unwrap();
    let mut wallet = patient(dir.path());
    let beside = dir.path().join("backups");
    std::fs::create_dir_all(&beside).unwrap();
    let place = wallet.backups().place(&beside);
    assert!(place.writable);
    assert!(place.same_disk_as_wallet, "{place:?}");
    let missing = wallet.backups().place(&dir.path().join("not-there"));
    assert!(!missing.writable);
    // /dev/shm is a different file system (tmpfs) from a temp dir on disk, where it exists.
    let shm = Path::new("/dev/shm");
    if shm.is_dir() && !same_fs(shm, dir.path()) {
        assert!(!wallet.backups().place(shm).same_disk_as_wallet);
    }
}

#[cfg(unix)]
fn same_fs(a: &Path, b: &Path) -> bool {
    use std::os::unix::fs::MetadataExt as _;
    std::fs::metadata(a).unwrap().dev() == std::fs::metadata(b).unwrap().dev()
}

#[cfg(not(unix))]
fn same_fs(_a: &Path, _b: &Path) -> bool {
    true
}

/// "Shorten" (issue 10): a grant ends on a date the patient picks, before its signed end. It
/// stays on Home until then, sorted by its new end; at the first sync after that end it is
/// ended here as a revocation at that time (what it shared is re-keyed). It can be shortened
/// once, only to a time between now and its current end, and still be ended now.
#[test]
fn issue10_a_shortened_grant_ends_on_its_new_date() {
    let dir = tempfile::tempdir().unwrap();
    let mut wallet = patient(dir.path());
    let mut berg = provider(dir.path(), "Dr Berg");
    let mut lab = provider(dir.path(), "Northgate Lab");
    share(&mut wallet, dir.path(), &mut berg, 30);
    share(&mut wallet, dir.path(), &mut lab, 10);
    let home = wallet.overview().home(NOW + 60);
    let berg_grant = home.holders[1].grant.id;
    assert_eq!(home.holders[1].grant.provider_name, "Dr Berg");

    // Refused: in the past, at or after the current end.
    for bad in [NOW + 30, NOW + 30 * DAY, NOW + 40 * DAY] {
        let e = wallet
            .sharing()
            .shorten(&berg_grant, bad, NOW + 60)
            .unwrap_err();
        assert_eq!(e.code(), "bad_end", "end at {bad}");
    }
    let out = wallet
        .sharing()
        .shorten(&berg_grant, NOW + 2 * DAY, NOW + 60)
        .unwrap();
    assert_eq!(out.ends_at, NOW + 2 * DAY);
    assert!(out.waiting_for.is_empty(), "no nodes pinned");
    let again = wallet.sharing().shorten(&berg_grant, NOW + DAY, NOW + 90);
    assert_eq!(again.unwrap_err().code(), "already_shortened");

    // Home: Dr Berg now ends first, and soon.
    let home = wallet.overview().home(NOW + 120);
    let who: Vec<&str> = home
        .holders
        .iter()
        .map(|h| h.grant.provider_name.as_str())
        .collect();
    assert_eq!(who, ["Dr Berg", "Northgate Lab"]);
    assert_eq!(home.holders[0].grant.ends_early, Some(NOW + 2 * DAY));
    assert_eq!(home.next_expiry, Some(NOW + 2 * DAY));
    assert_eq!(home.expiring_soon, 1);

    // Past the new end: shown as ended at once, ended here (re-keyed) by the next sync.
    let versions = |w: &mut PatientWallet| -> Vec<u32> {
        w.records().list().iter().map(|r| r.version).collect()
    };
    let before = versions(&mut wallet);
    let after_end = NOW + 2 * DAY + 1;
    let listed = wallet.sharing().list(after_end);
    let berg_now = listed.iter().find(|g| g.id == berg_grant).unwrap();
    assert_eq!(berg_now.status, GrantState::Revoked);
    let ended = wallet.sharing().end_shortened(after_end).unwrap();
    assert_eq!(ended, vec![berg_grant]);
    assert!(
        versions(&mut wallet)
            .iter()
            .zip(&before)
            .any(|(a, b)| a > b),
        "what Dr Berg could read was re-keyed"
    );
    let page = wallet
        .overview()
        .grant_page(&berg_grant, after_end)
        .unwrap();
    assert_eq!(
        page.ended_at,
        Some(NOW + 2 * DAY),
        "ended at the chosen time"
    );
    assert!(wallet
        .sharing()
        .end_shortened(after_end + 60)
        .unwrap()
        .is_empty());

    // The lab, shortened and then ended now: the revocation wins.
    let lab_grant = wallet.overview().home(after_end).holders[0].grant.id;
    wallet
        .sharing()
        .shorten(&lab_grant, NOW + 5 * DAY, after_end)
        .unwrap();
    wallet.sharing().revoke(&lab_grant, after_end + 10).unwrap();
    let page = wallet
        .overview()
        .grant_page(&lab_grant, after_end + 20)
        .unwrap();
    assert_eq!(page.ended_at, Some(after_end + 10));
    assert!(wallet
        .sharing()
        .end_shortened(NOW + 6 * DAY)
        .unwrap()
        .is_empty());
}
