//! The query routes: search and classify. Both only read the collection.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::Json;

use super::api::{
    ClassifyRequest, ClassifyResponse, ClassifyResult, SearchRequest, SearchResponse, SearchResult,
};
use super::blocking;
use super::error::{ApiError, ApiJson, ErrorBody};
use super::parse::{check_batch, check_k, parse_sequences};
use super::state::{AppState, Limits, Served};
use crate::classify::Adapt;
use crate::engine::{self, ClassifyOptions};
use crate::seq::SeqRecord;
use crate::store::{Collection, Where};
use crate::Error;

/// Default neighbours per search query (the contract's).
const DEFAULT_K: usize = 10;
/// Vector queries up to this many run on the request's own task (a few hundred
/// microseconds); larger ones and every embedding go to a blocking thread.
const INLINE_MAX: usize = 8;

/// A validated search.
pub(super) struct Search {
    pub(super) input: Input,
    pub(super) k: usize,
    pub(super) ef: Option<usize>,
    pub(super) filter: engine::SearchFilter,
}

pub(super) enum Input {
    Sequences(Vec<SeqRecord>),
    Vectors(Vec<Vec<f32>>),
}

impl Search {
    fn parse(req: SearchRequest, app: &AppState, dim: usize) -> Result<Self, ApiError> {
        let limits = &app.config.limits;
        let input = match (req.sequences, req.vectors) {
            (Some(s), None) => {
                check_batch("sequences", s.len(), limits)?;
                Input::Sequences(parse_sequences(&s)?)
            }
            (None, Some(v)) => {
                check_batch("vectors", v.len(), limits)?;
                check_dims(&v, dim)?;
                Input::Vectors(v)
            }
            _ => {
                return Err(ApiError::invalid(
                    "give either \"sequences\" or \"vectors\"",
                ))
            }
        };
        let k = check_k(req.k.unwrap_or(DEFAULT_K), limits)?;
        let ef = req
            .ef
            .map(|ef| engine::check_ef(ef, limits.max_k))
            .transpose()?;
        let metadata = req
            .r#where
            .map(|w| Where::parse(&w).map_err(|m| ApiError::invalid(format!("where: {m}"))))
            .transpose()?;
        Ok(Search {
            input,
            k,
            ef,
            filter: engine::SearchFilter {
                labels: req.labels,
                metadata,
            },
        })
    }

    fn queries(&self) -> usize {
        match &self.input {
            Input::Vectors(v) => v.len(),
            Input::Sequences(q) => q.len(),
        }
    }

    fn is_small(&self) -> bool {
        matches!(&self.input, Input::Vectors(v) if v.len() <= INLINE_MAX)
    }

    fn run(&self, collection: &Collection, served: &Served) -> Result<SearchResponse, ApiError> {
        let lists = match &self.input {
            Input::Vectors(v) => {
                engine::search_vectors(collection, v, self.k, self.ef, &self.filter)?
            }
            Input::Sequences(q) => {
                let embedder = served.embedder.as_ref();
                engine::search_sequences(collection, embedder, q, self.k, self.ef, &self.filter)?
                    .into_iter()
                    .map(|r| r.neighbours)
                    .collect()
            }
        };
        Ok(search_response(lists))
    }
}

/// The response to a search: each query's neighbours, in query order.
pub(super) fn search_response(lists: Vec<Vec<engine::Neighbour>>) -> SearchResponse {
    let results = lists
        .into_iter()
        .map(|n| SearchResult {
            neighbours: n.into_iter().map(Into::into).collect(),
        })
        .collect();
    SearchResponse { results }
}

/// Every vector must have the collection's dimension, finite components and a direction
/// (not all zero: cosine distance has none to compare); the error names the first that does
/// not, with 422.
fn check_dims(vectors: &[Vec<f32>], dim: usize) -> Result<(), ApiError> {
    for (i, v) in vectors.iter().enumerate() {
        let place = format!("vectors[{i}]");
        if v.len() != dim {
            let e = Error::WrongDimension {
                expected: dim,
                got: v.len(),
            };
            return Err(ApiError::from(e).at(&place));
        }
        let problem = if v.iter().any(|x| !x.is_finite()) {
            "has a component that is not a finite number"
        } else if v.iter().all(|&x| x == 0.0) {
            "is all zeros: it has no direction to compare"
        } else {
            continue;
        };
        let status = axum::http::StatusCode::UNPROCESSABLE_ENTITY;
        return Err(ApiError::new(
            status,
            "invalid_vector",
            format!("{place} {problem}"),
        ));
    }
    Ok(())
}

