//! ECDSA P-256 with SHA-256 (JOSE `ES256`): SMART Health Card signatures, and the JWK form of
//! P-256 public keys with their RFC 7638 thumbprints.
//!
//! Signatures are the JOSE form (RFC 7518 §3.4): `r || s`, 32 bytes each, big-endian — not DER.

use std::fmt;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use p256::ecdsa::signature::{Signer as _, Verifier as _};

use crate::CryptoError;

/// Length of an ES256 signature: `r || s`.
pub const ES256_SIGNATURE_LEN: usize = 64;

/// A P-256 public key (an issuer's card-signing key). Always a valid point, never the identity.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct EcPublicKey(p256::ecdsa::VerifyingKey);

impl EcPublicKey {
    /// The key with these affine coordinates (32 bytes each, big-endian), refused when the
    /// point is not on the curve.
    pub fn from_coordinates(x: &[u8; 32], y: &[u8; 32]) -> Result<Self, CryptoError> {
        let point = p256::EncodedPoint::from_affine_coordinates(x.into(), y.into(), false);
        p256::ecdsa::VerifyingKey::from_encoded_point(&point)
            .map(Self)
            .map_err(|_| CryptoError::InvalidEcPublicKey {
                reason: "the point is not on the P-256 curve",
            })
    }

    /// The key of a JWK's `x` and `y` members (unpadded base64url, RFC 7518 §6.2.1: exactly 32
    /// bytes each, leading zeros kept). The caller checks `kty: EC` and `crv: P-256`.
    pub fn from_jwk(x: &str, y: &str) -> Result<Self, CryptoError> {
        Self::from_coordinates(&coordinate(x)?, &coordinate(y)?)
    }

    /// The affine `x` coordinate, big-endian.
    pub fn x(&self) -> [u8; 32] {
        let point = self.0.to_encoded_point(false);
        let mut out = [0u8; 32];
        // An uncompressed point of a valid key always has both coordinates.
        if let Some(x) = point.x() {
            out.copy_from_slice(x);
        }
        out
    }

    /// The affine `y` coordinate, big-endian.
    pub fn y(&self) -> [u8; 32] {
        let point = self.0.to_encoded_point(false);
        let mut out = [0u8; 32];
        if let Some(y) = point.y() {
            out.copy_from_slice(y);
        }
        out
    }

    /// The JWK `x` member (unpadded base64url).
    pub fn jwk_x(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.x())
    }

    /// The JWK `y` member (unpadded base64url).
    pub fn jwk_y(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.y())
    }

    /// The RFC 7638 JWK thumbprint: unpadded base64url of SHA-256 over
    /// `{"crv":"P-256","kty":"EC","x":"…","y":"…"}` (required members only, in lexicographic
    /// order, no whitespace). SMART Health Cards use it as the key's `kid`.
    pub fn jwk_thumbprint(&self) -> String {
        let canonical = format!(
            r#"{{"crv":"P-256","kty":"EC","x":"{}","y":"{}"}}"#,
            self.jwk_x(),
            self.jwk_y()
        );
        URL_SAFE_NO_PAD.encode(crate::sha256(canonical.as_bytes()))
    }

    /// Verifies an ES256 signature (`r || s`) over `message`. Malformed signatures (wrong
    /// length, `r` or `s` zero or not below the group order) are refused like wrong ones.
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> Result<(), CryptoError> {
        if signature.len() != ES256_SIGNATURE_LEN {
            return Err(CryptoError::SignatureLength {
                len: signature.len(),
            });
        }
        let signature =
            p256::ecdsa::Signature::from_slice(signature).map_err(|_| CryptoError::BadSignature)?;
        self.0
            .verify(message, &signature)
            .map_err(|_| CryptoError::BadSignature)
    }
}

impl fmt::Debug for EcPublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "EcPublicKey({})", self.jwk_thumbprint())
    }
}

