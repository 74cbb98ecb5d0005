//! Retrieval-augmented classification.
//!
//! A query is scored twice: by a vote over its retrieved labelled neighbours ([`knn`]) and by
//! a standardised multinomial logistic regression on `[embedding | handcrafted]` features
//! ([`linear`]). [`fusion`] mixes the two probability vectors and decides (optionally answering
//! `unknown` when even the nearest neighbour is too far); [`tune`] chooses k, the fusion weight
//! and the regularisation by an inner split of the training data only; [`shift`] measures how
//! far a query set sits from the training records and says when to correct for it.
//!
//! Labels are dense class indices `0..n_classes`; the store keeps the label strings.

pub mod fusion;
pub mod knn;
pub mod linear;
pub mod shift;

pub mod tune;

pub use crate::split::{stratified_folds, stratified_split};
pub use fusion::{argmax, decide, extend_linear, fuse, Decision, FusionParams};
pub use knn::{vote, Vote};
pub use linear::LinearModel;
pub use shift::{Adapt, Shift};
pub use tune::{cosine_distance, tune, TuneInput, TuneResult};

#[cfg(test)]
mod testdata;
