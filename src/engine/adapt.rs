//! Covariate-shift correction for a query set (the measure is [`crate::classify::shift`]).
//!
//! When the queries as a whole sit far from the training records (a dataset built another
//! way, another genome), the classifier was tuned on cues the queries may not share. The
//! correction refits the linear model blind to the direction that separates the query mean
//! from the training mean ([`LinearModel::fit_removing`](crate::classify::LinearModel)), and
//! drops the kNN vote from the probabilities: neighbours drawn from the training
//! distribution cannot be re-weighted for the shift, while a linear model can be refitted.
//! k, C and the vote are kept as tuned; only the fusion weight changes (to 0).

use super::classify::{fit_final, training_rows, ClassifierState};
use crate::classify::shift::{Adapt, Shift, MIN_QUERIES};
use crate::classify::FusionParams;
use crate::store::Collection;
use crate::{Error, Result};

/// The corrected classifier (when the shift calls for one) and the measured shift.
pub(super) fn respond(
    collection: &Collection,
    state: &ClassifierState,
    design: &[Vec<f64>],
    adapt: Adapt,
) -> Result<(Option<ClassifierState>, Option<Shift>)> {
    let n_queries = design.len();
    if adapt == Adapt::Always && n_queries < MIN_QUERIES {
        return Err(Error::InvalidArgument {
            what: "--adapt always".into(),
            message: format!(
                "needs at least {MIN_QUERIES} queries to estimate their shift, got {}",
                n_queries
            ),
        });
    }
    if adapt == Adapt::Never || n_queries < MIN_QUERIES {
        return Ok((None, None));
    }
    let mean = column_means(design, state.model.n_features());
    let offset = state.model.standardised_offset(&mean);
    let mut shift = Shift::measure(&offset, n_queries, state.trained_on);
    if adapt == Adapt::Auto && !shift.is_material() {
        return Ok((None, Some(shift)));
    }
    let rows = training_rows(collection, state.design())?;
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

/// Column means of the queries' design rows (`width` columns; at least one row).
fn column_means(design: &[Vec<f64>], width: usize) -> Vec<f64> {
    let mut sum = vec![0f64; width];
    for row in design {
        sum.iter_mut().zip(row).for_each(|(s, x)| *s += x);
    }
    let n = design.len() as f64;
    sum.into_iter().map(|s| s / n).collect()
}
