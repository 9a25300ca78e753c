//! `Debug` of every secret type must not print key material.

use carekey_crypto::{
    age, AgreementSecret, RecoverySecret, SharedSecret, SigningKey, SymmetricKey,
};

fn assert_redacted(debug: &str, secret: &[u8]) {
    assert!(debug.contains("[redacted]"), "{debug}");
    let hex = hex::encode(secret);
    assert!(!debug.to_lowercase().contains(&hex), "{debug} leaks hex");
    let decimal = format!("{:?}", secret);
    assert!(!debug.contains(&decimal), "{debug} leaks bytes");
    // No run of 8 secret bytes in hex either.
    for window in secret.windows(8) {
        assert!(
            !debug.to_lowercase().contains(&hex::encode(window)),
            "{debug}"
        );
    }
}

#[test]
fn debug_output_of_secrets_is_redacted() {
    let key = SymmetricKey::generate();
    assert_redacted(&format!("{key:?}"), key.expose());

    let signing = SigningKey::generate();
    assert_redacted(&format!("{signing:?}"), &*signing.to_bytes());

    let agreement = AgreementSecret::generate();
    assert_redacted(&format!("{agreement:?}"), &*agreement.to_bytes());

    let shared: SharedSecret = agreement
        .agree(&AgreementSecret::generate().public())
        .unwrap();
    assert_redacted(&format!("{shared:?}"), shared.expose());

    let recovery = RecoverySecret::generate();
    let debug = format!("{recovery:?}");
    assert!(debug.contains("[redacted]"));
    for word in recovery.words().split(' ') {
        // Short common words could appear in the type name; long ones must not.
        if word.len() > 8 {
            assert!(!debug.contains(word), "{debug}");
        }
    }
    assert_redacted(
        &format!("{debug}{:?}", recovery.agreement_secret()),
        &*recovery.agreement_secret().to_bytes(),
    );

    let identity = age::Identity::generate();
    assert_redacted(&format!("{identity:?}"), &*identity.to_bytes());
    assert!(!format!("{identity:?}").contains(&identity.to_bech32()[15..]));

    let file_key = age::FileKey::generate();
    assert_redacted(&format!("{file_key:?}"), file_key.expose());
}

#[test]
fn error_messages_carry_no_secrets() {
    let identity = age::Identity::generate();
    let mut file = Vec::new();
    age::encrypt(&[identity.recipient()], &b"x"[..], &mut file).unwrap();
    let last = file.len() - 1;
    file[last] ^= 1;
    let err =
        age::decrypt(std::slice::from_ref(&identity), &file[..], &mut Vec::new()).unwrap_err();
    let message = format!("{err} {err:?}");
    assert!(!message.contains(&hex::encode(*identity.to_bytes())));
    assert!(matches!(
        err,
        age::AgeError::PayloadAuthentication { chunk: 0 }
    ));
}
