//! Vectors that come with records: an NPY matrix `(n, dim)` of float32 or float64, or the
//! `vector` column of a Parquet file (a list or fixed-size list of floats per row, what
//! `genovec export` writes). Row i is the vector of record i.

use std::fs::File;
use std::path::Path;

use arrow_array::cast::AsArray;
use arrow_array::types::Float32Type;
use arrow_array::{Array, RecordBatch};
use arrow_schema::DataType;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use super::source_name;
use crate::{Error, Result};

fn error(path: &Path, location: &str, message: impl std::fmt::Display) -> Error {
    Error::Parse {
        source_name: source_name(path),
        location: location.to_string(),
        message: message.to_string(),
    }
}

/// Every row's vector from an `.npy` or `.parquet` file; each must be finite.
pub fn read_vectors(path: &Path) -> Result<Vec<Vec<f32>>> {
    let parquet = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("parquet") || e.eq_ignore_ascii_case("pq"));
    let vectors = if parquet {
        read_parquet(path)?
    } else {
        read_npy(path)?
    };
    for (i, v) in vectors.iter().enumerate() {
        if v.iter().any(|x| !x.is_finite()) {
            return Err(error(
                path,
                &format!("row {}", i + 1),
                "a component is not a finite number",
            ));
        }
    }
    Ok(vectors)
}

fn read_npy(path: &Path) -> Result<Vec<Vec<f32>>> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let npy = npyz::NpyFile::new(&bytes[..]).map_err(|e| error(path, "header", e))?;
    let shape = npy.shape().to_vec();
    let [n, dim] = shape[..] else {
        return Err(error(
            path,
            "header",
            format!("expected a 2-D (n, dim) array, got shape {shape:?}"),
        ));
    };
    let flat: Vec<f32> = match npy.dtype() {
        npyz::DType::Plain(t) if t.type_char() == npyz::TypeChar::Float && t.size_field() == 4 => {
            npy.into_vec::<f32>().map_err(|e| error(path, "data", e))?
        }
        npyz::DType::Plain(t) if t.type_char() == npyz::TypeChar::Float && t.size_field() == 8 => {
            let wide: Vec<f64> = npy.into_vec().map_err(|e| error(path, "data", e))?;
            wide.into_iter().map(|x| x as f32).collect()
        }
        other => {
            return Err(error(
                path,
                "header",
                format!("expected float32 or float64, got {}", other.descr()),
            ))
        }
    };
    let dim = (dim as usize).max(1);
    debug_assert_eq!(flat.len(), n as usize * dim);
    Ok(flat.chunks_exact(dim).map(<[f32]>::to_vec).collect())
}

fn read_parquet(path: &Path) -> Result<Vec<Vec<f32>>> {
    let file = File::open(path).map_err(|e| Error::io(path, e))?;
    let reader =
        ParquetRecordBatchReaderBuilder::try_new(file).map_err(|e| error(path, "the file", e))?;
    if reader.schema().column_with_name("vector").is_none() {
        return Err(Error::MissingColumn {
            source_name: source_name(path),
            column: "vector".into(),
            available: reader
                .schema()
                .fields()
                .iter()
                .map(|f| f.name().as_str())
                .collect::<Vec<_>>()
                .join(", "),
        });
    }
    let mut out = Vec::new();
    for batch in reader.build().map_err(|e| error(path, "the file", e))? {
        let batch = batch.map_err(|e| error(path, &format!("row {}", out.len() + 1), e))?;
        batch_vectors(&batch, path, &mut out)?;
    }
    Ok(out)
}

/// The `vector` column of one batch, as float32 rows.
fn batch_vectors(batch: &RecordBatch, path: &Path, out: &mut Vec<Vec<f32>>) -> Result<()> {
    let column = batch
        .column_by_name("vector")
        .expect("checked in the schema");
    let item = match column.data_type() {
        DataType::FixedSizeList(f, _) | DataType::List(f) | DataType::LargeList(f) => {
            f.data_type().clone()
        }
        other => {
            return Err(error(
                path,
                "column \"vector\"",
                format!("expected a list of floats, got {other}"),
            ))
        }
    };
    if !item.is_floating() {
        return Err(error(
            path,
            "column \"vector\"",
            format!("expected floats, got {item}"),
        ));
    }
    let target = DataType::List(std::sync::Arc::new(arrow_schema::Field::new(
        "item",
        DataType::Float32,
        true,
    )));
    let lists =
        arrow_cast::cast(column, &target).map_err(|e| error(path, "column \"vector\"", e))?;
    let lists = lists.as_list::<i32>();
    for i in 0..lists.len() {
        let row = out.len() + 1;
        if lists.is_null(i) {
            return Err(error(path, &format!("row {row}"), "the vector is missing"));
        }
        let values = lists.value(i);
        let values = values.as_primitive::<Float32Type>();
        if values.null_count() > 0 {
            return Err(error(
                path,
                &format!("row {row}"),
                "the vector has a missing component",
            ));
        }
        out.push(values.values().to_vec());
    }
    Ok(())
}
