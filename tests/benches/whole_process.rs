//! Records as a user meets them: whole `carekey` processes against stock `rage` on the same
//! data, in alternating pairs (`cargo bench -p carekey-tests --bench whole_process`; CI runs no
//! benchmarks).
//!
//! - export: `carekey export ID FILE` (atomic, fsynced) and `carekey export ID -` into a file,
//!   each paired with `rage -d -i KEYS -o FILE` of the same record file;
//! - import: `carekey init` + `carekey import FILE` into a fresh wallet, paired with
//!   `rage -e -r RECIPIENT -o FILE` of the same plaintext.
//!
//! The wallets use the test KDF, so unlocking is out of the figure. Every process runs under
//! `/usr/bin/time` (Debian package `time`) for its peak RSS; outputs are removed and `sync` is
//! run between processes, outside the timings. Criterion times the carekey side of each pair;
//! after each group a summary prints both sides: medians, the median of the per-pair ratios,
//! and peak RSS.
//!
//! Needs a release build of the CLI (`cargo build --release -p carekey-cli`; or set
//! `CAREKEY_BENCH_CAREKEY`) and stock rage (`cargo install rage --locked`; found on `PATH`, or
//! set `CAREKEY_BENCH_RAGE` to its binary; `rage-keygen` is not needed). Sizes in MiB:
//! `CAREKEY_BENCH_MIB=256,512` (default 256).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};

/// The `carekey` binary: `CAREKEY_BENCH_CAREKEY`, else the release build beside this bench.
fn carekey_bin() -> PathBuf {
    if let Ok(p) = std::env::var("CAREKEY_BENCH_CAREKEY") {
        // The processes run in a temporary directory.
        return std::path::absolute(p).unwrap();
    }
    let exe = std::env::current_exe().unwrap();
    exe.parent().unwrap().parent().unwrap().join("carekey")
}

/// Stock rage: `CAREKEY_BENCH_RAGE`, else `rage` on `PATH`.
fn rage_bin() -> Option<PathBuf> {
    if let Ok(p) = std::env::var("CAREKEY_BENCH_RAGE") {
        return Some(std::path::absolute(p).unwrap()).filter(|p| p.is_file());
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join("rage"))
        .find(|p| p.is_file())
}

/// One timed process: wall time and peak RSS.
#[derive(Clone, Copy, Debug)]
struct Run {
    wall: Duration,
    rss_kib: u64,
}

/// Runs `program args` under `/usr/bin/time`, stdout to `stdout` (or nowhere).
fn timed(dir: &Path, program: &Path, args: &[&str], stdout: Option<&Path>) -> Run {
    let rss_file = dir.join("rss.txt");
    let mut cmd = Command::new("/usr/bin/time");
    cmd.arg("-o")
        .arg(&rss_file)
        .arg("-f")
        .arg("%M")
        .arg(program)
        .args(args)
        .current_dir(dir)
        .env("CAREKEY_PASSPHRASE", "correct horse battery staple")
        .env("CAREKEY_SECRET_STORE", "file")
        .env("CAREKEY_NOW", "1700000000")
        .stderr(Stdio::null());
    match stdout {
        Some(path) => cmd.stdout(std::fs::File::create(path).unwrap()),
        None => cmd.stdout(Stdio::null()),
    };
    let start = Instant::now();
    let status = cmd
        .status()
        .expect("GNU time must be installed at /usr/bin/time (Debian package `time`)");
    let wall = start.elapsed();
    assert!(status.success(), "{} {args:?} failed", program.display());
    let rss_kib = std::fs::read_to_string(&rss_file)
        .unwrap()
        .lines()
        .last()
        .and_then(|l| l.trim().parse().ok())
        .unwrap_or(0);
    Run { wall, rss_kib }
}

/// Removes what a run left and flushes dirty pages, so the next process starts clean.
fn settle(paths: &[&Path]) {
    for p in paths {
        let _ = std::fs::remove_file(p);
        let _ = std::fs::remove_dir_all(p);
    }
    let _ = Command::new("sync").status();
}

