//! Turning request fields into validated library values; every error names where in the
//! request the fault is (`sequences[2]`, `records[0] ("chr1_a")`).

use axum::http::StatusCode;

use super::api::RecordIn;
use super::error::ApiError;
use super::state::Limits;
use crate::engine::IdRef;
use crate::seq::{check_field, check_metadata, non_empty, DnaSeq, LetterError, SeqRecord};
use crate::store::{ClientId, Where};
use crate::Error;
use serde_json::Value;
use std::collections::HashMap;

/// What request sequences are called in error messages.
const SOURCE: &str = "request";

/// 413 when a request carries more items than `--max-batch`.
pub fn check_batch(what: &str, n: usize, limits: &Limits) -> Result<(), ApiError> {
    if n > limits.max_batch {
        return Err(ApiError::batch_too_large(what, n, limits.max_batch));
    }
    Ok(())
}

/// `k` must be in 1..=max_k; the message is the engine's (`engine::check_k`), which the
/// CLI gives for `--k`.
pub fn check_k(k: usize, limits: &Limits) -> Result<usize, ApiError> {
    Ok(crate::engine::check_k(k, limits.max_k)?)
}

fn parse_seq(raw: &str, location: impl FnOnce() -> String) -> Result<DnaSeq, ApiError> {
    let e = match DnaSeq::parse(raw.as_bytes()) {
        Ok(seq) => return Ok(seq),
        Err(e) => e,
    };
    let source_name = SOURCE.to_string();
    let location = location();
    Err(ApiError::from(match e {
        LetterError::Empty => Error::EmptySequence {
            source_name,
            location,
        },
        LetterError::Bad { ch, position } => Error::BadLetter {
            source_name,
            location,
            ch,
            position,
        },
    }))
}

/// Query sequences; query `i` is named `sequences[i]`.
pub fn parse_sequences(raw: &[String]) -> Result<Vec<SeqRecord>, ApiError> {
    raw.iter()
        .enumerate()
        .map(|(i, s)| {
            let name = format!("sequences[{i}]");
            let seq = parse_seq(s, || name.clone())?;
            Ok(SeqRecord {
                name,
                seq,
                label: None,
                metadata: None,
            })
        })
        .collect()
}

/// Records to insert; each needs a non-empty label.
pub fn parse_records(raw: &[RecordIn]) -> Result<Vec<SeqRecord>, ApiError> {
    raw.iter()
        .enumerate()
        .map(|(i, r)| parse_record(i, r))
        .collect()
}

fn parse_record(i: usize, r: &RecordIn) -> Result<SeqRecord, ApiError> {
    check_fields(i, r)?;
    let name = r.name.clone().unwrap_or_else(|| match &r.id {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => format!("records[{i}]"),
    });
    let location = || format!("records[{i}] ({name:?})");
    if r.label.trim().is_empty() {
        let e = Error::MissingLabel {
            source_name: SOURCE.into(),
            location: location(),
        };
        return Err(e.into());
    }
    let seq = parse_seq(&r.sequence, location)?;
    let metadata = r.metadata.clone().unwrap_or_default();
    if let Err(message) = check_metadata(&metadata) {
        return Err(unprocessable(
            format!("records[{i}] ({name:?}).metadata"),
            message,
        ));
    }
    Ok(SeqRecord {
        name,
        seq,
        label: Some(r.label.clone()),
        metadata: non_empty(metadata),
    })
}

/// The records' client ids, checked; an id given twice is a 422 naming the second record.
pub fn parse_client_ids(raw: &[RecordIn]) -> Result<Vec<Option<ClientId>>, ApiError> {
    let mut seen = HashMap::new();
    let mut ids = Vec::with_capacity(raw.len());
    for (i, r) in raw.iter().enumerate() {
        let id =
            r.id.as_ref()
                .map(|v| client_id(v).map_err(|m| unprocessable(format!("records[{i}].id"), m)))
                .transpose()?;
        if let Some(first) = id.as_ref().and_then(|id| seen.insert(id.clone(), i)) {
            let message = format!("the id {} is also the id of records[{first}]", id_text(&id));
            return Err(unprocessable(format!("records[{i}].id"), message));
        }
        ids.push(id);
    }
    Ok(ids)
}

fn id_text(id: &Option<ClientId>) -> String {
    id.as_ref().map_or_else(String::new, ToString::to_string)
}

/// A client id from JSON: a valid string id or a non-negative integer.
fn client_id(value: &Value) -> Result<ClientId, String> {
    match value {
        Value::String(s) => ClientId::string(s),
        Value::Number(n) => n
            .as_u64()
            .map(ClientId::Int)
            .ok_or_else(|| format!("an id must be a string or a non-negative integer, got {n}")),
        other => Err(format!(
            "an id must be a string or a non-negative integer, got {other}"
        )),
    }
}

