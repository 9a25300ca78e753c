//! Signed notes, checkpoints and cosignatures: spec examples, the Go reference key, strictness.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use carekey_crypto::SigningKey;
use carekey_ledger::note::{
    self, open_checkpoint, open_checkpoint_bytes, open_note, write_note, Checkpoint, NoteError,
    NoteKey, NoteVerifier, SignatureLine, ALG_COSIGNATURE_V1, ALG_ED25519,
};
use carekey_ledger::{leaf_hash, Hash};

const NOW: u64 = 1_700_000_000;
const ORIGIN: &str = "ledger.example.org/carekey";

pub(crate) fn log_key() -> NoteKey {
    NoteKey::new(ORIGIN, SigningKey::from_bytes(&[1; 32])).unwrap()
}

pub(crate) fn witness_key(n: u8) -> NoteKey {
    NoteKey::new(
        &format!("witness{n}.example"),
        SigningKey::from_bytes(&[n + 10; 32]),
    )
    .unwrap()
}

fn checkpoint(size: u64, root: Hash) -> Checkpoint {
    Checkpoint {
        origin: ORIGIN.to_owned(),
        size,
        root,
        extensions: vec![],
    }
}

fn signed(cp: &Checkpoint, extra: &[SignatureLine]) -> String {
    let body = cp.body();
    let mut sigs = vec![log_key().sign(&body)];
    sigs.extend_from_slice(extra);
    write_note(&body, &sigs)
}

// --- known answers -------------------------------------------------------------------------

/// The verifier key and note of the C2SP signed-note spec ("Verifier keys" → "Example").
#[test]
fn signed_note_spec_example() {
    let vkey = "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k";
    let text = "This is an example message.\n\n\u{2014} example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n";
    let v = NoteVerifier::parse(vkey).unwrap();
    assert_eq!(v.name(), "example.com/foo");
    assert_eq!(v.key_id(), [0x53, 0x0d, 0x90, 0x3a]);
    assert_eq!(v.alg(), ALG_ED25519);
    assert_eq!(v.to_vkey(), vkey);
    let opened = open_note(text, std::slice::from_ref(&v)).unwrap();
    assert_eq!(opened.body, "This is an example message.\n");
    assert_eq!(opened.signatures.len(), 1);
    let tampered = text.replace("example message", "example massage");
    assert_eq!(
        open_note(&tampered, &[v]),
        Err(NoteError::BadSignature {
            name: "example.com/foo".into()
        })
    );
}

/// The PeterNeumann key and note from golang.org/x/mod/sumdb/note's documentation: Ed25519 is
/// deterministic, so our signer must reproduce the note byte for byte.
#[test]
fn go_sumdb_note_example() {
    let vkey = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
    // From the skey PRIVATE+KEY+PeterNeumann+c74f20a3+<base64(0x01 ‖ seed)>.
    let skey = B64
        .decode("AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz")
        .unwrap();
    assert_eq!(skey[0], ALG_ED25519);
    let seed: [u8; 32] = skey[1..].try_into().unwrap();
    let text = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n";
    let want = format!("{text}\n\u{2014} PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n");

    let key = NoteKey::new("PeterNeumann", SigningKey::from_bytes(&seed)).unwrap();
    assert_eq!(key.verifier().to_vkey(), vkey);
    assert_eq!(write_note(text, &[key.sign(text)]), want);
    let opened = open_note(&want, &[NoteVerifier::parse(vkey).unwrap()]).unwrap();
    assert_eq!(opened.body, text);
}

/// The checkpoint and cosignature examples of C2SP tlog-checkpoint / tlog-cosignature (no keys
/// are published for them, so this checks the formats only).
#[test]
fn checkpoint_and_cosignature_spec_examples() {
    let body =
        "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n";
    let cp = Checkpoint::parse_body(body).unwrap();
    assert_eq!(cp.origin, "example.com/behind-the-sofa");
    assert_eq!(cp.size, 20_852_163);
    assert!(cp.extensions.is_empty());
    assert_eq!(cp.body(), body);

    let line = "\u{2014} witness.example.com/w1 jWbPPwAAAABkGFDLEZMHwSRaJNiIDoe9DYn/zXcrtPHeolMI5OWXEhZCB9dlrDJsX3b2oyin1nPZqhf5nNo0xUe+mbIUBkBIfZ+qnA==";
    let sig = SignatureLine::parse(line).unwrap();
    assert_eq!(sig.name, "witness.example.com/w1");
    assert_eq!(sig.signature.len(), 72);
    // The timestamp of the spec's signed-message example, `time 1679315147`.
    let ts = u64::from_be_bytes(sig.signature[..8].try_into().unwrap());
    assert_eq!(ts, 1_679_315_147);
    assert_eq!(sig.to_line(), format!("{line}\n"));
}

