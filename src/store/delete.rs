//! Deletes: durable tombstones, filtered at query time until `compact` drops the records.

use redb::ReadableTable;

use super::collection::Collection;
use super::guard::guarded;
use super::open::storage;
use super::tables::{self, CLIENT_IDS, DEDUP, RECORDS, TOMBSTONES};
use super::write::dedup_key;
use crate::{Error, Result};

impl Collection {
    /// Marks records deleted (durably) and frees their client ids. Unknown or already deleted
    /// ids are an error and nothing is deleted; an id given twice is deleted once.
    pub fn delete(&mut self, ids: &[u64]) -> Result<()> {
        let path = self.path.clone();
        guarded(&path, || {
            self.finish_loading()?;
            let mut ids = ids.to_vec();
            for &id in &ids {
                if !self.is_live(id) {
                    return Err(Error::UnknownId { id });
                }
            }
            ids.sort_unstable();
            ids.dedup();
            let txn = self.begin_write()?;
            {
                let mut tombstones = txn.open_table(TOMBSTONES).map_err(storage)?;
                let mut dedup = txn.open_table(DEDUP).map_err(storage)?;
                let mut clients = txn.open_table(CLIENT_IDS).map_err(storage)?;
                let records = txn.open_table(RECORDS).map_err(storage)?;
                for &id in &ids {
                    tombstones
                        .insert(id, tables::tombstone_value(id).as_slice())
                        .map_err(storage)?;
                    if let Some(key) = self.clients.key_of(id) {
                        clients.remove(key).map_err(storage)?;
                    }
                    // Forget the dedup key so the same record can be added again later, unless
                    // it names another record (one stored with `allow_duplicates`).
                    let row = records
                        .get(id)
                        .map_err(storage)?
                        .ok_or(Error::UnknownId { id })?;
                    let row = tables::record_from(id, row.value()).map_err(|e| Error::Corrupt {
                        path: self.path.clone(),
                        message: e,
                    })?;
                    let key = dedup_key(&self.labels[row.label as usize], &row.seq);
                    if dedup.get(&key).map_err(storage)?.map(|v| v.value()) == Some(id) {
                        dedup.remove(&key).map_err(storage)?;
                    }
                }
            }
            txn.commit().map_err(storage)?;
            for &id in &ids {
                self.mark_deleted(id);
            }
            Ok(())
        })
    }
}
