//! `milvus://HOST:PORT/NAME?consistency=bounded|strong&token_env=VAR`: a collection kept in a
//! Milvus server. Parsed without the `milvus` feature too, so that a build without it names
//! the feature instead of treating the URI as a file name.

use crate::{Error, Result};

/// How fresh a Milvus search's view is: `Bounded` may miss writes of the last moments
/// (a few seconds at most; about 2 ms a search), `Strong` sees every acknowledged write
/// (about 200 ms a search on Milvus 2.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Consistency {
    /// Milvus's bounded staleness (the default).
    #[default]
    Bounded,
    /// Every acknowledged write is seen.
    Strong,
}

/// A parsed `milvus://` collection URI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MilvusUri {
    /// `http://HOST:PORT` (the port defaults to 19530).
    pub endpoint: String,
    /// The collection's name in Milvus.
    pub name: String,
    /// Consistency of searches.
    pub consistency: Consistency,
    /// The environment variable holding the `user:password` token, if any.
    pub token_env: Option<String>,
}

fn invalid(uri: &str, message: &str) -> Error {
    Error::InvalidArgument {
        what: "collection".into(),
        message: format!("{uri:?}: {message} (expected milvus://HOST:PORT/NAME)"),
    }
}

impl MilvusUri {
    /// True for a collection argument that names a Milvus collection.
    pub fn is_milvus(collection: &str) -> bool {
        collection.starts_with("milvus://")
    }

    /// Parses a `milvus://` URI.
    pub fn parse(uri: &str) -> Result<Self> {
        let rest = uri
            .strip_prefix("milvus://")
            .ok_or_else(|| invalid(uri, "not a milvus:// URI"))?;
        let (rest, query) = rest.split_once('?').unwrap_or((rest, ""));
        let (host, name) = rest
            .split_once('/')
            .ok_or_else(|| invalid(uri, "no collection name"))?;
        let host = if host.contains(':') {
            host.to_string()
        } else {
            format!("{host}:19530")
        };
        if host.starts_with(':') {
            return Err(invalid(uri, "no host"));
        }
        // Milvus names: a letter or underscore, then letters, digits and underscores.
        let valid_name = name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            && name.len() <= 200;
        if !valid_name {
            return Err(invalid(
                uri,
                "the name must be a letter or _ then letters, digits or _",
            ));
        }
        let mut parsed = MilvusUri {
            endpoint: format!("http://{host}"),
            name: name.to_string(),
            consistency: Consistency::Bounded,
            token_env: None,
        };
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            match pair.split_once('=') {
                Some(("consistency", "bounded")) => parsed.consistency = Consistency::Bounded,
                Some(("consistency", "strong")) => parsed.consistency = Consistency::Strong,
                Some(("token_env", var)) if !var.is_empty() => {
                    parsed.token_env = Some(var.to_string())
                }
                _ => {
                    return Err(invalid(
                        uri,
                        &format!(
                            "unknown option {pair:?} (consistency=bounded|strong, token_env=VAR)"
                        ),
                    ))
                }
            }
        }
        Ok(parsed)
    }

    /// The URI without its options, as messages name the collection.
    pub fn display(&self) -> String {
        format!(
            "milvus://{}/{}",
            self.endpoint.trim_start_matches("http://"),
            self.name
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_host_port_name_and_options() {
        let u =
            MilvusUri::parse("milvus://db.lab:19531/promoters?consistency=strong&token_env=TOK")
                .unwrap();
        assert_eq!(u.endpoint, "http://db.lab:19531");
        assert_eq!(u.name, "promoters");
        assert_eq!(u.consistency, Consistency::Strong);
        assert_eq!(u.token_env.as_deref(), Some("TOK"));
        let d = MilvusUri::parse("milvus://127.0.0.1/c_1").unwrap();
        assert_eq!(
            (d.endpoint.as_str(), d.consistency),
            ("http://127.0.0.1:19530", Consistency::Bounded)
        );
        assert_eq!(d.display(), "milvus://127.0.0.1:19530/c_1");
    }

    #[test]
    fn refuses_what_is_not_a_collection_uri() {
        for bad in [
            "milvus://host",
            "milvus://host:1/",
            "milvus://host:1/9lives",
            "milvus://host:1/a-b",
            "milvus://:1/a",
            "milvus://h/a?consistency=eventual",
            "milvus://h/a?colour=red",
            "file.redb",
        ] {
            let err = MilvusUri::parse(bad).unwrap_err().to_string();
            assert!(err.contains("milvus://HOST:PORT/NAME"), "{bad}: {err}");
        }
    }
}
