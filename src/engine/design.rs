//! The linear model's input rows: a record's embedding, then the handcrafted features.

use ndarray::Array2;

use crate::features::{handcrafted_into, positional_profile_into, HANDCRAFTED_DIM, PROFILE_DIM};

/// Which sequence features follow the embedding in a design row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Design {
    /// The 16 handcrafted features ([`handcrafted_into`]).
    pub handcrafted: bool,
    /// Then the positional profile ([`positional_profile_into`]).
    pub profile: bool,
}

impl Design {
    /// What a new classifier uses: with `handcrafted`, both feature blocks; else none.
    pub fn new(handcrafted: bool) -> Self {
        Self {
            handcrafted,
            profile: handcrafted,
        }
    }

    /// Number of columns after the embedding.
    pub fn extra_width(self) -> usize {
        let hand = if self.handcrafted { HANDCRAFTED_DIM } else { 0 };
        hand + if self.profile { PROFILE_DIM } else { 0 }
    }
}

/// Width of a design row for embeddings of width `dim`.
pub fn design_width(dim: usize, design: Design) -> usize {
    dim + design.extra_width()
}

/// The design row of one sequence: its stored-form embedding, then the feature blocks that
/// `design` names. `out` is [`design_width`] long.
pub fn design_row(vector: &[f32], seq: &[u8], design: Design, out: &mut [f64]) {
    let mut hand = [0f32; HANDCRAFTED_DIM];
    let mut profile = [0f32; PROFILE_DIM];
    if design.handcrafted {
        handcrafted_into(seq, &mut hand);
    }
    if design.profile {
        positional_profile_into(seq, &mut profile);
    }
    let hand = if design.handcrafted { &hand[..] } else { &[] };
    let profile = if design.profile { &profile[..] } else { &[] };
    debug_assert_eq!(out.len(), design_width(vector.len(), design));
    // Part by part: a chained iterator converts one value at a time, a slice's loop vectorises.
    let mut rest = out;
    for part in [vector, hand, profile] {
        let (head, tail) = rest.split_at_mut(part.len().min(rest.len()));
        head.iter_mut()
            .zip(part)
            .for_each(|(o, v)| *o = f64::from(*v));
        rest = tail;
    }
}

/// The design rows of several records, one per embedding, in order.
pub fn design_matrix<'a>(
    embeddings: &[Vec<f32>],
    seqs: impl Iterator<Item = &'a [u8]>,
    layout: Design,
) -> Array2<f64> {
    let width = design_width(embeddings.first().map_or(0, Vec::len), layout);
    let mut design = Array2::<f64>::zeros((embeddings.len(), width));
    for ((mut row, v), seq) in design.rows_mut().into_iter().zip(embeddings).zip(seqs) {
        design_row(
            v,
            seq,
            layout,
            row.as_slice_mut()
                .expect("rows of a standard-layout array are contiguous"),
        );
    }
    design
}
