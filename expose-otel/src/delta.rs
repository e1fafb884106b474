//! Delta temporality: per-series baselines, kept between exports, that turn cumulative
//! reads into changes without losing an update when an export fails.
//!
//! Each read records what it saw as *pending*; only [`DeltaState::commit`], called once
//! the export carrying those points succeeded, makes them the baselines the next deltas
//! are taken from. An export that fails is never committed, so the next delta spans both
//! intervals and its start time says so.
//!
//! Memory: one entry per series in the latest read. Entries of series that the latest read
//! did not see are dropped at the end of every read, committed or not, so a collector that
//! is down while series come and go costs no more than the registry's own size.

use std::collections::HashMap;

/// One reading of a counter or a histogram series.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Reading {
    Int(u64),
    Float(f64),
    Histogram(Distribution),
}

/// What a histogram's delta is taken over: count, sum and every bucket count. Min and max
/// are not here: prism keeps them only since the start, so a delta point leaves them out.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Distribution {
    pub(crate) count: u64,
    pub(crate) sum: f64,
    pub(crate) bucket_counts: Vec<u64>,
    /// A fingerprint of the explicit bounds: buckets are only subtracted over the same
    /// bounds.
    pub(crate) bounds: u64,
}

impl Distribution {
    pub(crate) fn new(count: u64, sum: f64, bucket_counts: &[u64], bounds: &[f64]) -> Self {
        // FNV-1a over the bits of the bounds: a change of bounds (a custom metric that
        // re-buckets) must not pass for the same buckets.
        let bounds = bounds.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
            (h ^ b.to_bits()).wrapping_mul(0x0000_0100_0000_01b3)
        });
        Self {
            count,
            sum,
            bucket_counts: bucket_counts.to_vec(),
            bounds,
        }
    }

    /// `self - base` where no count went down, else `None` (a reset).
    fn since(&self, base: &Distribution) -> Option<Distribution> {
        if self.bounds != base.bounds
            || self.count < base.count
            || self.bucket_counts.len() != base.bucket_counts.len()
        {
            return None;
        }
        let bucket_counts = self
            .bucket_counts
            .iter()
            .zip(&base.bucket_counts)
            .map(|(now, then)| now.checked_sub(*then))
            .collect::<Option<Vec<u64>>>()?;
        Some(Distribution {
            count: self.count - base.count,
            sum: self.sum - base.sum,
            bucket_counts,
            bounds: self.bounds,
        })
    }
}

#[derive(Debug, Clone)]
struct Baseline {
    /// The series' start time when read: a different one means the series was re-created.
    created: u64,
    value: Reading,
    /// When it was read: the start time of the next delta.
    time: u64,
}

#[derive(Debug)]
struct Entry {
    committed: Option<Baseline>,
    pending: Option<Baseline>,
    /// The read that last saw this series.
    epoch: u64,
}

/// The baselines of every counter and histogram series, keyed by family name and label values.
#[derive(Debug, Default)]
pub(crate) struct DeltaState {
    entries: HashMap<Box<[u8]>, Entry>,
    epoch: u64,
    /// Reused for each lookup, so that a series already known costs no allocation.
    key: Vec<u8>,
}

impl DeltaState {
    /// Starts a read.
    pub(crate) fn begin(&mut self) {
        self.epoch += 1;
    }

    /// The key of one series: the family name and each label value, length-prefixed so
    /// that no two label sets share a key; the overflow series gets a marker of its own.
    pub(crate) fn key_start(&mut self, family: &str) {
        self.key.clear();
        push_part(&mut self.key, family);
    }

    pub(crate) fn key_push(&mut self, value: &str) {
        push_part(&mut self.key, value);
    }

    pub(crate) fn key_overflow(&mut self) {
        // A length no label value of the registry can have: u32::MAX is refused by core.
        self.key.extend_from_slice(&u32::MAX.to_le_bytes());
    }

    /// The delta of the series keyed so far, and its start time; records the reading as
    /// pending.
    pub(crate) fn delta(&mut self, created: u64, value: Reading, time: u64) -> (Reading, u64) {
        let epoch = self.epoch;
        let entry = match self.entries.get_mut(&self.key[..]) {
            Some(entry) => entry,
            None => self
                .entries
                .entry(self.key.clone().into_boxed_slice())
                .or_insert(Entry {
                    committed: None,
                    pending: None,
                    epoch,
                }),
        };
        entry.epoch = epoch;
        let since = entry
            .committed
            .as_ref()
            .filter(|b| b.created == created)
            .and_then(|b| Some((since(&value, &b.value)?, b.time)));
        let out = since.unwrap_or_else(|| (value.clone(), created));
        entry.pending = Some(Baseline {
            created,
            value,
            time,
        });
        out
    }

    /// Ends a read: forgets series it did not see.
    pub(crate) fn end(&mut self) {
        let epoch = self.epoch;
        self.entries.retain(|_, e| e.epoch == epoch);
    }