/// Both sides of a series of alternating pairs.
#[derive(Default)]
struct Pairs {
    carekey: Vec<Run>,
    rage: Vec<Run>,
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n == 0 {
        return f64::NAN;
    }
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

impl Pairs {
    fn print(&self, what: &str) {
        let secs = |runs: &[Run]| median(runs.iter().map(|r| r.wall.as_secs_f64()).collect());
        let ratios = self
            .carekey
            .iter()
            .zip(&self.rage)
            .map(|(c, r)| c.wall.as_secs_f64() / r.wall.as_secs_f64())
            .collect();
        let rss = |runs: &[Run]| runs.iter().map(|r| r.rss_kib).max().unwrap_or(0) as f64 / 1024.0;
        println!(
            "{what}: {} pairs; carekey median {:.3} s, rage median {:.3} s, median of per-pair ratios {:.3}; peak RSS carekey {:.1} MiB, rage {:.1} MiB",
            self.carekey.len(),
            secs(&self.carekey),
            secs(&self.rage),
            median(ratios),
            rss(&self.carekey),
            rss(&self.rage),
        );
    }
}

fn whole_process(c: &mut Criterion) {
    let carekey = carekey_bin();
    if !carekey.is_file() {
        println!(
            "whole_process: skipped: {} is missing (run `cargo build --release -p carekey-cli`, or set CAREKEY_BENCH_CAREKEY)",
            carekey.display()
        );
        return;
    }
    let Some(rage) = rage_bin() else {
        println!(
            "whole_process: skipped: stock rage not found (install it with `cargo install rage --locked` and put it on PATH, or set CAREKEY_BENCH_RAGE to its binary)"
        );
        return;
    };
    let sizes = std::env::var("CAREKEY_BENCH_MIB").unwrap_or_else(|_| "256".to_owned());
    for mib in sizes.split(',').map(|s| s.trim().parse::<usize>().unwrap()) {
        bench_size(c, &carekey, &rage, mib);
    }
}

fn bench_size(c: &mut Criterion, carekey: &Path, rage: &Path, mib: usize) {
    let dir = tempfile::tempdir_in(std::env::temp_dir()).unwrap();
    let root = dir.path();
    let data = root.join("data.bin");
    // Incompressible, and not JSON (imported as one record).
    let mut random = std::fs::File::open("/dev/urandom").unwrap();
    let mut file = std::fs::File::create(&data).unwrap();
    std::io::copy(
        &mut std::io::Read::take(&mut random, (mib as u64) << 20),
        &mut file,
    )
    .unwrap();
    drop(file);

    // One wallet holding the record, and its age identity for rage.
    let vault = root.join("wallet");
    let vault_arg = vault.to_str().unwrap();
    let data_arg = data.to_str().unwrap();
    timed(
        root,
        carekey,
        &["--kdf", "test", "--vault", vault_arg, "init"],
        None,
    );
    let listing = root.join("import.txt");
    timed(
        root,
        carekey,
        &["--kdf", "test", "--vault", vault_arg, "import", data_arg],
        Some(&listing),
    );
    let id = std::fs::read_to_string(&listing)
        .unwrap()
        .split_whitespace()
        .nth(1)
        .unwrap()
        .to_owned();
    let keys = root.join("keys.txt");
    timed(
        root,
        carekey,
        &[
            "--vault",
            vault_arg,
            "keys",
            "export",
            "--age",
            keys.to_str().unwrap(),
        ],
        None,
    );
    let identity_line = std::fs::read_to_string(&keys)
        .unwrap()
        .lines()
        .find(|l| l.starts_with("AGE-SECRET-KEY-"))
        .unwrap()
        .to_owned();
    let recipient = carekey_crypto::age::Identity::from_bech32(&identity_line)
        .unwrap()
        .recipient()
        .to_bech32();
    let record = vault.join("records").join(format!("{id}.1.age"));
    let record_arg = record.to_str().unwrap();
    let keys_arg = keys.to_str().unwrap();
    let out = root.join("out.bin");
    let out_arg = out.to_str().unwrap();
    let fresh = root.join("fresh");
    let fresh_arg = fresh.to_str().unwrap();
    let fresh_device = root.join("fresh.device");
    settle(&[]);

    let mut group = c.benchmark_group(format!("whole_process_{mib}MiB"));
    group.sample_size(10);
    group.warm_up_time(Duration::from_millis(1));
    group.measurement_time(Duration::from_secs(1));

    let rage_decrypt = |pairs: &mut Pairs| {
        let r = timed(
            root,
            rage,
            &["-d", "-i", keys_arg, "-o", out_arg, record_arg],
            None,
        );
        settle(&[&out]);
        pairs.rage.push(r);
    };

    let mut pairs = Pairs::default();
    group.bench_function("export_to_file", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                rage_decrypt(&mut pairs);
                let r = timed(
                    root,
                    carekey,
                    &["--vault", vault_arg, "export", &id, out_arg],
                    None,
                );
                settle(&[&out]);
                pairs.carekey.push(r);
                total += r.wall;
            }
            total
        })
    });
    pairs.print(&format!(
        "{mib} MiB export to a file (carekey: atomic, fsynced) vs rage -d -o"
    ));

    let mut pairs = Pairs::default();
    group.bench_function("export_to_stdout", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                rage_decrypt(&mut pairs);
                let r = timed(
                    root,
                    carekey,
                    &["--vault", vault_arg, "export", &id, "-"],
                    Some(&out),
                );
                settle(&[&out]);
                pairs.carekey.push(r);
                total += r.wall;
            }
            total
        })
    });
    pairs.print(&format!(
        "{mib} MiB export to stdout into a file vs rage -d -o"
    ));

    let mut pairs = Pairs::default();
    group.bench_function("init_and_import", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let r = timed(
                    root,
                    rage,
                    &["-e", "-r", &recipient, "-o", out_arg, data_arg],
                    None,
                );
                settle(&[&out]);
                pairs.rage.push(r);
                let init = timed(
                    root,
                    carekey,
                    &["--kdf", "test", "--vault", fresh_arg, "init"],
                    None,
                );
                let import = timed(
                    root,
                    carekey,
                    &["--kdf", "test", "--vault", fresh_arg, "import", data_arg],
                    None,
                );
                settle(&[&fresh, &fresh_device]);
                let both = Run {
                    wall: init.wall + import.wall,
                    rss_kib: init.rss_kib.max(import.rss_kib),
                };
                pairs.carekey.push(both);
                total += both.wall;
            }
            total
        })
    });
    pairs.print(&format!("{mib} MiB init + import vs rage -e -o"));
    group.finish();
}

criterion_group!(benches, whole_process);
criterion_main!(benches);
