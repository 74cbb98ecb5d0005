//! genovec: an embedded vector database for DNA sequences with retrieval-augmented
//! classification.

#![deny(unsafe_code)]
#![warn(missing_docs)]

pub mod classify;
pub mod demo;
pub mod embed;
pub mod energy;
pub mod engine;
pub mod error;
pub mod export;
pub mod features;
pub mod finetune;
pub mod metrics;
pub mod milvus;
pub mod progress;
pub mod qc;
pub mod seq;
pub mod server;
pub mod split;
pub mod store;
pub mod vecmath;

pub use error::{Error, Result};