// --- keys ----------------------------------------------------------------------------------

#[test]
fn verifier_keys() {
    let key = log_key();
    let v = key.verifier();
    assert_eq!(NoteVerifier::parse(&v.to_vkey()).unwrap(), v);
    let c = v.for_cosignatures();
    assert_eq!(c.alg(), ALG_COSIGNATURE_V1);
    assert_ne!(c.key_id(), v.key_id());
    assert_eq!(c.public_key(), v.public_key());
    assert_eq!(NoteVerifier::parse(&c.to_vkey()).unwrap(), c);
    // key id = SHA-256(name ‖ "\n" ‖ type ‖ key)[:4]
    let mut msg = format!("{ORIGIN}\n").into_bytes();
    msg.push(0x01);
    msg.extend_from_slice(v.public_key().as_bytes());
    assert_eq!(v.key_id(), carekey_crypto::sha256(&msg)[..4]);

    let vkey = v.to_vkey();
    let (name, rest) = vkey.split_once('+').unwrap();
    let (id, key_b64) = rest.split_once('+').unwrap();
    for bad in [
        format!("{name}+00000000+{key_b64}"),
        format!("{name}+{}+{key_b64}", id.to_uppercase()),
        format!("other.example+{id}+{key_b64}"),
        format!("{name}+{id}"),
        format!("+{id}+{key_b64}"),
        format!("{name}+{id}+AQ=="),
        format!("{name}+{id}+{}", B64.encode([0x02; 33])),
        "".to_owned(),
    ] {
        assert!(NoteVerifier::parse(&bad).is_err(), "{bad}");
    }
    for name in ["", "a b", "a+b", "tab\there", "nbsp\u{a0}x"] {
        assert!(matches!(
            NoteKey::new(name, SigningKey::from_bytes(&[1; 32])),
            Err(NoteError::BadKeyName(_))
        ));
    }
    assert!(format!("{key:?}").contains("[redacted]"));
}

// --- checkpoints ---------------------------------------------------------------------------

#[test]
fn checkpoint_round_trip() {
    let cp = Checkpoint {
        origin: ORIGIN.to_owned(),
        size: 42,
        root: leaf_hash(b"x"),
        extensions: vec!["ext one".into(), "— two".into()],
    };
    assert_eq!(Checkpoint::parse_body(&cp.body()).unwrap(), cp);
    let text = signed(&cp, &[]);
    let opened = open_checkpoint(&text, &log_key().verifier(), &[], NOW).unwrap();
    assert_eq!(opened.checkpoint, cp);
    assert_eq!(opened.body, cp.body());
    assert!(opened.log_signature_valid);
    assert!(opened.cosignatures.is_empty());
    assert_eq!(opened.raw, text);
}

#[test]
fn checkpoint_body_is_strict() {
    let root = B64.encode([7u8; 32]);
    let good = format!("o\n5\n{root}\n");
    Checkpoint::parse_body(&good).unwrap();
    assert_eq!(
        Checkpoint::parse_body(&format!("o\n0\n{root}\n"))
            .unwrap()
            .size,
        0
    );
    for bad in [
        format!("o\n5\n{root}"),
        format!("\n5\n{root}\n"),
        format!("o\n05\n{root}\n"),
        format!("o\n+5\n{root}\n"),
        format!("o\n5 \n{root}\n"),
        format!("o\n18446744073709551616\n{root}\n"),
        format!("o\n5\n{}\n", B64.encode([7u8; 31])),
        format!("o\n5\n{}\n", B64.encode([7u8; 33])),
        format!("o\n5\n{}\n", &root[..43]),
        "o\n5\nnot base64!\n".to_owned(),
        format!("o\n5\n{root}\n\n"),
        format!("o\n5\n{root}\next\n\n"),
        "o\n5\n".to_owned(),
        format!("o\r\n5\n{root}\n"),
    ] {
        assert!(Checkpoint::parse_body(&bad).is_err(), "{bad:?}");
    }
}

