//! Granting 1,000 records: sign the grant, commit it, wrap 1,000 record keys to the provider
//! with one key agreement, and assemble the bundle. Goal: ≤ 10 ms (docs/performance.md).
#![allow(clippy::unwrap_used, missing_docs)]

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
    let imported = patient.import(&file, NOW, &mut |_, _| {}).unwrap();
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
    let review = patient
        .review_request(RequestInput::Uri(&uri), NOW)
        .unwrap();
    let choice = ShareChoice {
        resource_types: vec!["Observation".into()],
        ..ShareChoice::default()
    };
    let mut group = c.benchmark_group("grant");
    group.sample_size(20);
    group.bench_function("share 1000 records (sign, commit, wrap, bundle)", |b| {
        b.iter(|| {
            let outcome = patient.share(&review, &choice, NOW).unwrap();
            assert_eq!(outcome.records.len(), 1000);
        })
    });
    group.finish();
    // The provider can open what was benchmarked.
    let outcome = patient.share(&review, &choice, NOW).unwrap();
    assert_eq!(
        provider.open(&outcome.bundle, NOW).unwrap().records.len(),
        1000
    );
}

criterion_group!(benches, grant_1000);
criterion_main!(benches);
