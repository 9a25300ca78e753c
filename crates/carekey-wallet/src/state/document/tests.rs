//! The state document keeps the on-disk map of the struct it replaced, byte for byte, and
//! refuses a map whose body does not match its role.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;

use ciborium::Value;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use carekey_model::RecordId;
use carekey_vault::{FileStore, KdfParams, Passphrase, Vault};

use super::{
    encode_directory, encode_patient, encode_provider, read_directory, read_patient, read_provider,
    Role, StateDocument,
};
use crate::state::{
    encode, ByteDoc, DirectoryState, KeyIndex, PatientState, ProviderState, RecordEntry,
    SecretBytes,
};
use crate::WalletError;

/// The state document as it was declared before it became an enum (the shape every vault
/// written so far holds), copied here by hand.
#[derive(Serialize, Deserialize)]
struct OldStateDocument {
    version: u32,
    role: Role,
    #[serde(default)]
    patient: Option<PatientState>,
    #[serde(default)]
    provider: Option<ProviderState>,
    #[serde(default)]
    directory: Option<DirectoryState>,
}

impl OldStateDocument {
    fn new(role: Role) -> Self {
        OldStateDocument {
            version: 1,
            role,
            patient: None,
            provider: None,
            directory: None,
        }
    }

    fn encode(&self) -> Vec<u8> {
        encode(self).unwrap().to_vec()
    }

    fn decode(bytes: &[u8]) -> Self {
        crate::state::decode(bytes).unwrap()
    }
}

fn secret(byte: u8) -> SecretBytes {
    SecretBytes(Zeroizing::new([byte; 32]))
}

fn patient() -> PatientState {
    let mut records = BTreeMap::new();
    records.insert(
        RecordId([3; 16]),
        RecordEntry {
            name: "allergies.json".into(),
            resource_type: Some("AllergyIntolerance".into()),
            fhir_id: Some("a1".into()),
            category: "allergies".into(),
            title: "Penicillin".into(),
            detail: None,
            date: Some("2024-01-02".into()),
            size: 1234,
            version: 2,
            ciphertext_hash: vec![4; 32],
            seal: vec![5; 64],
            imported_at: 1_700_000_000,
        },
    );
    PatientState {
        identity: secret(1),
        agreement: secret(2),
        recovery_public: vec![6; 32],
        created_at: 1_700_000_000,
        records,
        grants: BTreeMap::new(),
        directories: vec![ByteDoc(vec![7, 8, 9])],
        trusted_directories: vec!["ab".repeat(32)],
        pinned_nodes: vec!["https://node.example".into()],
        backups: vec!["/backups/one.ckb".into()],
        tombstones: Vec::new(),
        logs: Vec::new(),
        outbox: carekey_sync::Outbox::default(),
        access_log: Vec::new(),
        erasures: Vec::new(),
        witness_policy: crate::WitnessPolicy::default(),
        backup_share: None,
        backups_stale: true,
        backup_times: BTreeMap::new(),
        backup_schedule: None,
        accesses_seen: 0,
        last_sync: None,
        card_issuers: Vec::new(),
        cards: BTreeMap::new(),
        links: Vec::new(),
        link_opens: Vec::new(),
        link_opens_seen: 0,
    }
}

fn provider() -> ProviderState {
    ProviderState {
        name: "Dr Who".into(),
        identity: secret(11),
        agreement: secret(12),
        requests: vec![ByteDoc(vec![1, 2, 3])],
        revocations: Vec::new(),
    }
}

fn directory() -> DirectoryState {
    DirectoryState {
        name: "Medical Council".into(),
        identity: secret(21),
        providers: vec![("Dr Who".into(), "cd".repeat(32))],
    }
}

fn state_error(result: Result<StateDocument, WalletError>) -> String {
    match result {
        Err(WalletError::State(message)) => message,
        other => panic!("expected a state error, got {other:?}"),
    }
}

#[test]
fn a_patient_document_of_the_old_shape_reads_and_writes_back_byte_for_byte() {
    let old = OldStateDocument {
        patient: Some(patient()),
        ..OldStateDocument::new(Role::Patient)
    }
    .encode();
    let StateDocument::Patient(read) = StateDocument::decode(&old).unwrap() else {
        panic!("a patient document read as another role");
    };
    assert_eq!(read.records[&RecordId([3; 16])].title, "Penicillin");
    assert_eq!(*read.identity.0, [1; 32]);
    let (new, _) = encode_patient(&read, &KeyIndex::default()).unwrap();
    assert_eq!(&new[..], &old[..]);

    // And the old build reads what the new one writes.
    let back = OldStateDocument::decode(&new);
    assert_eq!(back.role, Role::Patient);
    assert!(back.provider.is_none() && back.directory.is_none());
    assert_eq!(back.patient.unwrap().pinned_nodes, ["https://node.example"]);
}

#[test]
fn provider_and_directory_documents_of_the_old_shape_round_trip() {
    let old = OldStateDocument {
        provider: Some(provider()),
        ..OldStateDocument::new(Role::Provider)
    }
    .encode();
    let StateDocument::Provider(read) = StateDocument::decode(&old).unwrap() else {
        panic!("a provider document read as another role");
    };
    assert_eq!(read.name, "Dr Who");
    assert_eq!(&encode_provider(&read).unwrap().0[..], &old[..]);
    let back = OldStateDocument::decode(&old);
    assert_eq!(back.role, Role::Provider);
    assert!(back.patient.is_none() && back.directory.is_none());

    let old = OldStateDocument {
        directory: Some(directory()),
        ..OldStateDocument::new(Role::Directory)
    }
    .encode();
    let StateDocument::Directory(read) = StateDocument::decode(&old).unwrap() else {
        panic!("a directory document read as another role");
    };
    assert_eq!(read.providers.len(), 1);
    assert_eq!(&encode_directory(&read).unwrap().0[..], &old[..]);
    assert_eq!(OldStateDocument::decode(&old).role, Role::Directory);
}

