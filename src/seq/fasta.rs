//! FASTA files, read with needletail (multi-line records; gzip detected in the parent module).
//!
//! needletail also accepts FASTQ when the content starts with `@`; qualities are ignored.

use std::io::BufReader;
use std::path::Path;

use needletail::errors::{ParseError, ParseErrorKind};
use needletail::parser::SequenceRecord;

use super::input::{skip_leading_whitespace, Input};
use super::{
    check_metadata, fallback_name, non_empty, parse_seq, source_name, text_value, Metadata,
    ReadOptions, SeqRecord, RESERVED_KEYS,
};
use crate::{Error, Result};

/// Reads every record of a FASTA stream opened from `path` (leading blank lines are
/// skipped).
pub(super) fn read_fasta(input: Input, path: &Path, opts: &ReadOptions) -> Result<Vec<SeqRecord>> {
    // needletail wants '>' as the very first byte; tolerate blank lines before it.
    let mut input = BufReader::new(input);
    let skipped = skip_leading_whitespace(&mut input).map_err(|e| Error::io(path, e))?;
    let mut reader = needletail::parse_fastx_reader(input).map_err(|e| parse_error(path, 1, &e))?;
    let mut records = Vec::new();
    while let Some(rec) = reader.next() {
        let index = records.len() + 1;
        let rec = rec.map_err(|e| parse_error(path, index, &e))?;
        let line = rec.start_line_number() + skipped;
        records.push(convert(&rec, index, line, path, opts)?);
    }
    Ok(records)
}

/// Turns one needletail record into a [`SeqRecord`].
fn convert(
    rec: &SequenceRecord<'_>,
    index: usize,
    line: u64,
    path: &Path,
    opts: &ReadOptions,
) -> Result<SeqRecord> {
    let header = String::from_utf8_lossy(rec.id());
    let (name, label) = split_header(&header);
    let name = match name {
        "" => fallback_name(path, line),
        name => name.to_string(),
    };
    let location = || format!("record {index} ({name:?})");
    let seq = parse_seq(&rec.seq(), path, location)?;
    let label = label.map(str::to_string).or_else(|| opts.label.clone());
    let metadata = header_metadata(&header);
    check_metadata(&metadata).map_err(|message| Error::Parse {
        source_name: source_name(path),
        location: location(),
        message,
    })?;
    Ok(SeqRecord {
        name,
        seq,
        label,
        metadata: non_empty(metadata),
    })
}

/// The header's `key=value` words after the name (the last of a key wins), except the
/// record's own fields (`label=`, `id=`, ...: [`RESERVED_KEYS`]), as for table columns.
/// Other words are description, not metadata.
fn header_metadata(header: &str) -> Metadata {
    header
        .split_whitespace()
        .skip(1)
        .filter_map(|w| w.split_once('='))
        .filter(|(key, value)| !key.is_empty() && !value.is_empty() && !RESERVED_KEYS.contains(key))
        .map(|(key, value)| (key.to_string(), text_value(value)))
        .collect()
}

/// Splits a header line into its first word (the name) and the value of a `label=` token.
/// Words are split at any whitespace, so neither can hold a tab or a line break.
fn split_header(header: &str) -> (&str, Option<&str>) {
    let mut words = header.split_whitespace();
    let name = words.next().unwrap_or("");
    let label = words
        .filter_map(|w| w.strip_prefix("label="))
        .find(|v| !v.is_empty());
    (name, label)
}

