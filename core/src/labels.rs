//! Label values as a family stores them: one allocation per series, compared exactly.

use std::fmt;
use std::hash::{BuildHasher, Hasher};

/// The label values of one series, in one boxed byte string: each value's length as a
/// LEB128 varint followed by its bytes.
///
/// One allocation instead of one per value, and one length byte for values under 128
/// bytes, keep a three-label series small (the per-series budget is 100 bytes); lookups
/// compare bytes without decoding UTF-8.
#[derive(PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct LabelValues {
    bytes: Box<[u8]>,
}

impl LabelValues {
    /// Encodes `values`.
    pub(crate) fn new<S: AsRef<str>>(values: &[S]) -> Self {
        let total: usize = values.iter().map(|v| 10 + v.as_ref().len()).sum();
        let mut bytes = Vec::with_capacity(total);
        for v in values {
            let v = v.as_ref().as_bytes();
            let mut len = v.len();
            while len >= 0x80 {
                bytes.push((len as u8) | 0x80);
                len >>= 7;
            }
            bytes.push(len as u8);
            bytes.extend_from_slice(v);
        }
        Self {
            bytes: bytes.into_boxed_slice(),
        }
    }

    /// Whether these are exactly `values`, byte for byte. The caller has checked the count.
    #[inline]
    pub(crate) fn matches<S: AsRef<str>>(&self, values: &[S]) -> bool {
        let mut rest = &self.bytes[..];
        for v in values {
            let v = v.as_ref().as_bytes();
            let Some((len, after)) = read_len(rest) else {
                return false;
            };
            if len != v.len() || after.get(..len) != Some(v) {
                return false;
            }
            rest = &after[len..];
        }
        true
    }

    /// The values, in label-name order.
    pub(crate) fn iter(&self) -> Values<'_> {
        Values { rest: &self.bytes }
    }
}

/// Reads one varint length; `None` only on a truncated encoding, which `new` never makes.
#[inline]
fn read_len(bytes: &[u8]) -> Option<(usize, &[u8])> {
    let (&first, rest) = bytes.split_first()?;
    if first < 0x80 {
        return Some((first as usize, rest));
    }
    let mut len = (first & 0x7f) as usize;
    let mut shift = 7;
    let mut rest = rest;
    loop {
        let (&b, after) = rest.split_first()?;
        rest = after;
        len |= ((b & 0x7f) as usize) << shift;
        if b < 0x80 {
            return Some((len, rest));
        }
        shift += 7;
    }
}

/// Iterator over the values of a [`LabelValues`].
#[derive(Clone, Debug)]
pub(crate) struct Values<'a> {
    rest: &'a [u8],
}

impl<'a> Iterator for Values<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        let (len, after) = read_len(self.rest)?;
        let len = len.min(after.len());
        let (value, rest) = after.split_at(len);
        self.rest = rest;
        // Built from `&str`s in `new`, so always UTF-8; the fallback only keeps this
        // function total.
        Some(std::str::from_utf8(value).unwrap_or_default())
    }
}

impl fmt::Debug for LabelValues {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LabelValues")
            .field("bytes", &self.bytes.len())
            .finish()
    }
}

/// Hashes label values. The `0xff` after each value cannot occur in UTF-8, so
/// `["ab", "c"]` and `["a", "bc"]` hash apart.
#[inline]
pub(crate) fn hash_values<'a>(
    state: &impl BuildHasher,
    values: impl IntoIterator<Item = &'a str>,
) -> u64 {
    let mut h = state.build_hasher();
    for v in values {
        h.write(v.as_bytes());
        h.write_u8(0xff);
    }
    h.finish()
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn round_trips_and_matches_only_itself(
            a in proptest::collection::vec(".{0,12}|.{120,140}", 0..5),
            b in proptest::collection::vec(".{0,12}", 0..5),
        ) {
            let enc = LabelValues::new(&a);
            prop_assert_eq!(enc.iter().collect::<Vec<_>>(), a.iter().map(String::as_str).collect::<Vec<_>>());
            prop_assert!(enc.matches(&a));
            if a.len() == b.len() {
                prop_assert_eq!(enc.matches(&b), a == b);
            }
            let state = foldhash::fast::FixedState::with_seed(1);
            prop_assert_eq!(
                hash_values(&state, a.iter().map(String::as_str)),
                hash_values(&state, enc.iter()),
            );
        }
    }

    #[test]
    fn separators_keep_values_apart() {
        let state = foldhash::fast::FixedState::with_seed(1);
        assert_ne!(
            hash_values(&state, ["ab", "c"]),
            hash_values(&state, ["a", "bc"])
        );
        assert!(!LabelValues::new(&["ab", "c"]).matches(&["a", "bc"]));
        assert!(LabelValues::new(&["a\0b", "é"]).matches(&["a\0b", "é"]));
        let long = "x".repeat(300);
        let enc = LabelValues::new(&[long.as_str(), "", "y"]);
        assert!(enc.matches(&[long.as_str(), "", "y"]));
        assert!(!enc.matches(&[long.as_str(), "y", ""]));
        assert_eq!(enc.iter().collect::<Vec<_>>(), [long.as_str(), "", "y"]);
    }
}
