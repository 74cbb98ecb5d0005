//! NPY export: the `(n, dim)` float32 matrix of vectors at the path given, and the records'
//! ids as a uint64 vector beside it (`vectors.npy` -> `vectors.ids.npy`), row i of one being
//! the record of entry i of the other. Both are streamed: the shape is known up front.

use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};

use npyz::WriterBuilder;

use super::{buffered, write_error, ExportRow, Sink, Written};
use crate::Result;

pub(super) struct NpySink {
    vectors: npyz::NpyWriter<f32, BufWriter<File>>,
    path: PathBuf,
    ids: Vec<u64>,
}

/// Where the ids of the matrix at `path` go.
pub fn ids_path(path: &Path) -> PathBuf {
    let stem = path.file_stem().unwrap_or_default().to_string_lossy();
    path.with_file_name(format!("{stem}.ids.npy"))
}

impl NpySink {
    pub(super) fn create(path: &Path, rows: usize, dim: usize) -> Result<Self> {
        let vectors = npyz::WriteOptions::new()
            .default_dtype()
            .shape(&[rows as u64, dim as u64])
            .writer(buffered(path)?)
            .begin_nd()
            .map_err(|e| write_error(path, e))?;
        Ok(NpySink {
            vectors,
            path: path.to_path_buf(),
            ids: Vec::with_capacity(rows),
        })
    }
}

impl Sink for NpySink {
    fn write(&mut self, rows: &[ExportRow]) -> Result<()> {
        for row in rows {
            self.vectors
                .extend(row.vector.iter().copied())
                .map_err(|e| write_error(&self.path, e))?;
            self.ids.push(row.id);
        }
        Ok(())
    }

    fn finish(self: Box<Self>) -> Result<Written> {
        let NpySink { vectors, path, ids } = *self;
        vectors.finish().map_err(|e| write_error(&path, e))?;
        let ids_path = ids_path(&path);
        let mut writer = npyz::WriteOptions::new()
            .default_dtype()
            .shape(&[ids.len() as u64])
            .writer(buffered(&ids_path)?)
            .begin_nd()
            .map_err(|e| write_error(&ids_path, e))?;
        writer.extend(ids).map_err(|e| write_error(&ids_path, e))?;
        writer.finish().map_err(|e| write_error(&ids_path, e))?;
        Ok(Written {
            files: vec![path, ids_path],
            fields_left_out: 0,
        })
    }
}