/// A P-256 signing key: for tests and a future issuer role; the wallet only verifies.
///
/// Zeroized on drop (the inner key does it); `Debug` prints `[redacted]` and the thumbprint.
#[derive(Clone)]
pub struct EcSigningKey(p256::ecdsa::SigningKey);

impl EcSigningKey {
    /// A fresh key from the OS CSPRNG.
    pub fn generate() -> Self {
        Self(p256::ecdsa::SigningKey::random(&mut crate::os_rng()))
    }

    /// The matching public key.
    pub fn public(&self) -> EcPublicKey {
        EcPublicKey(*self.0.verifying_key())
    }

    /// Signs `message` (ES256, deterministic nonces per RFC 6979): `r || s`.
    pub fn sign(&self, message: &[u8]) -> [u8; ES256_SIGNATURE_LEN] {
        let signature: p256::ecdsa::Signature = self.0.sign(message);
        signature.to_bytes().into()
    }
}

impl fmt::Debug for EcSigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EcSigningKey")
            .field("secret", &"[redacted]")
            .field("public", &self.public())
            .finish()
    }
}

/// One JWK coordinate: unpadded base64url of exactly 32 bytes.
fn coordinate(encoded: &str) -> Result<[u8; 32], CryptoError> {
    let bytes = URL_SAFE_NO_PAD
        .decode(encoded)
        .map_err(|_| CryptoError::InvalidEcPublicKey {
            reason: "a coordinate is not unpadded base64url",
        })?;
    bytes
        .as_slice()
        .try_into()
        .map_err(|_| CryptoError::InvalidEcPublicKey {
            reason: "a coordinate is not 32 bytes",
        })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn sign_verify_and_jwk_round_trip() {
        let key = EcSigningKey::generate();
        let public = key.public();
        let signature = key.sign(b"card");
        public.verify(b"card", &signature).unwrap();
        assert_eq!(
            public.verify(b"cart", &signature),
            Err(CryptoError::BadSignature)
        );
        assert_eq!(
            public.verify(b"card", &signature[..63]),
            Err(CryptoError::SignatureLength { len: 63 })
        );
        assert_eq!(
            public.verify(b"card", &[0u8; 64]),
            Err(CryptoError::BadSignature)
        );
        let again = EcPublicKey::from_jwk(&public.jwk_x(), &public.jwk_y()).unwrap();
        assert_eq!(again, public);
        assert_eq!(again.jwk_thumbprint(), public.jwk_thumbprint());
        assert!(!format!("{key:?}").contains(&hex::encode(key.0.to_bytes())));
    }

    #[test]
    fn jwk_refuses_bad_coordinates() {
        let public = EcSigningKey::generate().public();
        // y + 1 is (with overwhelming probability) not on the curve.
        let mut y = public.y();
        y[31] ^= 1;
        assert!(EcPublicKey::from_coordinates(&public.x(), &y).is_err());
        assert!(EcPublicKey::from_jwk("AAAA", &public.jwk_y()).is_err());
        assert!(EcPublicKey::from_jwk(&format!("{}=", public.jwk_x()), &public.jwk_y()).is_err());
        assert!(EcPublicKey::from_jwk(&public.jwk_x(), "!!").is_err());
    }

    /// RFC 7638 §3.1 gives an RSA example only; RFC 9449 (DPoP) §4.1 prints this P-256 JWK and
    /// §6.1 its thumbprint (`jkt`).
    #[test]
    fn thumbprint_matches_rfc9449_example() {
        let public = EcPublicKey::from_jwk(
            "l8tFrhx-34tV3hRICRDY9zCkDlpBhF42UQUfWVAWBFs",
            "9VE4jf_Ok_o64zbTTlcuNJajHmt6v9TDVrU0CdvGRDA",
        )
        .unwrap();
        assert_eq!(
            public.jwk_thumbprint(),
            "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"
        );
    }
}
