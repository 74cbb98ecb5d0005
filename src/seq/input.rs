//! Opening an input once: a file or standard input (`-`), gzip detected by its magic bytes,
//! and the format sniffed from the first bytes without reopening the stream.

use std::fs::File;
use std::io::{self, BufRead, Cursor, Read};
use std::path::Path;

use super::Format;
use crate::{Error, Result};

/// The path that stands for standard input.
pub const STDIN: &str = "-";

/// A decompressed byte stream, read once from start to end.
pub(super) type Input = Box<dyn Read + Send>;

/// Sniffing reads at most this many bytes while looking for the first non-blank line.
const SNIFF_LIMIT: usize = 1 << 20;

/// True when `path` means standard input.
pub(super) fn is_stdin(path: &Path) -> bool {
    path.as_os_str() == STDIN
}

/// Opens a file (or standard input for `-`), transparently decompressing gzip.
pub(super) fn open_input(path: &Path) -> Result<Input> {
    let raw: Input = if is_stdin(path) {
        Box::new(io::stdin())
    } else {
        Box::new(open_file(path)?)
    };
    decompress(raw, path)
}

/// Opens a regular file; a missing file or a folder is the caller's mistake, said once.
fn open_file(path: &Path) -> Result<File> {
    let not_readable = |message: String| Error::InvalidArgument {
        what: "input".into(),
        message,
    };
    match std::fs::metadata(path) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return Err(not_readable(format!("{} does not exist", path.display())));
        }
        Ok(meta) if meta.is_dir() => {
            return Err(not_readable(format!(
                "{} is a folder, not a file",
                path.display()
            )));
        }
        _ => {}
    }
    File::open(path).map_err(|e| Error::io(path, e))
}

/// Wraps `raw` in a gzip decoder when it starts with the gzip magic bytes.
fn decompress(mut raw: Input, path: &Path) -> Result<Input> {
    let mut magic = Vec::with_capacity(2);
    raw.by_ref()
        .take(2)
        .read_to_end(&mut magic)
        .map_err(|e| Error::io(path, e))?;
    let is_gzip = magic == [0x1f, 0x8b];
    let whole = Cursor::new(magic).chain(raw);
    if is_gzip {
        Ok(Box::new(flate2::read::MultiGzDecoder::new(whole)))
    } else {
        Ok(Box::new(whole))
    }
}

/// Detects the format of `input` from its first bytes and gives back the whole stream.
///
/// FASTA when the first non-whitespace byte is `>`; else a table whose first non-blank
/// line (the header) decides: TSV when it holds a tab and no comma, CSV otherwise.
pub(super) fn sniff(mut input: Input, path: &Path) -> Result<(Format, Input)> {
    let head = read_head(&mut input).map_err(|e| Error::io(path, e))?;
    let format = format_of_head(&head);
    Ok((format, Box::new(Cursor::new(head).chain(input))))
}

/// Reads until the first non-blank line is complete, the input ends, or [`SNIFF_LIMIT`].
fn read_head(input: &mut Input) -> io::Result<Vec<u8>> {
    let mut head = Vec::new();
    loop {
        let got = input.by_ref().take(8192).read_to_end(&mut head)?;
        if got == 0 || first_line(&head).is_some_and(|l| l.complete) || head.len() >= SNIFF_LIMIT {
            return Ok(head);
        }
    }
}

/// The first non-blank line of a prefix, and whether its end was seen.
struct Line<'a> {
    text: &'a [u8],
    complete: bool,
}

fn first_line(head: &[u8]) -> Option<Line<'_>> {
    let start = head.iter().position(|b| !b.is_ascii_whitespace())?;
    let rest = &head[start..];
    Some(match rest.iter().position(|&b| b == b'\n') {
        Some(end) => Line {
            text: &rest[..end],
            complete: true,
        },
        None => Line {
            text: rest,
            complete: false,
        },
    })
}

/// The format a prefix of the input implies (an empty input reads as CSV, which then
/// reports that the header row is missing).
fn format_of_head(head: &[u8]) -> Format {
    match first_line(head) {
        Some(line) if line.text.starts_with(b">") => Format::Fasta,
        Some(line) if line.text.contains(&b'\t') && !line.text.contains(&b',') => Format::Tsv,
        _ => Format::Csv,
    }
}

/// Consumes leading ASCII whitespace; returns how many line feeds it skipped.
pub(super) fn skip_leading_whitespace(reader: &mut impl BufRead) -> io::Result<u64> {
    let mut newlines = 0;
    loop {
        let buf = reader.fill_buf()?;
        let blank = buf.iter().take_while(|b| b.is_ascii_whitespace()).count();
        newlines += buf[..blank].iter().filter(|&&b| b == b'\n').count() as u64;
        let done = blank < buf.len() || buf.is_empty();
        reader.consume(blank);
        if done {
            return Ok(newlines);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn head_decides_fasta_tsv_or_csv() {
        assert_eq!(format_of_head(b"\n  \n>r1\nACGT\n"), Format::Fasta);
        assert_eq!(format_of_head(b"name\tsequence\na\tAC\n"), Format::Tsv);
        assert_eq!(format_of_head(b"\nsequence,label\nAC,x\n"), Format::Csv);
        // A comma in a tab-separated header is ambiguous: CSV, as before sniffing TSV.
        assert_eq!(format_of_head(b"a,b\tc\n"), Format::Csv);
        assert_eq!(format_of_head(b""), Format::Csv);
        assert_eq!(format_of_head(b"sequence"), Format::Csv);
    }

    #[test]
    fn sniffing_returns_every_byte_of_a_long_stream() {
        let mut body = b"\n\nname\tsequence\n".to_vec();
        for i in 0..5000 {
            body.extend_from_slice(format!("r{i}\tACGTACGT\n").as_bytes());
        }
        let input: Input = Box::new(Cursor::new(body.clone()));
        let (format, mut input) = sniff(input, Path::new(STDIN)).unwrap();
        assert_eq!(format, Format::Tsv);
        let mut back = Vec::new();
        input.read_to_end(&mut back).unwrap();
        assert_eq!(back, body);
    }

    #[test]
    fn a_missing_file_or_a_folder_is_one_clear_sentence() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("nope.fa");
        let err = open_input(&missing).err().unwrap();
        let msg = err.to_string();
        assert_eq!(
            msg,
            format!("invalid input: {} does not exist", missing.display())
        );
        assert!(
            std::error::Error::source(&err).is_none(),
            "no cause repeated"
        );
        let err = open_input(dir.path()).err().unwrap();
        assert!(err.to_string().contains("is a folder"), "{err}");
    }
}
