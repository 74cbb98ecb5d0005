//! The connection to a Milvus server: a single-threaded runtime per collection and the client,
//! with the credentials `token_env` names.

use milvus::client::Client;

use super::client::remote;
use super::uri::MilvusUri;
use crate::{Error, Result};

/// Connects to the server `uri` names.
pub(super) fn connect(uri: &MilvusUri) -> Result<(tokio::runtime::Runtime, Client)> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| remote(uri, e))?;
    let (user, password) = match &uri.token_env {
        None => (None, None),
        Some(var) => {
            let token = std::env::var(var).map_err(|_| Error::InvalidArgument {
                what: "collection".into(),
                message: format!("token_env={var}, but ${var} is not set"),
            })?;
            let (u, p) = token
                .split_once(':')
                .ok_or_else(|| Error::InvalidArgument {
                    what: "collection".into(),
                    message: format!("${var} must hold user:password"),
                })?;
            (Some(u.to_string()), Some(p.to_string()))
        }
    };
    let timeout = std::time::Duration::from_secs(30);
    let client = rt
        .block_on(Client::with_timeout(
            uri.endpoint.clone(),
            timeout,
            user,
            password,
        ))
        .map_err(|e| remote(uri, e))?;
    Ok((rt, client))
}
