//! `genovec._genovec`, the native module of the `genovec` Python package.
//!
//! It binds genovec's engine the way `src/cli` and `src/server` do: arguments are turned
//! into the engine's values, the same engine functions answer, and the results are turned
//! into Python objects shaped like the CLI's JSON. It holds no logic of its own.

// PyO3's macros expand to unsafe FFI glue; the code written here has none.
#![deny(unsafe_code)]

mod collection;
mod errors;
mod input;
mod meta;
mod output;
mod reader;
mod shapes;
mod write;

use numpy::PyArray2;
use pyo3::prelude::*;

use crate::errors::detached;

/// Embeds sequences with an embedder spec (`composition`, `dnabert2:DIR`, `nt:DIR`,
/// `hyenadna:DIR`, `DIR`). Returns an (n, dim) float32 array: the vectors a collection
/// built with this embedder stores (before its cosine normalisation) and searches with.
#[pyfunction]
#[pyo3(signature = (sequences, embedder="composition"))]
fn embed<'py>(
    py: Python<'py>,
    sequences: &Bound<'py, PyAny>,
    embedder: &str,
) -> PyResult<Bound<'py, PyArray2<f32>>> {
    let sequences = input::strings(sequences, "sequences")?;
    let (flat, n, dim) = detached(py, || {
        let records = input::records(sequences, None, None)?;
        let embedder = genovec::embed::from_spec(embedder)?;
        let dim = embedder.dim();
        let vectors = genovec::engine::embed_queries(embedder.as_ref(), &records)?;
        Ok((output::flatten(vectors, dim), records.len(), dim))
    })?;
    output::matrix(py, flat, n, dim)
}

#[pymodule]
fn _genovec(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<collection::PyCollection>()?;
    m.add_function(wrap_pyfunction!(embed, m)?)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
