//! A minimal deterministic CBOR (RFC 8949 §4.2.1) layer.
//!
//! Encoding is hand-written so that it is deterministic by construction: shortest-form heads,
//! definite lengths only, maps keyed by small unsigned integers written in ascending order.
//! Decoding goes through `ciborium` into [`Cbor`] (rejecting floats, simple values and non-integer
//! map keys) and then into typed documents; each caller re-encodes what it decoded and compares
//! bytes, so any non-canonical form (reordered map, long integer head, indefinite length) is refused.

use ciborium::value::Value;

use crate::error::DocumentError;

/// How deep any CBOR input may nest. Our documents nest at most four levels.
const MAX_DEPTH: usize = 16;

/// The subset of CBOR data items Carekey documents use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Cbor {
    Uint(u64),
    /// The negative integer `-1 - n`.
    Neg(u64),
    Bytes(Vec<u8>),
    Text(String),
    Array(Vec<Cbor>),
    /// Keys must be pushed in strictly ascending order (see [`MapBuilder`]).
    Map(Vec<(u64, Cbor)>),
    Tag(u64, Box<Cbor>),
}

impl Cbor {
    pub(crate) fn to_vec(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.write(&mut out);
        out
    }

    fn write(&self, out: &mut Vec<u8>) {
        match self {
            Cbor::Uint(n) => head(out, 0, *n),
            Cbor::Neg(n) => head(out, 1, *n),
            Cbor::Bytes(b) => {
                head(out, 2, b.len() as u64);
                out.extend_from_slice(b);
            }
            Cbor::Text(t) => {
                head(out, 3, t.len() as u64);
                out.extend_from_slice(t.as_bytes());
            }
            Cbor::Array(items) => {
                head(out, 4, items.len() as u64);
                for item in items {
                    item.write(out);
                }
            }
            Cbor::Map(entries) => {
                head(out, 5, entries.len() as u64);
                for (key, value) in entries {
                    head(out, 0, *key);
                    value.write(out);
                }
            }
            Cbor::Tag(tag, inner) => {
                head(out, 6, *tag);
                inner.write(out);
            }
        }
    }

    /// Decodes exactly one data item that must fill `bytes` completely.
    pub(crate) fn decode(bytes: &[u8]) -> Result<Cbor, DocumentError> {
        let mut rest = bytes;
        let value: Value = ciborium::de::from_reader_with_recursion_limit(&mut rest, MAX_DEPTH)
            .map_err(|e| DocumentError::malformed(format!("invalid CBOR: {e}")))?;
        if !rest.is_empty() {
            return Err(DocumentError::malformed(
                "trailing bytes after the CBOR item",
            ));
        }
        Cbor::from_value(value, 0)
    }

    fn from_value(value: Value, depth: usize) -> Result<Cbor, DocumentError> {
        if depth > MAX_DEPTH {
            return Err(DocumentError::malformed("CBOR nested too deeply"));
        }
        Ok(match value {
            Value::Integer(i) => {
                let i = i128::from(i);
                if i >= 0 {
                    Cbor::Uint(i as u64)
                } else {
                    Cbor::Neg((-1 - i) as u64)
                }
            }
            Value::Bytes(b) => Cbor::Bytes(b),
            Value::Text(t) => Cbor::Text(t),
            Value::Array(items) => Cbor::Array(
                items
                    .into_iter()
                    .map(|v| Cbor::from_value(v, depth + 1))
                    .collect::<Result<_, _>>()?,
            ),
            Value::Map(entries) => {
                let mut out = Vec::with_capacity(entries.len());
                for (k, v) in entries {
                    let key = match k {
                        Value::Integer(i) => u64::try_from(i).map_err(|_| {
                            DocumentError::malformed("map key is not an unsigned integer")
                        })?,
                        _ => return Err(DocumentError::malformed("map key is not an integer")),
                    };
                    out.push((key, Cbor::from_value(v, depth + 1)?));
                }
                Cbor::Map(out)
            }
            Value::Tag(tag, inner) => {
                Cbor::Tag(tag, Box::new(Cbor::from_value(*inner, depth + 1)?))
            }
            Value::Float(_) => return Err(DocumentError::malformed("floating-point value")),
            Value::Bool(_) | Value::Null => {
                return Err(DocumentError::malformed("unexpected simple value"))
            }
            _ => return Err(DocumentError::malformed("unsupported CBOR item")),
        })
    }
}

/// Writes a shortest-form CBOR head.
fn head(out: &mut Vec<u8>, major: u8, n: u64) {
    let m = major << 5;
    if n < 24 {
        out.push(m | n as u8);
    } else if n <= u64::from(u8::MAX) {
        out.push(m | 24);
        out.push(n as u8);
    } else if n <= u64::from(u16::MAX) {
        out.push(m | 25);
        out.extend_from_slice(&(n as u16).to_be_bytes());
    } else if n <= u64::from(u32::MAX) {
        out.push(m | 26);
        out.extend_from_slice(&(n as u32).to_be_bytes());
    } else {
        out.push(m | 27);
        out.extend_from_slice(&n.to_be_bytes());
    }
}

