//! CSV and TSV tables with a header row.

use std::path::Path;

use csv::StringRecord;

use super::input::Input;
use super::{
    check_field, check_metadata, fallback_name, non_empty, parse_seq, source_name, text_value,
    Metadata, ReadOptions, SeqRecord, RESERVED_KEYS,
};
use crate::{Error, Result};

/// Reads a delimited table (comma or tab) opened from `path` into records.
pub(super) fn read_table(
    input: Input,
    delimiter: u8,
    path: &Path,
    opts: &ReadOptions,
) -> Result<Vec<SeqRecord>> {
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .trim(csv::Trim::All)
        .from_reader(input);
    let headers = reader.headers().map_err(|e| csv_error(path, e))?.clone();
    if headers.iter().all(str::is_empty) {
        return Err(Error::Parse {
            source_name: source_name(path),
            location: "line 1".into(),
            message: "the file is empty (expected a header row)".into(),
        });
    }
    let columns = Columns::find(&headers, opts, path)?;
    let mut records = Vec::new();
    for row in reader.records() {
        let row = row.map_err(|e| csv_error(path, e))?;
        records.push(columns.record(&row, path, opts)?);
    }
    Ok(records)
}

/// Indices of the columns the reader uses; every other named column is metadata.
struct Columns {
    seq: usize,
    label: Option<usize>,
    name: Option<usize>,
    /// (index, key) of the metadata columns.
    extra: Vec<(usize, String)>,
}

impl Columns {
    fn find(headers: &StringRecord, opts: &ReadOptions, path: &Path) -> Result<Columns> {
        let seq = match &opts.seq_column {
            Some(col) => require(headers, col, path)?,
            None => find_any(headers, &["sequence", "seq"])
                .ok_or_else(|| missing(headers, "sequence", path))?,
        };
        let label = match &opts.label_column {
            Some(col) => Some(require(headers, col, path)?),
            None => find_any(headers, &["label"]),
        };
        let name = match &opts.name_column {
            Some(col) => Some(require(headers, col, path)?),
            None => find_any(headers, &["name", "id"]),
        };
        let used = [Some(seq), label, name];
        let extra = headers
            .iter()
            .enumerate()
            .filter(|(i, h)| !used.contains(&Some(*i)) && !h.is_empty() && !reserved(h))
            .map(|(i, h)| (i, h.to_string()))
            .collect();
        Ok(Columns {
            seq,
            label,
            name,
            extra,
        })
    }

    /// The row's metadata: its non-empty cells outside the sequence, label and name columns.
    fn metadata(&self, row: &StringRecord) -> Result<Option<Metadata>, String> {
        let meta: Metadata = self
            .extra
            .iter()
            .filter_map(|(i, key)| {
                let cell = row.get(*i).unwrap_or("").trim();
                (!cell.is_empty()).then(|| (key.clone(), text_value(cell)))
            })
            .collect();
        check_metadata(&meta)?;
        Ok(non_empty(meta))
    }

    fn record(&self, row: &StringRecord, path: &Path, opts: &ReadOptions) -> Result<SeqRecord> {
        let line = row.position().map_or(0, |p| p.line());
        let cell = |i: usize| row.get(i).unwrap_or("").trim();
        let seq = parse_seq(cell(self.seq).as_bytes(), path, || format!("line {line}"))?;
        let name = match self.name.map(cell) {
            Some(name) if !name.is_empty() => name.to_string(),
            _ => fallback_name(path, line),
        };
        let label = match self.label.map(cell) {
            Some(label) if !label.is_empty() => Some(label.to_string()),
            _ => opts.label.clone(),
        };
        let fields = [("name", Some(&name)), ("label", label.as_ref())];
        for (field, value) in fields {
            if let Some(Err(message)) = value.map(|v| check_field(field, v)) {
                return Err(Error::Parse {
                    source_name: source_name(path),
                    location: format!("line {line}"),
                    message,
                });
            }
        }
        let metadata = self.metadata(row).map_err(|message| Error::Parse {
            source_name: source_name(path),
            location: format!("line {line}"),
            message,
        })?;
        Ok(SeqRecord {
            name,
            seq,
            label,
            metadata,
        })
    }
}

/// A column named like a record field (`id` beside a `name` column, say) is not metadata.
fn reserved(header: &str) -> bool {
    RESERVED_KEYS.iter().any(|k| k.eq_ignore_ascii_case(header))
}

/// The index of the column named `wanted`: an exact match, else a case-insensitive one.
fn find_column(headers: &StringRecord, wanted: &str) -> Option<usize> {
    let wanted = wanted.trim();
    headers
        .iter()
        .position(|h| h == wanted)
        .or_else(|| headers.iter().position(|h| h.eq_ignore_ascii_case(wanted)))
}

/// The first of `candidates` present in the header.
fn find_any(headers: &StringRecord, candidates: &[&str]) -> Option<usize> {
    candidates.iter().find_map(|c| find_column(headers, c))
}

