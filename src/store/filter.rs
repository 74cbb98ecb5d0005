//! `where` filters on record metadata, and the row masks a search applies inside the graph.
//!
//! A filter is a JSON object; every key must hold (AND). A key's value is either a scalar
//! (equality) or an object of operators, all of which must hold:
//! `{"tissue": "liver", "depth": {"$gte": 10, "$lt": 20}, "chr": {"$in": ["chr1", "chr2"]}}`.
//! Operators: `$eq` (a scalar), `$in` (a non-empty list of scalars), `$gt`, `$gte`, `$lt`,
//! `$lte` (numbers). Numbers compare by value (`12` equals `12.0`); a string never equals a
//! number. A record without the key, or with a value of another type, does not match.

use serde_json::Value;

use super::collection::Collection;
use crate::seq::Metadata;

/// A parsed `where` filter.
#[derive(Debug, Clone, PartialEq)]
pub struct Where {
    conditions: Vec<(String, Condition)>,
}

/// One condition on one key (a filter holds a list of them, all of which must hold).
#[derive(Debug, Clone, PartialEq)]
pub enum Condition {
    /// Equal to a scalar (numbers by value).
    Eq(Value),
    /// Equal to one of these scalars.
    In(Vec<Value>),
    /// (operator, bound): `$gt`, `$gte`, `$lt` or `$lte`, on numbers only.
    Compare(&'static str, f64),
}

impl Where {
    /// Parses a filter from its JSON text (the CLI's `--where`).
    pub fn parse_text(text: &str) -> Result<Where, String> {
        let value: Value =
            serde_json::from_str(text).map_err(|e| format!("not valid JSON: {e}"))?;
        Where::parse(&value)
    }

    /// Parses a filter from a JSON value (HTTP and Python give one); the message names the
    /// key or operator at fault.
    pub fn parse(value: &Value) -> Result<Where, String> {
        let Value::Object(map) = value else {
            return Err("must be a JSON object of metadata keys".into());
        };
        let mut conditions = Vec::new();
        for (key, spec) in map {
            match spec {
                Value::Object(ops) => {
                    if ops.is_empty() {
                        return Err(format!("{key:?} has an empty operator object"));
                    }
                    for (op, arg) in ops {
                        conditions.push((key.clone(), operator(key, op, arg)?));
                    }
                }
                scalar => conditions.push((key.clone(), Condition::Eq(check_scalar(key, scalar)?))),
            }
        }
        Ok(Where { conditions })
    }

    /// The (key, condition) pairs, all of which must hold (for a backend that evaluates the
    /// filter itself, such as Milvus).
    pub fn conditions(&self) -> &[(String, Condition)] {
        &self.conditions
    }

    /// True when the filter has no condition (every record matches).
    pub fn is_empty(&self) -> bool {
        self.conditions.is_empty()
    }

    /// Whether a record with this metadata matches.
    pub fn matches(&self, meta: Option<&Metadata>) -> bool {
        self.conditions.iter().all(|(key, cond)| {
            meta.and_then(|m| m.get(key))
                .is_some_and(|value| cond.holds(value))
        })
    }
}

fn operator(key: &str, op: &str, arg: &Value) -> Result<Condition, String> {
    let number = || {
        arg.as_f64()
            .ok_or_else(|| format!("{key:?}: {op} needs a number, got {arg}"))
    };
    Ok(match op {
        "$eq" => Condition::Eq(check_scalar(key, arg)?),
        "$in" => match arg {
            Value::Array(items) if !items.is_empty() => Condition::In(
                items
                    .iter()
                    .map(|v| check_scalar(key, v))
                    .collect::<Result<_, _>>()?,
            ),
            _ => return Err(format!("{key:?}: $in needs a non-empty list, got {arg}")),
        },
        "$gt" => Condition::Compare("$gt", number()?),
        "$gte" => Condition::Compare("$gte", number()?),
        "$lt" => Condition::Compare("$lt", number()?),
        "$lte" => Condition::Compare("$lte", number()?),
        other => {
            return Err(format!(
                "{key:?}: unknown operator {other:?} (known: $eq, $in, $gt, $gte, $lt, $lte)"
            ))
        }
    })
}

fn check_scalar(key: &str, value: &Value) -> Result<Value, String> {
    match value {
        Value::String(_) | Value::Number(_) | Value::Bool(_) => Ok(value.clone()),
        other => Err(format!(
            "{key:?}: compare with a string, number or boolean (a list goes in $in), got {other}"
        )),
    }
}

/// Equality as the module docs say: numbers by value, other scalars exactly.
fn equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        _ => a == b,
    }
}

