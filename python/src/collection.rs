//! `genovec.Collection`: one collection file, bound to the engine calls of the CLI's
//! `index`, `search`, `classify`, `delete`, `train`, `compact` and `info`.
//!
//! Every engine call runs with the GIL released ([`detached`]). Reads share one cached
//! read handle ([`Cache`]); writes open the writer per call, as the CLI does, so between
//! calls the file is free for `genovec` commands in other processes.

use std::path::PathBuf;
use std::sync::{Mutex, PoisonError};

use numpy::PyArray1;
use pyo3::prelude::*;
use pyo3::types::PyString;

use genovec::engine::{self, ClassifyOptions, Neighbour, TrainMode, TrainOptions};

use crate::errors::detached;
use crate::input::{self, Queries};
use crate::output;
use crate::reader::{embedder_mismatch, Cache, Reader};
use crate::{shapes, write};

/// A genovec collection: one redb file of labelled sequences, their vectors, the search
/// graph and the trained classifier.
#[pyclass(frozen, module = "genovec", name = "Collection")]
pub struct PyCollection {
    cache: Cache,
    /// The collection's embedder spec (`composition`, `nt:DIR`, ...).
    spec: String,
    /// One write at a time from this object; other processes are kept out by the file lock.
    writing: Mutex<()>,
}

impl PyCollection {
    /// Runs a write with this object's write lock, then drops the cached reader.
    fn write<T: Send>(
        &self,
        py: Python<'_>,
        work: impl FnOnce() -> genovec::Result<T> + Send,
    ) -> PyResult<T> {
        detached(py, || {
            let _one_writer = self.writing.lock().unwrap_or_else(PoisonError::into_inner);
            // Drop our own read handle first: a reader open during a write is allowed but
            // would only keep the old state in memory.
            self.cache.invalidate();
            let outcome = work();
            self.cache.invalidate();
            outcome
        })
    }

    /// Neighbours of sequence or vector queries (`genovec search`, HTTP `search`).
    fn neighbours(
        &self,
        py: Python<'_>,
        queries: &Bound<'_, PyAny>,
        k: usize,
        labels: Option<&Bound<'_, PyAny>>,
        filter: Option<&Bound<'_, PyAny>>,
        ef: Option<usize>,
    ) -> PyResult<Vec<Vec<Neighbour>>> {
        let filter = engine::SearchFilter {
            labels: input::label_filter(labels)?,
            metadata: crate::meta::filter(filter)?,
        };
        let queries = input::queries(queries)?;
        detached(py, || {
            let reader = self.cache.get()?;
            let c = &reader.collection;
            match queries {
                Queries::Vectors(v) => engine::search_vectors(c, &v, k, ef, &filter),
                Queries::Sequences(s) => {
                    let records = input::records(s, None, None)?;
                    let results = engine::search_sequences(
                        c,
                        reader.embedder.as_ref(),
                        &records,
                        k,
                        ef,
                        &filter,
                    )?;
                    Ok(results.into_iter().map(|r| r.neighbours).collect())
                }
            }
        })
    }
}

#[pymethods]
impl PyCollection {
    /// Opens the collection at `path_or_name`, creating it when it does not exist. A str
    /// follows the CLI's `--collection`: a name means `indexes/NAME.redb`, a value with `/`
    /// or ending in `.redb` is a path; an `os.PathLike` is always a path. `embedder` (default:
    /// the collection's own, `composition` for a new one) must match an existing collection.
    #[new]
    #[pyo3(signature = (path_or_name, embedder=None))]
    fn new(
        py: Python<'_>,
        path_or_name: &Bound<'_, PyAny>,
        embedder: Option<String>,
    ) -> PyResult<Self> {
        let path: PathBuf = if path_or_name.is_instance_of::<PyString>() {
            engine::collection_path(&path_or_name.extract::<String>()?)
        } else {
            path_or_name.extract()?
        };
        let (spec, reader) = detached(py, || {
            if !path.exists() {
                let spec = embedder.unwrap_or_else(|| "composition".into());
                write::create(&path, &spec)?;
                return Ok((spec, None));
            }
            // An existing file is opened as the read commands open it: a damaged or foreign
            // file fails here, and a running `genovec serve` does not keep it out.
            let reader = Reader::open(&path)?;
            let stored = reader.collection.config().embedder.clone();
            match embedder {
                Some(e) if e != stored => Err(embedder_mismatch(&path, &stored, &e)),
                _ => Ok((stored, Some(reader))),
            }
        })?;
        let cache = Cache::new(path);
        if let Some(reader) = reader {
            cache.put(reader);
        }
        Ok(PyCollection {
            cache,
            spec,
            writing: Mutex::new(()),
        })
    }

