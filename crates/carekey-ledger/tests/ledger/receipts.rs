//! tlog-proof receipts and tlog-witness add-checkpoint bodies.

use carekey_crypto::SigningKey;
use carekey_ledger::note::{write_note, Checkpoint, NoteError, NoteKey};
use carekey_ledger::proof::Receipt;
use carekey_ledger::witness::AddCheckpoint;
use carekey_ledger::ProofError;

use crate::notes::{log_key, witness_key};
use crate::{entry, tree_of};

const NOW: u64 = 1_700_000_000;

fn receipt(index: u64, size: u64) -> Receipt {
    let tree = tree_of(size);
    let cp = Checkpoint {
        origin: log_key().name().to_owned(),
        size,
        root: tree.root(),
        extensions: vec![],
    };
    let body = cp.body();
    let note = write_note(
        &body,
        &[log_key().sign(&body), witness_key(1).cosign(&cp, NOW - 10)],
    );
    Receipt {
        index,
        proof: tree.inclusion_proof(index, size).unwrap(),
        checkpoint: note,
        extra: None,
    }
}

/// The example of the C2SP tlog-proof spec (its signatures are elided there, so only the
/// receipt syntax is checked).
#[test]
fn spec_example_parses() {
    let text = "c2sp.org/tlog-proof@v1
extra YWdlLXYxLjIuMS1kYXJ3aW4tYXJtNjQudGFyLmd6kYXJ3aW4tYXJ
index 73894
gSKyXoYZUgZ6jduWYrkDOARinOMGJveXjgMkBTcdPlQ=
B95lDa8R83lS8n0eG+o0buTxRKQTYFi//1U8anccXmA=
EKNzoDWG8LGC0Yp9o+sv3qllpMP9uHQ9B20KNL+Q1zs=
RoopEkOdqkYqMB4MJXrbt/hMjOxsVn0IrWjpz1ZMMes=
AHCioX9nLjsrse6YhjRRmk1WUEirVOLLRoOQ6vfO5vk=

example.com/fancylog
109482
sFodV/vSp5O8n9a8QpW6PRY97tfOSW5bsc2Xl/EQi08=

\u{2014} example.com/fancylog hI2DJw[...]1roloI=
";
    let r = Receipt::parse(text).unwrap();
    assert_eq!(r.index, 73894);
    assert_eq!(r.proof.len(), 5);
    assert!(r
        .extra
        .as_ref()
        .unwrap()
        .starts_with(b"age-v1.2.1-darwin-arm64.tar.gz"));
    assert!(r.checkpoint.starts_with("example.com/fancylog\n109482\n"));
    assert_eq!(r.encode(), text);
}

#[test]
fn encode_parse_round_trip() {
    let mut r = receipt(5, 20);
    assert_eq!(Receipt::parse(&r.encode()).unwrap(), r);
    r.extra = Some(b"salt and context".to_vec());
    assert_eq!(Receipt::parse(&r.encode()).unwrap(), r);
    let single = receipt(0, 1);
    assert!(single.proof.is_empty());
    assert_eq!(Receipt::parse(&single.encode()).unwrap(), single);
}

#[test]
fn malformed_receipts_are_rejected() {
    let good = receipt(5, 20).encode();
    Receipt::parse(&good).unwrap();
    let bad_cases = [
        good.replacen("c2sp.org/tlog-proof@v1", "c2sp.org/tlog-proof@v2", 1),
        good.replacen("index 5", "index 05", 1),
        good.replacen("index 5", "index -5", 1),
        good.replacen("index 5", "extra !!\nindex 5", 1),
        good.replacen("index 5\n", "index 5\nAAAA\n", 1),
        good.split("\n\n").next().unwrap().to_owned(),
        format!("{}\n\n", good.split("\n\n").next().unwrap()),
        String::new(),
        "c2sp.org/tlog-proof@v1".to_owned(),
    ];
    for bad in bad_cases {
        assert!(
            matches!(
                Receipt::parse(&bad),
                Err(ProofError::MalformedReceipt { .. })
            ),
            "{bad:?}"
        );
    }
}