/// The ids of a batch delete: strings (checked as client string ids are) or non-negative
/// integers; a bad one is a 422 naming `ids[i]`.
pub fn parse_id_refs(raw: &[Value]) -> Result<Vec<IdRef>, ApiError> {
    raw.iter()
        .enumerate()
        .map(|(i, v)| {
            let bad = |m| unprocessable(format!("ids[{i}]"), m);
            Ok(match client_id(v).map_err(bad)? {
                ClientId::Str(s) => IdRef::Text(s),
                ClientId::Int(n) => IdRef::Int(n),
            })
        })
        .collect()
}

/// A `where` filter from a request, or a 400 naming the key at fault.
pub fn parse_where(value: &Value) -> Result<Where, ApiError> {
    Where::parse(value).map_err(|m| ApiError::invalid(format!("where: {m}")))
}

/// The records' vectors: every record of a collection of external embeddings carries one of
/// its dimension (finite, not all zero), and no record of any other collection does. 422
/// naming the first record at fault.
pub fn record_vectors(
    raw: &[RecordIn],
    external: bool,
    dim: usize,
) -> Result<Option<Vec<Vec<f32>>>, ApiError> {
    let mut out = Vec::with_capacity(raw.len());
    for (i, r) in raw.iter().enumerate() {
        let at = format!("records[{i}]");
        let v = match (&r.vector, external) {
            (Some(_), false) => {
                let m = "this collection embeds sequences itself; a \"vector\" is only \
                         accepted by a collection of external embeddings (external:NAME:DIM)";
                return Err(unprocessable(at, m.into()));
            }
            (None, false) => continue,
            (None, true) => {
                let m = format!(
                    "this collection holds external embeddings: give each record \
                                 its \"vector\" ({dim} numbers)"
                );
                return Err(unprocessable(at, m));
            }
            (Some(v), true) => v,
        };
        if v.len() != dim || v.iter().any(|x| !x.is_finite()) || v.iter().all(|&x| x == 0.0) {
            let m = format!(
                "the vector must have {dim} finite numbers, not all zero (it has {})",
                v.len()
            );
            return Err(unprocessable(format!("{at}.vector"), m));
        }
        out.push(v.clone());
    }
    Ok(external.then_some(out))
}

/// 422 when a record's name or label holds a tab, line feed or carriage return.
fn check_fields(i: usize, r: &RecordIn) -> Result<(), ApiError> {
    let fields = [
        ("name", r.name.as_deref()),
        ("label", Some(r.label.as_str())),
    ];
    for (field, value) in fields {
        if let Some(Err(message)) = value.map(|v| check_field(field, v)) {
            return Err(unprocessable(format!("records[{i}]"), message));
        }
    }
    Ok(())
}

/// 422 for a malformed field at `location` in the request.
fn unprocessable(location: String, message: String) -> ApiError {
    let e = Error::Parse {
        source_name: SOURCE.into(),
        location,
        message,
    };
    ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, e.code(), e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bad_letter_names_the_sequence_and_position() {
        let raw = vec!["ACGT".to_string(), "ACXT".to_string()];
        let err = parse_sequences(&raw).unwrap_err();
        assert_eq!((err.status.as_u16(), err.code), (422, "bad_sequence"));
        assert!(
            err.message.contains("sequences[1]") && err.message.contains("position 3"),
            "{}",
            err.message
        );
    }

    #[test]
    fn records_need_a_label_and_default_their_name() {
        let ok = RecordIn {
            name: None,
            sequence: "acgr".into(),
            label: "x".into(),
            metadata: None,
            id: None,
            vector: None,
        };
        let rec = parse_records(&[ok]).unwrap().remove(0);
        assert_eq!(
            (rec.name.as_str(), rec.seq.as_bytes()),
            ("records[0]", &b"ACGN"[..])
        );
        let unlabelled = RecordIn {
            name: Some("a".into()),
            sequence: "ACGT".into(),
            label: " ".into(),
            metadata: None,
            id: None,
            vector: None,
        };
        let err = parse_records(&[unlabelled]).unwrap_err();
        assert_eq!((err.status.as_u16(), err.code), (422, "missing_label"));
    }

    #[test]
    fn tabs_and_line_breaks_in_names_or_labels_are_422_naming_the_record() {
        let record = |name: Option<&str>, label: &str| RecordIn {
            name: name.map(str::to_string),
            sequence: "ACGT".into(),
            label: label.into(),
            metadata: None,
            id: None,
            vector: None,
        };
        let ok = record(Some("a b"), "x");
        let err = parse_records(&[ok, record(Some("a\tb"), "x")]).unwrap_err();
        assert_eq!((err.status.as_u16(), err.code), (422, "parse_error"));
        assert!(
            err.message.contains("records[1]") && err.message.contains("name \"a\\tb\""),
            "{}",
            err.message
        );
        let err = parse_records(&[record(None, "x\r\n")]).unwrap_err();
        assert_eq!(err.status.as_u16(), 422);
        assert!(err.message.contains("records[0]: label"), "{}", err.message);
    }

    #[test]
    fn k_out_of_range_is_the_engine_message() {
        let limits = Limits::default();
        let k = check_k(0, &limits).unwrap_err();
        assert_eq!((k.status.as_u16(), k.code), (400, "invalid_argument"));
        assert_eq!(k.message, "invalid k: k must be between 1 and 1000, got 0");
    }
}
