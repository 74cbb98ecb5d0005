//! Reads of stored records and the classifier blob, each in its own read transaction.

use super::collection::Collection;
use super::guard::guarded;
use super::open::storage;
use super::tables::{self, RecordRow, KEY_CLASSIFIER, META, RECORDS};
use crate::{Error, Result};

impl Collection {
    /// Reads one live record.
    pub fn record(&self, id: u64) -> Result<RecordRow> {
        guarded(&self.path, || {
            if !self.is_live(id) {
                return Err(Error::UnknownId { id });
            }
            let txn = self.db.begin_read()?;
            read_row(&txn.open_table(RECORDS).map_err(storage)?, id)
        })
    }

    /// The names of several records, in the order given.
    pub fn names(&self, ids: &[u64]) -> Result<Vec<String>> {
        guarded(&self.path, || {
            let txn = self.db.begin_read()?;
            let table = txn.open_table(RECORDS).map_err(storage)?;
            ids.iter()
                .map(|&id| read_with(&table, id, tables::record_name))
                .collect()
        })
    }

    /// Several stored records (deleted ones too, until compaction), in the order given.
    pub fn rows(&self, ids: &[u64]) -> Result<Vec<RecordRow>> {
        guarded(&self.path, || {
            let txn = self.db.begin_read()?;
            let table = txn.open_table(RECORDS).map_err(storage)?;
            ids.iter().map(|&id| read_row(&table, id)).collect()
        })
    }

    /// Every live record's row, in id order (row `i` of the result is the i-th live row).
    pub fn live_records(&self) -> Result<Vec<RecordRow>> {
        guarded(&self.path, || {
            let txn = self.db.begin_read()?;
            let table = txn.open_table(RECORDS).map_err(storage)?;
            self.vectors
                .live_rows()
                .map(|(_, id, _)| read_row(&table, id))
                .collect()
        })
    }

    /// The stored classifier blob, if the engine saved one (its checksum verified).
    pub fn classifier_blob(&self) -> Result<Option<Vec<u8>>> {
        guarded(&self.path, || {
            let txn = self.db.begin_read()?;
            let meta = txn.open_table(META).map_err(storage)?;
            let Some(value) = meta.get(KEY_CLASSIFIER).map_err(storage)? else {
                return Ok(None);
            };
            tables::meta_payload(KEY_CLASSIFIER, value.value())
                .map(|json| Some(json.to_vec()))
                .map_err(|message| Error::Corrupt {
                    path: Default::default(),
                    message,
                })
        })
    }
}

/// One record row, its checksum verified (the store boundary names the file on error).
pub(super) fn read_row(table: &redb::ReadOnlyTable<u64, &[u8]>, id: u64) -> Result<RecordRow> {
    read_with(table, id, tables::record_from)
}

/// One stored record decoded by `decode` (all of it, or a part).
fn read_with<T>(
    table: &redb::ReadOnlyTable<u64, &[u8]>,
    id: u64,
    decode: fn(u64, &[u8]) -> std::result::Result<T, String>,
) -> Result<T> {
    let value = table
        .get(id)
        .map_err(storage)?
        .ok_or(Error::UnknownId { id })?;
    decode(id, value.value()).map_err(|message| Error::Corrupt {
        path: Default::default(),
        message,
    })
}