/// Builds an integer-keyed map; keys must be added in ascending order (checked in debug builds).
#[derive(Debug, Default)]
pub(crate) struct MapBuilder(Vec<(u64, Cbor)>);

impl MapBuilder {
    pub(crate) fn new() -> Self {
        Self(Vec::new())
    }

    pub(crate) fn put(mut self, key: u64, value: Cbor) -> Self {
        debug_assert!(
            self.0.last().is_none_or(|(k, _)| *k < key),
            "map keys out of order"
        );
        self.0.push((key, value));
        self
    }

    pub(crate) fn put_opt(self, key: u64, value: Option<Cbor>) -> Self {
        match value {
            Some(v) => self.put(key, v),
            None => self,
        }
    }

    pub(crate) fn build(self) -> Cbor {
        Cbor::Map(self.0)
    }
}

/// Reads an integer-keyed map field by field; refuses duplicate, out-of-order and unknown keys.
#[derive(Debug)]
pub(crate) struct MapReader {
    what: &'static str,
    entries: std::collections::VecDeque<(u64, Cbor)>,
}

impl MapReader {
    pub(crate) fn new(value: Cbor, what: &'static str) -> Result<Self, DocumentError> {
        let Cbor::Map(entries) = value else {
            return Err(DocumentError::malformed(format!("{what} is not a map")));
        };
        for pair in entries.windows(2) {
            if pair[0].0 == pair[1].0 {
                return Err(DocumentError::malformed(format!(
                    "{what}: duplicate key {}",
                    pair[0].0
                )));
            }
            if pair[0].0 > pair[1].0 {
                return Err(DocumentError::NotCanonical);
            }
        }
        Ok(Self {
            what,
            entries: entries.into(),
        })
    }

    /// Takes `key` if it is the next key present.
    pub(crate) fn optional(&mut self, key: u64) -> Option<Cbor> {
        match self.entries.front() {
            Some((k, _)) if *k == key => self.entries.pop_front().map(|(_, v)| v),
            _ => None,
        }
    }

    pub(crate) fn required(&mut self, key: u64) -> Result<Cbor, DocumentError> {
        self.optional(key)
            .ok_or_else(|| DocumentError::malformed(format!("{}: missing field {key}", self.what)))
    }

    /// Fails if any key was not consumed (an unknown field).
    pub(crate) fn finish(self) -> Result<(), DocumentError> {
        match self.entries.front() {
            None => Ok(()),
            Some((k, _)) => Err(DocumentError::malformed(format!(
                "{}: unknown field {k}",
                self.what
            ))),
        }
    }
}

// ----- typed readers -----

pub(crate) fn uint(value: Cbor, what: &'static str) -> Result<u64, DocumentError> {
    match value {
        Cbor::Uint(n) => Ok(n),
        _ => Err(DocumentError::malformed(format!(
            "{what} is not an unsigned integer"
        ))),
    }
}

pub(crate) fn uint32(value: Cbor, what: &'static str) -> Result<u32, DocumentError> {
    u32::try_from(uint(value, what)?)
        .map_err(|_| DocumentError::malformed(format!("{what} does not fit in 32 bits")))
}

pub(crate) fn bytes(
    value: Cbor,
    what: &'static str,
    limit: usize,
) -> Result<Vec<u8>, DocumentError> {
    match value {
        Cbor::Bytes(b) if b.len() <= limit => Ok(b),
        Cbor::Bytes(_) => Err(DocumentError::TooLarge { what, limit }),
        _ => Err(DocumentError::malformed(format!(
            "{what} is not a byte string"
        ))),
    }
}

pub(crate) fn array_n<const N: usize>(
    value: Cbor,
    what: &'static str,
) -> Result<[u8; N], DocumentError> {
    match value {
        Cbor::Bytes(b) => b
            .try_into()
            .map_err(|_| DocumentError::malformed(format!("{what} is not {N} bytes"))),
        _ => Err(DocumentError::malformed(format!(
            "{what} is not a byte string"
        ))),
    }
}

pub(crate) fn text(value: Cbor, what: &'static str, limit: usize) -> Result<String, DocumentError> {
    match value {
        Cbor::Text(t) if t.len() <= limit => Ok(t),
        Cbor::Text(_) => Err(DocumentError::TooLarge { what, limit }),
        _ => Err(DocumentError::malformed(format!(
            "{what} is not a text string"
        ))),
    }
}

pub(crate) fn array(
    value: Cbor,
    what: &'static str,
    limit: usize,
) -> Result<Vec<Cbor>, DocumentError> {
    match value {
        Cbor::Array(items) if items.len() <= limit => Ok(items),
        Cbor::Array(_) => Err(DocumentError::TooLarge { what, limit }),
        _ => Err(DocumentError::malformed(format!("{what} is not an array"))),
    }
}
