//! Granting 1,000 records: sign the grant, commit it to the vault, and wrap 1,000 record keys
//! to the provider with one key agreement. Goal: ≤ 10 ms (docs/performance.md). Assembling an
//! offline bundle (reading 1,000 ciphertexts) is I/O, not granting, and is not timed.
#![allow(clippy::unwrap_used, missing_docs)]

use std::path::Path;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};

use carekey_wallet::{
    FileStore, KdfParams, Passphrase, PatientWallet, ProviderWallet, RequestInput, RequestSpec,
    ShareChoice,
};

const NOW: u64 = 1_900_000_000;

fn observation_bundle(n: usize) -> String {
    let entries: Vec<String> = (0..n)
        .map(|i| {
            format!(
                r#"{{"resource":{{"resourceType":"Observation","id":"o{i}","status":"final","code":{{"text":"Glucose"}},"valueQuantity":{{"value":{},"unit":"mmol/L"}}}}}}"#,
                4.0 + (i % 30) as f64 / 10.0
            )
        })
        .collect();
    format!(
        r#"{{"resourceType":"Bundle","type":"collection","entry":[{}]}}"#,
        entries.join(",")
    )
}

fn grant_1000(c: &mut Criterion) {
    let tmp = tempfile::tempdir().unwrap();
    let pass = Passphrase::new("bench passphrase".into());
    let store = |name: &str| Box::new(FileStore::new(tmp.path().join(name)));
    let (mut patient, _kit) = PatientWallet::create(
        &tmp.path().join("patient"),
        &pass,
        KdfParams::TEST,
        store("pd"),
        NOW,
    )
    .unwrap();
    let file = tmp.path().join("obs.json");
    std::fs::write(&file, observation_bundle(1000)).unwrap();
    let imported = patient
        .records()
        .import(&file, NOW, &mut |_, _| {})
        .unwrap();
    assert_eq!(imported.len(), 1000);
    let mut provider = ProviderWallet::create(
        &tmp.path().join("provider"),
        "Bench Lab",
        &pass,
        KdfParams::TEST,
        store("vd"),
    )
    .unwrap();
    let request = provider
        .request(
            &RequestSpec {
                resource_types: vec!["Observation".into()],
                purpose: "bench".into(),
                duration_secs: 86_400,
                valid_for_secs: 86_400,
                ..RequestSpec::default()
            },
            NOW,
        )
        .unwrap();
    let uri = request.to_uri();
    drop(patient);
    let choice = ShareChoice {
        resource_types: vec!["Observation".into()],
        ..ShareChoice::default()
    };
    let mut group = c.benchmark_group("grant");
    group.sample_size(20);
    // Each measured grant starts from the same wallet (1,000 records, no grants yet), so the
    // numbers do not drift as grants pile up; copying and unlocking it is not timed.
    group.bench_function("grant 1000 records (sign, commit, wrap keys)", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let scratch = tempfile::tempdir().unwrap();
                copy_dir(&tmp.path().join("patient"), &scratch.path().join("patient"));
                copy_dir(&tmp.path().join("pd"), &scratch.path().join("pd"));
                let mut patient = PatientWallet::unlock(
                    &scratch.path().join("patient"),
                    &pass,
                    Box::new(FileStore::new(scratch.path().join("pd"))),
                )
                .unwrap();
                let review = patient
                    .sharing()
                    .review_request(RequestInput::Uri(&uri), NOW)
                    .unwrap();
                let start = Instant::now();
                let outcome = patient.sharing().share(&review, &choice, NOW).unwrap();
                let wraps = patient
                    .sharing()
                    .wrap_keys(&outcome.grant.document().grant_id)
                    .unwrap();
                total += start.elapsed();
                assert_eq!(wraps.wraps.len(), 1000);
            }
            total
        })
    });
    group.finish();
    // The provider can open a bundle of what was benchmarked.
    let mut patient = PatientWallet::unlock(
        &tmp.path().join("patient"),
        &pass,
        Box::new(FileStore::new(tmp.path().join("pd"))),
    )
    .unwrap();
    let review = patient
        .sharing()
        .review_request(RequestInput::Uri(&uri), NOW)
        .unwrap();
    let outcome = patient.sharing().share(&review, &choice, NOW).unwrap();
    let bundle = patient
        .sharing()
        .grant_bundle(&outcome.grant.document().grant_id)
        .unwrap();
    assert_eq!(provider.open(&bundle, NOW).unwrap().records.len(), 1000);
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &to.join(e.file_name()));
        } else {
            std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
    }
}

criterion_group!(benches, grant_1000);
criterion_main!(benches);
