//! The name table the hot path reads, and the string comparison it and the label-name
//! check use.

use std::hash::BuildHasher;
use std::sync::Arc;

use hashbrown::HashTable;

/// Original metric name -> `V`: an immutable table, copied whole to add a name.
#[derive(Clone)]
pub(crate) struct Table<V> {
    hasher: foldhash::fast::RandomState,
    entries: HashTable<(Arc<str>, V)>,
}

impl<V> Default for Table<V> {
    fn default() -> Self {
        Self {
            hasher: Default::default(),
            entries: HashTable::new(),
        }
    }
}

impl<V: Clone> Table<V> {
    #[inline]
    pub(crate) fn get(&self, name: &str) -> Option<&V> {
        let hash = self.hasher.hash_one(name);
        self.entries
            .find(hash, |(k, _)| same(k, name))
            .map(|(_, v)| v)
    }

    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    /// A copy with `name` added (the caller checked it is absent).
    pub(crate) fn with(&self, name: &str, value: V) -> Self {
        let mut copy = self.clone();
        let hash = copy.hasher.hash_one(name);
        let hasher = &copy.hasher;
        copy.entries
            .insert_unique(hash, (name.into(), value), |(k, _)| hasher.hash_one(&**k));
        copy
    }
}

/// `a == b` for the short strings metric and label names are, without a `memcmp` call:
/// two overlapping loads from each end cover up to 16 bytes.
#[inline]
pub(crate) fn same(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let n = a.len();
    if n != b.len() {
        return false;
    }
    let word = |s: &[u8], at: usize| u64::from_le_bytes(s[at..at + 8].try_into().unwrap_or([0; 8]));
    let half = |s: &[u8], at: usize| u32::from_le_bytes(s[at..at + 4].try_into().unwrap_or([0; 4]));
    match n {
        0 => true,
        1..=3 => a[0] == b[0] && a[n / 2] == b[n / 2] && a[n - 1] == b[n - 1],
        4..=7 => half(a, 0) == half(b, 0) && half(a, n - 4) == half(b, n - 4),
        8..=16 => word(a, 0) == word(b, 0) && word(a, n - 8) == word(b, n - 8),
        _ => a == b,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn same_is_equality(a in "[ab]{0,20}", b in "[ab]{0,20}") {
            prop_assert_eq!(same(&a, &b), a == b);
            prop_assert!(same(&a, &a));
        }
    }

    #[test]
    fn table_finds_what_was_added() {
        let t = Table::default().with("a", 1).with("bb", 2);
        assert_eq!(t.get("a"), Some(&1));
        assert_eq!(t.get("bb"), Some(&2));
        assert_eq!(t.get("c"), None);
        assert_eq!(t.len(), 2);
    }
}
