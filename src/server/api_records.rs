//! The bodies of the record routes by id (fetch, scroll, count, batch delete), as
//! CONTRACT.md ("HTTP shapes") fixes them; also their OpenAPI schemas.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::engine::StoredRecord;
use crate::store::ClientId;

/// A client's own id for a record: a non-empty string of at most 512 bytes without control
/// characters, or a non-negative integer. `"7"` and `7` are different ids.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(untagged)]
pub enum ClientIdJson {
    /// A string id.
    String(String),
    /// An integer id.
    Integer(u64),
}

impl From<ClientId> for ClientIdJson {
    fn from(id: ClientId) -> Self {
        match id {
            ClientId::Str(s) => ClientIdJson::String(s),
            ClientId::Int(n) => ClientIdJson::Integer(n),
        }
    }
}

/// One stored record: `GET /v1/collections/{name}/records/{id}`, and each record of a scroll.
#[derive(Debug, Serialize, ToSchema)]
pub struct RecordOut {
    /// Internal record id.
    pub id: u64,
    /// The client's id, or null when it was inserted without one.
    pub client_id: Option<ClientIdJson>,
    /// Record name.
    pub name: String,
    /// Label.
    pub label: String,
    /// The sequence as stored (ACGTN; IUPAC codes were read as N).
    pub sequence: String,
    /// User fields, or null when it has none.
    #[schema(value_type = Option<Object>)]
    pub metadata: Option<crate::seq::Metadata>,
}

impl From<StoredRecord> for RecordOut {
    fn from(r: StoredRecord) -> Self {
        RecordOut {
            id: r.id,
            client_id: r.client_id.map(Into::into),
            name: r.name,
            label: r.label,
            sequence: r.sequence,
            metadata: r.metadata,
        }
    }
}

/// `GET /v1/collections/{name}/records`: one page of live records in internal id order.
#[derive(Debug, Serialize, ToSchema)]
pub struct ScrollResponse {
    /// The records.
    pub records: Vec<RecordOut>,
    /// Pass as `after` for the next page; null when this is the last one.
    pub next: Option<u64>,
    /// With `count=true`: live records passing `where` in the whole collection (not only
    /// this page); left out otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub count: Option<usize>,
}

/// `DELETE /v1/collections/{name}/records` (a JSON body): `ids` or `where`, not both.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeleteRequest {
    /// Client or internal ids (at most `--max-batch`): a string is looked up as a client
    /// string id, then (when decimal) as a client integer id, then as an internal id; an
    /// integer as a client integer id, then as an internal id. All or nothing: an unknown id
    /// is a 404 and nothing is deleted.
    #[schema(value_type = Option<Vec<ClientIdJson>>)]
    pub ids: Option<Vec<serde_json::Value>>,
    /// Delete every live record whose metadata matches this filter (as in search; `{}`
    /// matches every record).
    #[schema(value_type = Option<Object>)]
    #[serde(default, rename = "where")]
    pub r#where: Option<serde_json::Value>,
}

/// The answer to a batch delete: durable once it arrives.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeleteResponse {
    /// Records deleted (an id named twice counts once).
    pub deleted: usize,
    /// Live records after the delete.
    pub records: usize,
}
