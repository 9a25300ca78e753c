//! Streaming 2 GiB through encrypt and decrypt must not grow the process's
//! peak RSS by more than 32 MiB.
//!
//! The measurement runs in a child process (this test binary re-executed with
//! only this test selected), so the peak is this test's own even under plain
//! `cargo test`, where other tests share the process.

use std::io::{self, Read, Write};
use std::process::Command;
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};

use carekey_crypto::age::{self, Identity};

const TOTAL: u64 = 2 << 30;
const LIMIT_KIB: u64 = 32 * 1024;
const CHILD_ENV: &str = "CAREKEY_CRYPTO_MEMORY_CHILD";

/// A writer whose bytes come out of a [`PipeReader`] in another thread; the
/// bounded channel keeps at most a few chunks in flight.
struct PipeWriter(SyncSender<Vec<u8>>);

impl Write for PipeWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0
            .send(buf.to_vec())
            .map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "reader gone"))?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

struct PipeReader {
    rx: Receiver<Vec<u8>>,
    current: Vec<u8>,
    pos: usize,
}

impl Read for PipeReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.pos == self.current.len() {
            match self.rx.recv() {
                Ok(next) => {
                    self.current = next;
                    self.pos = 0;
                }
                Err(_) => return Ok(0),
            }
        }
        let n = buf.len().min(self.current.len() - self.pos);
        buf[..n].copy_from_slice(&self.current[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

/// Counts bytes and checks they are all zero (memcmp against a static block).
struct ZeroSink {
    count: u64,
}

static ZEROS: [u8; 128 * 1024] = [0; 128 * 1024];

impl Write for ZeroSink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        for part in buf.chunks(ZEROS.len()) {
            assert!(part == &ZEROS[..part.len()], "decrypted a non-zero byte");
        }
        self.count += buf.len() as u64;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fn peak_rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .expect("VmHWM in /proc/self/status");
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

fn stream_two_gib() {
    let identity = Identity::generate();
    let recipient = identity.recipient();
    let before = peak_rss_kib();
    let (tx, rx) = sync_channel(4);
    let encryptor = std::thread::spawn(move || {
        age::encrypt(&[recipient], io::repeat(0).take(TOTAL), PipeWriter(tx)).unwrap()
    });
    let mut sink = ZeroSink { count: 0 };
    let reader = PipeReader {
        rx,
        current: Vec::new(),
        pos: 0,
    };
    let decrypted = age::decrypt(&[identity], reader, &mut sink).unwrap();
    assert_eq!(encryptor.join().unwrap(), TOTAL);
    assert_eq!(decrypted, TOTAL);
    assert_eq!(sink.count, TOTAL);
    let after = peak_rss_kib();
    eprintln!("peak RSS: {before} KiB before, {after} KiB after");
    assert!(
        after - before < LIMIT_KIB,
        "peak RSS grew by {} KiB streaming 2 GiB",
        after - before
    );
}

#[test]
fn two_gib_stream_in_constant_memory() {
    if std::env::var_os(CHILD_ENV).is_some() {
        stream_two_gib();
        return;
    }
    let output = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "memory::two_gib_stream_in_constant_memory",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, "1")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "child failed:\n{stdout}\n{stderr}");
    assert!(
        stdout.contains("1 passed") && stderr.contains("peak RSS"),
        "the child did not run the measurement:\n{stdout}\n{stderr}"
    );
}
