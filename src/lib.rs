//! genovec: an embedded vector database for DNA sequences with retrieval-augmented
//! classification.

#![deny(unsafe_code)]
#![warn(missing_docs)]

pub mod classify;
pub mod error;
pub mod metrics;

pub use error::{Error, Result};
