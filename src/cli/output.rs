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
