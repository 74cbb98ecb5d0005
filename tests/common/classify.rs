//! Classifying through the library against a collection file, as the tests of adaptation and
//! of batch independence do.

use std::path::Path;

use genovec::classify::Adapt;
use genovec::engine::{self, ClassifyOptions};
use genovec::seq::SeqRecord;

/// Classifies `queries` against the collection at `path` with the stored classifier.
pub fn classify(path: &Path, queries: &[SeqRecord], adapt: Adapt) -> engine::Classified {
    let (collection, embedder) = engine::open_for_queries(path).unwrap();
    let state = engine::load_state(&collection).unwrap();
    let opts = ClassifyOptions {
        adapt,
        ..ClassifyOptions::default()
    };
    engine::classify_batch(
        &collection,
        embedder.as_ref(),
        state.as_ref(),
        queries,
        opts,
    )
    .unwrap()
}
