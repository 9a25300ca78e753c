//! Wrapping record keys to a provider: one X25519 key agreement per grant bundle.
//!
//! The patient generates an ephemeral X25519 key per bundle and agrees once with the provider's
//! key from the grant. HKDF-SHA256 (salt = ephemeral ‖ provider key, info bound to the grant
//! hash) gives the wrap key; each record identity is sealed under it with the record id,
//! version and ciphertext hash as associated data, so a wrap cannot be moved to another record.

use carekey_crypto::age::Identity;
use carekey_crypto::{hkdf_sha256, open, seal, AgreementPublic, AgreementSecret, SymmetricKey};
use carekey_model::{RecordId, SignedGrant};

use crate::WalletError;

const WRAP_INFO: &[u8] = b"carekey/v1/grant-key-wrap";

fn wrap_key(
    shared: &[u8; 32],
    ephemeral: &AgreementPublic,
    provider: &AgreementPublic,
    grant_hash: &[u8; 32],
) -> SymmetricKey {
    let mut salt = Vec::with_capacity(64);
    salt.extend_from_slice(ephemeral.as_bytes());
    salt.extend_from_slice(provider.as_bytes());
    let mut info = WRAP_INFO.to_vec();
    info.extend_from_slice(grant_hash);
    hkdf_sha256(&salt, shared, &info)
}

fn aad(id: &RecordId, version: u32, ciphertext_hash: &[u8; 32]) -> Vec<u8> {
    let mut aad = Vec::with_capacity(52);
    aad.extend_from_slice(&id.0);
    aad.extend_from_slice(&version.to_be_bytes());
    aad.extend_from_slice(ciphertext_hash);
    aad
}

/// The patient's side: wraps record identities for one bundle.
pub(crate) struct Wrapper {
    ephemeral: AgreementPublic,
    key: SymmetricKey,
}

impl Wrapper {
    pub(crate) fn new(grant: &SignedGrant) -> Result<Self, WalletError> {
        let secret = AgreementSecret::generate();
        let ephemeral = secret.public();
        let provider = grant.document().provider_agreement;
        let shared = secret.agree(&provider)?;
        Ok(Wrapper {
            ephemeral,
            key: wrap_key(shared.expose(), &ephemeral, &provider, &grant.hash()),
        })
    }

    pub(crate) fn ephemeral(&self) -> AgreementPublic {
        self.ephemeral
    }

    pub(crate) fn wrap(
        &self,
        id: &RecordId,
        version: u32,
        ciphertext_hash: &[u8; 32],
        identity: &Identity,
    ) -> Vec<u8> {
        seal(
            &self.key,
            &aad(id, version, ciphertext_hash),
            &identity.to_bytes()[..],
        )
    }
}

/// The provider's side: unwraps record identities from one bundle.
pub(crate) struct Unwrapper {
    key: SymmetricKey,
}

impl Unwrapper {
    pub(crate) fn new(
        own: &AgreementSecret,
        ephemeral: &AgreementPublic,
        grant: &SignedGrant,
    ) -> Result<Self, WalletError> {
        let shared = own.agree(ephemeral)?;
        Ok(Unwrapper {
            key: wrap_key(shared.expose(), ephemeral, &own.public(), &grant.hash()),
        })
    }

    pub(crate) fn unwrap(
        &self,
        id: &RecordId,
        version: u32,
        ciphertext_hash: &[u8; 32],
        wrapped: &[u8],
    ) -> Result<Identity, WalletError> {
        let bytes = open(&self.key, &aad(id, version, ciphertext_hash), wrapped).map_err(|_| {
            WalletError::from(crate::ProviderError::Refused(format!(
                "the key wrap for record {id} does not open with this provider's key"
            )))
        })?;
        let array: [u8; 32] = bytes[..].try_into().map_err(|_| {
            WalletError::from(crate::ProviderError::Refused(format!(
                "the key wrap for record {id} is malformed"
            )))
        })?;
        Ok(Identity::from_bytes(array))
    }
}
