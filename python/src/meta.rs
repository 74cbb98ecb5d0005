//! Python values into JSON for record metadata and `where` filters: dicts with str keys,
//! lists, str, bool, int, float and numpy scalars (through their `item()`).
//!
//! A metadata value that is `None` or a float NaN is no field, as an empty CSV cell is (so
//! the rows of a pandas DataFrame with missing values can be passed as they are).

use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};
use serde_json::{Map, Number, Value};

use genovec::seq::Metadata;
use genovec::store::Where;

use crate::errors::invalid;

/// One JSON value; `what` names it in errors.
fn value(obj: &Bound<'_, PyAny>, what: &str) -> PyResult<Value> {
    if obj.is_none() {
        return Ok(Value::Null);
    }
    if let Ok(b) = obj.cast::<PyBool>() {
        return Ok(Value::Bool(b.is_true()));
    }
    if obj.is_instance_of::<PyInt>() {
        if let Ok(i) = obj.extract::<i64>() {
            return Ok(i.into());
        }
        return obj
            .extract::<u64>()
            .map(Value::from)
            .map_err(|_| invalid(what, "an integer beyond 64 bits"));
    }
    if obj.is_instance_of::<PyFloat>() {
        let x: f64 = obj.extract()?;
        return Number::from_f64(x)
            .map(Value::Number)
            .ok_or_else(|| invalid(what, format!("{x} is not a finite number")));
    }
    if let Ok(s) = obj.cast::<PyString>() {
        return Ok(Value::String(s.extract::<String>()?));
    }
    if let Ok(d) = obj.cast::<PyDict>() {
        return object(d, what, false).map(Value::Object);
    }
    if obj.is_instance_of::<PyList>() || obj.is_instance_of::<PyTuple>() {
        let items = obj.try_iter()?.map(|item| value(&item?, what));
        return items.collect::<PyResult<Vec<_>>>().map(Value::Array);
    }
    // numpy scalars (int64, bool_, str_) turn into Python ones.
    if obj.hasattr("item")? && obj.hasattr("dtype")? {
        return value(&obj.call_method0("item")?, what);
    }
    let type_name = obj.get_type().name()?.to_string();
    Err(invalid(
        what,
        format!("a {type_name} cannot be stored as JSON"),
    ))
}

/// A dict with str keys as a JSON object; with `drop_missing`, `None` and NaN values are
/// left out.
fn object(
    dict: &Bound<'_, PyDict>,
    what: &str,
    drop_missing: bool,
) -> PyResult<Map<String, Value>> {
    let mut map = Map::new();
    for (k, v) in dict.iter() {
        let key: String = k.extract().map_err(|_| invalid(what, "keys must be str"))?;
        let missing = v.is_none() || v.extract::<f64>().is_ok_and(f64::is_nan);
        if drop_missing && missing {
            continue;
        }
        map.insert(key.clone(), value(&v, &format!("{what}[{key:?}]"))?);
    }
    Ok(map)
}

/// `metadata=` of `index`: one dict (or None) per record, as a list, or a pandas DataFrame
/// (one row per record, columns as keys).
pub fn records(obj: &Bound<'_, PyAny>, n: usize) -> PyResult<Vec<Option<Metadata>>> {
    let rows = if obj.hasattr("to_dict")? && !obj.is_instance_of::<PyDict>() {
        obj.call_method1("to_dict", ("records",))?
    } else {
        obj.clone()
    };
    let out: Vec<Option<Metadata>> = rows
        .try_iter()?
        .enumerate()
        .map(|(i, item)| {
            let item = item?;
            if item.is_none() {
                return Ok(None);
            }
            let dict = item
                .cast::<PyDict>()
                .map_err(|_| invalid("metadata", format!("metadata[{i}] is not a dict or None")))?;
            let map = object(dict, &format!("metadata[{i}]"), true)?;
            Ok((!map.is_empty()).then_some(map))
        })
        .collect::<PyResult<_>>()?;
    if out.len() != n {
        return Err(invalid(
            "metadata",
            format!("{} metadata for {n} sequences", out.len()),
        ));
    }
    Ok(out)
}

/// `where=` of `search`: a dict, parsed as the CLI's `--where` and HTTP's `where` are.
pub fn filter(obj: Option<&Bound<'_, PyAny>>) -> PyResult<Option<Where>> {
    let Some(obj) = obj.filter(|o| !o.is_none()) else {
        return Ok(None);
    };
    let json = value(obj, "where")?;
    Where::parse(&json)
        .map(Some)
        .map_err(|m| invalid("where", m))
}
