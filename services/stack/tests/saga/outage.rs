//! The broker dies for 10 s in the middle of a batch of bookings: the outbox holds every message,
//! and every booking still reaches a terminal state.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use tokio::process::{Child, Command};
use uuid::Uuid;

use crate::helpers::{SagaStack, StackOptions};

/// A private tansu broker on a free port with its own SQLite file (never `memory://`).
struct Broker {
    bin: PathBuf,
    dir: PathBuf,
    port: u16,
    child: Option<Child>,
}

impl Broker {
    async fn start() -> Self {
        let bin = std::env::var("TANSU_BIN").map(PathBuf::from).unwrap_or_else(|_| {
            let home = std::env::var("CARGO_HOME").unwrap_or_else(|_| format!("{}/.cargo", std::env::var("HOME").unwrap()));
            PathBuf::from(home).join("bin/tansu")
        });
        assert!(bin.exists(), "tansu not found at {} (infra/local/up installs it; or set TANSU_BIN)", bin.display());
        let dir = std::env::temp_dir().join(format!("stampede-broker-{}", Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        let port = {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            listener.local_addr().unwrap().port()
        };
        let mut broker = Self { bin, dir, port, child: None };
        broker.spawn().await;
        broker
    }

    fn address(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    async fn spawn(&mut self) {
        let url = format!("tcp://127.0.0.1:{}", self.port);
        let child = Command::new(&self.bin)
            .current_dir(&self.dir)
            .args(["broker", "--listener-url", &url, "--advertised-listener-url", &url, "--storage-engine", "sqlite://tansu.db"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("tansu starts");
        self.child = Some(child);
        for _ in 0..100 {
            if tokio::net::TcpStream::connect(self.address()).await.is_ok() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("tansu did not listen on {}", self.address());
    }

    async fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().await.unwrap();
        }
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[tokio::test]
async fn broker_down_for_ten_seconds_mid_batch_loses_no_booking() {
    let mut broker = Broker::start().await;
    let stack = SagaStack::start(StackOptions {
        brokers: Some(broker.address()),
        booking_timeout_ms: 180_000,
        ..StackOptions::default()
    })
    .await;
    let (event, seats) = stack.create_event(116).await;

    // 30 bookings, 100 ms apart; the broker dies after the 10th and returns 10 s later.
    let mut bookings = Vec::new();
    for (i, seat) in seats.iter().take(30).enumerate() {
        if i == 10 {
            broker.kill().await;
            println!("broker killed after {i} bookings");
        }
        if i == 20 {
            tokio::time::sleep(Duration::from_secs(9)).await;
            broker.spawn().await;
            println!("broker restarted after a 10 s outage");
        }
        let (_, token) = stack.user_token();
        let id = stack.book_ok(&token, event, std::slice::from_ref(seat)).await;
        bookings.push((id, token, *seat));
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    for (id, token, seat) in &bookings {
        let done = stack.wait_terminal(token, *id, Duration::from_secs(150)).await;
        assert_eq!(done["status"], "CONFIRMED", "booking {id}: {done}");
        stack
            .wait_seats(std::slice::from_ref(seat), "RESERVED for its booking", |rows| rows[0].2 == Some(*id))
            .await;
    }
    let pending: i64 = sqlx::query_scalar("SELECT count(*) FROM bookings WHERE status = 'PENDING'")
        .fetch_one(stack.pool("booking-service"))
        .await
        .unwrap();
    assert_eq!(pending, 0);
    for service in ["booking-service", "inventory-service", "payment-service"] {
        stack
            .eventually(&format!("{service}'s outbox drains after the outage"), || async {
                let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM outbox")
                    .fetch_one(stack.pool(service))
                    .await
                    .unwrap();
                rows == 0
            })
            .await;
    }
}
