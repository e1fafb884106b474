//! Label values as a family stores them: one allocation per series, compared exactly.

use std::fmt;

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
    #[inline(always)]
    pub(crate) fn matches<S: AsRef<str>>(&self, values: &[S]) -> bool {
        let mut rest: &[u8] = &self.bytes;
        for v in values {
            let v = v.as_ref().as_bytes();
            let (len, after) = match rest.split_first() {
                Some((&len, after)) if len < 0x80 => (usize::from(len), after),
                _ => match read_len(rest) {
                    Some(read) => read,
                    None => return false,
                },
            };
            if len != v.len() || after.len() < len {
                return false;
            }
            let (stored, next) = after.split_at(len);
            if !bytes_eq(stored, v) {
                return false;
            }
            rest = next;
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

/// Equality of two byte strings of the same length, without a `memcmp` call for the short
/// values labels usually are: two loads each cover every byte of a value up to 16 bytes.
#[inline(always)]
fn bytes_eq(a: &[u8], b: &[u8]) -> bool {
    let n = a.len();
    debug_assert_eq!(n, b.len());
    match n {
        0 => true,
        1..=3 => a[0] == b[0] && a[n / 2] == b[n / 2] && a[n - 1] == b[n - 1],
        4..=7 => word4(&a[..4]) == word4(&b[..4]) && word4(&a[n - 4..]) == word4(&b[n - 4..]),
        8..=16 => word8(&a[..8]) == word8(&b[..8]) && word8(&a[n - 8..]) == word8(&b[n - 8..]),
        _ => a == b,
    }
}

/// Two words that together hold every byte of `b` (at most 16 bytes long): the first and
/// last eight, four or one-to-three bytes. Given the length, the pair is unique to `b`.
#[inline(always)]
fn words(b: &[u8]) -> (u64, u64) {
    let n = b.len();
    if n >= 8 {
        (word8(&b[..8]), word8(&b[n - 8..]))
    } else if n >= 4 {
        (u64::from(word4(&b[..4])), u64::from(word4(&b[n - 4..])))
    } else if n > 0 {
        (
            u64::from(b[0]) | u64::from(b[n / 2]) << 8 | u64::from(b[n - 1]) << 16,
            0,
        )
    } else {
        (0, 0)
    }
}

#[inline(always)]
fn word8(b: &[u8]) -> u64 {
    b.first_chunk::<8>().map_or(0, |w| u64::from_le_bytes(*w))
}

#[inline(always)]
fn word4(b: &[u8]) -> u32 {
    b.first_chunk::<4>().map_or(0, |w| u32::from_le_bytes(*w))
}

/// The folded multiply of wyhash and foldhash: the 128-bit product's halves, xored.
#[inline(always)]
fn fold(a: u64, b: u64) -> u64 {
    let r = u128::from(a) * u128::from(b);
    (r as u64) ^ ((r >> 64) as u64)
}

// The digits of pi, as foldhash and wyhash use them: arbitrary, odd, well mixed.
const P: [u64; 4] = [
    0x243f_6a88_85a3_08d3,
    0x1319_8a2e_0370_7344,
    0xa409_3822_299f_31d0,
    0x082e_fa98_ec4e_6c89,
];

/// Hashes label values with a per-family random seed: one folded multiply per value of up
/// to 16 bytes (one per 16 bytes beyond), each value's length mixed in so that
/// `["ab", "c"]` and `["a", "bc"]` hash apart. Same construction as foldhash's, without
/// the `Hasher` interface's per-call overhead, which was half the cost of a lookup.
#[inline]
pub(crate) fn hash_values<'a>(seed: u64, values: impl IntoIterator<Item = &'a str>) -> u64 {
    let mut acc = seed;
    for v in values {
        let b = v.as_bytes();
        let n = b.len();
        if n <= 16 {
            let (x, y) = words(b);
            acc = fold(acc ^ x ^ P[0], y ^ (n as u64) ^ P[1]);
        } else {
            let mut chunks = b.chunks_exact(16);
            for c in &mut chunks {
                acc = fold(acc ^ word8(&c[..8]) ^ P[2], word8(&c[8..]) ^ P[3]);
            }
            let tail = &b[n - 16..];
            acc = fold(
                acc ^ word8(&tail[..8]) ^ P[0],
                word8(&tail[8..]) ^ (n as u64) ^ P[1],
            );
        }
    }
    fold(acc ^ P[2], P[3])
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
            prop_assert_eq!(
                hash_values(1, a.iter().map(String::as_str)),
                hash_values(1, enc.iter()),
            );
            if a != b {
                // Not a guarantee, but a collision of two random inputs at this rate would
                // mean the mixing is broken.
                prop_assert_ne!(hash_values(1, a.iter().map(String::as_str)), hash_values(1, b.iter().map(String::as_str)));
            }
        }
    }

    #[test]
    fn separators_keep_values_apart() {
        assert_ne!(hash_values(1, ["ab", "c"]), hash_values(1, ["a", "bc"]));
        assert_ne!(hash_values(1, ["", "a"]), hash_values(1, ["a", ""]));
        assert_ne!(
            hash_values(1, ["a"]),
            hash_values(2, ["a"]),
            "the seed matters"
        );
        assert!(!LabelValues::new(&["ab", "c"]).matches(&["a", "bc"]));
        assert!(LabelValues::new(&["a\0b", "é"]).matches(&["a\0b", "é"]));
        let long = "x".repeat(300);
        let enc = LabelValues::new(&[long.as_str(), "", "y"]);
        assert!(enc.matches(&[long.as_str(), "", "y"]));
        assert!(!enc.matches(&[long.as_str(), "y", ""]));
        assert_eq!(enc.iter().collect::<Vec<_>>(), [long.as_str(), "", "y"]);
        // Every length class of the word comparison: equal and one byte off.
        for n in [1, 2, 3, 4, 7, 8, 9, 15, 16, 17, 33] {
            let a = "a".repeat(n);
            let mut b = a.clone().into_bytes();
            for i in 0..n {
                b[i] = b'b';
                let b_str = std::str::from_utf8(&b).unwrap();
                assert!(
                    !LabelValues::new(&[a.as_str()]).matches(&[b_str]),
                    "{n} {i}"
                );
                assert_ne!(hash_values(1, [a.as_str()]), hash_values(1, [b_str]));
                b[i] = b'a';
            }
            assert!(LabelValues::new(&[a.as_str()]).matches(&[a.as_str()]));
        }
    }
}
