//! The rotation protocol both windows share: [`Ring`], a ring of epoch-tagged slots that
//! the clock rotates on access.
//!
//! Time is cut into epochs of one slot's duration; epoch `e` lives in slot `e % len`. A
//! slot is tagged with `epoch + 1` (0: never used). A writer computes the current epoch,
//! and if its slot still carries an older tag it rotates it under the ring's lock: clears
//! the data, then publishes the new tag with `Release`. Writers load the tag with `Acquire`,
//! so no write for epoch `e` lands before the clear that opened `e`: rotation loses no
//! count of the epochs still in the window. Readers take the slots whose tags fall in the
//! window and ignore the rest, so slots left stale by a quiet period (a gap longer than the
//! window) read as empty without anyone clearing them.
//!
//! The one loss: a writer that read a slot's tag and then stalled for a whole turn of the
//! ring (the window's length) may add its count after the clear, to the newer epoch.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::clock::{nanos, Clock};
use crate::primitive::{AtomicU64, Ordering};

#[cfg(loom)]
use loom::sync::Mutex;
#[cfg(not(loom))]
use std::sync::Mutex;

/// The longest slot a window accepts: 366 days. With at most
/// [`MAX_RATE_SLOTS`](crate::MAX_RATE_SLOTS) of them, a window's length stays far inside a
/// [`Duration`], and a slot stays inside the 584 years of nanoseconds the clock counts in.
pub const MAX_SLOT_DURATION: Duration = Duration::from_secs(366 * 24 * 60 * 60);

/// Checks a window's slot count against `max_slots` and its slot duration against
/// [`MAX_SLOT_DURATION`], both at least one (slot, nanosecond).
pub(crate) fn check_window(
    slots: usize,
    slot: Duration,
    max_slots: usize,
) -> Result<(), crate::HistogramError> {
    use crate::HistogramError;
    if slots == 0 || slot.is_zero() {
        return Err(HistogramError::Window);
    }
    if slots > max_slots {
        return Err(HistogramError::WindowSlots {
            slots,
            max: max_slots,
        });
    }
    if slot > MAX_SLOT_DURATION {
        return Err(HistogramError::SlotDuration { slot });
    }
    Ok(())
}

/// Data a slot holds: zeroed on rotation.
pub(crate) trait Clear {
    fn clear(&self);
}

struct Slot<T> {
    tag: AtomicU64,
    data: T,
}

pub(crate) struct Ring<T> {
    slots: Box<[Slot<T>]>,
    slot_nanos: u64,
    clock: Arc<dyn Clock>,
    rotate: Mutex<()>,
}

impl<T: Clear> Ring<T> {
    /// A ring of `len` slots (at least 1) of `slot` each (at least 1 ns), both checked by
    /// [`check_window`] first.
    pub(crate) fn new(
        len: usize,
        slot: Duration,
        clock: Arc<dyn Clock>,
        make: impl Fn() -> T,
    ) -> Self {
        Self {
            slots: (0..len)
                .map(|_| Slot {
                    tag: AtomicU64::new(0),
                    data: make(),
                })
                .collect(),
            slot_nanos: nanos(slot).max(1),
            clock,
            rotate: Mutex::new(()),
        }
    }

    /// The current epoch, by the clock.
    #[inline]
    pub(crate) fn epoch(&self) -> u64 {
        nanos(self.clock.now()) / self.slot_nanos
    }

    /// The slot of `epoch`, rotated if it held an older one; `None` if it already holds a
    /// newer one (the clock moved a whole turn on while the caller waited).
    #[inline]
    pub(crate) fn slot_for(&self, epoch: u64) -> Option<&T> {
        let slot = &self.slots[(epoch % self.slots.len() as u64) as usize];
        if slot.tag.load(Ordering::Acquire) == epoch + 1 {
            return Some(&slot.data);
        }
        self.rotate(slot, epoch)
    }

    #[cold]
    #[inline(never)]
    fn rotate<'a>(&self, slot: &'a Slot<T>, epoch: u64) -> Option<&'a T> {
        // Rotation holds no data: a panic cannot leave it half-done in a way the next
        // rotation does not redo, so a poisoned lock is recovered.
        let _lock = self.rotate.lock().unwrap_or_else(|p| p.into_inner());
        let tag = slot.tag.load(Ordering::Relaxed);
        if tag > epoch + 1 {
            return None;
        }
        if tag < epoch + 1 {
            slot.data.clear();
            slot.tag.store(epoch + 1, Ordering::Release);
        }
        Some(&slot.data)
    }

    /// Calls `f` on every slot whose epoch is in `first..=last`.
    pub(crate) fn for_each_in(&self, first: u64, last: u64, mut f: impl FnMut(&T)) {
        for slot in self.slots.iter() {
            let tag = slot.tag.load(Ordering::Acquire);
            if tag != 0 && (first..=last).contains(&(tag - 1)) {
                f(&slot.data);
            }
        }
    }

    /// Slots in the ring.
    pub(crate) fn len(&self) -> usize {
        self.slots.len()
    }

    /// `slots` slot durations. [`check_window`] keeps both far below an overflow; the
    /// saturation only keeps a mistake from being a panic.
    pub(crate) fn span(&self, slots: usize) -> Duration {
        let nanos = u128::from(self.slot_nanos) * slots as u128;
        let secs = u64::try_from(nanos / 1_000_000_000).unwrap_or(u64::MAX);
        Duration::new(secs, (nanos % 1_000_000_000) as u32)
    }
}

impl<T> fmt::Debug for Ring<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ring")
            .field("slots", &self.slots.len())
            .field("slot", &Duration::from_nanos(self.slot_nanos))
            .finish()
    }
}
