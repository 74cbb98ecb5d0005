//! The request and response bodies, exactly as CONTRACT.md ("HTTP shapes") fixes them. They
//! are also the OpenAPI schemas, so the document cannot drift from what is served.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::engine::{AnsweredBy, ClassifierStatus, Neighbour, Prediction};

/// `GET /healthz`.
#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    /// `ok`, or `degraded` while a collection's last write failed on storage (a full disk):
    /// reads go on, writes are retried by the next request and clear it once one commits.
    pub status: &'static str,
    /// The collections whose last write failed on storage, with the error (left out when
    /// `ok`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub degraded: Vec<DegradedCollection>,
}

/// A collection whose last write failed on storage.
#[derive(Debug, Serialize, ToSchema)]
pub struct DegradedCollection {
    /// The API name.
    pub name: String,
    /// The storage error, naming the file.
    pub error: String,
}

/// One entry of `GET /v1/collections`.
#[derive(Debug, Serialize, ToSchema)]
pub struct CollectionSummary {
    /// The API name (the file stem).
    pub name: String,
    /// Live records.
    pub records: usize,
    /// Vector dimension.
    pub dimension: usize,
    /// The embedder spec the collection was built with.
    pub embedder: String,
}

/// `GET /v1/collections`.
#[derive(Debug, Serialize, ToSchema)]
pub struct CollectionList {
    /// Every served collection, by name.
    pub collections: Vec<CollectionSummary>,
}

/// The graph part of `GET /v1/collections/{name}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct GraphState {
    /// Records in the persisted HNSW graph.
    pub nodes: usize,
    /// Records added after the last build, searched exactly.
    pub tail: usize,
    /// Deleted records awaiting `genovec compact`.
    pub tombstones: usize,
    /// True while a background rebuild is queued or running.
    pub rebuilding: bool,
    /// How the collection searches, as `genovec info --json` says: `{"method": "graph"}`,
    /// `{"method": "exact"}` (no graph yet), `{"method": "projection", "directions": 64,
    /// "widen": 2, "lists": 165, "probed": 42}` (README, "Search"), or `{"method": "milvus"}`;
    /// null when the collection's vectors could not be read.
    #[schema(value_type = Object)]
    pub search: serde_json::Value,
}

/// `GET /v1/collections/{name}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct CollectionDetail {
    /// The API name.
    pub name: String,
    /// Live records.
    pub records: usize,
    /// Live records per label.
    pub labels: BTreeMap<String, usize>,
    /// The embedder spec.
    pub embedder: String,
    /// What makes the embedder's vectors reproducible (version, parameters or checkpoint hash).
    pub embedder_identity: String,
    /// Vector dimension.
    pub dimension: usize,
    /// Distance metric.
    pub metric: String,
    /// Graph state.
    pub graph: GraphState,
    /// True when a classifier was trained (else classify is a kNN vote).
    pub classifier: bool,
    /// What the classifier was trained on and what changed since.
    pub classifier_state: ClassifierStateOut,
}

impl CollectionDetail {
    /// The details of a collection named `name`, from its settings and counts.
    pub(super) fn new(
        name: String,
        records: usize,
        labels: Vec<(String, usize)>,
        config: crate::store::CollectionConfig,
        graph: GraphState,
        classifier_state: ClassifierStateOut,
    ) -> Self {
        CollectionDetail {
            name,
            records,
            labels: labels.into_iter().collect(),
            embedder: config.embedder,
            embedder_identity: config.embedder_identity,
            dimension: config.dim,
            metric: config.metric.name().to_string(),
            graph,
            classifier: classifier_state.status.trained,
            classifier_state,
        }
    }
}

/// The classifier's state: what it was trained on, what changed since, what it knows.
#[derive(Debug, Serialize, ToSchema)]
pub struct ClassifierStateOut {
    /// Trained-on, added and deleted counts, known and untrained labels, settings.
    #[serde(flatten)]
    #[schema(value_type = Object)]
    pub status: ClassifierStatus,
    /// True while a background training is queued or running; the result is swapped in
    /// whole when it ends.
    pub training: bool,
}

/// `POST /v1/collections/{name}/search`: `sequences` or `vectors`, not both.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SearchRequest {
    /// Query DNA sequences (ACGT, IUPAC codes read as N).
    pub sequences: Option<Vec<String>>,
    /// Query vectors in the collection's embedding space.
    pub vectors: Option<Vec<Vec<f32>>>,
    /// Neighbours per query (default 10).
    #[schema(minimum = 1, maximum = 1000)]
    pub k: Option<usize>,
    /// Graph beam width, or candidates ranked exactly in a collection searched by projection
    /// (default: the collection's, 64).
    #[schema(minimum = 1, maximum = 10000)]
    pub ef: Option<usize>,
    /// Only return records with one of these labels.
    #[serde(default)]
    pub labels: Vec<String>,
    /// Only return records whose metadata matches: a JSON object of keys, each a scalar
    /// (equality) or operators `$eq`, `$in` (list), `$gt`, `$gte`, `$lt`, `$lte` (numbers),
    /// all of which must hold. Applied inside the graph search, so `k` results come back
    /// whenever `k` records match. A malformed filter is a 400 naming the key.
    #[schema(value_type = Option<Object>)]
    #[serde(default, rename = "where")]
    pub r#where: Option<serde_json::Value>,
}

/// One neighbour of a query.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct NeighbourOut {
    /// Record id.
    pub id: u64,
    /// Record name.
    pub name: String,
    /// Record label.
    pub label: String,
    /// Distance in the collection's metric.
    pub distance: f32,
    /// The record's metadata, when it has any.
    #[schema(value_type = Option<Object>)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<crate::seq::Metadata>,
}

