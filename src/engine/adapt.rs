//! Covariate-shift correction for a query set (the measure is [`crate::classify::shift`]).
//!
//! Opt-in (`--adapt auto|always`): it looks at the query set as a whole, so a prediction
//! then depends on the other queries, and every adapted prediction says so. When the queries
//! sit far from the training records in a way no mix of the training classes explains (a
//! dataset built another way, another genome), the classifier was tuned on cues the queries
//! may not share. The correction refits the linear model blind to that unexplained direction
//! ([`LinearModel::fit_removing`](crate::classify::LinearModel)), and drops the kNN vote from
//! the probabilities: neighbours drawn from the training distribution cannot be re-weighted
//! for the shift, while a linear model can be refitted. k, C and the vote are kept as
//! tuned; only the fusion weight changes (to 0).

use super::classifier::ClassifierState;
use super::train::{class_means, fit_final, Fit, Snapshot};
use crate::classify::shift::{explain_by_mixture, Adapt, Shift, MIN_QUERIES};
use crate::classify::FusionParams;
use crate::{Error, Result};

/// The corrected classifier (when the shift calls for one) and the measured shift.
/// `snapshot` reads the training rows (in `state`'s design), from whichever store holds them;
/// it is called only when a refit (or an older state without class means) needs them.
pub(super) fn respond(
    snapshot: &dyn Fn() -> Result<Snapshot>,
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
    let model = &state.model;
    let offset = model.standardised_offset(&column_means(design, model.n_features()));
    // Older states stored no class means: compute them from the records, once.
    let mut snap = None;
    let means = if state.class_means.is_empty() {
        let s = snapshot()?;
        let means = class_means(&s.design, &s.y, s.labels.len());
        snap = Some(s);
        means
    } else {
        state.class_means.clone()
    };
    let class_offsets: Vec<Vec<f64>> = means
        .iter()
        .filter(|m| m.len() == model.n_features())
        .map(|m| model.standardised_offset(m))
        .collect();
    let (mix, residual) = explain_by_mixture(&offset, &class_offsets);
    let mut shift = Shift::measure(&residual, n_queries, state.trained_on);
    shift.class_mix = spread_mix(&mix, &means);
    if adapt == Adapt::Auto && !shift.is_material() {
        return Ok((None, Some(shift)));
    }
    let snap = match snap {
        Some(s) => s,
        None => snapshot()?,
    };
    let target = model.raw_from_offset(&residual);
    let n_classes = snap.labels.len();
    let model = fit_final(
        &snap.design,
        &snap.y,
        n_classes,
        state.params.c,
        Fit::Removing(&target),
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

/// The mixture weights of the classes that have means, placed at their class indices.
fn spread_mix(mix: &[f64], means: &[Vec<f64>]) -> Vec<f64> {
    let mut weights = mix.iter();
    means
        .iter()
        .map(|m| {
            if m.is_empty() {
                0.0
            } else {
                *weights.next().unwrap_or(&0.0)
            }
        })
        .collect()
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
