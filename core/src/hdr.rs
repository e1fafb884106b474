//! The HDR bucket layout: [`HdrLayout`] and its index function, the same arithmetic the
//! `hdrhistogram` crate uses, so that prism's atomic counts can be merged into an
//! [`hdrhistogram::Histogram`] bin for bin.
//!
//! # The layout
//!
//! An HDR histogram of lowest discernible value `low`, highest trackable value `high` and
//! `d` significant digits keeps `2^m` sub-buckets per power of two, `m` the smallest
//! integer with `2^m >= 2 * 10^d` (so that every value is known to `d` digits), and counts in
//! units of `2^u`, `u = floor(log2(low))`. Bucket 0 covers `[0, 2^(m+u))` in `2^m` bins of
//! width `2^u`; bucket `b >= 1` covers `[2^(m+u+b-1), 2^(m+u+b))` in `2^(m-1)` bins of width
//! `2^(u+b)` (its lower half is bucket `b - 1`). Laid end to end, value `v` lands at
//!
//! ```text
//! b     = (64 - u - m) - leading_zeros(v | ((2^m - 1) << u))    the bucket
//! s     = v >> (b + u)                                           the sub-bucket, < 2^m
//! index = (b + 1) * 2^(m-1) + s - 2^(m-1)
//! ```
//!
//! and the array has `(buckets + 1) * 2^(m-1)` bins, `buckets` the least that reach `high`.
//! Every bin is at most `1 / 2^(m-1)` of its lowest value wide, which is where the precision
//! guarantee comes from: any value read back is within a relative `10^-d` of what was
//! recorded (or within `2^u`, for values below `2^(m+u)`).

use std::fmt;

/// The bin layout of an HDR histogram of a given range and precision, and the function
/// that maps a value to its bin.
///
/// Equal, bin for bin, to what `hdrhistogram::Histogram::new_with_bounds(low, high, sigfig)`
/// allocates: the tests check [`index`](HdrLayout::index) against the crate's own indexing
/// over every bin of many layouts.
///
/// ```
/// use prism_core::HdrLayout;
///
/// // The default latency layout: 1 ns to 60 s at 3 significant digits.
/// let layout = HdrLayout::new(1, 60_000_000_000, 3).unwrap();
/// assert_eq!(layout.len(), 27_648); // 216 KiB of u64 counts
/// assert_eq!(layout.index(0), 0);
/// assert_eq!(layout.index(2047), 2047); // bucket 0: unit-wide bins up to 2^11
/// assert_eq!(layout.index(2048), 2048); // bucket 1 starts with 2-wide bins
/// assert_eq!(layout.index(2049), 2048);
/// // Every value in a bin reads back as that bin's range, within 0.1 %:
/// let i = layout.index(1_234_567);
/// assert!(layout.lowest_equivalent(i) <= 1_234_567 && 1_234_567 <= layout.highest_equivalent(i));
/// assert!(layout.highest_equivalent(i) - layout.lowest_equivalent(i) < 1_234_567 / 1000);
/// ```
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct HdrLayout {
    low: u64,
    high: u64,
    sigfig: u8,
    unit_magnitude: u8,
    half_count_magnitude: u8,
    half_count: u32,
    sub_bucket_mask: u64,
    leading_zero_count_base: u8,
    len: usize,
}

/// Why an [`HdrLayout`] could not be built: the same conditions as
/// `hdrhistogram::CreationError`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum LayoutError {
    /// The lowest discernible value must be at least 1.
    LowIsZero,
    /// The lowest discernible value must be at most `u64::MAX / 2`.
    LowTooLarge,
    /// The highest trackable value must be at least twice the lowest.
    HighLessThanTwiceLow,
    /// At most 5 significant digits.
    TooManyDigits,
    /// The precision asked for cannot be kept at this lowest value in 64 bits.
    PrecisionBeyondLow,
}

impl fmt::Display for LayoutError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            LayoutError::LowIsZero => "the lowest discernible value must be at least 1",
            LayoutError::LowTooLarge => "the lowest discernible value must be at most u64::MAX / 2",
            LayoutError::HighLessThanTwiceLow => {
                "the highest trackable value must be at least twice the lowest"
            }
            LayoutError::TooManyDigits => "at most 5 significant digits are supported",
            LayoutError::PrecisionBeyondLow => {
                "that many significant digits above that lowest value do not fit in 64 bits; \
                 lower the precision or the lowest value"
            }
        })
    }
}

impl std::error::Error for LayoutError {}

