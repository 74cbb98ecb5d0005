//! Covariate-shift correction for a query set (the measure is [`crate::classify::shift`]).
//!
//! When the queries as a whole sit far from the training records (a dataset built another
//! way, another genome), the classifier was tuned on cues the queries may not share. The
//! correction refits the linear model blind to the direction that separates the query mean
//! from the training mean ([`LinearModel::fit_removing`](crate::classify::LinearModel)), and
//! drops the kNN vote from the probabilities: neighbours drawn from the training
//! distribution cannot be re-weighted for the shift, while a linear model can be refitted.
//! k, C and the vote are kept as tuned; only the fusion weight changes (to 0).

use super::classify::{fit_final, query_design_row, training_rows, ClassifierState};
use crate::classify::shift::{Adapt, Shift, MIN_QUERIES};
use crate::classify::FusionParams;
use crate::seq::SeqRecord;
use crate::store::Collection;
use crate::{Error, Result};

/// The corrected classifier (when the shift calls for one) and the measured shift.
pub(super) fn respond(
    collection: &Collection,
    state: &ClassifierState,
    queries: &[SeqRecord],
    vectors: &[Vec<f32>],
    adapt: Adapt,
) -> Result<(Option<ClassifierState>, Option<Shift>)> {
    if adapt == Adapt::Always && queries.len() < MIN_QUERIES {
        return Err(Error::InvalidArgument {
            what: "--adapt always".into(),
            message: format!(
                "needs at least {MIN_QUERIES} queries to estimate their shift, got {}",
                queries.len()
            ),
        });
    }
    if adapt == Adapt::Never || queries.len() < MIN_QUERIES {
        return Ok((None, None));
    }
    let mean = query_mean(collection, state, queries, vectors)?;
    let offset = state.model.standardised_offset(&mean);
    let mut shift = Shift::measure(&offset, queries.len(), state.trained_on);
    if adapt == Adapt::Auto && !shift.is_material() {
        return Ok((None, Some(shift)));
    }
    let rows = training_rows(collection, state.handcrafted)?;
    let n_classes = collection.labels().len();
    let model = fit_final(
        &rows.design,
        &rows.y,
        n_classes,
        state.params.c,
        Some(&mean),
    )?;
    shift.adapted = true;
    let corrected = ClassifierState {
        params: FusionParams {
            weight_knn: 0.0,
            ..state.params.clone()
        },
        model,
        ..state.clone()
    };
    Ok((Some(corrected), Some(shift)))
}

/// Column means of the queries' design rows.
fn query_mean(
    collection: &Collection,
    state: &ClassifierState,
    queries: &[SeqRecord],
    vectors: &[Vec<f32>],
) -> Result<Vec<f64>> {
    let mut sum = vec![0f64; state.model.n_features()];
    for (q, v) in queries.iter().zip(vectors) {
        let row = query_design_row(collection, state, q, v)?;
        sum.iter_mut().zip(&row).for_each(|(s, x)| *s += x);
    }
    let n = queries.len() as f64;
    Ok(sum.into_iter().map(|s| s / n).collect())
}
