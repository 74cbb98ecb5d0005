//! Python arguments into genovec values: sequences, labels, names, ids and query vectors.
//!
//! Extraction (holding the GIL) only copies Python strings and numbers out; validation
//! (letters, labels) happens in [`records`], which runs with the GIL released and fails with
//! genovec's own errors, naming the item (`input, sequences[2] ("chr1_a"): ...`) as the
//! HTTP server names a request's records.

use numpy::{PyArrayDescrMethods, PyReadonlyArray2, PyUntypedArray, PyUntypedArrayMethods};
use pyo3::prelude::*;
use pyo3::types::PyString;

use genovec::seq::{check_field, DnaSeq, LetterError, SeqRecord};
use genovec::Error;

use crate::errors::invalid;

/// What error messages call the Python caller's input.
const SOURCE: &str = "input";

/// An iterable of `str` (a list, a tuple, a pandas Series, a numpy array of str). A bare
/// `str` is refused: iterating it would index one query per letter.
pub fn strings(obj: &Bound<'_, PyAny>, what: &str) -> PyResult<Vec<String>> {
    if obj.is_instance_of::<PyString>() {
        return Err(invalid(
            what,
            "expected a list of strings, not one str (wrap it: [s])",
        ));
    }
    obj.try_iter()?
        .enumerate()
        .map(|(i, item)| {
            item?
                .extract::<String>()
                .map_err(|_| invalid(what, format!("{what}[{i}] is not a str")))
        })
        .collect()
}

/// Labels: `str`, or integers (pandas reads a `0`/`1` label column as int64), which become
/// their decimal text as a CSV cell would be read by `genovec index`.
pub fn labels(obj: &Bound<'_, PyAny>) -> PyResult<Vec<String>> {
    if obj.is_instance_of::<PyString>() {
        return Err(invalid(
            "labels",
            "expected one label per sequence, not one str",
        ));
    }
    obj.try_iter()?
        .enumerate()
        .map(|(i, item)| {
            let item = item?;
            if let Ok(s) = item.extract::<String>() {
                return Ok(s);
            }
            // `__index__` accepts Python and numpy integers but not floats or bools' cousins.
            match item
                .call_method0("__index__")
                .and_then(|n| n.extract::<i128>())
            {
                Ok(n) => Ok(n.to_string()),
                Err(_) => Err(invalid(
                    "labels",
                    format!("labels[{i}] is not a str or int"),
                )),
            }
        })
        .collect()
}

/// A label filter: one label (`str`) or several.
pub fn label_filter(obj: Option<&Bound<'_, PyAny>>) -> PyResult<Vec<String>> {
    match obj {
        None => Ok(Vec::new()),
        Some(o) if o.is_instance_of::<PyString>() => Ok(vec![o.extract()?]),
        Some(o) => strings(o, "labels"),
    }
}

/// Record ids: any iterable of non-negative integers (a list, a numpy array).
pub fn ids(obj: &Bound<'_, PyAny>) -> PyResult<Vec<u64>> {
    obj.try_iter()?
        .enumerate()
        .map(|(i, item)| {
            let item = item?;
            item.call_method0("__index__")
                .and_then(|n| n.extract::<u64>())
                .map_err(|_| invalid("ids", format!("ids[{i}] is not a non-negative integer")))
        })
        .collect()
}

/// Vectors given with records (`index(vectors=...)`, `classify(vectors=...)`): a 2-D float
/// array, one row per sequence.
pub fn vectors(obj: &Bound<'_, PyAny>) -> PyResult<Vec<Vec<f32>>> {
    match queries(obj)? {
        Queries::Vectors(v) => Ok(v),
        Queries::Sequences(_) => Err(invalid("vectors", "expected a 2-D float array (n, dim)")),
    }
}

/// Queries: sequences, or vectors in the collection's embedding space.
pub enum Queries {
    /// Query sequences, still unvalidated.
    Sequences(Vec<String>),
    /// One vector per query.
    Vectors(Vec<Vec<f32>>),
}

