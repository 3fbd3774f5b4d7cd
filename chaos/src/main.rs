//! `chaos`: the command line. Parses, builds, runs; the work is in the library.
//!
//! ```text
//!   chaos proxy [--listen 127.0.0.1:8474] [--config proxies.json]
//! ```
//!
//! Bad input (an address in use, an unreadable config) ends with one line on stderr and a
//! non-zero exit.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};
use tracing_subscriber::EnvFilter;

use chaos::proxy::{ProxyConfig, ProxyServer};

#[derive(Parser)]
#[command(name = "chaos", version, about = "Stampede's fault injection")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the fault proxy: toxiproxy's v2 HTTP API and the proxies it manages.
    Proxy {
        /// Address of the HTTP API.
        #[arg(long, env = "CHAOS_LISTEN", default_value = "127.0.0.1:8474")]
        listen: String,
        /// JSON array of proxies to create at start (toxiproxy's -config format).
        #[arg(long, env = "CHAOS_CONFIG")]
        config: Option<PathBuf>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("chaos: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        match cli.command {
            Command::Proxy { listen, config } => proxy(&listen, config.as_deref()).await,
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("chaos: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn proxy(listen: &str, config: Option<&Path>) -> anyhow::Result<()> {
    let configs = match config {
        Some(path) => read_config(path)?,
        None => Vec::new(),
    };
    let server = ProxyServer::start(listen)
        .await
        .with_context(|| format!("cannot listen on {listen}"))?;
    if !configs.is_empty() {
        let created = server
            .collection()
            .populate(configs)
            .await
            .map_err(|(e, _)| anyhow::anyhow!("{e}"))
            .context("cannot create the proxies of the config file")?;
        tracing::info!(proxies = created.len(), "populated proxies from config");
    }
    tracing::info!(api = %server.url(), "chaos proxy ready");
    let mut server = server;
    let stopped = tokio::select! {
        () = shutdown_signal() => None,
        stopped = server.stopped() => Some(stopped),
    };
    tracing::info!("shutting down");
    server.shutdown().await;
    match stopped {
        Some(Err(e)) => Err(anyhow::Error::new(e).context("the API server failed")),
        _ => Ok(()),
    }
}

fn read_config(path: &Path) -> anyhow::Result<Vec<ProxyConfig>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    serde_json::from_str(&text)
        .with_context(|| format!("{} is not a JSON array of proxies", path.display()))
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
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
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}
