//! genovec results into Python objects: JSON-shaped values into dicts and lists, vectors
//! and distances into numpy arrays.
//!
//! Results go through `serde_json::Value`, the shape the CLI's `--json` prints, so a dict
//! here has the same keys and values as the CLI's line (and gains new fields, such as
//! metadata, when the engine's types do). Floats stay exact: an f32 distance becomes the
//! f64 it widens to, as in the CLI's classify JSON.

use ndarray::Array2;
use numpy::{IntoPyArray, PyArray1, PyArray2};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};
use serde_json::Value;

use genovec::engine::Neighbour;

/// A JSON value as Python: null, bool, int, float, str, list and dict.
pub fn json<'py>(py: Python<'py>, value: &Value) -> PyResult<Bound<'py, PyAny>> {
    Ok(match value {
        Value::Null => py.None().into_bound(py),
        Value::Bool(b) => b.into_pyobject(py)?.to_owned().into_any(),
        Value::Number(n) => match (n.as_i64(), n.as_u64()) {
            (Some(i), _) => i.into_pyobject(py)?.into_any(),
            (None, Some(u)) => u.into_pyobject(py)?.into_any(),
            // serde_json numbers are finite; NaN and infinities are already null.
            _ => n.as_f64().unwrap_or(f64::NAN).into_pyobject(py)?.into_any(),
        },
        Value::String(s) => s.into_pyobject(py)?.into_any(),
        Value::Array(items) => {
            let items = items
                .iter()
                .map(|v| json(py, v))
                .collect::<PyResult<Vec<_>>>()?;
            PyList::new(py, items)?.into_any()
        }
        Value::Object(map) => {
            let dict = PyDict::new(py);
            for (k, v) in map {
                dict.set_item(k, json(py, v)?)?;
            }
            dict.into_any()
        }
    })
}

/// Any serialisable engine value (neighbours, a prediction's JSON) as Python.
pub fn serialised<'py>(
    py: Python<'py>,
    value: &impl serde::Serialize,
) -> PyResult<Bound<'py, PyAny>> {
    let value = serde_json::to_value(value).map_err(|e| crate::errors::internal(e.to_string()))?;
    json(py, &value)
}

/// An (n, dim) float32 array that takes over `flat` (row-major) without copying it.
pub fn matrix(
    py: Python<'_>,
    flat: Vec<f32>,
    n: usize,
    dim: usize,
) -> PyResult<Bound<'_, PyArray2<f32>>> {
    let array = Array2::from_shape_vec((n, dim), flat)
        .map_err(|e| crate::errors::invalid("vectors", e.to_string()))?;
    Ok(array.into_pyarray(py))
}

/// Vectors as one row-major buffer: the single copy out of the embedder's rows.
pub fn flatten(rows: Vec<Vec<f32>>, dim: usize) -> Vec<f32> {
    let mut flat = Vec::with_capacity(rows.len() * dim);
    rows.into_iter().for_each(|r| flat.extend_from_slice(&r));
    flat
}

/// Ids as an int64 array; `None` (a record already stored, so not added) becomes -1.
pub fn id_array<'py>(py: Python<'py>, ids: &[Option<u64>]) -> Bound<'py, PyArray1<i64>> {
    let ids: Vec<i64> = ids.iter().map(|id| id.map_or(-1, as_i64)).collect();
    ids.into_pyarray(py)
}

/// Search hits as arrays: ids (int64) and distances (float32), each (queries, k).
pub type HitArrays<'py> = (Bound<'py, PyArray2<i64>>, Bound<'py, PyArray2<f32>>);

/// (n, k) ids (int64) and distances (float32), nearest first; a query with fewer than k
/// neighbours (a small collection, a label filter) is padded with id -1 and distance inf.
pub fn hit_arrays<'py>(
    py: Python<'py>,
    hits: &[Vec<Neighbour>],
    k: usize,
) -> PyResult<HitArrays<'py>> {
    let mut ids = vec![-1i64; hits.len() * k];
    let mut distances = vec![f32::INFINITY; hits.len() * k];
    for (q, row) in hits.iter().enumerate() {
        for (j, n) in row.iter().take(k).enumerate() {
            ids[q * k + j] = as_i64(n.id);
            distances[q * k + j] = n.distance;
        }
    }
    let shape = (hits.len(), k);
    let ids = Array2::from_shape_vec(shape, ids)
        .map_err(|e| crate::errors::invalid("k", e.to_string()))?;
    let distances = Array2::from_shape_vec(shape, distances)
        .map_err(|e| crate::errors::invalid("k", e.to_string()))?;
    Ok((ids.into_pyarray(py), distances.into_pyarray(py)))
}

/// Record ids count up from 0 in one file, so they never reach 2^63.
fn as_i64(id: u64) -> i64 {
    i64::try_from(id).unwrap_or(i64::MAX)
}