    /// The collection file.
    #[getter]
    fn path(&self) -> PathBuf {
        self.cache.path().to_path_buf()
    }

    /// The embedder spec the collection was built with.
    #[getter]
    fn embedder(&self) -> String {
        self.spec.clone()
    }

    /// Embeds and stores labelled sequences in durable batches, then trains the classifier
    /// (unless `train=False`), as `genovec index` does. Returns each record's new id
    /// (int64; -1 when the same label and sequence were already stored).
    #[pyo3(signature = (sequences, labels, names=None, metadata=None, train=true, vectors=None))]
    #[allow(clippy::too_many_arguments)]
    fn index<'py>(
        &self,
        py: Python<'py>,
        sequences: &Bound<'py, PyAny>,
        labels: &Bound<'py, PyAny>,
        names: Option<&Bound<'py, PyAny>>,
        metadata: Option<&Bound<'py, PyAny>>,
        train: bool,
        vectors: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyArray1<i64>>> {
        let sequences = input::strings(sequences, "sequences")?;
        let vectors = vectors.map(input::vectors).transpose()?;
        let metadata = metadata
            .filter(|m| !m.is_none())
            .map(|m| crate::meta::records(m, sequences.len()))
            .transpose()?;
        let labels = input::labels(labels)?;
        let names = names.map(|n| input::strings(n, "names")).transpose()?;
        let ids = self.write(py, || {
            let mut records = input::records(sequences, Some(labels), names)?;
            for (record, meta) in records.iter_mut().zip(metadata.into_iter().flatten()) {
                record.metadata = meta;
            }
            write::index(
                self.cache.path(),
                &self.spec,
                &records,
                vectors.as_deref(),
                train,
            )
        })?;
        Ok(output::id_array(py, &ids))
    }

    /// The k nearest records of each query: a list of str (sequences, embedded with the
    /// collection's embedder) or a 2-D float array of vectors. `labels` keeps only records
    /// with those labels, `where` (a dict filter, as `--where`) those whose metadata matches.
    /// Returns per query a list of dicts {id, name, label, distance, and metadata when the
    /// record has some}, nearest first, as `genovec search --json` does.
    #[pyo3(signature = (queries, k=10, labels=None, r#where=None, ef=None))]
    fn search<'py>(
        &self,
        py: Python<'py>,
        queries: &Bound<'py, PyAny>,
        k: usize,
        labels: Option<&Bound<'py, PyAny>>,
        r#where: Option<&Bound<'py, PyAny>>,
        ef: Option<usize>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let hits = self.neighbours(py, queries, k, labels, r#where, ef)?;
        output::serialised(py, &hits)
    }

