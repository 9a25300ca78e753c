//! A multi-GiB record imports and exports in constant memory (peak RSS of the real process,
//! measured by GNU time).

use std::io::Read;
use std::process::{Command, Stdio};

use crate::cli::{carekey_bin, record_id_named, Actor};

const BIG: u64 = 3 << 30; // 3 GiB, sparse on disk

/// Peak resident set size in KiB of `carekey ARGS` run by `actor`.
fn peak_rss_kib(actor: &Actor, args: &[&str]) -> u64 {
    let cmd = actor.command(args);
    let program = cmd.get_program().to_owned();
    assert_eq!(program, carekey_bin().as_os_str());
    let mut timed = Command::new("/usr/bin/time");
    timed
        .arg("-f")
        .arg("peak-rss-kib=%M")
        .arg(program)
        .args(cmd.get_args());
    for (k, v) in cmd.get_envs() {
        match v {
            Some(v) => timed.env(k, v),
            None => timed.env_remove(k),
        };
    }
    timed.current_dir(&actor.cwd).stdout(Stdio::null());
    let out = timed
        .output()
        .expect("GNU time (Debian package time) must be installed");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "carekey {args:?} failed: {stderr}");
    stderr
        .lines()
        .find_map(|l| l.strip_prefix("peak-rss-kib="))
        .unwrap_or_else(|| panic!("no peak RSS in {stderr}"))
        .trim()
        .parse()
        .unwrap()
}

#[test]
fn a_three_gib_record_streams_in_constant_memory() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let patient = Actor::new(root, "patient");
    patient.run(&["init"]);
    std::fs::write(root.join("small.bin"), vec![1u8; 1 << 20]).unwrap();
    let big = std::fs::File::create(root.join("genome.bin")).unwrap();
    big.set_len(BIG).unwrap(); // sparse: zeros without using the disk
    drop(big);

    let small_rss = peak_rss_kib(&patient, &["import", "small.bin"]);
    let big_rss = peak_rss_kib(&patient, &["import", "genome.bin"]);
    println!("peak RSS: 1 MiB import {small_rss} KiB, 3 GiB import {big_rss} KiB");
    assert!(
        big_rss < small_rss + 32 * 1024,
        "import memory grew with size: {small_rss} KiB → {big_rss} KiB"
    );

    // Export streams back out; count and check every byte without holding them.
    let id = record_id_named(&patient, "genome.bin");
    let mut child = patient
        .command(&["export", &id, "-"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut buf = vec![0u8; 1 << 20];
    let mut total = 0u64;
    loop {
        let n = stdout.read(&mut buf).unwrap();
        if n == 0 {
            break;
        }
        assert!(
            buf[..n].iter().all(|&b| b == 0),
            "non-zero byte near offset {total}"
        );
        total += n as u64;
    }
    assert!(child.wait().unwrap().success());
    assert_eq!(total, BIG);
    let export_rss = peak_rss_kib(&patient, &["export", &id, "-"]);
    println!("peak RSS: 3 GiB export {export_rss} KiB");
    assert!(
        export_rss < small_rss + 32 * 1024,
        "export memory grew with size: {export_rss} KiB"
    );
}
