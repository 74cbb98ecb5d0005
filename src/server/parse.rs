//! Turning request fields into validated library values; every error names where in the
//! request the fault is (`sequences[2]`, `records[0] ("chr1_a")`).

use super::api::RecordIn;
use super::error::ApiError;
use super::state::Limits;
use crate::seq::{DnaSeq, LetterError, SeqRecord};
use crate::Error;

/// What request sequences are called in error messages.
const SOURCE: &str = "request";

/// 413 when a request carries more items than `--max-batch`.
pub fn check_batch(what: &str, n: usize, limits: &Limits) -> Result<(), ApiError> {
    if n > limits.max_batch {
        return Err(ApiError::batch_too_large(what, n, limits.max_batch));
    }
    Ok(())
}

/// `k` must be in 1..=max_k.
pub fn check_k(k: usize, limits: &Limits) -> Result<usize, ApiError> {
    if k == 0 || k > limits.max_k {
        let message = format!("k must be between 1 and {}, got {k}", limits.max_k);
        return Err(ApiError::from(Error::InvalidArgument {
            what: "k".into(),
            message,
        }));
    }
    Ok(k)
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
    let name = r.name.clone().unwrap_or_else(|| format!("records[{i}]"));
    let location = || format!("records[{i}] ({name:?})");
    if r.label.trim().is_empty() {
        let e = Error::MissingLabel {
            source_name: SOURCE.into(),
            location: location(),
        };
        return Err(e.into());
    }
    let seq = parse_seq(&r.sequence, location)?;
    Ok(SeqRecord {
        name,
        seq,
        label: Some(r.label.clone()),
    })
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
        };
        let err = parse_records(&[unlabelled]).unwrap_err();
        assert_eq!((err.status.as_u16(), err.code), (422, "missing_label"));
    }
}
