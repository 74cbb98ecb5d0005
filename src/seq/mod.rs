//! DNA sequences and the readers that load them from FASTA, CSV and TSV files.
//!
//! # Letters and the N rules
//!
//! A [`DnaSeq`] holds only the bytes `A`, `C`, `G`, `T` and `N`. [`DnaSeq::parse`] trims
//! surrounding whitespace, uppercases, and maps every IUPAC ambiguity code
//! (`R Y S W K M B D H V N`, either case) to `N`. Anything else (`U`, gaps `-` and `.`,
//! digits, interior whitespace) is rejected with the 1-based position of the character.
//!
//! `N` means "unknown base". Downstream, the features module skips every k-mer that
//! contains an `N` and counts `N` in no base count. Worked example: `"acgRt"` parses to
//! `"ACGNT"`; its 2-mers are `AC`, `CG`, `GN`, `NT`, of which only `AC` and `CG` are
//! counted, and its base counts are A=1, C=1, G=1, T=1 (the N adds to none).
//!
//! # Input files
//!
//! [`read_records`] reads one file, [`read_all`] several; the path `-` ([`STDIN`]) reads
//! standard input. Gzip compression is detected by its magic bytes, whatever the file is
//! called. With [`Format::Auto`] the format comes from the extension (after stripping
//! `.gz`): `.fa .fasta .fna .fas` are FASTA, `.csv` is CSV, `.tsv .txt` are TSV; standard
//! input and any other name are sniffed from the first bytes (the stream is opened once):
//! FASTA if the first non-whitespace byte is `>`, else TSV if the header line holds a tab
//! and no comma, else CSV. See [`ReadOptions`] for how columns and labels are chosen.
//! Every error names the file and the line (tables) or record (FASTA) it concerns.
//!
//! Names and labels may not hold a tab, line feed or carriage return ([`check_field`]):
//! they would break tab-separated output. A FASTA name is the header's first word, so
//! it never holds one; a table cell or `--label` that does is refused.

mod dna;
mod fasta;
mod input;
mod meta;
mod parquet;
mod table;
mod vectors;

pub use dna::{reverse_complement, DnaSeq, LetterError};
pub use input::STDIN;
pub use meta::{
    check_metadata, non_empty, text_value, Metadata, MAX_METADATA_BYTES, RESERVED_KEYS,
};
pub use vectors::read_vectors;

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use crate::{Error, Result};

/// One sequence read from an input file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeqRecord {
    /// The record's name: a FASTA id, a table's name column, or `<file name>:<line>`.
    pub name: String,
    /// The validated sequence.
    pub seq: DnaSeq,
    /// The class label, when the input or the options give one.
    pub label: Option<String>,
    /// User fields (see [`Metadata`]); `None` when the input gives none.
    pub metadata: Option<Metadata>,
}

/// The layout of an input file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    /// Decide from the extension, else from the first non-whitespace byte.
    #[default]
    Auto,
    /// FASTA (`>name` headers), possibly multi-line.
    Fasta,
    /// Comma-separated table with a header row.
    Csv,
    /// Tab-separated table with a header row.
    Tsv,
    /// Apache Parquet (a file, not standard input).
    Parquet,
}

impl FromStr for Format {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "auto" => Ok(Format::Auto),
            "fasta" => Ok(Format::Fasta),
            "csv" => Ok(Format::Csv),
            "tsv" => Ok(Format::Tsv),
            "parquet" => Ok(Format::Parquet),
            _ => Err(Error::InvalidArgument {
                what: "format".into(),
                message: format!("{s:?} (expected auto, fasta, csv, tsv or parquet)"),
            }),
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Format::Auto => "auto",
            Format::Fasta => "fasta",
            Format::Csv => "csv",
            Format::Tsv => "tsv",
            Format::Parquet => "parquet",
        })
    }
}

/// How to read input files.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReadOptions {
    /// The file format; [`Format::Auto`] detects it.
    pub format: Format,
    /// Table column holding the sequence (default: `sequence`, else `seq`, any case).
    pub seq_column: Option<String>,
    /// Table column holding the label (default: `label` if present).
    pub label_column: Option<String>,
    /// Table column holding the name (default: `name`, else `id`, else `<file name>:<line>`).
    pub name_column: Option<String>,
    /// Label for records whose input gives none (no label column / no `label=` field,
    /// or an empty label cell).
    pub label: Option<String>,
}

