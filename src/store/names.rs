//! Record names kept in memory once read: a classification names each query's nearest
//! records as evidence, and the same stored records are the neighbours of many queries, where
//! a read from the file (a B-tree lookup and a checksum over the whole record) costs more
//! than the rest of the evidence.
//!
//! A cached name is always the file's: a record is never renamed, and an id is never given
//! to another record (the id counter only grows), so nothing a write does makes an entry
//! wrong. The first read of each name verifies its record's checksum as before.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

/// The most names kept; past it, further names are read from the file each time.
const MAX_NAMES: usize = 1 << 18;

/// Names by record id.
#[derive(Default)]
pub(super) struct NameCache {
    names: RwLock<HashMap<u64, Arc<str>>>,
}

impl NameCache {
    /// The cached name of each id, `None` where it is not cached.
    pub(super) fn get(&self, ids: &[u64]) -> Vec<Option<String>> {
        let names = self.names.read().unwrap_or_else(|e| e.into_inner());
        ids.iter()
            .map(|id| names.get(id).map(|name| name.to_string()))
            .collect()
    }

    /// Keeps `names` (id, name), as room allows.
    pub(super) fn keep<'a>(&self, names: impl Iterator<Item = (u64, &'a str)>) {
        let mut cache = self.names.write().unwrap_or_else(|e| e.into_inner());
        for (id, name) in names {
            if cache.len() >= MAX_NAMES {
                return;
            }
            cache.entry(id).or_insert_with(|| Arc::from(name));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_names_up_to_the_bound_and_returns_them_in_order() {
        let cache = NameCache::default();
        cache.keep([(3, "c"), (1, "a")].into_iter());
        assert_eq!(
            cache.get(&[1, 2, 3, 1]),
            [Some("a".into()), None, Some("c".into()), Some("a".into())]
        );
        let many: Vec<(u64, String)> = (0..MAX_NAMES as u64 + 5)
            .map(|i| (i + 10, i.to_string()))
            .collect();
        cache.keep(many.iter().map(|(id, n)| (*id, n.as_str())));
        let len = cache.names.read().unwrap().len();
        assert_eq!(len, MAX_NAMES);
        assert_eq!(cache.get(&[10]), [Some("0".into())]);
    }
}