/// Nearest records of query sequences or vectors.
#[utoipa::path(
    post, path = "/v1/collections/{name}/search", tag = "query",
    params(("name" = String, Path, description = "Collection name (file stem)")),
    request_body = SearchRequest,
    responses(
        (status = 200, description = "Neighbours of each query, in query order", body = SearchResponse),
        (status = 400, description = "Malformed JSON or invalid request", body = ErrorBody),
        (status = 401, description = "Missing or wrong API key (with --api-key-reads)", body = ErrorBody),
        (status = 404, description = "Unknown collection", body = ErrorBody),
        (status = 413, description = "Body or batch too large", body = ErrorBody),
        (status = 422, description = "Bad sequence letters or wrong vector dimension", body = ErrorBody),
    )
)]
pub async fn search(
    State(app): State<Arc<AppState>>,
    Path(name): Path<String>,
    ApiJson(req): ApiJson<SearchRequest>,
) -> Result<Json<SearchResponse>, ApiError> {
    #[cfg(feature = "milvus")]
    if let Some(remote) = app.remote.get(&name) {
        let search = Search::parse(req, &app, remote.dim())?;
        return super::remote::search(Arc::clone(remote), search)
            .await
            .map(Json);
    }
    let served = Arc::clone(app.get(&name)?);
    let search = Search::parse(req, &app, served.embedder.dim())?;
    if search.is_small() {
        // Without a writer holding or awaiting the lock, answer on this task.
        if let Some(collection) = served.try_read() {
            return search.run(&collection, &served).map(Json);
        }
    }
    blocking(move || {
        served.expect_queries(search.queries());
        search.run(&served.read(), &served)
    })
    .await
    .map(Json)
}

/// Classifies sequences: label, per-label probabilities and the neighbours as evidence.
#[utoipa::path(
    post, path = "/v1/collections/{name}/classify", tag = "query",
    params(("name" = String, Path, description = "Collection name (file stem)")),
    request_body = ClassifyRequest,
    responses(
        (status = 200, description = "One prediction per sequence, in order", body = ClassifyResponse),
        (status = 400, description = "Malformed JSON or invalid request", body = ErrorBody),
        (status = 401, description = "Missing or wrong API key (with --api-key-reads)", body = ErrorBody),
        (status = 404, description = "Unknown collection", body = ErrorBody),
        (status = 413, description = "Body or batch too large", body = ErrorBody),
        (status = 422, description = "Bad sequence letters", body = ErrorBody),
    )
)]
pub async fn classify(
    State(app): State<Arc<AppState>>,
    Path(name): Path<String>,
    ApiJson(req): ApiJson<ClassifyRequest>,
) -> Result<Json<ClassifyResponse>, ApiError> {
    let limits = &app.config.limits;
    #[cfg(feature = "milvus")]
    if let Some(remote) = app.remote.get(&name) {
        check_batch("sequences", req.sequences.len(), limits)?;
        let queries = parse_sequences(&req.sequences)?;
        let opts = classify_options(&req, limits)?;
        let remote = Arc::clone(remote);
        let classified = super::remote::classify(remote, queries, req.vectors, opts).await?;
        return Ok(Json(classify_response(classified)));
    }
    let served = Arc::clone(app.get(&name)?);
    check_batch("sequences", req.sequences.len(), limits)?;
    let queries = parse_sequences(&req.sequences)?;
    let opts = classify_options(&req, limits)?;
    if let Some(v) = &req.vectors {
        check_dims(v, served.embedder.dim())?;
        if v.len() != queries.len() {
            let m = format!("{} vectors for {} sequences", v.len(), queries.len());
            return Err(ApiError::invalid(m));
        }
    }
    let vectors = req.vectors;
    let classified = blocking(move || {
        served.expect_queries(queries.len());
        let collection = served.read();
        if collection.is_empty() {
            return Err(ApiError::invalid(
                "the collection has no records to classify against",
            ));
        }
        let embedder = served.embedder.as_ref();
        let state = served.classifier();
        Ok(match &vectors {
            Some(v) => engine::classify_given(&collection, state.as_deref(), &queries, v, opts)?,
            None => {
                engine::classify_batch(&collection, embedder, state.as_deref(), &queries, opts)?
            }
        })
    })
    .await?;
    Ok(Json(classify_response(classified)))
}

/// Each prediction with the classifier's state.
fn classify_response(classified: engine::Classified) -> ClassifyResponse {
    let status = classified.classifier;
    let results = classified
        .predictions
        .into_iter()
        .map(|p| ClassifyResult::new(p, status.clone()))
        .collect();
    ClassifyResponse { results }
}

/// The request's options, validated as the CLI validates its flags.
fn classify_options(req: &ClassifyRequest, limits: &Limits) -> Result<ClassifyOptions, ApiError> {
    let k = req.k.map(|k| check_k(k, limits)).transpose()?;
    let threshold = req.threshold.map(engine::check_threshold).transpose()?;
    let adapt = req
        .adapt
        .as_deref()
        .map(str::parse::<Adapt>)
        .transpose()?
        .unwrap_or_default();
    Ok(ClassifyOptions {
        k,
        threshold,
        adapt,
    })
}