#[test]
fn known_key_with_a_bad_signature_is_rejected() {
    let cp = checkpoint(3, [3; 32]);
    let body = cp.body();
    let mut sig = log_key().sign(&body);
    sig.signature[10] ^= 1;
    let text = write_note(&body, &[log_key().sign(&body), sig]);
    assert_eq!(
        open_checkpoint(&text, &log_key().verifier(), &[], NOW),
        Err(NoteError::BadSignature {
            name: ORIGIN.into()
        })
    );
    // A signature of the wrong length from a known key is a bad signature too.
    let mut short = log_key().sign(&body);
    short.signature.truncate(10);
    let text = write_note(&body, &[log_key().sign(&body), short]);
    assert!(open_checkpoint(&text, &log_key().verifier(), &[], NOW).is_err());
    // Signed over different text.
    let other = checkpoint(4, [3; 32]);
    let text = write_note(&body, &[log_key().sign(&other.body())]);
    assert!(matches!(
        open_checkpoint(&text, &log_key().verifier(), &[], NOW),
        Err(NoteError::BadSignature { .. })
    ));
}

#[test]
fn unknown_keys_are_ignored() {
    let cp = checkpoint(3, [3; 32]);
    let body = cp.body();
    let stranger = NoteKey::new("stranger.example", SigningKey::from_bytes(&[9; 32])).unwrap();
    // Same name as the log, different key (so a different key id): unknown, ignored even
    // though it does not verify under the log key.
    let impostor = NoteKey::new(ORIGIN, SigningKey::from_bytes(&[2; 32])).unwrap();
    let mut junk = stranger.sign(&body);
    junk.signature = vec![0; 3];
    let text = write_note(
        &body,
        &[
            stranger.sign("other text\n"),
            impostor.sign("x\n"),
            junk,
            log_key().sign(&body),
        ],
    );
    let opened = open_checkpoint(&text, &log_key().verifier(), &[], NOW).unwrap();
    assert_eq!(opened.checkpoint, cp);
}

#[test]
fn the_log_signature_is_required() {
    let cp = checkpoint(3, [3; 32]);
    let body = cp.body();
    let w = witness_key(1);
    let wv = w.verifier().for_cosignatures();
    let only_witness = write_note(&body, &[w.cosign(&cp, NOW)]);
    assert_eq!(
        open_checkpoint(&only_witness, &log_key().verifier(), &[wv], NOW),
        Err(NoteError::MissingLogSignature {
            name: ORIGIN.into()
        })
    );
    let stranger = NoteKey::new("stranger.example", SigningKey::from_bytes(&[9; 32])).unwrap();
    let only_stranger = write_note(&body, &[stranger.sign(&body)]);
    assert!(matches!(
        open_checkpoint(&only_stranger, &log_key().verifier(), &[], NOW),
        Err(NoteError::MissingLogSignature { .. })
    ));
    // Another log's key over the same text.
    let other_log = NoteKey::new(ORIGIN, SigningKey::from_bytes(&[5; 32])).unwrap();
    assert!(open_checkpoint(&signed(&cp, &[]), &other_log.verifier(), &[], NOW).is_err());
}

#[test]
fn origin_must_be_the_log_name() {
    let cp = Checkpoint {
        origin: "elsewhere.example/log".into(),
        ..checkpoint(3, [3; 32])
    };
    let text = write_note(&cp.body(), &[log_key().sign(&cp.body())]);
    assert!(matches!(
        open_checkpoint(&text, &log_key().verifier(), &[], NOW),
        Err(NoteError::OriginMismatch { .. })
    ));
}

