//! Collections kept in a Milvus server, addressed as `milvus://HOST:PORT/NAME`: the second
//! backend beside the local redb file (see `store`), for collections that outgrow one machine.
//! The URI parser is always built; the client needs the `milvus` feature.

mod uri;

#[cfg(feature = "milvus")]
mod client;
#[cfg(feature = "milvus")]
mod connect;
#[cfg(feature = "milvus")]
mod filter;
#[cfg(feature = "milvus")]
mod meta;
#[cfg(feature = "milvus")]
mod records;
#[cfg(feature = "milvus")]
mod rows;
#[cfg(feature = "milvus")]
mod schema;
#[cfg(feature = "milvus")]
mod settle;

#[cfg(feature = "milvus")]
pub use client::{MilvusCollection, RemoteHit};
#[cfg(feature = "milvus")]
pub use records::RemoteRecord;
#[cfg(feature = "milvus")]
pub use rows::{LiveCounts, StoredRow};
#[cfg(feature = "milvus")]
pub use schema::VARCHAR_MAX;
pub use uri::{Consistency, MilvusUri};