#[test]
fn verify_succeeds_and_catches_every_substitution() {
    let log = log_key().verifier();
    let wv = [witness_key(1).verifier().for_cosignatures()];
    let r = receipt(5, 20);
    let opened = r.verify(&entry(5), &log, &wv, NOW).unwrap();
    assert_eq!(opened.checkpoint.size, 20);
    assert_eq!(
        opened.cosignatures,
        vec![("witness1.example".to_owned(), NOW - 10)]
    );

    // Wrong entry.
    assert_eq!(
        r.verify(&entry(6), &log, &wv, NOW),
        Err(ProofError::RootMismatch)
    );
    // Wrong index.
    let moved = Receipt {
        index: 4,
        ..r.clone()
    };
    assert!(moved.verify(&entry(5), &log, &wv, NOW).is_err());
    let outside = Receipt {
        index: 20,
        ..r.clone()
    };
    assert!(matches!(
        outside.verify(&entry(5), &log, &wv, NOW),
        Err(ProofError::IndexOutOfRange { .. })
    ));
    // Tampered proof.
    let mut tampered = r.clone();
    tampered.proof[1][31] ^= 0x80;
    assert_eq!(
        tampered.verify(&entry(5), &log, &wv, NOW),
        Err(ProofError::RootMismatch)
    );
    let mut short = r.clone();
    short.proof.pop();
    assert!(short.verify(&entry(5), &log, &wv, NOW).is_err());
    // Wrong log key (same name).
    let other = NoteKey::new(log.name(), SigningKey::from_bytes(&[77; 32])).unwrap();
    assert!(matches!(
        r.verify(&entry(5), &other.verifier(), &wv, NOW),
        Err(ProofError::Checkpoint(
            NoteError::MissingLogSignature { .. }
        ))
    ));
    // A checkpoint edited after signing.
    let edited = Receipt {
        checkpoint: r.checkpoint.replacen("\n20\n", "\n21\n", 1),
        ..r.clone()
    };
    assert!(matches!(
        edited.verify(&entry(5), &log, &wv, NOW),
        Err(ProofError::Checkpoint(NoteError::BadSignature { .. }))
    ));
    // Through the text form.
    let reparsed = Receipt::parse(&r.encode()).unwrap();
    reparsed.verify(&entry(5), &log, &wv, NOW).unwrap();
}

/// The example request body of C2SP tlog-witness (`add-checkpoint`).
#[test]
fn add_checkpoint_spec_example() {
    let text = "old 20852014
PlRNCrwHpqhGrupue0L7gxbjbMiKA9temvuZZDDpkaw=
jrJZDmY8Y7SyJE0MWLpLozkIVMSMZcD5kvuKxPC3swk=
5+pKlUdi2LeF/BcMHBn+Ku6yhPGNCswZZD1X/6QgPd8=
/6WVhPs2CwSsb5rYBH5cjHV/wSmA79abXAwhXw3Kj/0=

example.com/behind-the-sofa
20852163
CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=

\u{2014} example.com/behind-the-sofa Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=
\u{2014} example.com/behind-the-sofa opLqBQsREYCgu6xQkYQwJr9fo45a62DN9EdmHXnZdXNqlcVGlCum2Wks+49/V6267UEjw6QUXTS5Rovnzv++qbSzm9Q=
";
    let req = AddCheckpoint::parse(text).unwrap();
    assert_eq!(req.old_size, 20_852_014);
    assert_eq!(req.proof.len(), 4);
    assert!(req.checkpoint.starts_with("example.com/behind-the-sofa\n"));
    assert_eq!(req.encode(), text);

    assert!(AddCheckpoint::parse("old 01\n\ncp\n").is_err());
    assert!(AddCheckpoint::parse("old 1\nAAAA\n\ncp\n").is_err());
    assert!(AddCheckpoint::parse("old 1\n\n").is_err());
    let too_long = format!(
        "old 1\n{}\ncp\n",
        format!("{}\n", "A".repeat(43) + "=").repeat(64)
    );
    assert!(AddCheckpoint::parse(&too_long).is_err());
}