#[test]
fn malformed_notes_are_rejected() {
    let v = log_key().verifier();
    let cp = checkpoint(3, [3; 32]);
    let good = signed(&cp, &[]);
    open_checkpoint(&good, &v, &[], NOW).unwrap();

    for (c, name) in [
        ('\r', "CR"),
        ('\t', "tab"),
        ('\0', "NUL"),
        ('\u{1b}', "ESC"),
    ] {
        let bad = good.replacen('\n', &format!("{c}\n"), 1);
        assert_eq!(
            open_checkpoint(&bad, &v, &[], NOW),
            Err(NoteError::ControlCharacter(c as u32)),
            "{name}"
        );
    }
    let no_blank = good.replacen("\n\n", "\n", 1);
    assert_eq!(
        open_checkpoint(&no_blank, &v, &[], NOW),
        Err(NoteError::MissingBlankLine)
    );
    let no_final_newline = good.trim_end_matches('\n');
    assert_eq!(
        open_checkpoint(no_final_newline, &v, &[], NOW),
        Err(NoteError::MissingBlankLine)
    );
    let no_signatures = format!("{}\n", cp.body());
    assert_eq!(
        open_checkpoint(&no_signatures, &v, &[], NOW),
        Err(NoteError::MissingBlankLine)
    );
    for bad_line in [
        "- ledger.example.org/carekey AAAA\n",
        "\u{2014} ledger.example.org/carekey\n",
        "\u{2014}  AAAAAAAA\n",
        "\u{2014} ledger.example.org/carekey AAAA\n",
        "\u{2014} ledger.example.org/carekey not*base64\n",
        "\u{2014} a+b AAAAAAAA\n",
    ] {
        let bad = format!("{good}{bad_line}");
        assert!(
            matches!(
                open_checkpoint(&bad, &v, &[], NOW),
                Err(NoteError::MalformedSignatureLine { .. })
            ),
            "{bad_line:?}"
        );
    }
    let invalid_utf8 = [good.as_bytes(), &[0xff, b'\n']].concat();
    assert_eq!(
        open_checkpoint_bytes(&invalid_utf8, &v, &[], NOW),
        Err(NoteError::NotUtf8)
    );
    open_checkpoint_bytes(good.as_bytes(), &v, &[], NOW).unwrap();
    let huge = format!("{}{}", "x".repeat(note::MAX_NOTE_LEN), good);
    assert!(matches!(
        open_checkpoint(&huge, &v, &[], NOW),
        Err(NoteError::TooLarge { .. })
    ));
}

#[test]
fn signature_lines_are_capped() {
    let cp = checkpoint(3, [3; 32]);
    let body = cp.body();
    let stranger = NoteKey::new("stranger.example", SigningKey::from_bytes(&[9; 32])).unwrap();
    let filler = stranger.sign(&body);
    let mut sigs = vec![log_key().sign(&body)];
    sigs.extend(std::iter::repeat_n(filler, 99));
    let at_limit = write_note(&body, &sigs);
    open_checkpoint(&at_limit, &log_key().verifier(), &[], NOW).unwrap();
    sigs.push(sigs[1].clone());
    let over = write_note(&body, &sigs);
    assert_eq!(
        open_checkpoint(&over, &log_key().verifier(), &[], NOW),
        Err(NoteError::TooManySignatures { count: 101 })
    );
}

// --- cosignatures --------------------------------------------------------------------------

#[test]
fn cosignature_round_trip() {
    let cp = checkpoint(10, [4; 32]);
    let (w1, w2, w3) = (witness_key(1), witness_key(2), witness_key(3));
    let text = signed(
        &cp,
        &[
            w1.cosign(&cp, NOW - 5),
            w2.cosign(&cp, NOW),
            w1.cosign(&cp, NOW - 1),
        ],
    );
    let witnesses = [
        w1.verifier().for_cosignatures(),
        w2.verifier().for_cosignatures(),
        w3.verifier().for_cosignatures(),
    ];
    let opened = open_checkpoint(&text, &log_key().verifier(), &witnesses, NOW).unwrap();
    assert_eq!(
        opened.cosignatures,
        vec![
            ("witness1.example".to_owned(), NOW - 5),
            ("witness2.example".to_owned(), NOW)
        ]
    );
    // Cosignatures by witnesses the caller does not trust are ignored.
    let opened = open_checkpoint(&text, &log_key().verifier(), &witnesses[2..], NOW).unwrap();
    assert!(opened.cosignatures.is_empty());

    // The signed message is "cosignature/v1\ntime <t>\n" ‖ body.
    let sig = w2.cosign(&cp, NOW);
    let msg = format!("cosignature/v1\ntime {NOW}\n{}", cp.body());
    let ed = carekey_crypto::Signature::from_slice(&sig.signature[8..]).unwrap();
    w2.verifier()
        .public_key()
        .verify(msg.as_bytes(), &ed)
        .unwrap();
    assert_eq!(sig.signature[..8], NOW.to_be_bytes());
}

