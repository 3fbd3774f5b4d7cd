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
    faultproxy::serve::main("faultproxy", &cli.listen, cli.config.as_deref())
}
