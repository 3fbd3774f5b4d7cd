//! Is the local infrastructure up? If not, start it with `infra/local/up`.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;

/// A dependency and where it listens.
const DEPENDENCIES: [(&str, &str); 3] = [
    ("postgres", "127.0.0.1:5432"),
    ("redis", "127.0.0.1:6379"),
    ("kafka", "127.0.0.1:9092"),
];

/// The databases of the six services that have one (the local stack, `chaos run` and the
/// in-process stack of the tests all use these names).
pub const DATABASES: [(&str, &str); 6] = [
    ("user-service", "ticketflow_users"),
    ("event-service", "ticketflow_events"),
    ("booking-service", "ticketflow_bookings"),
    ("inventory-service", "ticketflow_inventory"),
    ("payment-service", "ticketflow_payments"),
    ("notification-service", "ticketflow_notifications"),
];

/// The dependencies that do not accept TCP connections.
pub async fn missing() -> Vec<&'static str> {
    let mut missing = Vec::new();
    for (name, address) in DEPENDENCIES {
        let connected = tokio::time::timeout(
            Duration::from_secs(1),
            tokio::net::TcpStream::connect(address),
        )
        .await;
        if !matches!(connected, Ok(Ok(_))) {
            missing.push(name);
        }
    }
    missing
}

/// `infra/local/up` of this checkout.
pub fn up_script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../infra/local/up")
}

/// Runs `infra/local/up` when a dependency is down; its output goes to the console.
///
/// # Errors
/// When the script fails or a dependency is still down afterwards.
pub async fn ensure_up() -> anyhow::Result<()> {
    let down = missing().await;
    if down.is_empty() {
        return Ok(());
    }
    let script = up_script();
    println!(
        "stack: {} not reachable; running {}",
        down.join(", "),
        script.display()
    );
    let status = tokio::process::Command::new("bash")
        .arg(&script)
        .status()
        .await
        .with_context(|| format!("cannot run {}", script.display()))?;
    anyhow::ensure!(status.success(), "{} failed ({status})", script.display());
    let still = missing().await;
    anyhow::ensure!(
        still.is_empty(),
        "still unreachable after infra/local/up: {}",
        still.join(", ")
    );
    Ok(())
}