/// A column the user asked for by name; its absence is an error.
fn require(headers: &StringRecord, wanted: &str, path: &Path) -> Result<usize> {
    find_column(headers, wanted).ok_or_else(|| missing(headers, wanted, path))
}

fn missing(headers: &StringRecord, column: &str, path: &Path) -> Error {
    Error::MissingColumn {
        source_name: source_name(path),
        column: column.to_string(),
        available: headers.iter().collect::<Vec<_>>().join(", "),
    }
}

/// Converts a csv error into ours, keeping the line it happened on.
fn csv_error(path: &Path, err: csv::Error) -> Error {
    let location = match err.position() {
        Some(pos) => format!("line {}", pos.line()),
        None => "line ?".to_string(),
    };
    let message = match err.kind() {
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => format!("row has {len} fields but the header has {expected_len}"),
        csv::ErrorKind::Utf8 { err, .. } => {
            format!("field {} is not valid UTF-8", err.field() + 1)
        }
        _ => err.to_string(),
    };
    match err.into_kind() {
        csv::ErrorKind::Io(source) => Error::io(path, source),
        _ => Error::Parse {
            source_name: source_name(path),
            location,
            message,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{write_file, write_gz};
    use super::super::{read_records, Format};
    use super::*;

    fn read(path: &Path, opts: &ReadOptions) -> Result<Vec<SeqRecord>> {
        read_records(path, opts)
    }

    #[test]
    fn csv_with_sequence_and_label_columns() {
        let dir = tempfile::tempdir().unwrap();
        let p = write_file(dir.path(), "d.csv", b"label,sequence\nEI,acgt\nIE,ggRa\n");
        let recs = read(&p, &ReadOptions::default()).unwrap();
        assert_eq!(recs.len(), 2);
        assert_eq!(recs[0].seq.as_bytes(), b"ACGT");
        assert_eq!(recs[0].label.as_deref(), Some("EI"));
        assert_eq!(recs[1].seq.as_bytes(), b"GGNA");
        assert_eq!(recs[1].label.as_deref(), Some("IE"));
    }

    #[test]
    fn extra_columns_become_metadata() {
        let dir = tempfile::tempdir().unwrap();
        let body =
            b"name,id,sequence,label,tissue,depth,note\nr1,7,AC,x,liver,12,\nr2,8,GT,y,,0.5,012\n";
        let recs = read(
            &write_file(dir.path(), "m.csv", body),
            &ReadOptions::default(),
        )
        .unwrap();
        let meta = |i: usize| serde_json::Value::Object(recs[i].metadata.clone().unwrap());
        assert_eq!(meta(0), serde_json::json!({"tissue": "liver", "depth": 12}));
        assert_eq!(meta(1), serde_json::json!({"depth": 0.5, "note": "012"}));
        let plain = write_file(dir.path(), "p.csv", b"sequence,label\nAC,x\n");
        assert_eq!(
            read(&plain, &ReadOptions::default()).unwrap()[0].metadata,
            None
        );
    }

    #[test]
    fn seq_header_padded_fields_and_name_fallback() {
        let dir = tempfile::tempdir().unwrap();
        let p = write_file(
            dir.path(),
            "splice.csv",
            b"Seq , Label\n  ACGT ,  EI \nTTTT,N\n",
        );
        let recs = read(&p, &ReadOptions::default()).unwrap();
        assert_eq!(recs[0].seq.as_bytes(), b"ACGT");
        assert_eq!(recs[0].label.as_deref(), Some("EI"));
        assert_eq!(recs[0].name, "splice.csv:2");
        assert_eq!(recs[1].name, "splice.csv:3");
        assert_eq!(recs[1].label.as_deref(), Some("N"));
    }

    #[test]
    fn tsv_with_name_or_id_column() {
        let dir = tempfile::tempdir().unwrap();
        let p = write_file(
            dir.path(),
            "d.tsv",
            b"id\tseq\tlabel\nr1\tAC\tx\nr2\tGT\ty\n",
        );
        let recs = read(&p, &ReadOptions::default()).unwrap();
        let names: Vec<_> = recs.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(names, ["r1", "r2"]);
        assert_eq!(recs[1].seq.as_bytes(), b"GT");
        // A forced TSV with a .txt name and no label column falls back to opts.label.
        let q = write_file(dir.path(), "d.txt", b"name\tsequence\na\tAC\n");
        let opts = ReadOptions {
            label: Some("fallback".into()),
            ..Default::default()
        };
        let recs = read(&q, &opts).unwrap();
        assert_eq!(recs[0].name, "a");
        assert_eq!(recs[0].label.as_deref(), Some("fallback"));
        let none = read(&q, &ReadOptions::default()).unwrap();
        assert_eq!(none[0].label, None);
    }

    #[test]
    fn custom_column_flags() {
        let dir = tempfile::tempdir().unwrap();
        let body = b"dna,class,accession,sequence\nACGT,pos,X1,GGGG\n";
        let p = write_file(dir.path(), "d.csv", body);
        let opts = ReadOptions {
            seq_column: Some("DNA".into()),
            label_column: Some("class".into()),
            name_column: Some("accession".into()),
            ..Default::default()
        };
        let recs = read(&p, &opts).unwrap();
        assert_eq!(recs[0].seq.as_bytes(), b"ACGT");
        assert_eq!(recs[0].label.as_deref(), Some("pos"));
        assert_eq!(recs[0].name, "X1");
    }

    #[test]
    fn missing_column_lists_available_columns() {
        let dir = tempfile::tempdir().unwrap();
        let p = write_file(dir.path(), "d.csv", b"dna,class\nACGT,x\n");
        let err = read(&p, &ReadOptions::default()).unwrap_err();
        match &err {
            Error::MissingColumn {
                column, available, ..
            } => {
                assert_eq!(column, "sequence");
                assert_eq!(available, "dna, class");
            }
            other => panic!("expected MissingColumn, got {other:?}"),
        }
        let opts = ReadOptions {
            seq_column: Some("dna".into()),
            label_column: Some("y".into()),
            ..Default::default()
        };
        let err = read(&p, &opts).unwrap_err();
        assert!(
            matches!(&err, Error::MissingColumn { column, .. } if column == "y"),
            "{err}"
        );
        assert!(err.to_string().contains("d.csv"), "{err}");
    }

    #[test]
    fn bad_letter_names_file_line_and_char() {
        let dir = tempfile::tempdir().unwrap();
        let p = write_file(dir.path(), "bad.csv", b"sequence,label\nACGT,a\nACUG,b\n");
        let err = read(&p, &ReadOptions::default()).unwrap_err();
        match &err {
            Error::BadLetter {
                location,
                ch,
                position,
                ..
            } => {
                assert_eq!(location, "line 3");
                assert_eq!(*ch, 'U');
                assert_eq!(*position, 3);
            }
            other => panic!("expected BadLetter, got {other:?}"),
        }
        let msg = err.to_string();
        assert!(
            msg.contains("bad.csv") && msg.contains("line 3") && msg.contains("'U'"),
            "{msg}"
        );
    }

    #[test]
    fn empty_sequence_and_uneven_rows() {
        let dir = tempfile::tempdir().unwrap();
        let p = write_file(dir.path(), "e.csv", b"sequence,label\nAC,a\n  ,b\n");
        let err = read(&p, &ReadOptions::default()).unwrap_err();
        assert!(
            matches!(&err, Error::EmptySequence { location, .. } if location == "line 3"),
            "{err:?}"
        );
        let q = write_file(dir.path(), "u.csv", b"sequence,label\nAC,a\nGG\n");
        let err = read(&q, &ReadOptions::default()).unwrap_err();
        assert!(
            matches!(&err, Error::Parse { location, .. } if location == "line 3"),
            "{err:?}"
        );
        let r = write_file(dir.path(), "empty.csv", b"");
        let err = read(&r, &ReadOptions::default()).unwrap_err();
        assert!(matches!(&err, Error::Parse { .. }), "{err:?}");
    }

    #[test]
    fn quoted_tabs_and_line_breaks_in_names_or_labels_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let body = b"name,sequence,label\nok,AC,x\n\"a\tb\",GG,y\n";
        let p = write_file(dir.path(), "t.csv", body);
        let err = read(&p, &ReadOptions::default()).unwrap_err();
        let msg = err.to_string();
        assert!(
            matches!(&err, Error::Parse { location, .. } if location == "line 3"),
            "{msg}"
        );
        assert!(
            msg.contains("t.csv") && msg.contains("name \"a\\tb\" contains a tab"),
            "{msg}"
        );
        let q = write_file(dir.path(), "n.csv", b"sequence,label\nAC,\"x\ny\"\n");
        let msg = read(&q, &ReadOptions::default()).unwrap_err().to_string();
        assert!(
            msg.contains("line 2") && msg.contains("label \"x\\ny\""),
            "{msg}"
        );
        let r = write_file(dir.path(), "r.tsv", b"name\tsequence\n\"c\rd\"\tAC\n");
        let msg = read(&r, &ReadOptions::default()).unwrap_err().to_string();
        assert!(msg.contains("carriage return"), "{msg}");
    }

    #[test]
    fn gzip_csv_detected_by_magic_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let body = b"sequence,label\nACGT,a\nTTGA,b\n";
        let named = write_gz(dir.path(), "d.csv.gz", body);
        let recs = read(&named, &ReadOptions::default()).unwrap();
        assert_eq!(recs.len(), 2);
        assert_eq!(recs[1].seq.as_bytes(), b"TTGA");
        // No .gz in the name: still decompressed.
        let plain_name = write_gz(dir.path(), "d2.csv", body);
        let opts = ReadOptions {
            format: Format::Csv,
            ..Default::default()
        };
        let recs = read(&plain_name, &opts).unwrap();
        assert_eq!(recs[0].label.as_deref(), Some("a"));
        assert_eq!(recs[0].name, "d2.csv:2");
    }
}
