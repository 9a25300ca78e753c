//! Unit tests of the patient services that need their insides: access-event judgement,
//! receipt checks, the witness rule for remote nodes, and secrets kept out of Debug output.
#![allow(clippy::unwrap_used)]

/// A new patient wallet in `dir/p` on test KDF parameters (device secrets in `dir/p.device`),
/// created at `now`: the fixture the services' unit tests share.
pub(super) fn test_wallet(dir: &std::path::Path, now: u64) -> crate::PatientWallet {
    crate::PatientWallet::create(
        &dir.join("p"),
        &crate::Passphrase::new("a patient passphrase".into()),
        crate::KdfParams::TEST,
        Box::new(crate::FileStore::new(dir.join("p.device"))),
        now,
    )
    .unwrap()
    .0
}

/// A log key whose base64 ends in `/` survives a provider's signed request (it once lost the
/// slash to the URL normalisation, and the patient then saw a key mismatch).
#[test]
fn node_references_keep_their_log_key_exactly_through_a_request() {
    let key = super::nodes::tests::log_key_ending_in_slash();
    // Through a provider's signed request, too.
    let dir = tempfile::tempdir().unwrap();
    let mut provider = crate::ProviderWallet::create(
        &dir.path().join("p"),
        "Dr. Slash",
        &crate::Passphrase::new("a provider passphrase".into()),
        crate::KdfParams::TEST,
        Box::new(crate::FileStore::new(dir.path().join("p.device"))),
    )
    .unwrap();
    let spec = crate::RequestSpec {
        record_ids: Vec::new(),
        resource_types: vec!["Observation".into()],
        purpose: "care".into(),
        duration_secs: 3600,
        nodes: vec![format!("http://127.0.0.1:7000/ {key}")],
        valid_for_secs: 600,
    };
    let request = provider.request(&spec, 1_750_000_000).unwrap();
    assert_eq!(
        request.document().nodes,
        [format!("http://127.0.0.1:7000 {key}")]
    );
}

mod issue8 {
    use carekey_crypto::{AgreementSecret, SigningKey};
    use carekey_ledger::note::{write_note, Checkpoint, NoteKey};
    use carekey_ledger::proof::Receipt;
    use carekey_ledger::{leaf_hash, Tree};
    use carekey_model::ledger::{
        seal_access_details, AccessBinding, AccessDetails, AccessEvent, Entry, FetchRequest,
    };
    use carekey_model::{AccessRequest, GrantId, Scope, Signed};
    use carekey_sync::Submitted;

    use crate::patient::nodes::is_loopback;
    use crate::patient::{access, backups, flush, nodes};
    use crate::{PatientWallet, RequestInput, ShareChoice};

    const NOW: u64 = 1_750_000_000;
    /// Nothing listens there: every write stays in the outbox.
    const NODE_A: &str = "http://127.0.0.1:9";
    const NODE_B: &str = "http://127.0.0.1:10";
    const MIRROR_A: &str = "http://127.0.0.1:11";

    struct Fixture {
        _dir: tempfile::TempDir,
        wallet: PatientWallet,
        provider: SigningKey,
        log_a: NoteKey,
        log_b: NoteKey,
        grant: GrantId,
    }

    fn log_key(name: &str, seed: u8) -> NoteKey {
        NoteKey::new(name, SigningKey::from_bytes(&[seed; 32])).unwrap()
    }

