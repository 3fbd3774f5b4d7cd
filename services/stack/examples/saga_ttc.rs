//! Measures the saga's time-to-confirm on a running stack: N bookings of one seat each, C at a
//! time (closed loop), each polled until it is terminal. Prints p50/p90/p99/max time-to-confirm
//! and confirmed bookings per second.
//!
//! ```sh
//! cargo run --release -p stack -- up &                       # the stack (PAYMENT_SUCCESS_RATE as you like)
//! cargo run --release -p stack --example saga_ttc -- 1000 50 # bookings, concurrency
//! ```
//!
//! A stopgap until `loadgen` measures this with an open model; this closed loop understates
//! latency under overload (coordinated omission), so read it at modest concurrency only.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use serde_json::{json, Value};
use tokio::sync::Mutex;

const GATEWAY: &str = "http://127.0.0.1:3000";

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let total: usize = args
        .get(1)
        .map_or(Ok(1000), |s| s.parse())
        .context("bookings must be a number")?;
    let concurrency: usize = args
        .get(2)
        .map_or(Ok(50), |s| s.parse())
        .context("concurrency must be a number")?;
    let client = reqwest::Client::new();
    let admin = login(&client, kit::seed::ADMIN_EMAIL, kit::seed::ADMIN_PASSWORD).await?;
    let seats_needed = total + 16;
    let (event, seats) = create_event(&client, &admin, seats_needed).await?;
    println!("event {event} with {} seats ready", seats.len());
    let mut tokens = Vec::new();
    for i in 0..concurrency {
        tokens.push(
            register(
                &client,
                &format!("ttc-{}-{i}@stampede.test", uuid::Uuid::new_v4().simple()),
            )
            .await?,
        );
    }
    let queue = Arc::new(Mutex::new(
        seats.into_iter().take(total).collect::<Vec<_>>(),
    ));
    let results = Arc::new(Mutex::new(Vec::with_capacity(total)));
    let started = Instant::now();
    let workers: Vec<_> = tokens
        .into_iter()
        .map(|token| {
            let (client, queue, results, event) = (
                client.clone(),
                queue.clone(),
                results.clone(),
                event.clone(),
            );
            tokio::spawn(async move {
                loop {
                    let Some(seat) = queue.lock().await.pop() else {
                        return;
                    };
                    let outcome = book_and_wait(&client, &token, &event, &seat).await;
                    results.lock().await.push(outcome);
                }
            })
        })
        .collect();
    for worker in workers {
        worker.await?;
    }
    let wall = started.elapsed();
    let results = results.lock().await;
    let mut confirmed: Vec<Duration> = results
        .iter()
        .filter_map(|r| {
            r.as_ref()
                .ok()
                .filter(|(s, _)| s == "CONFIRMED")
                .map(|(_, d)| *d)
        })
        .collect();
    confirmed.sort();
    let failed = results.len() - confirmed.len();
    let pct = |p: f64| {
        confirmed
            .get(((confirmed.len() as f64 * p).ceil() as usize).saturating_sub(1))
            .copied()
            .unwrap_or_default()
    };
    println!(
        "bookings {} concurrency {concurrency}: confirmed {} other {failed} in {:.1} s -> {:.1} confirmed/s",
        results.len(),
        confirmed.len(),
        wall.as_secs_f64(),
        confirmed.len() as f64 / wall.as_secs_f64()
    );
    println!(
        "time-to-confirm p50 {:?} p90 {:?} p99 {:?} max {:?}",
        pct(0.50),
        pct(0.90),
        pct(0.99),
        confirmed.last().copied().unwrap_or_default()
    );
    Ok(())
}

async fn book_and_wait(
    client: &reqwest::Client,
    token: &str,
    event: &str,
    seat: &str,
) -> anyhow::Result<(String, Duration)> {
    let started = Instant::now();
    let response = client
        .post(format!("{GATEWAY}/api/bookings"))
        .bearer_auth(token)
        .json(&json!({"eventId": event, "seatIds": [seat]}))
        .send()
        .await?;
    anyhow::ensure!(
        response.status() == 202,
        "POST /api/bookings: {}",
        response.status()
    );
    let id = response.json::<Value>().await?["id"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    // Long-poll (`?waitMs=`): the answer comes when the booking leaves PENDING. A target that
    // does not long-poll (no `x-long-poll-max-ms` header) is polled with backoff (25 ms growing
    // to 200 ms), as a real client would; the measured time then over-reads the saga by up to
    // one poll interval.
    let mut pause = Duration::from_millis(25);
    loop {
        let response = client
            .get(format!("{GATEWAY}/api/bookings/{id}?waitMs=5000"))
            .bearer_auth(token)
            .send()
            .await?;
        let long_polled = response.headers().contains_key("x-long-poll-max-ms");
        let booking: Value = response.json().await?;
        let status = booking["status"].as_str().unwrap_or_default();
        if status != "PENDING" {
            return Ok((status.to_string(), started.elapsed()));
        }
        if !long_polled {
            tokio::time::sleep(pause).await;
            pause = (pause * 3 / 2).min(Duration::from_millis(200));
        }
    }
}

async fn login(client: &reqwest::Client, email: &str, password: &str) -> anyhow::Result<String> {
    let body = json!({"email": email, "password": password});
    post_for_token(client, "/api/users/login", &body, "admin login").await
}

async fn register(client: &reqwest::Client, email: &str) -> anyhow::Result<String> {
    let body = json!({"name": "ttc", "email": email, "password": "Secret123!"});
    post_for_token(client, "/api/users/register", &body, "register").await
}

/// POSTs `body` to the gateway's `path`; the `token` of the answer.
async fn post_for_token(
    client: &reqwest::Client,
    path: &str,
    body: &Value,
    what: &str,
) -> anyhow::Result<String> {
    let answer: Value = client
        .post(format!("{GATEWAY}{path}"))
        .json(body)
        .send()
        .await
        .context("is the stack running? (cargo run --release -p stack)")?
        .json()
        .await?;
    answer["token"]
        .as_str()
        .map(str::to_string)
        .with_context(|| format!("{what} failed"))
}

async fn create_event(
    client: &reqwest::Client,
    admin: &str,
    seats: usize,
) -> anyhow::Result<(String, Vec<String>)> {
    let venue: Value = client
        .post(format!("{GATEWAY}/api/venues"))
        .bearer_auth(admin)
        .json(&json!({"name": "TTC Hall"}))
        .send()
        .await?
        .json()
        .await?;
    let event: Value = client
        .post(format!("{GATEWAY}/api/events"))
        .bearer_auth(admin)
        .json(&json!({"name": "TTC run", "venue_id": venue["id"], "event_date": "2027-01-01T20:00:00Z",
                      "ticket_price": 10, "total_seats": seats}))
        .send()
        .await?
        .json()
        .await?;
    let id = event["id"]
        .as_str()
        .context("event not created")?
        .to_string();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let listed: Value = client
            .get(format!(
                "{GATEWAY}/api/inventory/events/{id}/seats?limit=10000"
            ))
            .send()
            .await?
            .json()
            .await?;
        let ids: Vec<String> = listed["seats"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|s| s["id"].as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        if ids.len() == seats {
            // booking-service builds its price catalog from the same message; give it a moment.
            tokio::time::sleep(Duration::from_secs(1)).await;
            return Ok((id, ids));
        }
        anyhow::ensure!(Instant::now() < deadline, "seat map not built within 60 s");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