impl HdrLayout {
    /// The layout of a histogram tracking `low..=high` to `sigfig` significant digits.
    pub fn new(low: u64, high: u64, sigfig: u8) -> Result<Self, LayoutError> {
        if low < 1 {
            return Err(LayoutError::LowIsZero);
        }
        if low > u64::MAX / 2 {
            return Err(LayoutError::LowTooLarge);
        }
        if high < 2 * low {
            return Err(LayoutError::HighLessThanTwiceLow);
        }
        if sigfig > 5 {
            return Err(LayoutError::TooManyDigits);
        }
        // The crate computes both magnitudes through f64; doing the same keeps the layouts
        // equal where f64 rounds (a `low` just under a large power of two).
        let largest = 2 * 10_u32.pow(u32::from(sigfig));
        let unit_magnitude = (low as f64).log2().floor() as u8;
        let count_magnitude = f64::from(largest).log2().ceil() as u8;
        if unit_magnitude + count_magnitude > 63 {
            return Err(LayoutError::PrecisionBeyondLow);
        }
        let half_count_magnitude = count_magnitude - 1;
        let sub_bucket_count = 1_u32 << count_magnitude;
        let half_count = sub_bucket_count / 2;

        // Buckets needed to reach `high` (the crate's `buckets_to_cover`).
        let mut smallest_untrackable = u64::from(sub_bucket_count) << unit_magnitude;
        let mut buckets: u32 = 1;
        while smallest_untrackable <= high {
            if smallest_untrackable > u64::MAX / 2 {
                buckets += 1;
                break;
            }
            smallest_untrackable <<= 1;
            buckets += 1;
        }
        Ok(Self {
            low,
            high,
            sigfig,
            unit_magnitude,
            half_count_magnitude,
            half_count,
            sub_bucket_mask: (u64::from(sub_bucket_count) - 1) << unit_magnitude,
            leading_zero_count_base: 64 - unit_magnitude - count_magnitude,
            len: ((buckets + 1) * half_count) as usize,
        })
    }

    /// The bin of `value`: the HDR index, as in the module docs. A value past the last bin
    /// (above [`high`](Self::high) rounded up to its bucket's end) lands in the last bin, as
    /// with `hdrhistogram`'s `saturating_record`.
    #[inline]
    pub fn index(&self, value: u64) -> usize {
        let bucket =
            self.leading_zero_count_base - (value | self.sub_bucket_mask).leading_zeros() as u8;
        let sub_bucket = (value >> (bucket + self.unit_magnitude)) as usize;
        // For bucket 0 the sub-bucket may sit in the lower half: `base + sub_bucket` is then
        // below `half`, and the subtraction lands in bins 0..half, which bucket 0 alone uses.
        let index = ((usize::from(bucket) + 1) << self.half_count_magnitude) + sub_bucket
            - self.half_count as usize;
        index.min(self.len - 1)
    }

    /// The lowest value that lands in bin `index`.
    #[inline]
    pub fn lowest_equivalent(&self, index: usize) -> u64 {
        let mut bucket = (index >> self.half_count_magnitude) as i64 - 1;
        let mut sub_bucket =
            (index as u64 & (u64::from(self.half_count) - 1)) + u64::from(self.half_count);
        if bucket < 0 {
            sub_bucket -= u64::from(self.half_count);
            bucket = 0;
        }
        sub_bucket << (bucket as u32 + u32::from(self.unit_magnitude))
    }

    /// The highest value that lands in bin `index`. As in the crate, the last bin of a
    /// layout that reaches 2^64 ends at `u64::MAX - 1` (its end saturates before the `- 1`).
    #[inline]
    pub fn highest_equivalent(&self, index: usize) -> u64 {
        let bucket = ((index >> self.half_count_magnitude) as u32).saturating_sub(1);
        let width = 1_u64 << (bucket + u32::from(self.unit_magnitude));
        self.lowest_equivalent(index).saturating_add(width) - 1
    }

    /// The number of bins.
    #[inline]
    pub fn len(&self) -> usize {
        self.len
    }

    /// Always false: a layout has at least one bucket. Here for the `len`/`is_empty` pair.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// Bins per half bucket, `2^(m-1)`: the run of equal-width bins that starts each bucket
    /// past the first. prism allocates its counts in runs of this length.
    #[inline]
    pub fn run_len(&self) -> usize {
        self.half_count as usize
    }

    /// The lowest discernible value.
    pub fn low(&self) -> u64 {
        self.low
    }

    /// The highest trackable value.
    pub fn high(&self) -> u64 {
        self.high
    }

    /// The significant decimal digits kept.
    pub fn sigfig(&self) -> u8 {
        self.sigfig
    }

    /// An empty `hdrhistogram::Histogram` of this layout.
    pub(crate) fn new_hdr(&self) -> hdrhistogram::Histogram<u64> {
        hdrhistogram::Histogram::new_with_bounds(self.low, self.high, self.sigfig)
            .expect("HdrLayout::new accepts exactly what new_with_bounds accepts")
    }
}

impl fmt::Debug for HdrLayout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HdrLayout")
            .field("low", &self.low)
            .field("high", &self.high)
            .field("sigfig", &self.sigfig)
            .field("len", &self.len)
            .finish()
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn refuses_what_the_crate_refuses() {
        for (low, high, sigfig) in [
            (0, 10, 3),
            (u64::MAX / 2 + 1, u64::MAX, 3),
            (10, 19, 3),
            (1, 100, 6),
            (1 << 50, u64::MAX, 5),
        ] {
            assert_eq!(
                HdrLayout::new(low, high, sigfig).is_ok(),
                hdrhistogram::Histogram::<u64>::new_with_bounds(low, high, sigfig).is_ok(),
                "{low} {high} {sigfig}"
            );
        }
    }
}