    /// A patient who pinned node A (and its mirror) and node B, and shared an observation
    /// with a provider whose request names node A only.
    fn fixture() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let mut wallet = crate::patient::tests::test_wallet(dir.path(), NOW);
        let file = dir.path().join("obs.json");
        std::fs::write(
            &file,
            r#"{"resourceType":"Observation","id":"o1","status":"final","code":{"text":"Glucose"}}"#,
        )
        .unwrap();
        wallet.records().import(&file, NOW, &mut |_, _| {}).unwrap();
        let (log_a, log_b) = (log_key("carekey.test/a", 1), log_key("carekey.test/b", 2));
        let (vkey_a, vkey_b) = (log_a.verifier().to_vkey(), log_b.verifier().to_vkey());
        wallet.ledger().add_node(NODE_A, &vkey_a, &[], 0).unwrap();
        wallet.ledger().add_node(NODE_B, &vkey_b, &[], 0).unwrap();
        wallet.ledger().add_node(MIRROR_A, &vkey_a, &[], 0).unwrap();
        let provider = SigningKey::from_bytes(&[7; 32]);
        let request = Signed::sign(
            AccessRequest {
                provider_name: "Dr. Bound".into(),
                provider_signing: provider.public(),
                provider_agreement: AgreementSecret::from_bytes([8; 32]).public(),
                scope: Scope::new(Vec::new(), vec!["Observation".into()]),
                purpose: "care".into(),
                duration_secs: 86_400,
                nodes: vec![format!("{NODE_A} {vkey_a}")],
                nonce: [9; 16],
                created_at: NOW,
                expires_at: NOW + 600,
            },
            &provider,
        )
        .unwrap();
        let review = wallet
            .sharing()
            .review_request(RequestInput::Bytes(request.as_bytes()), NOW)
            .unwrap();
        let choice = ShareChoice {
            resource_types: vec!["Observation".into()],
            ..ShareChoice::default()
        };
        let grant = wallet
            .sharing()
            .share(&review, &choice, NOW)
            .unwrap()
            .grant
            .document()
            .grant_id;
        Fixture {
            _dir: dir,
            wallet,
            provider,
            log_a,
            log_b,
            grant,
        }
    }

    impl Fixture {
        fn grant_key(&self) -> SigningKey {
            let l = self.wallet.session.state.grants[&self.grant]
                .ledger
                .clone()
                .unwrap();
            SigningKey::from_bytes(&l.grant_key.0)
        }

        fn event_key(&self) -> carekey_crypto::AgreementPublic {
            let l = self.wallet.session.state.grants[&self.grant]
                .ledger
                .clone()
                .unwrap();
            AgreementSecret::from_bytes(*l.event_key.0).public()
        }

        fn watched(&self) -> Vec<(GrantId, carekey_crypto::PublicKey)> {
            vec![(self.grant, self.grant_key().public())]
        }

        /// An access event signed by `log`'s key for a fetch addressed to `to`, its
        /// details sealed for the event `sealed_for` describes (the event itself if None).
        fn event(
            &self,
            log: &NoteKey,
            signer: &SigningKey,
            to: &str,
            nonce: u8,
            sealed_for: Option<AccessBinding>,
        ) -> Entry {
            let request = Signed::sign(
                FetchRequest {
                    provider_signing: self.provider.public(),
                    grant_id: self.grant,
                    node: to.into(),
                    nonce: [nonce; 16],
                    requested_at: NOW,
                },
                &self.provider,
            )
            .unwrap();
            let mut event = AccessEvent {
                node_key: signer.public(),
                grant_key: self.grant_key().public(),
                event_id: [nonce; 16],
                sealed: Vec::new(),
                logged_at: NOW,
            };
            let binding = sealed_for.unwrap_or_else(|| AccessBinding::of(log.name(), &event));
            event.sealed = seal_access_details(
                &self.event_key(),
                &AccessDetails {
                    fetch_request: request,
                    served_at: NOW,
                },
                &binding,
            )
            .unwrap();
            Entry::Access(Signed::sign(event, signer).unwrap())
        }

        fn verdict(&self, node: &str, index: u64) -> String {
            access::views(&self.wallet.session)
                .into_iter()
                .find(|a| a.node == node && a.index == index)
                .map(|a| a.verification)
                .unwrap_or_default()
        }
    }

    /// Hole 7: details are bound to the event they were sealed for, and the request
    /// inside must be addressed to a node of the log it is logged on (a mirror of that
    /// log is fine); hole 5: an entry is counted once whichever address served it.
    #[test]
    fn issue8_access_events_are_bound_to_their_log_and_counted_once() {
        let mut f = fixture();
        let watched = f.watched();
        let key_a = SigningKey::from_bytes(&[1; 32]);
        let key_b = SigningKey::from_bytes(&[2; 32]);

        // The genuine access on A, then the same entry read again from A's mirror.
        let genuine = f.event(&f.log_a, &key_a, NODE_A, 1, None);
        assert!(access::note_found(
            &mut f.wallet.session,
            NODE_A,
            0,
            &genuine,
            &watched
        ));
        assert_eq!(f.verdict(NODE_A, 0), "verified");
        assert!(!access::note_found(
            &mut f.wallet.session,
            MIRROR_A,
            0,
            &genuine,
            &watched
        ));
        assert_eq!(access::views(&f.wallet.session).len(), 1);
        // A later entry first seen through the mirror is A's too, and verified.
        let later = f.event(&f.log_a, &key_a, NODE_A, 2, None);
        assert!(access::note_found(
            &mut f.wallet.session,
            MIRROR_A,
            1,
            &later,
            &watched
        ));
        assert_eq!(f.verdict(MIRROR_A, 1), "verified");
        assert!(!access::note_found(
            &mut f.wallet.session,
            NODE_A,
            1,
            &later,
            &watched
        ));

        // B copies A's sealed details into an event it signs: they no longer open.
        let Entry::Access(a) = &genuine else {
            unreachable!()
        };
        let copy = Entry::Access(
            Signed::sign(
                AccessEvent {
                    node_key: key_b.public(),
                    ..a.document().clone()
                },
                &key_b,
            )
            .unwrap(),
        );
        assert!(access::note_found(
            &mut f.wallet.session,
            NODE_B,
            0,
            &copy,
            &watched
        ));
        assert!(
            f.verdict(NODE_B, 0)
                .starts_with("FORGED: the details do not open"),
            "{}",
            f.verdict(NODE_B, 0)
        );

        // B seals a request addressed to A for an event of its own (an operator of both):
        // the grant names no node of B's log.
        let moved = f.event(&f.log_b, &key_b, NODE_A, 3, None);
        assert!(access::note_found(
            &mut f.wallet.session,
            NODE_B,
            1,
            &moved,
            &watched
        ));
        assert!(
            f.verdict(NODE_B, 1)
                .starts_with("FORGED: the provider's request was addressed to"),
            "{}",
            f.verdict(NODE_B, 1)
        );

        // Details sealed for another event id of the same log do not open either.
        let Entry::Access(g) = &genuine else {
            unreachable!()
        };
        let other_id = AccessBinding {
            event_id: [0xee; 16],
            ..AccessBinding::of(f.log_a.name(), g.document())
        };
        let rebound = f.event(&f.log_a, &key_a, NODE_A, 4, Some(other_id));
        assert!(access::note_found(
            &mut f.wallet.session,
            NODE_A,
            2,
            &rebound,
            &watched
        ));
        assert!(f
            .verdict(NODE_A, 2)
            .starts_with("FORGED: the details do not open"));

        // Every result of these unwitnessed logs says so.
        assert!(access::views(&f.wallet.session)
            .iter()
            .all(|a| !a.independently_checked));
    }

    /// Hole 6: a remote node is pinned only with a witness, or with the explicit opt-out.
    #[test]
    fn issue8_debug_output_never_shows_the_backup_share() {
        let mut f = fixture();
        // NODE_A is not local, so backups carry a share, queued to it (nothing listens).
        let share = backups::current_share(&mut f.wallet.session, NOW)
            .unwrap()
            .expect("a remote node is pinned");
        let printed = format!("{:?}", f.wallet);
        let bytes = format!("{:?}", share.secret.as_slice());
        let inner = bytes.trim_matches(|c| c == '[' || c == ']');
        assert!(!printed.contains(inner), "the share is in: {printed}");
        assert!(!printed.contains(&hex::encode(*share.secret)));
        assert!(f
            .wallet
            .backups()
            .share_pending()
            .contains(&NODE_A.to_owned()));
    }

    #[test]
    fn issue8_a_remote_node_needs_a_witness_unless_the_patient_opts_out() {
        let mut f = fixture();
        let vkey = log_key("carekey.test/remote", 3).verifier().to_vkey();
        let err = f
            .wallet
            .ledger()
            .add_node("https://ledger.example", &vkey, &[], 0)
            .unwrap_err();
        assert!(err.to_string().contains("--no-witness"), "{err}");
        let witness = log_key("witness.test/w", 4).verifier().to_vkey();
        let err = f
            .wallet
            .ledger()
            .add_node(
                "https://ledger.example",
                &vkey,
                std::slice::from_ref(&witness),
                0,
            )
            .unwrap_err();
        assert!(err.to_string().contains("witness"), "{err}");
        f.wallet
            .ledger()
            .add_node("https://ledger.example", &vkey, &[witness], 1)
            .unwrap();
        f.wallet
            .ledger()
            .add_unwitnessed_node("https://other.example", &vkey)
            .unwrap();
        for url in [
            "http://127.0.0.1:7000",
            "http://localhost:1",
            "http://[::1]:80",
        ] {
            assert!(is_loopback(url), "{url}");
        }
        for url in [
            "https://ledger.example",
            "http://10.0.0.1:7000",
            "http://127.0.0.1.example",
            "http://user@192.0.2.1",
        ] {
            assert!(!is_loopback(url), "{url}");
        }
        // A remote node a request names is not pinned with no witness either.
        let err = nodes::pin_request_nodes(
            &mut f.wallet.session,
            &[format!("https://third.example {vkey}")],
        )
        .unwrap_err();
        assert!(err.to_string().contains("node witnesses"), "{err}");
        assert!(
            !err.to_string().contains("  "),
            "one line of plain words: {err}"
        );
        nodes::pin_request_nodes(
            &mut f.wallet.session,
            &[format!("http://127.0.0.1:7001 {vkey}")],
        )
        .unwrap();
    }

    /// A receipt from node A's log for `entry`, with the entry at `index` of a log of
    /// `size` entries (the others filler), signed by `log`.
    fn receipt(log: &NoteKey, entry: &[u8], index: u64, size: u64) -> String {
        let mut tree = Tree::new();
        for i in 0..size {
            if i == index {
                tree.push(leaf_hash(entry));
            } else {
                tree.push(leaf_hash(&i.to_be_bytes()));
            }
        }
        let checkpoint = Checkpoint {
            origin: log.name().to_owned(),
            size,
            root: tree.root(),
            extensions: Vec::new(),
        };
        let body = checkpoint.body();
        Receipt {
            index,
            proof: tree.inclusion_proof(index, size).unwrap(),
            checkpoint: write_note(&body, &[log.sign(&body)]),
            extra: None,
        }
        .encode()
    }

    /// Hole 10: a receipt is kept only once verified; a bad one goes back to the outbox
    /// with the reason, and nothing is recorded as published.
    #[test]
    fn issue8_a_receipt_is_verified_before_it_is_stored() {
        let mut f = fixture();
        let entry = f.wallet.session.state.grants[&f.grant]
            .ledger
            .clone()
            .unwrap()
            .entry
            .0;
        let published = |f: &Fixture| {
            f.wallet.session.state.grants[&f.grant]
                .ledger
                .as_ref()
                .unwrap()
                .published
                .len()
        };
        f.wallet.session.state.outbox.items.clear();
        let impostor = log_key("carekey.test/a", 5);
        for bad in [
            // Acknowledged at 3, proved at 2.
            Submitted {
                index: 3,
                receipt: receipt(&f.log_a, &entry, 2, 5),
            },
            // Another entry.
            Submitted {
                index: 2,
                receipt: receipt(&f.log_a, b"something else", 2, 5),
            },
            // Another key with A's name.
            Submitted {
                index: 2,
                receipt: receipt(&impostor, &entry, 2, 5),
            },
            Submitted {
                index: 2,
                receipt: "garbage".into(),
            },
        ] {
            flush::record_publication(&mut f.wallet.session, NODE_A, &entry, &bad);
            assert_eq!(published(&f), 0, "{}", bad.receipt);
        }
        // The submission is queued again (once), with why.
        let queued: Vec<_> = f.wallet.session.state.outbox.items.iter().collect();
        assert_eq!(queued.len(), 1);
        assert_eq!(queued[0].node, NODE_A);
        assert!(queued[0]
            .last_error
            .as_deref()
            .is_some_and(|e| e.starts_with("receipt rejected")));
        let good = Submitted {
            index: 2,
            receipt: receipt(&f.log_a, &entry, 2, 5),
        };
        flush::record_publication(&mut f.wallet.session, NODE_A, &entry, &good);
        assert_eq!(published(&f), 1);
        // The receipt maps to the log whose key signed it, not to a namesake.
        assert_eq!(
            flush::node_of_receipt(&f.wallet.session, &good.receipt).as_deref(),
            Some(NODE_A)
        );
        assert_eq!(
            flush::node_of_receipt(&f.wallet.session, &receipt(&impostor, &entry, 2, 5)),
            None
        );
    }
}
