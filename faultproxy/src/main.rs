//! `faultproxy`: the fault proxy as a process, a drop-in for `toxiproxy-server`.
//!
//! ```text
//!   faultproxy [--listen 127.0.0.1:8474] [--config proxies.json]
//! ```
//!
//! Exits 0 after SIGINT or SIGTERM; 2 with one line on stderr when the config file is unreadable
//! or wrong; 3 when the API address cannot be bound or the server fails.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use faultproxy::serve::{serve_until_signalled, ServeError};
use tracing_subscriber::EnvFilter;

#[derive(Parser)]
#[command(
    name = "faultproxy",
    version,
    about = "A TCP fault proxy speaking toxiproxy's v2 HTTP API"
)]
struct Cli {
    /// Address of the HTTP API.
    #[arg(long, env = "FAULTPROXY_LISTEN", default_value = "127.0.0.1:8474")]
    listen: String,
    /// JSON array of proxies to create at start (toxiproxy's -config format).
    #[arg(long, env = "FAULTPROXY_CONFIG")]
    config: Option<PathBuf>,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let served = tokio::runtime::Runtime::new()
        .map_err(ServeError::Server)
        .and_then(|rt| rt.block_on(serve_until_signalled(&cli.listen, cli.config.as_deref())));
    match served {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("faultproxy: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}
