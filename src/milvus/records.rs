//! A Milvus collection's records by id, for the HTTP record routes: fetch one, page through
//! them in id order with a `where` filter, count them, and find the ids a filter matches.
//! Reads use the collection's read consistency (the URI's, for a server's connections).

use milvus::query::QueryOptions;
use milvus::value::ValueVec;

use super::client::{level, remote, strings, MilvusCollection};
use super::schema::{ID, LABEL, METADATA, NAME, SEQUENCE};
use crate::seq::Metadata;
use crate::store::Where;
use crate::Result;

/// Ids per query window (under Milvus's 16,384-row result window).
const WINDOW: u64 = 8_192;

/// Bytes a window of whole records may return (the client refuses gRPC messages over 4 MiB;
/// a record's sequence holds at most 65,535 bytes).
const WINDOW_BYTES: u64 = 3_000_000;

/// Records per window when whole records are read: as many as always fit in
/// [`WINDOW_BYTES`].
const RECORD_WINDOW: u64 = WINDOW_BYTES / (65_535 + 4_096);

/// One stored record, as the record routes return it.
#[derive(Debug, Clone, PartialEq)]
pub struct RemoteRecord {
    /// Record id.
    pub id: u64,
    /// Record name.
    pub name: String,
    /// Label.
    pub label: String,
    /// The sequence.
    pub sequence: String,
    /// User fields, if any.
    pub metadata: Option<Metadata>,
}

impl MilvusCollection {
    /// The record with id `id`, if it is stored.
    pub fn fetch(&self, id: u64) -> Result<Option<RemoteRecord>> {
        let found = self.records(&format!("{ID} == {id}"))?;
        Ok(found.into_iter().next())
    }

    /// Up to `limit` records with ids above `after` that match `filter`, in id order, and
    /// whether more follow.
    pub fn scroll(
        &self,
        after: Option<u64>,
        limit: usize,
        filter: Option<&Where>,
    ) -> Result<(Vec<RemoteRecord>, bool)> {
        let mut ids = self.ids_matching(after, filter, limit.saturating_add(1))?;
        let more = ids.len() > limit;
        ids.truncate(limit);
        let mut page = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(RECORD_WINDOW as usize) {
            let list: Vec<String> = chunk.iter().map(u64::to_string).collect();
            page.extend(self.records(&format!("{ID} in [{}]", list.join(",")))?);
        }
        Ok((page, more))
    }

    /// Stored records that match `filter` (all with `None`).
    pub fn count_where(&self, filter: Option<&Where>) -> Result<usize> {
        let expression = self
            .search_filter(&[], filter)?
            .unwrap_or_else(|| format!("{ID} >= 0"));
        Ok(self.counts(&[expression], self.reads)?[0])
    }

    /// The ids of the stored records that match `filter`, ascending.
    pub fn ids_where(&self, filter: &Where) -> Result<Vec<u64>> {
        self.ids_matching(None, Some(filter), usize::MAX)
    }

    /// The ids above `after` of stored records that match `filter`, ascending: the first
    /// `want` of them, or a few more (whole windows of ids are read).
    fn ids_matching(
        &self,
        after: Option<u64>,
        filter: Option<&Where>,
        want: usize,
    ) -> Result<Vec<u64>> {
        let matching = self.search_filter(&[], filter)?;
        let options = QueryOptions::new()
            .output_fields(vec![ID.to_string()])
            .consistency_level(level(self.reads));
        let mut ids = Vec::new();
        let mut start = after.map_or(0, |a| a.saturating_add(1));
        while start < self.next_id && ids.len() < want {
            let end = start.saturating_add(WINDOW);
            let mut window = format!("{ID} >= {start} and {ID} < {end}");
            if let Some(m) = &matching {
                window = format!("{window} and ({m})");
            }
            let found = self
                .rt
                .block_on(self.client.query(&self.uri.name, &window, &options))
                .map_err(|e| remote(&self.uri, e))?;
            let column = found.iter().find(|c| c.name == ID).map(|c| &c.value);
            if let Some(ValueVec::Long(v)) = column {
                let mut found: Vec<u64> = v.iter().map(|&id| id as u64).collect();
                found.sort_unstable();
                ids.extend(found);
            }
            start = end;
        }
        Ok(ids)
    }

    /// The whole records an expression selects, in id order.
    fn records(&self, expression: &str) -> Result<Vec<RemoteRecord>> {
        let fields = [ID, NAME, LABEL, SEQUENCE, METADATA]
            .map(String::from)
            .to_vec();
        let options = QueryOptions::new()
            .output_fields(fields)
            .consistency_level(level(self.reads));
        let columns = self
            .rt
            .block_on(self.client.query(&self.uri.name, expression, &options))
            .map_err(|e| remote(&self.uri, e))?;
        let ids = match columns.iter().find(|c| c.name == ID).map(|c| &c.value) {
            Some(ValueVec::Long(v)) => v.clone(),
            _ => Vec::new(),
        };
        let (names, labels) = (strings(&columns, NAME), strings(&columns, LABEL));
        let (sequences, metadata) = (strings(&columns, SEQUENCE), strings(&columns, METADATA));
        let n = ids.len();
        if [names.len(), labels.len(), sequences.len(), metadata.len()] != [n; 4] {
            return Err(remote(&self.uri, "a query result is missing fields"));
        }
        let mut out = Vec::with_capacity(n);
        for i in 0..n {
            let metadata = match metadata[i].as_str() {
                "" => None,
                text => Some(serde_json::from_str(text).map_err(|e| remote(&self.uri, e))?),
            };
            out.push(RemoteRecord {
                id: ids[i] as u64,
                name: names[i].clone(),
                label: labels[i].clone(),
                sequence: sequences[i].clone(),
                metadata,
            });
        }
        out.sort_by_key(|r| r.id);
        Ok(out)
    }
}
