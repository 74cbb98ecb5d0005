//! Tests of the CSV and TSV reader.

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