/// A 2-D numpy float array is vectors (float64 is narrowed to the stored float32); anything
/// else is an iterable of sequences. A numpy array of str is sequences.
pub fn queries(obj: &Bound<'_, PyAny>) -> PyResult<Queries> {
    if let Ok(a) = obj.extract::<PyReadonlyArray2<'_, f32>>() {
        return Ok(Queries::Vectors(
            a.as_array().outer_iter().map(|r| r.to_vec()).collect(),
        ));
    }
    if let Ok(a) = obj.extract::<PyReadonlyArray2<'_, f64>>() {
        let rows = a.as_array();
        return Ok(Queries::Vectors(
            rows.outer_iter()
                .map(|r| r.iter().map(|&x| x as f32).collect())
                .collect(),
        ));
    }
    if let Ok(a) = obj.cast::<PyUntypedArray>() {
        let kind = a.dtype().kind();
        if a.ndim() != 2 && matches!(kind, b'f' | b'i' | b'u') {
            return Err(invalid(
                "queries",
                format!(
                    "vector queries must be a 2-D array (n, dim), got {} dimension(s); one \
                     vector v is v.reshape(1, -1)",
                    a.ndim()
                ),
            ));
        }
        if kind != b'U' && kind != b'O' {
            return Err(invalid(
                "queries",
                "vector queries must be a float32 (or float64) array; sequences a list of str",
            ));
        }
    }
    strings(obj, "sequences").map(Queries::Sequences)
}

/// Validated records named `names[i]`, else `sequences[i]`; with `labels`, each needs a
/// non-empty label without tabs or line breaks (the rules `genovec index` applies).
pub fn records(
    sequences: Vec<String>,
    labels: Option<Vec<String>>,
    names: Option<Vec<String>>,
) -> genovec::Result<Vec<SeqRecord>> {
    let n = sequences.len();
    for (what, len) in [
        ("labels", labels.as_ref().map(Vec::len)),
        ("names", names.as_ref().map(Vec::len)),
    ] {
        if let Some(len) = len.filter(|&len| len != n) {
            return Err(Error::InvalidArgument {
                what: what.into(),
                message: format!("{len} {what} for {n} sequences"),
            });
        }
    }
    let mut labels = labels.map(Vec::into_iter);
    let mut names = names.map(Vec::into_iter);
    sequences
        .into_iter()
        .enumerate()
        .map(|(i, raw)| {
            let name = names.as_mut().and_then(Iterator::next);
            let label = labels.as_mut().and_then(Iterator::next);
            record(i, &raw, name, label)
        })
        .collect()
}

fn record(
    i: usize,
    raw: &str,
    name: Option<String>,
    label: Option<String>,
) -> genovec::Result<SeqRecord> {
    let name = name.unwrap_or_else(|| format!("sequences[{i}]"));
    let location = format!("sequences[{i}] ({name:?})");
    for (field, value) in [("name", Some(&name)), ("label", label.as_ref())] {
        if let Some(Err(message)) = value.map(|v| check_field(field, v)) {
            return Err(Error::Parse {
                source_name: SOURCE.into(),
                location,
                message,
            });
        }
    }
    if label.as_ref().is_some_and(|l| l.trim().is_empty()) {
        return Err(Error::MissingLabel {
            source_name: SOURCE.into(),
            location,
        });
    }
    let seq = DnaSeq::parse(raw.as_bytes()).map_err(|e| match e {
        LetterError::Empty => Error::EmptySequence {
            source_name: SOURCE.into(),
            location: location.clone(),
        },
        LetterError::Bad { ch, position } => Error::BadLetter {
            source_name: SOURCE.into(),
            location: location.clone(),
            ch,
            position,
        },
    })?;
    // Metadata joins the record in `Collection.index` (see `meta.rs`).
    Ok(SeqRecord {
        name,
        seq,
        label,
        metadata: None,
    })
}
