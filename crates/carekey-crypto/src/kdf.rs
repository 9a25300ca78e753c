//! Argon2id passphrase key derivation.

use crate::{CryptoError, SymmetricKey};

/// Argon2id cost parameters, stored in the vault header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KdfParams {
    /// Memory in KiB.
    pub memory_kib: u32,
    /// Number of passes.
    pub iterations: u32,
    /// Degree of parallelism (lanes).
    pub parallelism: u32,
}

impl KdfParams {
    /// RFC 9106 §4, second recommended option: 64 MiB, t = 3, p = 4.
    pub const DEFAULT: KdfParams = KdfParams {
        memory_kib: 65536,
        iterations: 3,
        parallelism: 4,
    };

    /// Tiny parameters that make tests fast. Never use them for real data.
    pub const TEST: KdfParams = KdfParams {
        memory_kib: 64,
        iterations: 1,
        parallelism: 1,
    };

    /// The weakest parameters a real vault may use (OWASP's floor for Argon2id: 19 MiB,
    /// t = 2). A vault below it opens only if it uses exactly [`KdfParams::TEST`].
    pub const MIN: KdfParams = KdfParams {
        memory_kib: 19 * 1024,
        iterations: 2,
        parallelism: 1,
    };

    /// Whether these parameters cost at least [`KdfParams::MIN`].
    pub fn meets_minimum(&self) -> bool {
        self.is_at_least(&Self::MIN)
    }

    /// Whether these parameters cost at least as much memory and as many passes as `other`.
    pub fn is_at_least(&self, other: &KdfParams) -> bool {
        self.memory_kib >= other.memory_kib && self.iterations >= other.iterations
    }

    /// Whether these are the [`KdfParams::TEST`] parameters.
    pub fn is_test(&self) -> bool {
        *self == Self::TEST
    }

    /// Largest accepted memory: 4 GiB.
    pub const MAX_MEMORY_KIB: u32 = 4 * 1024 * 1024;
    /// Largest accepted number of passes.
    pub const MAX_ITERATIONS: u32 = 64;
    /// Largest accepted parallelism.
    pub const MAX_PARALLELISM: u32 = 16;

    /// Checks the bounds, so that a hostile vault header cannot make us
    /// allocate unbounded memory or spin forever: parallelism 1..=16,
    /// iterations 1..=64, memory 8 × parallelism KiB ..= 4 GiB.
    pub fn validate(&self) -> Result<(), CryptoError> {
        if !(1..=Self::MAX_PARALLELISM).contains(&self.parallelism) {
            return Err(CryptoError::KdfParams {
                reason: "parallelism must be 1..=16",
            });
        }
        if !(1..=Self::MAX_ITERATIONS).contains(&self.iterations) {
            return Err(CryptoError::KdfParams {
                reason: "iterations must be 1..=64",
            });
        }
        if self.memory_kib < 8 * self.parallelism || self.memory_kib > Self::MAX_MEMORY_KIB {
            return Err(CryptoError::KdfParams {
                reason: "memory must be 8 × parallelism KiB ..= 4 GiB",
            });
        }
        Ok(())
    }
}

/// Argon2id (version 0x13) of `passphrase` with a 16-byte salt: a 32-byte key.
pub fn argon2id(
    passphrase: &[u8],
    salt: &[u8; 16],
    params: &KdfParams,
) -> Result<SymmetricKey, CryptoError> {
    params.validate()?;
    let argon_params = argon2::Params::new(
        params.memory_kib,
        params.iterations,
        params.parallelism,
        Some(32),
    )
    .map_err(|_| CryptoError::KdfParams {
        reason: "rejected by Argon2",
    })?;
    let argon = argon2::Argon2::new(
        argon2::Algorithm::Argon2id,
        argon2::Version::V0x13,
        argon_params,
    );
    let mut key = zeroize::Zeroizing::new([0u8; 32]);
    argon
        .hash_password_into(passphrase, salt, key.as_mut())
        .map_err(|_| CryptoError::Kdf)?;
    Ok(SymmetricKey::from_bytes(*key))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn bounds() {
        KdfParams::DEFAULT.validate().unwrap();
        KdfParams::TEST.validate().unwrap();
        let bad = [
            KdfParams {
                memory_kib: 7,
                iterations: 1,
                parallelism: 1,
            },
            KdfParams {
                memory_kib: 31,
                iterations: 1,
                parallelism: 4,
            },
            KdfParams {
                memory_kib: 4 * 1024 * 1024 + 1,
                iterations: 1,
                parallelism: 1,
            },
            KdfParams {
                memory_kib: 64,
                iterations: 0,
                parallelism: 1,
            },
            KdfParams {
                memory_kib: 64,
                iterations: 65,
                parallelism: 1,
            },
            KdfParams {
                memory_kib: 1024,
                iterations: 1,
                parallelism: 0,
            },
            KdfParams {
                memory_kib: 1024,
                iterations: 1,
                parallelism: 17,
            },
        ];
        for p in bad {
            assert!(p.validate().is_err(), "{p:?}");
            assert!(argon2id(b"pw", &[0; 16], &p).is_err(), "{p:?}");
        }
    }

    #[test]
    fn matches_reference_implementation() {
        // Expected value from the reference C implementation (Debian's `argon2` CLI):
        // `echo -n password | argon2 somesaltsomesalt -id -t 2 -m 16 -p 1 -l 32 -r`
        let p = KdfParams {
            memory_kib: 65536,
            iterations: 2,
            parallelism: 1,
        };
        let key = argon2id(b"password", b"somesaltsomesalt", &p).unwrap();
        assert_eq!(
            hex::encode(key.expose()),
            "fc33b78139231d34b71626bd6245c1d72efa190ad605c3d8166a72adcedfa2c2"
        );
        let other = argon2id(b"passwore", b"somesaltsomesalt", &p).unwrap();
        assert_ne!(key.expose(), other.expose());
    }
}