    /// The same search, as numpy arrays: ids (int64) and distances (float32), each
    /// (n_queries, k); a query with fewer than k neighbours is padded with -1 and inf.
    #[pyo3(signature = (queries, k=10, labels=None, r#where=None, ef=None))]
    fn search_arrays<'py>(
        &self,
        py: Python<'py>,
        queries: &Bound<'py, PyAny>,
        k: usize,
        labels: Option<&Bound<'py, PyAny>>,
        r#where: Option<&Bound<'py, PyAny>>,
        ef: Option<usize>,
    ) -> PyResult<output::HitArrays<'py>> {
        let hits = self.neighbours(py, queries, k, labels, r#where, ef)?;
        output::hit_arrays(py, &hits, k)
    }

    /// Classifies sequences: kNN vote fused with the stored linear model. Returns per query
    /// the dict `genovec classify --json` prints (name, label, confidence, probabilities,
    /// vote and linear probabilities, fusion_weight, k, answered_by, adapted, neighbours,
    /// classifier). `k` overrides the tuned k; `threshold` answers `unknown` beyond that
    /// distance; `adapt` is never | auto | always (covariate-shift correction).
    #[pyo3(signature = (sequences, k=None, names=None, threshold=None, adapt="never", vectors=None))]
    #[allow(clippy::too_many_arguments)]
    fn classify<'py>(
        &self,
        py: Python<'py>,
        sequences: &Bound<'py, PyAny>,
        k: Option<usize>,
        names: Option<&Bound<'py, PyAny>>,
        threshold: Option<f32>,
        adapt: &str,
        vectors: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let sequences = input::strings(sequences, "sequences")?;
        let vectors = vectors.map(input::vectors).transpose()?;
        let names = names.map(|n| input::strings(n, "names")).transpose()?;
        let lines = detached(py, || {
            let opts = ClassifyOptions {
                k: k.map(|k| engine::check_k(k, engine::MAX_K)).transpose()?,
                threshold: threshold.map(engine::check_threshold).transpose()?,
                adapt: adapt.parse()?,
            };
            let records = input::records(sequences, None, names)?;
            let reader = self.cache.get()?;
            let (c, state) = (&reader.collection, reader.state.as_ref());
            let classified = match &vectors {
                Some(v) => engine::classify_given(c, state, &records, v, opts)?,
                None => engine::classify_batch(c, reader.embedder.as_ref(), state, &records, opts)?,
            };
            let status = &classified.classifier;
            Ok(classified
                .predictions
                .iter()
                .map(|p| shapes::prediction(p, status))
                .collect::<Vec<_>>())
        })?;
        output::json(py, &serde_json::Value::Array(lines))
    }

    /// Marks records deleted (`genovec delete`); an unknown id is an error and deletes none.
    fn delete(&self, py: Python<'_>, ids: &Bound<'_, PyAny>) -> PyResult<()> {
        let ids = input::ids(ids)?;
        self.write(py, || engine::delete(self.cache.path(), &ids))
    }

    /// Brings the classifier up to date (`genovec train`; `retune=True` re-tunes k, the
    /// fusion weight and C). Returns {action, params, trained_on, val_accuracy}.
    #[pyo3(signature = (retune=false))]
    fn train<'py>(&self, py: Python<'py>, retune: bool) -> PyResult<Bound<'py, PyAny>> {
        let mode = if retune {
            TrainMode::Retune
        } else {
            TrainMode::Auto
        };
        let opts = TrainOptions {
            mode,
            handcrafted: true,
        };
        let trained = self.write(py, || engine::train_collection(self.cache.path(), opts))?;
        output::json(py, &shapes::trained(&trained))
    }

    /// Drops deleted records, rebuilds the graph and brings the classifier up to date
    /// (`genovec compact`). Returns what training did, as `train()` does.
    fn compact<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let trained = self.write(py, || engine::compact(self.cache.path()))?;
        output::json(py, &shapes::trained(&trained))
    }

    /// The dict `genovec info --json` prints: records, labels, embedder, dimension, graph,
    /// tail, tombstones, classifier state.
    fn info<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let info = detached(py, || Ok(shapes::info(&*self.cache.get()?)))?;
        output::json(py, &info)
    }

    /// Live (not deleted) records.
    fn __len__(&self, py: Python<'_>) -> PyResult<usize> {
        detached(py, || Ok(self.cache.get()?.collection.len()))
    }

    fn __repr__(&self) -> String {
        format!(
            "genovec.Collection({:?}, embedder={:?})",
            self.cache.path().display().to_string(),
            self.spec
        )
    }
}
