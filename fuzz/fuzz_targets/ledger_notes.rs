#![no_main]
use std::sync::OnceLock;

use carekey_ledger::note::{open_checkpoint_bytes, parse_signature_lines, Checkpoint, NoteVerifier};

static LOG: OnceLock<NoteVerifier> = OnceLock::new();

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    // A pinned key that signed none of the inputs: parsing must still be strict and total.
    let log = LOG.get_or_init(|| {
        NoteVerifier::parse("demo.carekey.local/log+59947321+AZ1gQOB3pGeSA3GS2rghlGqTkV4RzfmuYwGOlqOh4Vex")
            .expect("a well-formed verifier key")
    });
    let _ = open_checkpoint_bytes(data, log, &[], 1_900_000_000);
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = Checkpoint::parse_body(text);
        let _ = parse_signature_lines(text);
        let _ = carekey_ledger::proof::Receipt::parse(text);
        let _ = carekey_ledger::witness::AddCheckpoint::parse(text);
        let _ = NoteVerifier::parse(text);
    }
});
