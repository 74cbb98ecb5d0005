//! Record metadata: a flat JSON object of user fields per record (CSV columns beyond the
//! sequence, label and name; FASTA header words `key=value`; HTTP and Python `metadata`).
//!
//! Values keep their JSON type when given as JSON (HTTP, Python). From text (CSV cells,
//! FASTA headers) a value that is a JSON number (`12`, `-0.5`, `1e3`; not `012` or `+1`)
//! becomes a number, so numeric ranges filter on it; `true`/`false` stay strings, an empty
//! cell is no field.

use serde_json::{Map, Number, Value};

/// One record's metadata.
pub type Metadata = Map<String, Value>;

/// The largest metadata a record may carry, as compact JSON (Milvus's VARCHAR limit, so a
/// collection can move there).
pub const MAX_METADATA_BYTES: usize = 65_535;

/// Keys the record itself uses; they cannot be metadata keys.
pub const RESERVED_KEYS: [&str; 6] = ["id", "name", "label", "sequence", "vector", "metadata"];

/// A text field's JSON value: a number when the text is a JSON number, else the text.
pub fn text_value(text: &str) -> Value {
    match serde_json::from_str::<Number>(text) {
        Ok(n) => Value::Number(n),
        Err(_) => Value::String(text.to_string()),
    }
}

/// Checks one record's metadata: non-empty keys without control characters, none of
/// [`RESERVED_KEYS`], at most [`MAX_METADATA_BYTES`] as JSON. The message names the key.
pub fn check_metadata(meta: &Metadata) -> Result<(), String> {
    for key in meta.keys() {
        if key.is_empty() {
            return Err("a metadata key is empty".into());
        }
        if key.chars().any(char::is_control) {
            return Err(format!("metadata key {key:?} holds a control character"));
        }
        if RESERVED_KEYS.contains(&key.as_str()) {
            return Err(format!(
                "metadata key {key:?} is reserved (reserved: {})",
                RESERVED_KEYS.join(", ")
            ));
        }
    }
    let size = serde_json::to_vec(meta).map_or(usize::MAX, |v| v.len());
    if size > MAX_METADATA_BYTES {
        return Err(format!(
            "metadata is {size} bytes as JSON; the limit is {MAX_METADATA_BYTES}"
        ));
    }
    Ok(())
}

/// `None` for empty metadata, so records without fields store nothing.
pub fn non_empty(meta: Metadata) -> Option<Metadata> {
    (!meta.is_empty()).then_some(meta)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_from_text_only_when_json_numbers() {
        assert_eq!(text_value("12"), Value::from(12));
        assert_eq!(text_value("-0.5"), Value::from(-0.5));
        assert_eq!(text_value("1e3"), serde_json::json!(1e3));
        for text in ["012", "+1", "1.", "true", "chr1", "NaN"] {
            assert_eq!(text_value(text), Value::from(text), "{text}");
        }
    }

    #[test]
    fn checks_name_the_key() {
        let mut meta = Metadata::new();
        meta.insert("tissue".into(), "liver".into());
        assert!(check_metadata(&meta).is_ok());
        meta.insert("label".into(), "x".into());
        assert!(check_metadata(&meta)
            .unwrap_err()
            .contains("\"label\" is reserved"));
        let mut meta = Metadata::new();
        meta.insert("a\tb".into(), 1.into());
        assert!(check_metadata(&meta).unwrap_err().contains("control"));
        let mut meta = Metadata::new();
        meta.insert("big".into(), "x".repeat(MAX_METADATA_BYTES).into());
        assert!(check_metadata(&meta).unwrap_err().contains("limit"));
    }
}