#[test]
fn bad_or_future_cosignatures_are_rejected() {
    let cp = checkpoint(10, [4; 32]);
    let w = witness_key(1);
    let wv = [w.verifier().for_cosignatures()];
    let log = log_key().verifier();

    let at_limit = signed(&cp, &[w.cosign(&cp, NOW + 60)]);
    open_checkpoint(&at_limit, &log, &wv, NOW).unwrap();
    let future = signed(&cp, &[w.cosign(&cp, NOW + 61)]);
    assert_eq!(
        open_checkpoint(&future, &log, &wv, NOW),
        Err(NoteError::FutureCosignature {
            name: "witness1.example".into(),
            timestamp: NOW + 61,
            now: NOW
        })
    );
    // A cosignature over another checkpoint.
    let mut other = w.cosign(&checkpoint(11, [4; 32]), NOW);
    other.key_id = wv[0].key_id();
    assert!(matches!(
        open_checkpoint(&signed(&cp, &[other]), &log, &wv, NOW),
        Err(NoteError::BadSignature { .. })
    ));
    // The timestamp is signed.
    let mut moved = w.cosign(&cp, NOW);
    moved.signature[7] ^= 1;
    assert!(open_checkpoint(&signed(&cp, &[moved]), &log, &wv, NOW).is_err());
    // Too short, or a timestamp above 2^63 - 1.
    let mut short = w.cosign(&cp, NOW);
    short.signature.truncate(64);
    assert!(matches!(
        open_checkpoint(&signed(&cp, &[short]), &log, &wv, NOW),
        Err(NoteError::MalformedCosignature { .. })
    ));
    let huge = w.cosign(&cp, 1 << 63);
    assert!(matches!(
        open_checkpoint(&signed(&cp, &[huge]), &log, &wv, u64::MAX),
        Err(NoteError::MalformedCosignature { .. })
    ));
    // A plain note signature by the witness key is not a cosignature.
    let plain = signed(&cp, &[w.sign(&cp.body())]);
    let opened = open_checkpoint(&plain, &log, &wv, NOW).unwrap();
    assert!(opened.cosignatures.is_empty());
    // Roles need the right key types.
    assert!(matches!(
        open_checkpoint(&at_limit, &log, &[w.verifier()], NOW),
        Err(NoteError::WrongKeyType { .. })
    ));
    assert!(matches!(
        open_checkpoint(&at_limit, &log.for_cosignatures(), &wv, NOW),
        Err(NoteError::WrongKeyType { .. })
    ));
}

#[test]
fn witness_response_lines() {
    let cp = checkpoint(10, [4; 32]);
    let (w1, w2) = (witness_key(1), witness_key(2));
    let response = format!(
        "{}{}",
        w1.cosign(&cp, NOW).to_line(),
        w2.cosign(&cp, NOW).to_line()
    );
    let lines = note::parse_signature_lines(&response).unwrap();
    assert_eq!(lines.len(), 2);
    // Appended to the log-signed note, they open as cosignatures.
    let text = format!("{}{}", signed(&cp, &[]), response);
    let wv = [
        w1.verifier().for_cosignatures(),
        w2.verifier().for_cosignatures(),
    ];
    let opened = open_checkpoint(&text, &log_key().verifier(), &wv, NOW).unwrap();
    assert_eq!(opened.cosignatures.len(), 2);
    assert!(note::parse_signature_lines("\u{2014} x AAAAAAA=").is_err());
    assert!(note::parse_signature_lines("").is_err());
}
