//! Writing results to stdout; a closed pipe (`genovec search ... | head`) is not an error.

use std::io::{self, BufWriter, Write};

/// A buffered, locked stdout.
pub fn stdout() -> BufWriter<io::StdoutLock<'static>> {
    BufWriter::new(io::stdout().lock())
}

/// True when the error chain holds a broken-pipe I/O error.
pub fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<io::Error>()
            .is_some_and(|io| io.kind() == io::ErrorKind::BrokenPipe)
    })
}

/// Writes one JSON value as a line.
pub fn json_line(out: &mut impl Write, value: &impl serde::Serialize) -> anyhow::Result<()> {
    serde_json::to_writer(&mut *out, value)?;
    writeln!(out)?;
    Ok(())
}

/// Formats a distance or probability compactly.
pub fn num(x: f64) -> String {
    format!("{x:.4}")
}

/// A name or label made safe for a TSV field: backslash, tab, newline and carriage return
/// become `\\`, `\t`, `\n` and `\r`, so every row keeps its columns.
pub fn tsv_field(s: &str) -> std::borrow::Cow<'_, str> {
    if !s.contains(['\\', '\t', '\n', '\r']) {
        return s.into();
    }
    let mut out = String::with_capacity(s.len() + 2);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c => out.push(c),
        }
    }
    out.into()
}

#[cfg(test)]
mod tests {
    use super::tsv_field;

    #[test]
    fn tsv_fields_keep_their_columns() {
        assert_eq!(tsv_field("plain"), "plain");
        assert_eq!(tsv_field("a\tb\nc\\d\r"), "a\\tb\\nc\\\\d\\r");
        assert_eq!(
            tsv_field("\\t"),
            "\\\\t",
            "a literal backslash-t stays distinct"
        );
    }
}
