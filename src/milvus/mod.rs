//! Collections kept in a Milvus server, addressed as `milvus://HOST:PORT/NAME`: the second
//! backend beside the local redb file (see `store`), for collections that outgrow one machine.
//! The URI parser is always built; the client needs the `milvus` feature.

mod uri;

#[cfg(feature = "milvus")]
mod client;
#[cfg(feature = "milvus")]
mod meta;

#[cfg(feature = "milvus")]
pub use client::{MilvusCollection, RemoteHit, VARCHAR_MAX};
pub use uri::{Consistency, MilvusUri};
