//! Label values as a family stores them: inline in the series for short label sets,
//! compared exactly.

use std::fmt;

use compact_str::CompactString;

/// The longest label value a family accepts, in bytes (1 MiB). A longer value is refused
/// like a label set past the cardinality limit: counted, never stored.
pub const MAX_LABEL_VALUE_BYTES: usize = 1 << 20;

/// The label values of one series, as one string: each value's length written as one
/// `char` (the length itself as the code point, shifted past the surrogate range), then the
/// value.
///
/// A length under 128 is one byte, so three short labels cost their bytes plus three. The
/// whole string lives in a [`CompactString`]: up to 24 bytes inline in the series (no
/// allocation, no pointer to chase on lookup or read), longer on the heap. Because it is a
/// `str`, reading a value back is a slice, not a UTF-8 validation.
#[derive(PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct LabelValues {
    text: CompactString,
}

/// The first code point of the surrogate range, which `char` cannot hold.
const SURROGATES: u32 = 0xD800;
const SURROGATE_SPAN: u32 = 0x800;

/// The `char` that stands for a length. `len` is at most [`MAX_LABEL_VALUE_BYTES`], well
/// under `char::MAX - 0x800`.
fn len_char(len: usize) -> char {
    let mut code = len as u32;
    if code >= SURROGATES {
        code += SURROGATE_SPAN;
    }
    char::from_u32(code).unwrap_or(char::REPLACEMENT_CHARACTER)
}

/// Reads one length back; `None` only past the end, which `new` never leaves.
#[inline(always)]
fn read_len(text: &str) -> Option<(usize, &str)> {
    let first = *text.as_bytes().first()?;
    if first < 0x80 {
        return Some((usize::from(first), &text[1..]));
    }
    let c = text.chars().next()?;
    let mut code = u32::from(c);
    if code >= SURROGATES + SURROGATE_SPAN {
        code -= SURROGATE_SPAN;
    }
    Some((code as usize, &text[c.len_utf8()..]))
}

impl LabelValues {
    /// Encodes `values`; the family has checked each is at most [`MAX_LABEL_VALUE_BYTES`].
    pub(crate) fn new<S: AsRef<str>>(values: &[S]) -> Self {
        let total: usize = values.iter().map(|v| 4 + v.as_ref().len()).sum();
        let mut text = CompactString::with_capacity(total);
        for v in values {
            let v = v.as_ref();
            text.push(len_char(v.len()));
            text.push_str(v);
        }
        text.shrink_to_fit();
        Self { text }
    }

    /// Whether these are exactly `values`, byte for byte. The caller has checked the count.
    #[inline(always)]
    pub(crate) fn matches<S: AsRef<str>>(&self, values: &[S]) -> bool {
        let mut rest: &[u8] = self.text.as_bytes();
        for v in values {
            let v = v.as_ref().as_bytes();
            let (len, after) = match rest.split_first() {
                Some((&len, after)) if len < 0x80 => (usize::from(len), after),
                _ => {
                    // A long value: decode its length from the str form.
                    let offset = self.text.len() - rest.len();
                    match read_len(&self.text[offset..]) {
                        Some((len, after)) => (len, after.as_bytes()),
                        None => return false,
                    }
                }
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
        Values { rest: &self.text }
    }
}

/// Iterator over the values of a [`LabelValues`].
#[derive(Clone, Debug)]
pub(crate) struct Values<'a> {
    rest: &'a str,
}

impl<'a> Iterator for Values<'a> {
    type Item = &'a str;

    #[inline]
    fn next(&mut self) -> Option<&'a str> {
        let (len, after) = read_len(self.rest)?;
        // `new` wrote `len` bytes of a `str` after each length, so this is a char boundary;
        // `get` keeps the function total all the same.
        let value = after.get(..len)?;
        self.rest = &after[len..];
        Some(value)
    }
}

impl fmt::Debug for LabelValues {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
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
        for n in [
            127,
            128,
            2047,
            2048,
            0xD7FF,
            0xD800,
            0xE000,
            70_000,
            MAX_LABEL_VALUE_BYTES,
        ] {
            let v = "é".repeat(n / 2) + &"x".repeat(n % 2);
            assert_eq!(v.len(), n);
            let enc = LabelValues::new(&[v.as_str(), "a", ""]);
            assert!(enc.matches(&[v.as_str(), "a", ""]), "{n}");
            assert!(!enc.matches(&[v.as_str(), "b", ""]), "{n}");
            assert_eq!(enc.iter().collect::<Vec<_>>(), [v.as_str(), "a", ""], "{n}");
        }
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
