//! Demo data through the public API: an admin (ensured by user-service), the test user, venues
//! and events, one of them 10,000 seats. Running it twice creates nothing twice.

use anyhow::Context;
use reqwest::StatusCode;
use serde_json::{json, Value};

/// The demo user of the TicketFlow seed.
pub const TEST_USER_EMAIL: &str = "test@ticketflow.dev";
pub const TEST_USER_PASSWORD: &str = "Test1234!";

/// Where to seed and as whom.
#[derive(Debug, Clone)]
pub struct SeedOptions {
    pub gateway: String,
    pub admin_email: String,
    pub admin_password: String,
}

/// What the seed created or found.
#[derive(Debug, Default)]
pub struct SeedSummary {
    pub events: Vec<(String, String, u64)>,
    pub created: usize,
    /// Seats in inventory's map of each event (same order as `events`); 0 = not built.
    pub seat_maps: Vec<u64>,
}

const EVENTS: [(&str, &str, u32, f64, &str); 3] = [
    (
        "Stampede On-Sale Rush",
        "Stampede Arena",
        10_000,
        60.0,
        "music",
    ),
    ("Jazz Night", "Riverside Hall", 116, 35.0, "music"),
    ("Derby Final", "Stampede Arena", 2_000, 45.0, "sports"),
];

/// Seeds the stack behind `options.gateway`.
///
/// # Errors
/// When the gateway is unreachable or refuses the admin login; the error says which step failed.
pub async fn seed(options: &SeedOptions) -> anyhow::Result<SeedSummary> {
    let client = reqwest::Client::new();
    let api = |path: &str| format!("{}{path}", options.gateway.trim_end_matches('/'));
    let admin = login(
        &client,
        &api("/api/users/login"),
        &options.admin_email,
        &options.admin_password,
    )
    .await
    .context("admin login failed (ADMIN_EMAIL/ADMIN_PASSWORD must match user-service's)")?;
    ensure_test_user(&client, &api).await?;

    let mut summary = SeedSummary::default();
    let mut venues: Vec<(String, String)> = Vec::new();
    let existing: Value = client.get(api("/api/venues")).send().await?.json().await?;
    for venue in existing["venues"].as_array().into_iter().flatten() {
        venues.push((
            venue["name"].as_str().unwrap_or_default().into(),
            venue["id"].as_str().unwrap_or_default().into(),
        ));
    }
    for (name, venue_name, seats, price, category) in EVENTS {
        let found: Value = client
            .get(api("/api/events"))
            .query(&[("search", name), ("limit", "100")])
            .send()
            .await?
            .json()
            .await?;
        if let Some(event) = found["events"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|e| e["name"] == name)
        {
            summary.events.push((
                name.into(),
                event["id"].as_str().unwrap_or_default().into(),
                u64::from(seats),
            ));
            continue;
        }
        let venue_id = match venues.iter().find(|(n, _)| n == venue_name) {
            Some((_, id)) => id.clone(),
            None => {
                let created: Value = expect_created(
                    client
                        .post(api("/api/venues"))
                        .bearer_auth(&admin)
                        .json(&json!({"name": venue_name, "city": "Lisbon", "capacity": 20_000}))
                        .send()
                        .await?,
                    "create venue",
                )
                .await?;
                let id = created["id"].as_str().unwrap_or_default().to_string();
                venues.push((venue_name.into(), id.clone()));
                id
            }
        };
        let created = expect_created(
            client
                .post(api("/api/events"))
                .bearer_auth(&admin)
                .json(&json!({
                    "name": name, "venue_id": venue_id, "event_date": "2027-06-01T20:00:00Z",
                    "ticket_price": price, "total_seats": seats, "category": category,
                    "description": format!("{seats} seats, seeded by `stack seed`"),
                }))
                .send()
                .await?,
            "create event",
        )
        .await?;
        summary.created += 1;
        summary.events.push((
            name.into(),
            created["id"].as_str().unwrap_or_default().into(),
            u64::from(seats),
        ));
    }
    wait_for_seat_maps(&client, &api, &mut summary).await;
    Ok(summary)
}

/// Waits (up to 60 s) until inventory-service has built each event's seat map, so the stack can
/// take bookings when `seed` returns; records the seats each map holds (0 when it never came).
async fn wait_for_seat_maps(
    client: &reqwest::Client,
    api: &impl Fn(&str) -> String,
    summary: &mut SeedSummary,
) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    for (_, id, _) in &summary.events {
        let built = loop {
            let response = client
                .get(api(&format!("/api/inventory/events/{id}/summary")))
                .send()
                .await;
            if let Ok(r) = response {
                if r.status() == StatusCode::OK {
                    let body: Value = r.json().await.unwrap_or_default();
                    break body["total"].as_u64().unwrap_or(0);
                }
            }
            if std::time::Instant::now() > deadline {
                break 0;
            }
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        };
        summary.seat_maps.push(built);
    }
}

async fn login(
    client: &reqwest::Client,
    url: &str,
    email: &str,
    password: &str,
) -> anyhow::Result<String> {
    let response = client
        .post(url)
        .json(&json!({"email": email, "password": password}))
        .send()
        .await?;
    let status = response.status();
    let body: Value = response.json().await.unwrap_or_default();
    anyhow::ensure!(
        status == StatusCode::OK,
        "login as {email}: {status} {body}"
    );
    Ok(body["token"].as_str().unwrap_or_default().to_string())
}

async fn ensure_test_user(
    client: &reqwest::Client,
    api: &impl Fn(&str) -> String,
) -> anyhow::Result<()> {
    let response = client
        .post(api("/api/users/register"))
        .json(
            &json!({"name": "Test User", "email": TEST_USER_EMAIL, "password": TEST_USER_PASSWORD}),
        )
        .send()
        .await?;
    match response.status() {
        StatusCode::CREATED => Ok(()),
        // Already registered: make sure the documented password still works.
        StatusCode::CONFLICT => login(
            client,
            &api("/api/users/login"),
            TEST_USER_EMAIL,
            TEST_USER_PASSWORD,
        )
        .await
        .map(|_| ()),
        status => anyhow::bail!(
            "register {TEST_USER_EMAIL}: {status} {}",
            response.text().await.unwrap_or_default()
        ),
    }
}

async fn expect_created(response: reqwest::Response, what: &str) -> anyhow::Result<Value> {
    let status = response.status();
    let body: Value = response.json().await.unwrap_or_default();
    anyhow::ensure!(status == StatusCode::CREATED, "{what}: {status} {body}");
    Ok(body)
}