/// Reads every record of one file, or of standard input when the path is `-` ([`STDIN`]).
///
/// The input is opened once: with [`Format::Auto`] and no telling extension the format is
/// sniffed from the stream's first bytes, which are then read again from memory.
pub fn read_records(path: &Path, opts: &ReadOptions) -> Result<Vec<SeqRecord>> {
    if let Some(label) = &opts.label {
        check_field("label", label).map_err(|message| Error::InvalidArgument {
            what: "label".into(),
            message,
        })?;
    }
    if resolve_format(path, opts.format) == Some(Format::Parquet) {
        if input::is_stdin(path) {
            return Err(Error::InvalidArgument {
                what: "input".into(),
                message: "Parquet is read from a file, not from standard input".into(),
            });
        }
        return parquet::read_parquet(path, opts);
    }
    let input = input::open_input(path)?;
    let (format, input) = match resolve_format(path, opts.format) {
        Some(format) => (format, input),
        None => input::sniff(input, path)?,
    };
    match format {
        Format::Fasta => fasta::read_fasta(input, path, opts),
        Format::Tsv => table::read_table(input, b'\t', path, opts),
        _ => table::read_table(input, b',', path, opts),
    }
}

/// Reads every record of several files, concatenated in the order given. Standard input
/// (`-`) can be read only once, so it may appear only once.
pub fn read_all(paths: &[PathBuf], opts: &ReadOptions) -> Result<Vec<SeqRecord>> {
    if paths.iter().filter(|p| input::is_stdin(p)).count() > 1 {
        return Err(Error::InvalidArgument {
            what: "input".into(),
            message: "standard input (-) is given more than once; it can be read only once".into(),
        });
    }
    let mut all = Vec::new();
    for path in paths {
        all.extend(read_records(path, opts)?);
    }
    Ok(all)
}

/// Checks a record's name or label: a tab, line feed or carriage return would break
/// tab-separated output, so they are refused. The error says which field and character.
pub fn check_field(field: &str, value: &str) -> std::result::Result<(), String> {
    let Some(ch) = value.chars().find(|c| matches!(c, '\t' | '\n' | '\r')) else {
        return Ok(());
    };
    let what = match ch {
        '\t' => "a tab",
        '\n' => "a line feed",
        _ => "a carriage return",
    };
    Err(format!(
        "{field} {value:?} contains {what} (names and labels may not contain tabs, line \
         feeds or carriage returns)"
    ))
}

/// The concrete format when the option or the file name settles it; `None` means sniff.
fn resolve_format(path: &Path, format: Format) -> Option<Format> {
    if format != Format::Auto {
        return Some(format);
    }
    format_from_name(path)
}

/// The format implied by the file name's extension, ignoring a trailing `.gz`.
fn format_from_name(path: &Path) -> Option<Format> {
    if input::is_stdin(path) {
        return None;
    }
    let name = path.file_name()?.to_string_lossy().to_ascii_lowercase();
    let name = name.strip_suffix(".gz").unwrap_or(&name);
    let ext = name.rsplit_once('.')?.1;
    match ext {
        "fa" | "fasta" | "fna" | "fas" => Some(Format::Fasta),
        "csv" => Some(Format::Csv),
        "tsv" | "txt" => Some(Format::Tsv),
        "parquet" | "pq" => Some(Format::Parquet),
        _ => None,
    }
}

/// The path as shown in error messages (`<stdin>` for `-`).
fn source_name(path: &Path) -> String {
    if input::is_stdin(path) {
        return "<stdin>".into();
    }
    path.display().to_string()
}

/// The fallback record name: `<file name>:<line>` (`stdin:<line>` for `-`).
fn fallback_name(path: &Path, line: u64) -> String {
    if input::is_stdin(path) {
        return format!("stdin:{line}");
    }
    let file = path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    format!("{file}:{line}")
}

