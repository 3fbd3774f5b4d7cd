//! The proxy as a process: listen, create the proxies of a config file (toxiproxy's `-config`
//! format, a JSON array of proxies), serve until SIGINT or SIGTERM, then stop every proxy.

use std::path::Path;

use crate::api::ProxyServer;
use crate::model::ProxyConfig;

/// Why the server could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The config file cannot be read.
    #[error("cannot read {path}: {source}")]
    ReadConfig {
        path: String,
        source: std::io::Error,
    },
    /// The config file is not a JSON array of proxies.
    #[error("{path} is not a JSON array of proxies: {source}")]
    ParseConfig {
        path: String,
        source: serde_json::Error,
    },
    /// The API address cannot be bound (in use, not local, ...).
    #[error("cannot listen on {listen}: {source}")]
    Listen {
        listen: String,
        source: std::io::Error,
    },
    /// A proxy of the config file cannot be created (bad field, its listen address in use).
    #[error("cannot create the proxies of the config file: {0}")]
    Populate(String),
    /// The HTTP server failed while serving.
    #[error("the API server failed: {0}")]
    Server(std::io::Error),
}

impl ServeError {
    /// The process exit code: 2 for what the user can fix in the command line or the config file,
    /// 3 for the environment (the address in use, the server failing).
    pub fn exit_code(&self) -> u8 {
        match self {
            Self::ReadConfig { .. } | Self::ParseConfig { .. } | Self::Populate(_) => 2,
            Self::Listen { .. } | Self::Server(_) => 3,
        }
    }
}

/// Reads a config file: a JSON array of proxies, as toxiproxy's `-config`.
pub fn read_config(path: &Path) -> Result<Vec<ProxyConfig>, ServeError> {
    let text = std::fs::read_to_string(path).map_err(|source| ServeError::ReadConfig {
        path: path.display().to_string(),
        source,
    })?;
    serde_json::from_str(&text).map_err(|source| ServeError::ParseConfig {
        path: path.display().to_string(),
        source,
    })
}

/// Serves the API on `listen` (with the proxies of `config`) until SIGINT or SIGTERM.
pub async fn serve_until_signalled(listen: &str, config: Option<&Path>) -> Result<(), ServeError> {
    let configs = match config {
        Some(path) => read_config(path)?,
        None => Vec::new(),
    };
    let mut server = ProxyServer::start(listen)
        .await
        .map_err(|source| ServeError::Listen {
            listen: listen.to_owned(),
            source,
        })?;
    if !configs.is_empty() {
        let created = server
            .collection()
            .populate(configs)
            .await
            .map_err(|(e, _)| ServeError::Populate(e.to_string()))?;
        tracing::info!(proxies = created.len(), "populated proxies from config");
    }
    tracing::info!(api = %server.url(), "fault proxy ready");
    let stopped = tokio::select! {
        () = shutdown_signal() => None,
        stopped = server.stopped() => Some(stopped),
    };
    tracing::info!("shutting down");
    server.shutdown().await;
    match stopped {
        Some(Err(e)) => Err(ServeError::Server(e)),
        _ => Ok(()),
    }
}

/// The server as a whole process: logs on stderr (`RUST_LOG`, default info), its own runtime,
/// [`serve_until_signalled`], and the exit code; an error is one line on stderr, after `program: `.
pub fn main(program: &str, listen: &str, config: Option<&Path>) -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let served = tokio::runtime::Runtime::new()
        .map_err(ServeError::Server)
        .and_then(|rt| rt.block_on(serve_until_signalled(listen, config)));
    match served {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{program}: {e}");
            std::process::ExitCode::from(e.exit_code())
        }
    }
}

/// Resolves on SIGINT or SIGTERM (only SIGINT where the terminate handler cannot be installed).
async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(term) => term,
        Err(_) => {
            let _ = ctrl_c.await;
            return;
        }
    };
    tokio::select! {
        _ = ctrl_c => {}
        _ = term.recv() => {}
    }
}
