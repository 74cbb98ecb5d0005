//! The OpenAPI document, generated from the handlers' annotations and the body types.

use std::sync::OnceLock;

use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super::{api, api_records, browse, error, query, records, routes};

/// Every route, request and response of the API.
#[derive(OpenApi)]
#[openapi(
    info(title = "genovec", description = "Vector search and retrieval-augmented classification of DNA sequences."),
    paths(
        routes::health, routes::list, routes::info, routes::metrics, routes::openapi,
        query::search, query::classify, records::insert, records::delete,
        browse::fetch, browse::scroll, browse::delete_batch,
    ),
    components(schemas(
        api::Health, api::DegradedCollection, api::CollectionList, api::CollectionSummary, api::CollectionDetail,
        api::GraphState, api::SearchRequest, api::SearchResponse, api::SearchResult,
        api::NeighbourOut, api::ClassifyRequest, api::ClassifyResponse, api::ClassifyResult, api::ClassifierStateOut,
        api::InsertRequest, api::RecordIn, api::InsertResponse, error::ErrorBody, error::ErrorDetail,
        api_records::ClientIdJson, api_records::RecordOut, api_records::ScrollResponse,
        api_records::DeleteRequest, api_records::DeleteResponse,
    )),
    modifiers(&BearerAuth)
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
    }
}

/// The document as JSON, built once.
pub fn document() -> &'static str {
    static DOC: OnceLock<String> = OnceLock::new();
    DOC.get_or_init(|| {
        ApiDoc::openapi()
            .to_json()
            .expect("the OpenAPI document serialises")
    })
}