/// Validates a sequence, attaching the file and location to any error.
fn parse_seq(raw: &[u8], path: &Path, location: impl FnOnce() -> String) -> Result<DnaSeq> {
    DnaSeq::parse(raw).map_err(|e| match e {
        LetterError::Empty => Error::EmptySequence {
            source_name: source_name(path),
            location: location(),
        },
        LetterError::Bad { ch, position } => Error::BadLetter {
            source_name: source_name(path),
            location: location(),
            ch,
            position,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    pub(super) fn write_file(dir: &Path, name: &str, content: &[u8]) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, content).unwrap();
        path
    }

    pub(super) fn write_gz(dir: &Path, name: &str, content: &[u8]) -> PathBuf {
        let path = dir.join(name);
        let file = std::fs::File::create(&path).unwrap();
        let mut enc = flate2::write::GzEncoder::new(file, flate2::Compression::default());
        enc.write_all(content).unwrap();
        enc.finish().unwrap();
        path
    }

    #[test]
    fn format_parses_from_str() {
        assert_eq!("fasta".parse::<Format>().unwrap(), Format::Fasta);
        assert_eq!("CSV".parse::<Format>().unwrap(), Format::Csv);
        assert_eq!("tsv".parse::<Format>().unwrap(), Format::Tsv);
        assert_eq!("auto".parse::<Format>().unwrap(), Format::Auto);
        let err = "fastq".parse::<Format>().unwrap_err();
        assert!(matches!(err, Error::InvalidArgument { .. }), "{err}");
        assert_eq!(Format::Tsv.to_string(), "tsv");
    }

    #[test]
    fn format_from_extension_strips_gz() {
        let f = |n: &str| format_from_name(Path::new(n));
        assert_eq!(f("a.fa"), Some(Format::Fasta));
        assert_eq!(f("dir/a.FASTA.gz"), Some(Format::Fasta));
        assert_eq!(f("a.fna"), Some(Format::Fasta));
        assert_eq!(f("a.fas"), Some(Format::Fasta));
        assert_eq!(f("a.csv.gz"), Some(Format::Csv));
        assert_eq!(f("a.txt"), Some(Format::Tsv));
        assert_eq!(f("a.tsv"), Some(Format::Tsv));
        assert_eq!(f("a.dat"), None);
        assert_eq!(f("noext"), None);
    }

    #[test]
    fn auto_sniffs_unknown_extensions_through_gzip() {
        let dir = tempfile::tempdir().unwrap();
        let fa = write_gz(dir.path(), "reads.dat", b"\n>r1 label=x\nACGT\n");
        let recs = read_records(&fa, &ReadOptions::default()).unwrap();
        assert_eq!(recs.len(), 1);
        assert_eq!(recs[0].name, "r1");
        assert_eq!(recs[0].label.as_deref(), Some("x"));
        let csv = write_file(dir.path(), "rows.dat", b"seq,label\nACGT,y\n");
        let recs = read_records(&csv, &ReadOptions::default()).unwrap();
        assert_eq!(recs[0].label.as_deref(), Some("y"));
    }

    #[test]
    fn read_all_concatenates_in_order_and_a_missing_file_is_named_once() {
        let dir = tempfile::tempdir().unwrap();
        let a = write_file(dir.path(), "a.fa", b">a\nAC\n");
        let b = write_file(dir.path(), "b.csv", b"sequence,name\nGG,b\n");
        let recs = read_all(&[b.clone(), a.clone()], &ReadOptions::default()).unwrap();
        let names: Vec<_> = recs.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(names, ["b", "a"]);
        let missing = dir.path().join("missing.fa");
        let err = read_all(&[a, missing.clone()], &ReadOptions::default()).unwrap_err();
        assert!(matches!(&err, Error::InvalidArgument { .. }), "{err:?}");
        let msg = err.to_string();
        assert_eq!(msg.matches("missing.fa").count(), 1, "{msg}");
        assert!(msg.ends_with("does not exist"), "{msg}");
    }

    #[test]
    fn stdin_twice_is_refused_before_reading() {
        let twice = [PathBuf::from(STDIN), PathBuf::from(STDIN)];
        let err = read_all(&twice, &ReadOptions::default()).unwrap_err();
        assert!(err.to_string().contains("only once"), "{err}");
        assert_eq!(source_name(Path::new(STDIN)), "<stdin>");
        assert_eq!(fallback_name(Path::new(STDIN), 4), "stdin:4");
        assert_eq!(format_from_name(Path::new(STDIN)), None);
    }

    #[test]
    fn names_and_labels_refuse_tabs_and_line_breaks() {
        assert!(check_field("name", "chr1_a b").is_ok());
        let tab = check_field("name", "a\tb").unwrap_err();
        assert!(tab.starts_with("name \"a\\tb\" contains a tab"), "{tab}");
        assert!(check_field("label", "x\n")
            .unwrap_err()
            .contains("a line feed"));
        assert!(check_field("label", "x\ry")
            .unwrap_err()
            .contains("carriage return"));
        let dir = tempfile::tempdir().unwrap();
        let p = write_file(dir.path(), "a.fa", b">a\nAC\n");
        let opts = ReadOptions {
            label: Some("bad\tlabel".into()),
            ..Default::default()
        };
        let err = read_records(&p, &opts).unwrap_err();
        assert!(
            matches!(&err, Error::InvalidArgument { what, .. } if what == "label"),
            "{err}"
        );
    }
}
