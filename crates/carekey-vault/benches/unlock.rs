//! Unlock speed: passphrase unlock at `KdfParams::DEFAULT` (goal ≤ 250 ms) and device unlock
//! with a `FileStore` (goal ≤ 20 ms).
#![allow(clippy::unwrap_used)]

use carekey_vault::{FileStore, KdfParams, OsKeyring, Passphrase, Vault};
use criterion::{criterion_group, criterion_main, Criterion};

fn unlock(c: &mut Criterion) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("vault");
    let store_dir = tmp.path().join("vault.device");
    let passphrase = Passphrase::new("correct horse battery staple".into());
    let mut vault = Vault::create(
        &dir,
        &passphrase,
        KdfParams::DEFAULT,
        Box::new(FileStore::new(store_dir.clone())),
    )
    .unwrap();
    vault.save(&[7u8; 4096], &[9u8; 32 * 1000]).unwrap();
    vault.enable_device_unlock().unwrap();
    drop(vault);

    let mut group = c.benchmark_group("unlock");
    group.sample_size(10);
    group.measurement_time(std::time::Duration::from_secs(8));
    group.bench_function("passphrase, KdfParams::DEFAULT (64 MiB, t=3, p=4)", |b| {
        b.iter(|| {
            Vault::unlock(
                &dir,
                &passphrase,
                Box::new(FileStore::new(store_dir.clone())),
            )
            .unwrap()
        })
    });
    group.finish();

    let mut group = c.benchmark_group("unlock");
    group.bench_function("device, FileStore", |b| {
        b.iter(|| {
            Vault::unlock_with_device(&dir, Box::new(FileStore::new(store_dir.clone()))).unwrap()
        })
    });
    group.finish();

    // The real Secret Service, when the bench runs under scripts/with-keyring.sh.
    if std::env::var("CAREKEY_SECRET_SERVICE").as_deref() == Ok("1") {
        let kdir = tmp.path().join("keyring-vault");
        let mut vault = Vault::create(
            &kdir,
            &passphrase,
            KdfParams::TEST,
            Box::new(OsKeyring::new()),
        )
        .unwrap();
        vault.save(&[7u8; 4096], &[9u8; 32 * 1000]).unwrap();
        vault.enable_device_unlock().unwrap();
        drop(vault);
        let mut group = c.benchmark_group("unlock");
        group.bench_function("device, OS keyring (Secret Service)", |b| {
            b.iter(|| Vault::unlock_with_device(&kdir, Box::new(OsKeyring::new())).unwrap())
        });
        group.finish();
        Vault::unlock_with_device(&kdir, Box::new(OsKeyring::new()))
            .unwrap()
            .destroy()
            .unwrap();
    }
}

criterion_group!(benches, unlock);
criterion_main!(benches);
