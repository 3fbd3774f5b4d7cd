//! Where the Kafka-protocol broker of the local infrastructure (tansu, built by
//! `infra/local/build-tansu`) is installed: the one lookup the stack runner, the chaos runner
//! and the tests share.

use std::path::PathBuf;

/// The tansu binary: `$TANSU_BIN`, else `tansu` in `$CARGO_HOME/bin`, `~/.cargo/bin` or on `PATH`.
///
/// # Errors
/// A one-line message saying where it looked and how to install it.
pub fn tansu_binary() -> Result<PathBuf, String> {
    if let Some(path) = std::env::var_os("TANSU_BIN") {
        let path = PathBuf::from(path);
        return if path.is_file() {
            Ok(path)
        } else {
            Err(format!("TANSU_BIN={} is not a file", path.display()))
        };
    }
    let mut candidates = Vec::new();
    if let Some(cargo_home) = std::env::var_os("CARGO_HOME") {
        candidates.push(PathBuf::from(cargo_home).join("bin/tansu"));
    }
    if let Some(home) = std::env::var_os("HOME") {
        candidates.push(PathBuf::from(home).join(".cargo/bin/tansu"));
    }
    if let Some(path) = std::env::var_os("PATH") {
        candidates.extend(std::env::split_paths(&path).map(|dir| dir.join("tansu")));
    }
    candidates.into_iter().find(|p| p.is_file()).ok_or_else(|| {
        "the tansu broker is not installed (looked at $TANSU_BIN, $CARGO_HOME/bin, ~/.cargo/bin, \
         PATH): run infra/local/up, which builds and installs it, or set TANSU_BIN"
            .to_string()
    })
}
