//! The fastest target we can offer a generator: `GET /health` answers `{"status":"ok"}` on one
//! runtime thread. `benches/loadgen-vs-peers.sh` pins it to one core and each generator to the
//! other, so the generators, not the target, are what is measured.
//!
//! `cargo run --release -p loadgen --example hello_server -- 127.0.0.1:8099`

use axum::routing::get;
use axum::{Json, Router};

fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:8099".into());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let app = Router::new().route(
            "/health",
            get(|| async { Json(serde_json::json!({"status": "ok"})) }),
        );
        let listener = tokio::net::TcpListener::bind(&addr).await?;
        eprintln!("hello_server: listening on {addr}");
        axum::serve(listener, app).await
    })
}
