//! The bounded multi-resolution history of an SLO's two running counts.
//!
//! One ring per window length (the burn-rate windows, the alert windows and the period),
//! each of [`SLOTS`] + 2 slots of `window / SLOTS`: a window's increase is read from its own
//! ring, so a 5-minute window has 0.83 s resolution and a 30-day period 2 hours. Each slot
//! holds the last read at or before its end (time, bad count, total count: 24 bytes), so a
//! window starts at the last read at or before its start: exact when reads are at most one
//! slot apart, and otherwise as good as the reads allow. Seven windows and a period take 8
//! rings, 68 KiB, whatever the period's length.

use std::time::Duration;

/// Slots per window: the window's resolution is 1/SLOTS of its length.
pub(crate) const SLOTS: u64 = 360;

/// The running counts at one time: (bad events, all events).
pub(crate) type Counts = (u64, u64);

/// A read: its time (ns on the SLO's clock) and the counts it saw.
type Record = (u64, Counts);

/// One ring: for each of the last `slots.len()` steps, the last read at or before the
/// step's end.
#[derive(Debug)]
pub(crate) struct Ring {
    window: Duration,
    step_ns: u64,
    slots: Box<[Record]>,
    /// Index (time / step) of the first and the last step recorded.
    first: u64,
    last: u64,
}

impl Ring {
    fn new(window: Duration) -> Self {
        let ns = u64::try_from(window.as_nanos()).unwrap_or(u64::MAX);
        let step_ns = (ns / SLOTS).max(1);
        // SLOTS steps, one more where the step was rounded down (a window under 0.13 ms),
        // and two for the steps the window's ends fall in.
        let slots = ns.div_ceil(step_ns).min(2 * SLOTS) + 2;
        Self {
            window,
            step_ns,
            slots: vec![(0, (0, 0)); slots as usize].into_boxed_slice(),
            first: 0,
            last: 0,
        }
    }

    fn len(&self) -> u64 {
        self.slots.len() as u64
    }

    fn at(&self, index: u64) -> Record {
        self.slots[(index % self.len()) as usize]
    }

    fn set(&mut self, index: u64, record: Record) {
        let len = self.len();
        self.slots[(index % len) as usize] = record;
    }

    /// Records a read; `before` is the previous read.
    fn record(&mut self, read: Record, before: Option<Record>) {
        let index = read.0 / self.step_ns;
        match before {
            None => {
                self.first = index;
                self.last = index;
            }
            Some(before) if index > self.last => {
                // Steps without a read: the last read at or before their end is `before`.
                // Only the last `len` of them are still in the ring.
                let from = (self.last + 1).max(index.saturating_sub(self.len() - 1));
                for i in from..index {
                    self.set(i, before);
                }
                self.last = index;
            }
            Some(_) => {}
        }
        self.set(index, read);
    }

    /// The oldest step still in the ring.
    fn oldest(&self) -> u64 {
        self.first.max(self.last.saturating_sub(self.len() - 1))
    }

    /// The last read at or before `start`; `None` when the ring holds none that old.
    fn at_or_before(&self, start: u64) -> Option<Record> {
        let index = start / self.step_ns;
        if index > self.last {
            return Some(self.at(self.last));
        }
        let oldest = self.oldest();
        if index < oldest {
            return None;
        }
        let read = self.at(index);
        if read.0 <= start {
            Some(read)
        } else if index > oldest {
            // The step's last read came after `start`; the step before ended before it.
            Some(self.at(index - 1))
        } else {
            None
        }
    }
}

/// The rings of one SLO, its first read and its latest.
#[derive(Debug)]
pub(crate) struct History {
    rings: Vec<Ring>,
    first: Option<Record>,
    latest: Option<Record>,
}

impl History {
    /// Rings for each distinct window.
    pub(crate) fn new(windows: impl IntoIterator<Item = Duration>) -> Self {
        let mut ws: Vec<Duration> = windows.into_iter().collect();
        ws.sort_unstable();
        ws.dedup();
        Self {
            rings: ws.into_iter().map(Ring::new).collect(),
            first: None,
            latest: None,
        }
    }