/// Converts a needletail error at the `index`-th record into ours.
fn parse_error(path: &Path, index: usize, err: &ParseError) -> Error {
    match err.kind {
        ParseErrorKind::Io => Error::io(path, std::io::Error::other(err.msg.clone())),
        ParseErrorKind::EmptyFile => Error::Parse {
            source_name: source_name(path),
            location: format!("record {index}"),
            message: "the file is empty (expected FASTA records)".into(),
        },
        _ => Error::Parse {
            source_name: source_name(path),
            location: match &err.position.id {
                Some(id) => format!("record {index} ({id:?})"),
                None => format!("record {index}"),
            },
            message: err.to_string(),
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
    fn header_split_takes_first_word_and_label_field() {
        assert_eq!(split_header("chr1 desc label=EI x"), ("chr1", Some("EI")));
        assert_eq!(split_header("chr1 labels=EI"), ("chr1", None));
        assert_eq!(split_header("chr1 label= label=IE"), ("chr1", Some("IE")));
        assert_eq!(split_header(""), ("", None));
    }

    #[test]
    fn header_key_value_words_are_metadata() {
        let meta = header_metadata("r1 some words label=EI chr=chr7 start=1200 =x y=");
        assert_eq!(
            serde_json::Value::Object(meta),
            serde_json::json!({"chr": "chr7", "start": 1200})
        );
        let dir = tempfile::tempdir().unwrap();
        let p = write_file(dir.path(), "m.fa", b">a id=3\nAC\n>b tissue=liver\nGT\n");
        let recs = read(&p, &ReadOptions::default()).unwrap();
        assert_eq!(recs[0].metadata, None);
        assert_eq!(recs[1].metadata.as_ref().unwrap()["tissue"], "liver");
    }

    #[test]
    fn a_tab_in_the_header_ends_the_name() {
        assert_eq!(split_header("a\tb label=x"), ("a", Some("x")));
        let dir = tempfile::tempdir().unwrap();
        let p = write_file(dir.path(), "t.fa", b">r1\tdesc\tlabel=EI\r\nAC\n");
        let recs = read(&p, &ReadOptions::default()).unwrap();
        assert_eq!(recs[0].name, "r1");
        assert_eq!(recs[0].label.as_deref(), Some("EI"));
    }

    #[test]
    fn multi_line_records_with_label_fields() {
        let dir = tempfile::tempdir().unwrap();
        let body = b">r1 some description label=EI\nacgt\nRRac\n>r2\r\nGG\r\nTT\r\n";
        let p = write_file(dir.path(), "m.fa", body);
        let recs = read(&p, &ReadOptions::default()).unwrap();
        assert_eq!(recs.len(), 2);
        assert_eq!(recs[0].name, "r1");
        assert_eq!(recs[0].seq.as_bytes(), b"ACGTNNAC");
        assert_eq!(recs[0].label.as_deref(), Some("EI"));
        assert_eq!(recs[1].name, "r2");
        assert_eq!(recs[1].seq.as_bytes(), b"GGTT");
        assert_eq!(recs[1].label, None);
    }

    #[test]
    fn label_option_is_the_fallback() {
        let dir = tempfile::tempdir().unwrap();
        let p = write_file(dir.path(), "l.fasta", b">a label=own\nAC\n>b\nGT\n");
        let opts = ReadOptions {
            label: Some("given".into()),
            ..Default::default()
        };
        let recs = read(&p, &opts).unwrap();
        assert_eq!(recs[0].label.as_deref(), Some("own"));
        assert_eq!(recs[1].label.as_deref(), Some("given"));
    }

    #[test]
    fn gzip_fasta_with_and_without_gz_name() {
        let dir = tempfile::tempdir().unwrap();
        let body = b">g1 label=x\nACGT\nAC\n>g2\nTTTT\n";
        for name in ["z.fa.gz", "z_plain.fa"] {
            let p = write_gz(dir.path(), name, body);
            let recs = read(&p, &ReadOptions::default()).unwrap();
            assert_eq!(recs.len(), 2, "{name}");
            assert_eq!(recs[0].seq.as_bytes(), b"ACGTAC");
            assert_eq!(recs[0].label.as_deref(), Some("x"));
            assert_eq!(recs[1].name, "g2");
        }
    }

    #[test]
    fn bad_letter_names_file_record_and_char() {
        let dir = tempfile::tempdir().unwrap();
        let p = write_file(dir.path(), "bad.fa", b">ok\nACGT\n>chr1_a x\nAC\nGU\n");
        let err = read(&p, &ReadOptions::default()).unwrap_err();
        match &err {
            Error::BadLetter {
                source_name,
                location,
                ch,
                position,
            } => {
                assert!(source_name.ends_with("bad.fa"));
                assert_eq!(location, "record 2 (\"chr1_a\")");
                assert_eq!((*ch, *position), ('U', 4));
            }
            other => panic!("expected BadLetter, got {other:?}"),
        }
        assert!(err.to_string().contains("record 2 (\"chr1_a\")"), "{err}");
    }

    #[test]
    fn empty_record_and_malformed_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = write_file(dir.path(), "e.fa", b">a\nAC\n>b\n>c\nGG\n");
        let err = read(&p, &ReadOptions::default()).unwrap_err();
        assert!(
            matches!(&err, Error::EmptySequence { location, .. } if location == "record 2 (\"b\")"),
            "{err:?}"
        );
        let q = write_file(dir.path(), "q.txt", b"ACGT\n");
        let opts = ReadOptions {
            format: Format::Fasta,
            ..Default::default()
        };
        let err = read(&q, &opts).unwrap_err();
        assert!(
            matches!(&err, Error::Parse { location, .. } if location == "record 1"),
            "{err:?}"
        );
        let r = write_file(dir.path(), "empty.fa", b"");
        let err = read(&r, &ReadOptions::default()).unwrap_err();
        assert!(matches!(&err, Error::Parse { .. }), "{err:?}");
    }

    #[test]
    fn empty_header_falls_back_to_file_and_line() {
        let dir = tempfile::tempdir().unwrap();
        let p = write_file(dir.path(), "n.fa", b">x\nAC\n>\nGG\n");
        let recs = read(&p, &ReadOptions::default()).unwrap();
        assert_eq!(recs[1].name, "n.fa:3");
        // Leading blank lines are skipped and still counted.
        let q = write_file(dir.path(), "b.fa", b"\n \n>\nGG\n");
        let recs = read(&q, &ReadOptions::default()).unwrap();
        assert_eq!(recs[0].name, "b.fa:3");
    }
}
