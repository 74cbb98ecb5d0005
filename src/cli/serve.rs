//! `genovec serve`: the JSON HTTP API over one or more collections.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use genovec::server::{self, AppState, Limits, ServerConfig};

/// Arguments of `serve`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Collections to serve (repeatable); each is served under its file stem, a Milvus
    /// collection (`milvus://HOST:PORT/NAME`) under its name.
    #[arg(long, required = true)]
    collection: Vec<String>,
    /// Address to listen on (port 0 picks a free one; the bound address is printed).
    #[arg(long, default_value = "127.0.0.1:7700")]
    addr: SocketAddr,
    /// Require `Authorization: Bearer KEY` on write routes (default: env GENOVEC_API_KEY).
    #[arg(long)]
    api_key: Option<String>,
    /// Also require the key on read routes.
    #[arg(long)]
    api_key_reads: bool,
    /// Largest request body in bytes.
    #[arg(long, default_value_t = Limits::default().max_body_bytes)]
    max_body_bytes: usize,
    /// Most sequences, vectors or records in one request.
    #[arg(long, default_value_t = Limits::default().max_batch)]
    max_batch: usize,
    /// Request timeout in milliseconds.
    #[arg(long, default_value_t = Limits::default().timeout.as_millis() as u64)]
    timeout_ms: u64,
    /// Most connections open at once (more wait to be accepted).
    #[arg(long, default_value_t = Limits::default().max_connections)]
    max_connections: usize,
    /// Close a connection whose request headers take longer, in milliseconds.
    #[arg(long, default_value_t = Limits::default().header_timeout.as_millis() as u64)]
    header_timeout_ms: u64,
    /// Worker threads (default: the CPUs this process may use).
    #[arg(long)]
    threads: Option<usize>,
    /// Do not train the classifier in the background after writes (it is then reported
    /// stale until `genovec train`).
    #[arg(long)]
    no_train: bool,
}

impl Args {
    fn config(&self) -> anyhow::Result<ServerConfig> {
        let api_key = self
            .api_key
            .clone()
            .or_else(|| std::env::var("GENOVEC_API_KEY").ok());
        if api_key.as_deref().is_some_and(|k| k.trim().is_empty()) {
            // An empty key would silently leave the write routes open.
            anyhow::bail!(
                "the API key (--api-key or GENOVEC_API_KEY) is empty: give a key, or leave both \
                 unset to serve without one"
            );
        }
        if self.api_key_reads && api_key.is_none() {
            anyhow::bail!("--api-key-reads needs --api-key or GENOVEC_API_KEY");
        }
        let limits = Limits {
            max_body_bytes: self.max_body_bytes,
            max_batch: self.max_batch,
            timeout: Duration::from_millis(self.timeout_ms),
            max_connections: self.max_connections,
            header_timeout: Duration::from_millis(self.header_timeout_ms),
            ..Limits::default()
        };
        Ok(ServerConfig {
            api_key,
            protect_reads: self.api_key_reads,
            limits,
            no_train: self.no_train,
        })
    }
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let config = args.config()?;
    let state = open_state(&args.collection, config).context("opening the collections")?;
    let mut runtime = tokio::runtime::Builder::new_multi_thread();
    if let Some(n) = args.threads {
        runtime.worker_threads(n.max(1));
    }
    let runtime = runtime
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let state = Arc::new(state);
    runtime.block_on(async {
        let shutdown = server::shutdown_signal();
        let listener = tokio::net::TcpListener::bind(args.addr)
            .await
            .with_context(|| format!("binding {}", args.addr))?;
        eprintln!("listening on http://{}", listener.local_addr()?);
        state.resume_background_work();
        server::serve(listener, Arc::clone(&state), shutdown).await?;
        anyhow::Ok(())
    })?;
    // Every request has been answered. A background training or graph rebuild still running
    // is not waited for (a tuning can take minutes): the file keeps the classifier and graph
    // it had, which is a state every reader already handles, and the next write starts the
    // work again.
    for busy in state.background_work() {
        eprintln!("not waiting for {busy}: the stored one stays in use until the next write");
    }
    runtime.shutdown_timeout(Duration::from_secs(1));
    eprintln!("shut down");
    Ok(())
}

/// Opens the local collections and, with the `milvus` feature, connects to the Milvus ones.
fn open_state(collections: &[String], config: ServerConfig) -> anyhow::Result<AppState> {
    let is_milvus = |c: &&String| genovec::milvus::MilvusUri::is_milvus(c);
    let paths: Vec<_> = (collections.iter().filter(|c| !is_milvus(c)))
        .map(|c| super::args::local_path(c, "serve"))
        .collect::<anyhow::Result<_>>()?;
    let uris: Vec<&String> = collections.iter().filter(is_milvus).collect();
    #[cfg(feature = "milvus")]
    {
        let uris = (uris.iter())
            .map(|c| genovec::milvus::MilvusUri::parse(c))
            .collect::<genovec::Result<Vec<_>>>()?;
        Ok(AppState::open_with_milvus(&paths, &uris, config)?)
    }
    #[cfg(not(feature = "milvus"))]
    match uris.first() {
        Some(uri) => anyhow::bail!(
            "{uri}: this genovec was built without Milvus support; build it with \
             `cargo build --release --features milvus`"
        ),
        None => Ok(AppState::open(&paths, config)?),
    }
}