/// The map layout itself, written out as CBOR values: independent of any struct in the code.
#[test]
fn a_directory_document_is_the_map_the_first_vaults_wrote() {
    let text = |s: &str| Value::Text(s.into());
    let expected = Value::Map(vec![
        (text("version"), Value::Integer(1.into())),
        (text("role"), text("directory")),
        (text("patient"), Value::Null),
        (text("provider"), Value::Null),
        (
            text("directory"),
            Value::Map(vec![
                (text("name"), text("Medical Council")),
                (text("identity"), Value::Bytes(vec![21; 32])),
                (
                    text("providers"),
                    Value::Array(vec![Value::Array(vec![
                        text("Dr Who"),
                        text(&"cd".repeat(32)),
                    ])]),
                ),
            ]),
        ),
    ]);
    let mut bytes = Vec::new();
    ciborium::into_writer(&expected, &mut bytes).unwrap();
    assert_eq!(&encode_directory(&directory()).unwrap().0[..], &bytes[..]);
    assert!(matches!(
        StateDocument::decode(&bytes).unwrap(),
        StateDocument::Directory(d) if d.name == "Medical Council"
    ));
}

#[test]
fn a_role_without_its_body_is_refused_clearly() {
    let bytes = OldStateDocument::new(Role::Patient).encode();
    let message = state_error(StateDocument::decode(&bytes));
    assert_eq!(
        message,
        "the state document is marked as a patient wallet but holds no wallet data"
    );
}

#[test]
fn a_document_holding_two_roles_is_refused() {
    let bytes = OldStateDocument {
        patient: Some(patient()),
        provider: Some(provider()),
        ..OldStateDocument::new(Role::Patient)
    }
    .encode();
    let message = state_error(StateDocument::decode(&bytes));
    assert_eq!(
        message,
        "the state document is marked as a patient wallet but holds patient and provider wallet data"
    );
}

#[test]
fn a_body_under_another_role_is_refused() {
    let bytes = OldStateDocument {
        directory: Some(directory()),
        ..OldStateDocument::new(Role::Provider)
    }
    .encode();
    let message = state_error(StateDocument::decode(&bytes));
    assert!(message.contains("marked as a provider wallet but holds directory wallet data"));
}

#[test]
fn an_unknown_version_is_refused() {
    let bytes = OldStateDocument {
        version: 2,
        provider: Some(provider()),
        ..OldStateDocument::new(Role::Provider)
    }
    .encode();
    let message = state_error(StateDocument::decode(&bytes));
    assert_eq!(
        message,
        "state version 2 is not supported (this build reads 1)"
    );
}

#[test]
fn garbage_is_a_state_error_not_a_panic() {
    for bytes in [
        &b""[..],
        b"\xa1",
        b"not cbor at all",
        b"\xa2\x67version\x01",
    ] {
        state_error(StateDocument::decode(bytes));
    }
}

/// Each role's reader opens its own vault and names the role of any other.
#[test]
fn each_reader_opens_its_role_and_reports_another() {
    let tmp = tempfile::tempdir().unwrap();
    let passphrase = Passphrase::new("correct horse battery staple".into());
    let store = Box::new(FileStore::new(tmp.path().join("device")));
    let mut vault = Vault::create(
        &tmp.path().join("vault"),
        &passphrase,
        KdfParams::TEST,
        store,
    )
    .unwrap();

    let (state, keys) = encode_provider(&provider()).unwrap();
    vault.save(&state, &keys).unwrap();
    assert_eq!(read_provider(&vault).unwrap().name, "Dr Who");
    let wrong = |e: WalletError| match e {
        WalletError::WrongRole { expected, found } => (expected, found),
        other => panic!("expected a wrong-role error, got {other:?}"),
    };
    assert_eq!(
        wrong(read_patient(&vault).unwrap_err()),
        ("patient", "provider")
    );
    assert_eq!(
        wrong(read_directory(&vault).unwrap_err()),
        ("directory", "provider")
    );

    let mut keys = KeyIndex::default();
    keys.records.insert(RecordId([3; 16]), secret(9));
    let (state, key_bytes) = encode_patient(&patient(), &keys).unwrap();
    vault.save(&state, &key_bytes).unwrap();
    let (read, read_keys) = read_patient(&vault).unwrap();
    assert_eq!(read.created_at, 1_700_000_000);
    assert_eq!(*read_keys.records[&RecordId([3; 16])].0, [9; 32]);
    assert_eq!(
        wrong(read_provider(&vault).unwrap_err()),
        ("provider", "patient")
    );

    let (state, keys) = encode_directory(&directory()).unwrap();
    vault.save(&state, &keys).unwrap();
    assert_eq!(read_directory(&vault).unwrap().name, "Medical Council");
    assert_eq!(
        wrong(read_patient(&vault).unwrap_err()),
        ("patient", "directory")
    );
}
