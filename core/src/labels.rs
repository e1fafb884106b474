//! Label values as a family stores them: one allocation per series, compared exactly.

use std::fmt;
use std::hash::{BuildHasher, Hasher};

/// The label values of one series, in one boxed byte string: the length of each value as a
/// little-endian `u32`, then the values' bytes back to back.
///
/// One allocation instead of one per value keeps a three-label series small (the
/// per-series budget is 100 bytes), and lookups compare bytes without decoding UTF-8.
pub(crate) struct LabelValues {
    bytes: Box<[u8]>,
}

const LEN: usize = std::mem::size_of::<u32>();

impl LabelValues {
    /// Encodes `values`. Values longer than `u32::MAX` bytes cannot reach here: the family
    /// refuses them before encoding.
    pub(crate) fn new<S: AsRef<str>>(values: &[S]) -> Self {
        let total: usize = values.iter().map(|v| LEN + v.as_ref().len()).sum();
        let mut bytes = Vec::with_capacity(total);
        for v in values {
            bytes.extend_from_slice(&(v.as_ref().len() as u32).to_le_bytes());
        }
        for v in values {
            bytes.extend_from_slice(v.as_ref().as_bytes());
        }
        Self { bytes: bytes.into_boxed_slice() }
    }

    /// Whether these are exactly `values`, byte for byte. The caller has checked the count.
    #[inline]
    pub(crate) fn matches<S: AsRef<str>>(&self, values: &[S]) -> bool {
        let (lens, mut rest) = self.bytes.split_at(values.len() * LEN);
        for (len, v) in lens.chunks_exact(LEN).zip(values) {
            let v = v.as_ref().as_bytes();
            let len = u32::from_le_bytes([len[0], len[1], len[2], len[3]]) as usize;
            if len != v.len() || rest[..len] != *v {
                return false;
            }
            rest = &rest[len..];
        }
        true
    }

    /// The values, in label-name order. `count` is the family's number of label names.
    pub(crate) fn iter(&self, count: usize) -> Values<'_> {
        let (lens, data) = self.bytes.split_at(count * LEN);
        Values { lens, data }
    }
}

/// Iterator over the values of a [`LabelValues`].
#[derive(Clone, Debug)]
pub(crate) struct Values<'a> {
    lens: &'a [u8],
    data: &'a [u8],
}

impl<'a> Iterator for Values<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        let (len, lens) = self.lens.split_first_chunk::<LEN>()?;
        let len = (u32::from_le_bytes(*len) as usize).min(self.data.len());
        let (value, data) = self.data.split_at(len);
        self.lens = lens;
        self.data = data;
        // Built from `&str`s in `new`, so always UTF-8; the fallback only keeps this
        // function total.
        Some(std::str::from_utf8(value).unwrap_or_default())
    }
}

impl fmt::Debug for LabelValues {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LabelValues").field("bytes", &self.bytes.len()).finish()
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
            a in proptest::collection::vec(".{0,12}", 0..5),
            b in proptest::collection::vec(".{0,12}", 0..5),
        ) {
            let enc = LabelValues::new(&a);
            prop_assert_eq!(enc.iter(a.len()).collect::<Vec<_>>(), a.iter().map(String::as_str).collect::<Vec<_>>());
            prop_assert!(enc.matches(&a));
            if a.len() == b.len() {
                prop_assert_eq!(enc.matches(&b), a == b);
            }
            let state = foldhash::fast::FixedState::with_seed(1);
            prop_assert_eq!(
                hash_values(&state, a.iter().map(String::as_str)),
                hash_values(&state, enc.iter(a.len())),
            );
        }
    }

    #[test]
    fn separators_keep_values_apart() {
        let state = foldhash::fast::FixedState::with_seed(1);
        assert_ne!(hash_values(&state, ["ab", "c"]), hash_values(&state, ["a", "bc"]));
        assert!(!LabelValues::new(&["ab", "c"]).matches(&["a", "bc"]));
        assert!(LabelValues::new(&["a\0b", "é"]).matches(&["a\0b", "é"]));
    }
}
