//! Random 128-bit identifiers for records and grants.

use std::fmt;
use std::str::FromStr;

/// Why a record or grant id could not be read from text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ParseIdError {
    /// The text is not 32 characters long.
    #[error("an id is 32 hex characters, found {found}")]
    WrongLength {
        /// How many characters were given.
        found: usize,
    },
    /// The text contains something other than lowercase or uppercase hex digits.
    #[error("an id is hex: found a character that is not 0-9 or a-f")]
    NotHex,
}

fn parse_hex16(s: &str) -> Result<[u8; 16], ParseIdError> {
    if s.len() != 32 {
        return Err(ParseIdError::WrongLength {
            found: s.chars().count(),
        });
    }
    let mut out = [0u8; 16];
    hex::decode_to_slice(s, &mut out).map_err(|_| ParseIdError::NotHex)?;
    Ok(out)
}

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident, $what:literal) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(pub [u8; 16]);

        impl $name {
            /// A fresh random id (128 bits from the operating system's generator).
            pub fn generate() -> Self {
                Self(carekey_crypto::random_array::<16>())
            }

            /// The 16 raw bytes.
            pub fn as_bytes(&self) -> &[u8; 16] {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&hex::encode(self.0))
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!(stringify!($name), "({})"), self)
            }
        }

        impl FromStr for $name {
            type Err = ParseIdError;
            /// Reads 32 hex characters (either case); [`Display`](fmt::Display) writes lowercase.
            fn from_str(s: &str) -> Result<Self, ParseIdError> {
                parse_hex16(s).map(Self)
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(&self.to_string())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                struct Visitor;
                impl serde::de::Visitor<'_> for Visitor {
                    type Value = $name;
                    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                        f.write_str(concat!("a ", $what, " id: 32 hex characters"))
                    }
                    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<$name, E> {
                        v.parse().map_err(E::custom)
                    }
                }
                deserializer.deserialize_str(Visitor)
            }
        }
    };
}

id_type!(
    /// Identifies one medical record in a patient's wallet (all its versions share it).
    RecordId,
    "record"
);
id_type!(
    /// Identifies one access grant.
    GrantId,
    "grant"
);
