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

/// The most encoded bytes a lookup packs on the stack: label sets whose encoding (each
/// value plus one length byte) fits are hashed and compared in one piece. A multiple of 16,
/// the hash's block size.
pub(crate) const PACKED: usize = 96;

/// The label values of one lookup, with their hash: packed on the stack in the encoding
/// [`LabelValues`] stores when they fit (the common case: a handful of short values), so
/// that hashing reads whole 16-byte blocks and the comparison is one of two byte strings;
/// otherwise hashed as a stream and compared value by value. Either way the hash is the one
/// [`LabelValues::hash`] gives the stored encoding, and nothing is allocated.
pub(crate) struct Key<'a, S> {
    values: &'a [S],
    /// The encoding when it fits on the stack (`packed`), else empty.
    packed: &'a [u8],
    streamed: bool,
    hash: u64,
}

/// Room for a packed [`Key`], on the caller's stack: `Key::new` borrows it rather than
/// returning the bytes, which would copy them.
pub(crate) type KeyBuf = [u8; PACKED];

impl<'a, S: AsRef<str>> Key<'a, S> {
    /// Encodes and hashes `values` with the family's `seed`, packing them into `buf` (zero
    /// on entry) when they fit.
    #[inline(always)]
    pub(crate) fn new(seed: u64, values: &'a [S], buf: &'a mut KeyBuf) -> Self {
        let mut hash = Hash::new(seed);
        let mut len = 0;
        let mut streamed = false;
        for v in values {
            let v = v.as_ref().as_bytes();
            hash.value(v);
            // A value of 128 bytes or more has a multi-byte length; both kinds are
            // compared value by value once the packed buffer cannot hold them.
            if streamed || v.len() >= 0x80 || len + 1 + v.len() > PACKED {
                streamed = true;
                continue;
            }
            buf[len] = v.len() as u8;
            put(buf, len + 1, v);
            len += 1 + v.len();
        }
        Key {
            values,
            packed: if streamed { &[] } else { &buf[..len] },
            streamed,
            hash: hash.finish(),
        }
    }

    /// The hash of these values.
    #[inline(always)]
    pub(crate) fn hash(&self) -> u64 {
        self.hash
    }

    /// The values, as given.
    pub(crate) fn values(&self) -> &'a [S] {
        self.values
    }

    /// Whether `stored` holds exactly these values, byte for byte. The caller has checked
    /// the number of values.
    #[inline(always)]
    pub(crate) fn matches(&self, stored: &LabelValues) -> bool {
        if self.streamed {
            stored.matches(self.values)
        } else {
            let stored = stored.text.as_bytes();
            stored.len() == self.packed.len() && bytes_eq(stored, self.packed)
        }
    }
}

impl LabelValues {
    /// The hash of the stored values, equal to [`Key::hash`] of the same values.
    pub(crate) fn hash(&self, seed: u64) -> u64 {
        let mut hash = Hash::new(seed);
        for v in self.iter() {
            hash.value(v.as_bytes());
        }
        hash.finish()
    }
}

/// Copies `v` (under 128 bytes, fitting) to `buf` at `at` without a `memcpy` call for the
/// short values labels usually are: two overlapping word copies cover up to 16 bytes.
#[inline(always)]
fn put(buf: &mut [u8; PACKED], at: usize, v: &[u8]) {
    let n = v.len();
    let Some(dst) = buf.get_mut(at..at + n) else {
        return;
    };
    match n {
        0 => {}
        1..=3 => {
            dst[0] = v[0];
            dst[n / 2] = v[n / 2];
            dst[n - 1] = v[n - 1];
        }
        4..=7 => {
            dst[..4].copy_from_slice(&v[..4]);
            dst[n - 4..].copy_from_slice(&v[n - 4..]);
        }
        8..=16 => {
            dst[..8].copy_from_slice(&v[..8]);
            dst[n - 8..].copy_from_slice(&v[n - 8..]);
        }
        _ => dst.copy_from_slice(v),
    }
}