impl From<Neighbour> for NeighbourOut {
    fn from(n: Neighbour) -> Self {
        NeighbourOut {
            id: n.id,
            name: n.name,
            label: n.label,
            distance: n.distance,
            metadata: n.metadata,
        }
    }
}

/// One query's neighbours, nearest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct SearchResult {
    /// The neighbours.
    pub neighbours: Vec<NeighbourOut>,
}

/// The answer to a search, in query order.
#[derive(Debug, Serialize, ToSchema)]
pub struct SearchResponse {
    /// One result per query.
    pub results: Vec<SearchResult>,
}

/// `POST /v1/collections/{name}/classify`: the options of `genovec classify`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClassifyRequest {
    /// Sequences to classify.
    pub sequences: Vec<String>,
    /// Their vectors, one per sequence, for a collection of external embeddings (which
    /// cannot embed a sequence itself); the sequences still give the handcrafted features.
    #[serde(default)]
    pub vectors: Option<Vec<Vec<f32>>>,
    /// Voting neighbours (default: the collection's tuned k).
    #[schema(minimum = 1, maximum = 1000)]
    pub k: Option<usize>,
    /// Answer `unknown` when the nearest neighbour is farther than this distance (finite,
    /// at least 0).
    #[schema(minimum = 0)]
    pub threshold: Option<f32>,
    /// Covariate-shift correction over the whole request: `never` (the default: each
    /// sequence is answered on its own), `auto` or `always` (see `genovec classify --adapt`).
    #[schema(value_type = Option<String>, example = "never")]
    pub adapt: Option<String>,
}

/// One classified sequence with its evidence.
#[derive(Debug, Serialize, ToSchema)]
pub struct ClassifyResult {
    /// Predicted label (or `unknown`).
    pub label: String,
    /// Probability of the predicted label.
    pub confidence: f64,
    /// Fused probability of every live label.
    pub probabilities: BTreeMap<String, f64>,
    /// The neighbours' vote per label.
    pub vote_probabilities: BTreeMap<String, f64>,
    /// The linear model's probabilities per label (null without a trained classifier).
    pub linear_probabilities: Option<BTreeMap<String, f64>>,
    /// The vote's weight in the fusion; the linear model has 1 − weight.
    pub fusion_weight: f64,
    /// Neighbours that voted.
    pub k: usize,
    /// `fusion`, `vote` or `linear`: which parts gave the label.
    #[schema(value_type = String)]
    pub answered_by: AnsweredBy,
    /// True when the linear model was refitted for this request's shift (`adapt`).
    pub adapted: bool,
    /// The nearest records the vote used.
    pub neighbours: Vec<NeighbourOut>,
    /// The classifier's state when this answer was given.
    #[schema(value_type = Object)]
    pub classifier: ClassifierStatus,
}

impl ClassifyResult {
    /// The API shape of a prediction, with the classifier's state.
    pub fn new(p: Prediction, classifier: ClassifierStatus) -> Self {
        ClassifyResult {
            label: p.label,
            confidence: p.confidence,
            probabilities: p.probabilities.into_iter().collect(),
            vote_probabilities: p.vote.into_iter().collect(),
            linear_probabilities: p.linear.map(|l| l.into_iter().collect()),
            fusion_weight: p.weight_knn,
            k: p.k,
            answered_by: p.answered_by,
            adapted: p.adapted,
            neighbours: p.neighbours.into_iter().map(Into::into).collect(),
            classifier,
        }
    }
}

/// The answer to classify, in query order.
#[derive(Debug, Serialize, ToSchema)]
pub struct ClassifyResponse {
    /// One prediction per sequence.
    pub results: Vec<ClassifyResult>,
}

/// A record to insert.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RecordIn {
    /// The client's own id: a non-empty string (at most 512 bytes, no control characters)
    /// or a non-negative integer (`"7"` and `7` differ). A record whose id is taken replaces
    /// the record it names, in the same durable transaction; a record with an id is never
    /// skipped as a duplicate. An id given twice in one request is a 422.
    #[schema(value_type = Option<super::api_records::ClientIdJson>)]
    #[serde(default)]
    pub id: Option<serde_json::Value>,
    /// Record name (default: its `id`, else `records[i]`).
    pub name: Option<String>,
    /// DNA sequence.
    pub sequence: String,
    /// Class label.
    pub label: String,
    /// User fields: a flat JSON object (at most 65,535 bytes as JSON; keys `id`, `name`,
    /// `label`, `sequence`, `vector` and `metadata` are reserved), returned with search hits
    /// and filtered on by `where`.
    #[schema(value_type = Option<Object>)]
    #[serde(default)]
    pub metadata: Option<crate::seq::Metadata>,
    /// The record's vector, computed outside genovec: required by (and only accepted by) a
    /// collection of external embeddings (`external:NAME:DIM`), of its dimension.
    #[serde(default)]
    pub vector: Option<Vec<f32>>,
}

/// `POST /v1/collections/{name}/records`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InsertRequest {
    /// The records, inserted in one durable transaction.
    pub records: Vec<RecordIn>,
}

/// The answer to an insert: durable once it arrives.
#[derive(Debug, Serialize, ToSchema)]
pub struct InsertResponse {
    /// The new id of each record, in order; `null` where the same (label, sequence) was
    /// already stored (only records without a client id are de-duplicated).
    pub ids: Vec<Option<u64>>,
    /// Each record's client id as given, `null` where it had none.
    pub client_ids: Vec<Option<super::api_records::ClientIdJson>>,
    /// The internal id each record replaced (its client id named it before; that record is
    /// now deleted), `null` where it replaced none.
    pub replaced: Vec<Option<u64>>,
    /// Live records after the insert.
    pub records: usize,
}
