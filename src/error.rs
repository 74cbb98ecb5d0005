//! The library's one error type.
//!
//! Every variant carries the fields a user needs to fix the problem (file, line or record,
//! the offending value). [`Error::is_user_error`] tells a caller's fault (bad input, wrong
//! collection) from ours (I/O, a corrupt file), which the CLI and HTTP layers map to exit
//! codes and status codes.

use std::path::PathBuf;

/// Result alias used throughout the library.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong inside genovec.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A sequence holds a character that is neither A/C/G/T nor an IUPAC ambiguity code.
    #[error("{source_name}, {location}: invalid character {ch:?} at position {position} of the sequence")]
    BadLetter {
        /// File (or request) the sequence came from.
        source_name: String,
        /// Line or record, e.g. `line 12` or `record 3 ("chr1_a")`.
        location: String,
        /// The offending character.
        ch: char,
        /// 1-based position in the sequence.
        position: usize,
    },
    /// A record has no bases.
    #[error("{source_name}, {location}: empty sequence")]
    EmptySequence {
        /// File (or request) the sequence came from.
        source_name: String,
        /// Line or record.
        location: String,
    },
    /// A table lacks a column the reader needs.
    #[error("{source_name}: no column {column:?} in the header (columns: {available})")]
    MissingColumn {
        /// File the table came from.
        source_name: String,
        /// The column asked for.
        column: String,
        /// The header's columns, comma separated.
        available: String,
    },
    /// Malformed input that is not about one sequence's letters.
    #[error("{source_name}, {location}: {message}")]
    Parse {
        /// File the input came from.
        source_name: String,
        /// Line or record.
        location: String,
        /// What is wrong.
        message: String,
    },
    /// A record needs a label and has none.
    #[error("{source_name}, {location}: no label (give a label column, a `label=` header field, or --label)")]
    MissingLabel {
        /// File the record came from.
        source_name: String,
        /// Line or record.
        location: String,
    },
    /// An argument or option is out of range or malformed.
    #[error("invalid {what}: {message}")]
    InvalidArgument {
        /// Which argument.
        what: String,
        /// Why it is invalid.
        message: String,
    },
    /// A file could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The collection file does not exist.
    #[error("collection {} does not exist", path.display())]
    CollectionNotFound {
        /// The file looked for.
        path: PathBuf,
    },
    /// Another process holds the collection open.
    #[error("collection {} is in use by another process", path.display())]
    CollectionInUse {
        /// The collection file.
        path: PathBuf,
    },
    /// The collection was written with other settings than the ones asked for now.
    #[error("collection {} was built with {field} {stored:?}, but {requested:?} was requested", path.display())]
    Mismatch {
        /// The collection file.
        path: PathBuf,
        /// What differs: `embedder`, `embedder identity`, `dimension`, `format version`, `metric`.
        field: &'static str,
        /// The value in the collection.
        stored: String,
        /// The value asked for.
        requested: String,
    },
    /// A vector has the wrong number of components.
    #[error("vector has dimension {got}, the collection expects {expected}")]
    WrongDimension {
        /// The collection's dimension.
        expected: usize,
        /// The vector's dimension.
        got: usize,
    },
    /// No record has this id (or it was deleted).
    #[error("no record with id {id}")]
    UnknownId {
        /// The id asked for.
        id: u64,
    },
    /// No live record has this id, given as text (a client id, or a path segment).
    #[error("no record with id {id:?}")]
    UnknownRecord {
        /// The id asked for.
        id: String,
    },
    /// An embedder spec could not be understood or loaded.
    #[error("embedder {spec:?}: {message}")]
    Embedder {
        /// The spec as given.
        spec: String,
        /// Why it failed.
        message: String,
    },
    /// A classifier could not be trained or used.
    #[error("classifier: {message}")]
    Classifier {
        /// Why.
        message: String,
    },
    /// A language model failed while loading weights or running (a tensor error).
    #[error("model: {message}")]
    Model {
        /// What failed.
        message: String,
    },
    /// The collection file is damaged or was written by an incompatible program.
    #[error("collection {} is corrupt: {message}", path.display())]
    Corrupt {
        /// The collection file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// The storage engine failed to read or write the file (I/O, a full disk).
    #[error("collection {}: storage error: {message}", path.display())]
    Storage {
        /// The collection file (empty only inside the store, which fills it in).
        path: PathBuf,
        /// What failed.
        message: String,
    },
}

impl Error {
    /// True when the caller can fix this by changing the input or the request.
    pub fn is_user_error(&self) -> bool {
        !matches!(
            self,
            Error::Io { .. }
                | Error::Corrupt { .. }
                | Error::Storage { .. }
                | Error::Classifier { .. }
                | Error::Model { .. }
        )
    }

    /// A short snake_case code for machine consumers (HTTP error bodies).
    pub fn code(&self) -> &'static str {
        match self {
            Error::BadLetter { .. } => "bad_sequence",
            Error::EmptySequence { .. } => "empty_sequence",
            Error::MissingColumn { .. } => "missing_column",
            Error::Parse { .. } => "parse_error",
            Error::MissingLabel { .. } => "missing_label",
            Error::InvalidArgument { .. } => "invalid_argument",
            Error::Io { .. } => "io_error",
            Error::CollectionNotFound { .. } => "unknown_collection",
            Error::CollectionInUse { .. } => "collection_in_use",
            Error::Mismatch { .. } => "mismatch",
            Error::WrongDimension { .. } => "wrong_dimension",
            Error::UnknownId { .. } | Error::UnknownRecord { .. } => "unknown_id",
            Error::Embedder { .. } => "embedder_error",
            Error::Classifier { .. } => "classifier_error",
            Error::Model { .. } => "model_error",
            Error::Corrupt { .. } => "corrupt_collection",
            Error::Storage { .. } => "storage_error",
        }
    }

    /// Wraps a tensor-library error from a model.
    pub fn model(e: impl std::fmt::Display) -> Self {
        Error::Model {
            message: e.to_string(),
        }
    }

    /// Names the collection file in a storage or corruption error raised without one.
    pub fn in_file(self, file: &std::path::Path) -> Self {
        match self {
            Error::Storage { path, message } if path.as_os_str().is_empty() => Error::Storage {
                path: file.to_path_buf(),
                message,
            },
            Error::Corrupt { path, message } if path.as_os_str().is_empty() => Error::Corrupt {
                path: file.to_path_buf(),
                message,
            },
            other => other,
        }
    }

    /// Wraps an I/O error with the path it concerns.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}