/// Equality of two byte strings of the same length, without a `memcmp` call for the short
/// strings labels usually are: overlapping word loads cover every byte up to 32 bytes.
#[inline(always)]
fn bytes_eq(a: &[u8], b: &[u8]) -> bool {
    let n = a.len();
    debug_assert_eq!(n, b.len());
    match n {
        0 => true,
        1..=3 => a[0] == b[0] && a[n / 2] == b[n / 2] && a[n - 1] == b[n - 1],
        4..=7 => word4(&a[..4]) == word4(&b[..4]) && word4(&a[n - 4..]) == word4(&b[n - 4..]),
        8..=16 => word8(&a[..8]) == word8(&b[..8]) && word8(&a[n - 8..]) == word8(&b[n - 8..]),
        17..=32 => {
            (word8(&a[..8]) ^ word8(&b[..8]))
                | (word8(&a[8..16]) ^ word8(&b[8..16]))
                | (word8(&a[n - 16..n - 8]) ^ word8(&b[n - 16..n - 8]))
                | (word8(&a[n - 8..]) ^ word8(&b[n - 8..]))
                == 0
        }
        _ => a == b,
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

/// Hashes label values with a per-family random seed, foldhash's construction without the
/// `Hasher` interface's per-call overhead (which was half the cost of a lookup): one folded
/// multiply per value of up to 16 bytes, read straight from the caller's strings (one per
/// 16 bytes beyond), each value's length mixed in so that `["ab", "c"]` and `["a", "bc"]`
/// hash apart. Both operands of every multiply are keyed by the seed, so that values chosen
/// by an attacker cannot zero one and collide on demand.
#[derive(Clone, Copy)]
struct Hash {
    acc: u64,
    k0: u64,
    k1: u64,
}

impl Hash {
    #[inline(always)]
    fn new(seed: u64) -> Self {
        Self {
            acc: seed ^ P[2],
            k0: seed ^ P[0],
            k1: seed.rotate_left(32) ^ P[1],
        }
    }

    #[inline(always)]
    fn value(&mut self, b: &[u8]) {
        let n = b.len();
        if n <= 16 {
            let (x, y) = words(b);
            self.acc = fold(self.acc ^ x ^ self.k0, y ^ (n as u64) ^ self.k1);
        } else {
            let mut chunks = b.chunks_exact(16);
            for c in &mut chunks {
                self.acc = fold(
                    self.acc ^ word8(c) ^ self.k1,
                    word8(&c[8..]) ^ self.k0 ^ P[3],
                );
            }
            let tail = &b[n - 16..];
            self.acc = fold(
                self.acc ^ word8(tail) ^ self.k0,
                word8(&tail[8..]) ^ (n as u64) ^ self.k1,
            );
        }
    }

    #[inline(always)]
    fn finish(self) -> u64 {
        fold(self.acc ^ self.k1, self.k0 ^ P[3])
    }
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
            prop_assert!(Key::new(1, &a, &mut [0; PACKED]).matches(&enc));
            if a.len() == b.len() {
                prop_assert_eq!(enc.matches(&b), a == b);
                prop_assert_eq!(Key::new(1, &b, &mut [0; PACKED]).matches(&enc), a == b);
            }
            prop_assert_eq!(Key::new(1, &a, &mut [0; PACKED]).hash(), enc.hash(1));
            if a != b {
                // Not a guarantee, but a collision of two random inputs at this rate would
                // mean the mixing is broken.
                prop_assert_ne!(Key::new(1, &a, &mut [0; PACKED]).hash(), Key::new(1, &b, &mut [0; PACKED]).hash());
            }
        }
    }

    fn hash(seed: u64, values: &[&str]) -> u64 {
        Key::new(seed, values, &mut [0; PACKED]).hash()
    }

    /// Label sets on either side of what a lookup packs on the stack (the total encoded
    /// length, and a value's 127 or 128 bytes) hash as their stored encoding does and match
    /// only themselves.
    #[test]
    fn packed_and_streamed_keys_agree_at_the_boundary() {
        // Miri runs this a hundred times slower: every ninth total there.
        for total in (PACKED - 20..PACKED + 20).step_by(if cfg!(miri) { 9 } else { 1 }) {
            for split in [0, 1, 15, 16, 17, 40] {
                let first = "a".repeat(split.min(total - 2));
                let second = "b".repeat(total - 2 - first.len());
                for (a, b) in [(&first, &second), (&second, &first)] {
                    let values = [a.as_str(), b.as_str()];
                    let stored = LabelValues::new(&values);
                    let mut buf = [0; PACKED];
                    let key = Key::new(7, &values, &mut buf);
                    assert_eq!(
                        key.streamed,
                        total > PACKED || a.len() >= 128 || b.len() >= 128
                    );
                    assert_eq!(key.hash(), stored.hash(7), "{total} {split}");
                    assert!(key.matches(&stored));
                    let other = [a.as_str(), "c"];
                    assert!(!Key::new(7, &other, &mut [0; PACKED]).matches(&stored));
                    assert!(!key.matches(&LabelValues::new(&other)));
                }
            }
        }
        for n in [126, 127, 128, 129] {
            let v = "x".repeat(n);
            let values = [v.as_str()];
            let stored = LabelValues::new(&values);
            let mut buf = [0; PACKED];
            let key = Key::new(3, &values, &mut buf);
            assert_eq!(key.hash(), stored.hash(3), "{n}");
            assert!(key.matches(&stored));
        }
    }

    #[test]
    fn separators_keep_values_apart() {
        assert_ne!(hash(1, &["ab", "c"]), hash(1, &["a", "bc"]));
        assert_ne!(hash(1, &["", "a"]), hash(1, &["a", ""]));
        assert_ne!(hash(1, &["a"]), hash(2, &["a"]), "the seed matters");
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
                assert_ne!(hash(1, &[a.as_str()]), hash(1, &[b_str]));
                assert!(!Key::new(1, &[b_str], &mut [0; PACKED])
                    .matches(&LabelValues::new(&[a.as_str()])));
                b[i] = b'a';
            }
            assert!(LabelValues::new(&[a.as_str()]).matches(&[a.as_str()]));
        }
    }
}