impl Condition {
    fn holds(&self, value: &Value) -> bool {
        match self {
            Condition::Eq(want) => equal(value, want),
            Condition::In(set) => set.iter().any(|want| equal(value, want)),
            Condition::Compare(op, bound) => value.as_f64().is_some_and(|x| match *op {
                "$gt" => x > *bound,
                "$gte" => x >= *bound,
                "$lt" => x < *bound,
                _ => x <= *bound,
            }),
        }
    }
}

/// The rows a `where` filter admits, evaluated once per request and then looked up by the
/// graph search for every node it reaches.
#[derive(Debug, Clone)]
pub struct RowMask {
    allowed: Vec<bool>,
    count: usize,
}

impl RowMask {
    /// Whether row `row` is admitted (rows added after the mask was made are not).
    pub fn allows(&self, row: usize) -> bool {
        self.allowed.get(row).copied().unwrap_or(false)
    }

    /// Live rows admitted.
    pub fn count(&self) -> usize {
        self.count
    }
}

impl Collection {
    /// The live rows whose metadata matches `filter`.
    pub fn row_mask(&self, filter: &Where) -> RowMask {
        let v = &self.vectors;
        let allowed: Vec<bool> = (0..v.len())
            .map(|r| !v.deleted[r] && filter.matches(v.metadata(r)))
            .collect();
        let count = allowed.iter().filter(|&&a| a).count();
        RowMask { allowed, count }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn meta(value: Value) -> Metadata {
        value.as_object().unwrap().clone()
    }

    #[test]
    fn equality_sets_and_ranges_combine_with_and() {
        let w = Where::parse(&json!({
            "tissue": "liver", "depth": {"$gte": 10, "$lt": 20}, "chr": {"$in": ["chr1", 2]}
        }))
        .unwrap();
        let m = |v| meta(v);
        assert!(w.matches(Some(&m(
            json!({"tissue": "liver", "depth": 10, "chr": "chr1"})
        ))));
        assert!(w.matches(Some(&m(
            json!({"tissue": "liver", "depth": 19.5, "chr": 2.0})
        ))));
        assert!(!w.matches(Some(&m(
            json!({"tissue": "liver", "depth": 20, "chr": "chr1"})
        ))));
        assert!(!w.matches(Some(&m(
            json!({"tissue": "lung", "depth": 12, "chr": "chr1"})
        ))));
        assert!(!w.matches(Some(&m(
            json!({"tissue": "liver", "depth": "12", "chr": "chr1"})
        ))));
        assert!(!w.matches(Some(&m(json!({"tissue": "liver", "chr": "chr1"})))));
        assert!(!w.matches(None));
        assert!(Where::parse(&json!({})).unwrap().matches(None));
    }

    #[test]
    fn bad_filters_name_the_key_or_operator() {
        let err = |v: Value| Where::parse(&v).unwrap_err();
        assert!(err(json!(["a"])).contains("object"));
        assert!(err(json!({"d": {"$gte": "x"}})).contains("\"d\": $gte needs a number"));
        assert!(err(json!({"d": {"$like": 1}})).contains("unknown operator \"$like\""));
        assert!(err(json!({"d": {"$in": []}})).contains("non-empty list"));
        assert!(err(json!({"d": [1, 2]})).contains("$in"));
        assert!(err(json!({"d": {}})).contains("empty operator"));
        assert!(Where::parse_text("{").unwrap_err().contains("JSON"));
    }
}