    /// The export of the latest read succeeded: its readings become the baselines.
    pub(crate) fn commit(&mut self) {
        for entry in self.entries.values_mut() {
            if let Some(pending) = entry.pending.take() {
                entry.committed = Some(pending);
            }
        }
    }

    /// Series tracked: those of the latest read.
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }
}

/// `now - base`, or `None` where the series went down (a reset) or changed type.
fn since(now: &Reading, base: &Reading) -> Option<Reading> {
    match (now, base) {
        (Reading::Int(v), Reading::Int(b)) if v >= b => Some(Reading::Int(v - b)),
        (Reading::Float(v), Reading::Float(b)) if v >= b => Some(Reading::Float(v - b)),
        (Reading::Histogram(v), Reading::Histogram(b)) => v.since(b).map(Reading::Histogram),
        _ => None,
    }
}

fn push_part(key: &mut Vec<u8>, part: &str) {
    // Core refuses label values of u32::MAX bytes or more, so the length fits.
    key.extend_from_slice(&(part.len() as u32).to_le_bytes());
    key.extend_from_slice(part.as_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(
        state: &mut DeltaState,
        labels: &[&str],
        created: u64,
        v: u64,
        t: u64,
    ) -> (Reading, u64) {
        state.key_start("f");
        for l in labels {
            state.key_push(l);
        }
        state.delta(created, Reading::Int(v), t)
    }

    #[test]
    fn deltas_span_failed_exports() {
        let mut s = DeltaState::default();
        s.begin();
        assert_eq!(read(&mut s, &["a"], 5, 10, 100), (Reading::Int(10), 5));
        s.end();
        s.commit();
        s.begin();
        assert_eq!(read(&mut s, &["a"], 5, 15, 200), (Reading::Int(5), 100));
        s.end(); // export failed: no commit
        s.begin();
        assert_eq!(read(&mut s, &["a"], 5, 22, 300), (Reading::Int(12), 100));
        s.end();
        s.commit();
        s.begin();
        assert_eq!(read(&mut s, &["a"], 5, 22, 400), (Reading::Int(0), 300));
    }

    #[test]
    fn recreated_or_reset_series_start_over() {
        let mut s = DeltaState::default();
        s.begin();
        read(&mut s, &["a"], 5, 10, 100);
        s.end();
        s.commit();
        s.begin();
        assert_eq!(read(&mut s, &["a"], 150, 3, 200), (Reading::Int(3), 150));
        assert_eq!(read(&mut s, &["b"], 5, 1, 200), (Reading::Int(1), 5));
        s.end();
        s.commit();
        s.begin();
        assert_eq!(
            read(&mut s, &["a"], 150, 1, 300),
            (Reading::Int(1), 150),
            "went down"
        );
    }

    fn hist(count: u64, sum: f64, buckets: &[u64], bounds: &[f64]) -> Reading {
        Reading::Histogram(Distribution::new(count, sum, buckets, bounds))
    }

    #[test]
    fn histogram_deltas_span_failed_exports_and_reset_on_any_decrease() {
        let mut s = DeltaState::default();
        let read = |s: &mut DeltaState, r: Reading, t: u64| {
            s.key_start("h");
            s.delta(5, r, t)
        };
        let b = [1.0, 2.0];
        s.begin();
        assert_eq!(
            read(&mut s, hist(3, 4.5, &[1, 2, 0], &b), 100),
            (hist(3, 4.5, &[1, 2, 0], &b), 5)
        );
        s.end();
        s.commit();
        s.begin();
        read(&mut s, hist(5, 7.0, &[1, 3, 1], &b), 200);
        s.end(); // failed
        s.begin();
        assert_eq!(
            read(&mut s, hist(6, 9.5, &[2, 3, 1], &b), 300),
            (hist(3, 5.0, &[1, 1, 1], &b), 100)
        );
        s.end();
        s.commit();
        s.begin();
        // One bucket went down although the count did not: a reset, sent whole.
        assert_eq!(
            read(&mut s, hist(6, 9.5, &[3, 2, 1], &b), 400),
            (hist(6, 9.5, &[3, 2, 1], &b), 5)
        );
        // Other bounds: not comparable either.
        let other = [1.0, 3.0];
        assert_eq!(
            read(&mut s, hist(7, 9.5, &[3, 3, 1], &other), 400),
            (hist(7, 9.5, &[3, 3, 1], &other), 5)
        );
    }

    #[test]
    fn label_sets_do_not_share_keys_and_unseen_series_are_forgotten() {
        let mut s = DeltaState::default();
        s.begin();
        read(&mut s, &["ab", "c"], 1, 1, 10);
        read(&mut s, &["a", "bc"], 1, 2, 10);
        s.key_start("f");
        s.key_overflow();
        s.delta(1, Reading::Int(3), 10);
        s.end();
        assert_eq!(s.len(), 3);
        s.begin();
        read(&mut s, &["a", "bc"], 1, 2, 20);
        s.end();
        assert_eq!(s.len(), 1, "no commit needed to forget");
    }
}