    /// Records the running counts read at `now`; a time before the last read's is taken
    /// as the last read's (a clock never goes back).
    pub(crate) fn record(&mut self, now: Duration, counts: Counts) {
        let mut ns = u64::try_from(now.as_nanos()).unwrap_or(u64::MAX);
        if let Some((t, _)) = self.latest {
            ns = ns.max(t);
        }
        let read = (ns, counts);
        for r in &mut self.rings {
            r.record(read, self.latest);
        }
        self.first.get_or_insert(read);
        self.latest = Some(read);
    }

    /// (bad, all) events counted between the last read at or before the start of the
    /// `window` ending at the latest read, and the latest read. Where the history is
    /// shorter than the window, from the first read. Zeros before any read, or for a
    /// window without a ring.
    pub(crate) fn increase(&self, window: Duration) -> Counts {
        let (Some((now, (bad, all))), Some(first)) = (self.latest, self.first) else {
            return (0, 0);
        };
        let Ok(i) = self.rings.binary_search_by(|r| r.window.cmp(&window)) else {
            return (0, 0);
        };
        let ring = &self.rings[i];
        let start = now.saturating_sub(u64::try_from(window.as_nanos()).unwrap_or(u64::MAX));
        let (_, (b0, a0)) = ring
            .at_or_before(start)
            .unwrap_or(if ring.oldest() == ring.first {
                first
            } else {
                ring.at(ring.oldest())
            });
        (bad.saturating_sub(b0), all.saturating_sub(a0))
    }

    /// Bytes this history holds on the heap.
    pub(crate) fn heap_bytes(&self) -> usize {
        self.rings.capacity() * std::mem::size_of::<Ring>()
            + self
                .rings
                .iter()
                .map(|r| std::mem::size_of_val(&*r.slots))
                .sum::<usize>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: Duration = Duration::from_secs(60);

    #[test]
    fn a_window_reads_the_increase_over_its_length() {
        let mut h = History::new([5 * MIN, 60 * MIN]);
        for i in 0..=120u64 {
            h.record(i as u32 * MIN, (i, 10 * i));
        }
        assert_eq!(h.increase(5 * MIN), (5, 50));
        assert_eq!(h.increase(60 * MIN), (60, 600));
        assert_eq!(h.increase(7 * MIN), (0, 0), "no ring for 7m");
    }

    #[test]
    fn a_history_shorter_than_the_window_reads_from_its_first_record() {
        let mut h = History::new([60 * MIN]);
        h.record(10 * MIN, (100, 1000)); // counted before the tracker started
        h.record(20 * MIN, (103, 1010));
        assert_eq!(h.increase(60 * MIN), (3, 10));
    }

    #[test]
    fn a_gap_longer_than_the_ring_keeps_the_last_counts() {
        let mut h = History::new([5 * MIN]);
        h.record(Duration::ZERO, (0, 0));
        h.record(MIN, (1, 1));
        h.record(100 * MIN, (2, 2));
        // No read in the 5 minutes before minute 100: the window starts at minute 1's
        // read, and the one event since counts in it.
        assert_eq!(h.increase(5 * MIN), (1, 1));
    }

    #[test]
    fn a_window_shorter_than_the_slots_is_still_covered() {
        let w = Duration::from_nanos(1000); // 2 ns steps: 500 of them
        let mut h = History::new([w]);
        for i in (0..=2000u64).step_by(2) {
            h.record(Duration::from_nanos(i), (i, i));
        }
        assert_eq!(h.increase(w), (1000, 1000));
    }

    #[test]
    fn a_thirty_day_history_stays_small() {
        let day = 24 * 60 * MIN;
        let h = History::new([
            5 * MIN,
            30 * MIN,
            60 * MIN,
            120 * MIN,
            6 * 60 * MIN,
            day,
            3 * day,
            30 * day,
        ]);
        assert!(h.heap_bytes() <= 70 * 1024, "{}", h.heap_bytes());
    }
}
