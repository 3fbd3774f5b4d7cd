//! Tracing subscriber: `RUST_LOG` wins, `LOG_FORMAT=json` for JSON lines.

use tracing_subscriber::EnvFilter;

/// Installs the global subscriber once; later calls (tests, several services in one process) are
/// no-ops.
pub fn init(default_filter: &str) {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_filter));
    let json = std::env::var("LOG_FORMAT").is_ok_and(|v| v == "json");
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false);
    let _ = if json {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}

/// Installs a subscriber for tests only when `TEST_LOG` is set, so test output stays quiet.
pub fn init_for_tests() {
    if std::env::var("TEST_LOG").is_ok() {
        init("info,sqlx=warn");
    }
}
