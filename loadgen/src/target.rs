//! Talking to the target outside goose: is it there, does the prepared data belong to it, the
//! seat map, sign-ups for `prepare` and live runs. Every failure here is a bad input (exit 2):
//! nothing has been sent to load the target yet.

use std::time::Duration;

use serde_json::{json, Value};
use uuid::Uuid;

use crate::data::{PreparedData, PreparedUser};
use crate::seats::Seat;

/// Why the target cannot be used as asked.
#[derive(Debug, thiserror::Error)]
pub enum TargetError {
    #[error("cannot reach {host}: {reason}")]
    Unreachable { host: String, reason: String },
    #[error("{host} does not look like a TicketFlow gateway: {reason}")]
    NotTicketFlow { host: String, reason: String },
    #[error("prepared data {path} does not match {host}: {reason} (run `loadgen prepare --host {host}`)")]
    Mismatch {
        path: String,
        host: String,
        reason: String,
    },
    #[error("{0}")]
    Refused(String),
    #[error(
        "signing in as {email} answered {status}: {body} (wrong email or password, or a lockout)"
    )]
    SignInRefused {
        email: String,
        status: u16,
        body: String,
    },
}

/// The longest a request here waits out `Retry-After` answers in all before it takes the answer.
pub const MAX_BACK_OFF: Duration = Duration::from_secs(120);

/// `Retry-After` in seconds (the form Stampede and most APIs send), at least 1 s.
fn retry_after(response: &reqwest::Response) -> Option<Duration> {
    let secs: u64 = response
        .headers()
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()?;
    Some(Duration::from_secs(secs.max(1)))
}

/// A plain HTTP client for the target.
#[derive(Clone)]
pub struct Target {
    pub host: String,
    client: reqwest::Client,
    /// The `X-Forwarded-For` every request sends (TicketFlow's gateway limits each client
    /// address to 100 requests a minute, keyed on that header).
    forwarded_for: Option<String>,
}

/// Who writes the catalogue (events, venues) in `prepare`.
#[derive(Debug, Clone)]
pub enum Admin {
    /// A signed-in admin's token (Stampede: the seeded admin).
    Token(String),
    /// TicketFlow's headers, which its gateway passes through when a request carries no token
    /// and its event-service trusts: `x-user-role: ADMIN` (TicketFlow has no admin account and
    /// no endpoint that makes one).
    TicketFlowRole,
}

/// The most seats a TicketFlow event's seat map holds (its layout rule: VIP A-B x10, FLOOR C-F
/// x15, BALCONY G-I x12, cut at the event's total).
pub const TICKETFLOW_MAX_SEATS: u64 = 116;

fn reason(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        "timed out".into()
    } else if e.is_connect() {
        "connection refused or unreachable".into()
    } else {
        e.to_string()
    }
}

impl Target {
    /// # Errors
    /// When `host` is not an http(s) URL.
    pub fn new(host: &str) -> Result<Self, TargetError> {
        let url = url::Url::parse(host).map_err(|e| TargetError::Unreachable {
            host: host.into(),
            reason: format!("not a URL ({e})"),
        })?;
        if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
            return Err(TargetError::Unreachable {
                host: host.into(),
                reason: "not an http(s) URL".into(),
            });
        }
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .connect_timeout(Duration::from_secs(5))
            .build()
            .map_err(|e| TargetError::Unreachable {
                host: host.into(),
                reason: e.to_string(),
            })?;
        Ok(Self {
            host: host.trim_end_matches('/').to_string(),
            client,
            forwarded_for: None,
        })
    }

    /// This target, every request sending `X-Forwarded-For: address`.
    pub fn forwarded_for(&self, address: String) -> Self {
        Self {
            forwarded_for: Some(address),
            ..self.clone()
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.host)
    }

    async fn get(&self, path: &str, token: Option<&str>) -> Result<(u16, Value), TargetError> {
        self.send(self.client.get(self.url(path)), token).await
    }

    async fn post(
        &self,
        path: &str,
        token: Option<&str>,
        body: &Value,
    ) -> Result<(u16, Value), TargetError> {
        self.send(self.client.post(self.url(path)).json(body), token)
            .await
    }

    /// `POST` as `admin`.
    async fn post_as(
        &self,
        path: &str,
        admin: &Admin,
        body: &Value,
    ) -> Result<(u16, Value), TargetError> {
        match admin {
            Admin::Token(token) => self.post(path, Some(token), body).await,
            Admin::TicketFlowRole => {
                let request = self
                    .client
                    .post(self.url(path))
                    .json(body)
                    .header("x-user-id", Uuid::new_v4().to_string())
                    .header("x-user-email", "loadgen-admin@stampede.test")
                    .header("x-user-role", "ADMIN");
                self.send(request, None).await
            }
        }
    }

    /// Sends with an optional bearer token; the status and the JSON body (Null when not JSON).
    ///
    /// A 429 or 503 with `Retry-After` (a gateway's sign-up limit, a user service shedding
    /// password hashes) is waited out and sent again, up to [`MAX_BACK_OFF`] in all, saying so
    /// on stderr: preparing data is not the load, so being slowed down is not a failure.
    async fn send(
        &self,
        mut request: reqwest::RequestBuilder,
        token: Option<&str>,
    ) -> Result<(u16, Value), TargetError> {
        if let Some(t) = token {
            request = request.bearer_auth(t);
        }
        if let Some(address) = &self.forwarded_for {
            request = request.header("x-forwarded-for", address);
        }
        let mut waited = Duration::ZERO;
        loop {
            let again = request.try_clone();
            let response = request.send().await.map_err(|e| TargetError::Unreachable {
                host: self.host.clone(),
                reason: reason(&e),
            })?;
            let status = response.status().as_u16();
            let retry_after = retry_after(&response).filter(|_| matches!(status, 429 | 503));
            let body = response.json().await.unwrap_or(Value::Null);
            match (retry_after, again) {
                (Some(wait), Some(again)) if waited + wait <= MAX_BACK_OFF => {
                    if waited.is_zero() {
                        eprintln!(
                            "loadgen: {} answered {status} {} with Retry-After {} s; waiting (for a load test, lift the target's sign-in limit, e.g. AUTH_RATE_PER_IP=off on Stampede's gateway)",
                            self.host,
                            body["error"]["code"].as_str().unwrap_or_default(),
                            wait.as_secs()
                        );
                    }
                    tokio::time::sleep(wait).await;
                    waited += wait;
                    request = again;
                }
                _ => return Ok((status, body)),
            }
        }
    }

    /// Which API the host speaks: Stampede serves its OpenAPI document at `/openapi.json`
    /// (`info.title` "Stampede ..."); anything else is taken as an original TicketFlow.
    pub async fn kind(&self) -> crate::target_kind::TargetKind {
        use crate::target_kind::TargetKind;
        match self.get("/openapi.json", None).await {
            Ok((200, document))
                if document["info"]["title"]
                    .as_str()
                    .is_some_and(|t| t.starts_with("Stampede")) =>
            {
                TargetKind::Stampede
            }
            _ => TargetKind::TicketFlow,
        }
    }

    /// The event's name and price per seat (TicketFlow's `price`, else Stampede's
    /// `ticket_price`; bare or wrapped in `{"event": ...}`), which TicketFlow's booking body
    /// carries.
    ///
    /// # Errors
    /// When the event cannot be read.
    pub async fn event_facts(&self, event: Uuid) -> Result<(String, f64), TargetError> {
        let (status, body) = self.get(&format!("/api/events/{event}"), None).await?;
        if status != 200 {
            return Err(TargetError::Refused(format!(
                "GET /api/events/{event} answered {status}: {body}"
            )));
        }
        let event = if body["event"].is_object() {
            &body["event"]
        } else {
            &body
        };
        let name = event["name"].as_str().unwrap_or_default().to_string();
        let price = event["price"]
            .as_f64()
            .or_else(|| event["ticket_price"].as_f64())
            .unwrap_or(0.0);
        Ok((name, price))
    }

    /// Checks that the host answers the contract's event list.
    ///
    /// # Errors
    /// Unreachable, or not a TicketFlow API.
    pub async fn check(&self) -> Result<(), TargetError> {
        let (status, body) = self.get("/api/events?page=1&limit=1", None).await?;
        if status != 200 || !body["events"].is_array() {
            return Err(TargetError::NotTicketFlow {
                host: self.host.clone(),
                reason: format!("GET /api/events answered {status} without an events list"),
            });
        }
        Ok(())
    }

    /// The event's whole seat map, read in pages: Stampede answers at most 10,000 seats a
    /// request (`limit`, `offset`; `total` says how many there are); TicketFlow ignores both and
    /// answers every seat at once, which ends the loop after one request.
    ///
    /// # Errors
    /// When the map cannot be read.
    pub async fn seats(&self, event: Uuid) -> Result<Vec<Seat>, TargetError> {
        const PAGE: usize = 10_000;
        let mut seats: Vec<Seat> = Vec::new();
        loop {
            let path = format!(
                "/api/inventory/events/{event}/seats?limit={PAGE}&offset={}",
                seats.len()
            );
            let (status, body) = self.get(&path, None).await?;
            if status != 200 {
                return Err(TargetError::Refused(format!(
                    "GET /api/inventory/events/{event}/seats answered {status}"
                )));
            }
            let page: Vec<Seat> = serde_json::from_value(body["seats"].clone()).map_err(|e| {
                TargetError::Refused(format!("the seat map of {event} does not parse: {e}"))
            })?;
            let total = body["total"].as_u64().map_or(0, |t| t as usize);
            let last = page.is_empty();
            seats.extend(page);
            if last || seats.len() >= total {
                return Ok(seats);
            }
        }
    }

    /// Checks the prepared data against the target: the event exists, and the users can log in
    /// (tokens that expired are renewed in `data`).
    ///
    /// # Errors
    /// [`TargetError::Mismatch`] naming the first thing that does not match.
    pub async fn verify(&self, data: &mut PreparedData, path: &str) -> Result<(), TargetError> {
        let mismatch = |reason: String| TargetError::Mismatch {
            path: path.into(),
            host: self.host.clone(),
            reason,
        };
        let (status, _) = self
            .get(&format!("/api/events/{}", data.event_id), None)
            .await?;
        if status != 200 {
            return Err(mismatch(format!(
                "event {} answered {status}",
                data.event_id
            )));
        }
        // One user is enough to tell a foreign file; the others renew on their first 401.
        let user = &mut data.users[0];
        let (status, _) = self.get("/api/users/me", Some(&user.token)).await?;
        if status == 401 {
            match self.login(&user.email, &user.password).await {
                Ok(token) => user.token = token,
                Err(TargetError::SignInRefused { status, .. }) => {
                    return Err(mismatch(format!(
                        "user {} cannot log in ({status})",
                        user.email
                    )))
                }
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// A token for these credentials.
    ///
    /// A 5xx (a gateway that cannot reach user-service yet, a timeout) is asked again twice,
    /// 1 s and then 2 s later, saying so on stderr: a stack that has just reported healthy can
    /// still drop its first sign-in, and preparing data is not the load being measured.
    ///
    /// # Errors
    /// [`TargetError::SignInRefused`] for a 4xx (wrong email or password, a lockout that
    /// outlived the wait); transport errors; a 5xx still answered on the third try.
    pub async fn login(&self, email: &str, password: &str) -> Result<String, TargetError> {
        const RETRIES: [Duration; 2] = [Duration::from_secs(1), Duration::from_secs(2)];
        let body = json!({"email": email, "password": password});
        let mut retries = RETRIES.iter();
        loop {
            let (status, answer) = self.post("/api/users/login", None, &body).await?;
            match status {
                200 => {
                    return answer["token"].as_str().map(str::to_string).ok_or_else(|| {
                        TargetError::Refused(format!(
                            "signing in as {email} answered 200 without a token: {answer}"
                        ))
                    })
                }
                500..=599 => match retries.next() {
                    Some(wait) => {
                        eprintln!(
                            "loadgen: signing in as {email} answered {status} {answer}; asking again in {} s",
                            wait.as_secs()
                        );
                        tokio::time::sleep(*wait).await;
                    }
                    None => {
                        return Err(TargetError::Refused(format!(
                            "signing in as {email} answered {status}: {answer}"
                        )))
                    }
                },
                400..=499 => {
                    return Err(TargetError::SignInRefused {
                        email: email.to_string(),
                        status,
                        body: answer.to_string(),
                    })
                }
                _ => {
                    return Err(TargetError::Refused(format!(
                        "signing in as {email} answered {status}: {answer}"
                    )))
                }
            }
        }
    }

    /// Registers a user (the contract's 201 `{token, user}`).
    ///
    /// # Errors
    /// When the target refuses.
    pub async fn register(
        &self,
        name: &str,
        email: &str,
        password: &str,
    ) -> Result<PreparedUser, TargetError> {
        let (status, body) = self
            .post(
                "/api/users/register",
                None,
                &json!({"name": name, "email": email, "password": password}),
            )
            .await?;
        if status != 201 {
            return Err(TargetError::Refused(format!(
                "registering {email} answered {status}: {body}"
            )));
        }
        let id = body["user"]["id"]
            .as_str()
            .and_then(|s| s.parse().ok())
            .unwrap_or_default();
        Ok(PreparedUser {
            id,
            email: email.into(),
            password: password.into(),
            token: body["token"].as_str().unwrap_or_default().into(),
        })
    }

    /// Registers `count` users, 8 at a time (argon2 on the user service is the slow part), each
    /// from its own simulated address when `per_user_address` (a TicketFlow target: see
    /// [`Target::forwarded_for`]).
    ///
    /// # Errors
    /// The first refusal.
    pub async fn register_many(
        &self,
        prefix: &str,
        count: usize,
        per_user_address: bool,
    ) -> Result<Vec<PreparedUser>, TargetError> {
        use futures::stream::{self, StreamExt, TryStreamExt};
        stream::iter(0..count)
            .map(|i| {
                let target = if per_user_address {
                    self.forwarded_for(crate::target_kind::simulated_address(i))
                } else {
                    self.clone()
                };
                let prefix = prefix.to_string();
                async move {
                    target
                        .register(
                            &format!("Loadgen {i}"),
                            &format!("{prefix}-{i}@stampede.test"),
                            "loadgen-password",
                        )
                        .await
                }
            })
            .buffered(8)
            .try_collect()
            .await
    }

    /// The event with the most seats, for a run without prepared data.
    ///
    /// # Errors
    /// When the target lists no event.
    pub async fn largest_event(&self) -> Result<(Uuid, String, u64), TargetError> {
        let (_, body) = self.get("/api/events?page=1&limit=100", None).await?;
        let best = body["events"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|e| {
                let id: Uuid = e["id"].as_str()?.parse().ok()?;
                let seats = e["total_seats"]
                    .as_u64()
                    .or_else(|| e["totalSeats"].as_u64())
                    .unwrap_or(0);
                Some((
                    id,
                    e["name"].as_str().unwrap_or_default().to_string(),
                    seats,
                ))
            })
            .max_by_key(|(_, _, seats)| *seats);
        best.ok_or_else(|| {
            TargetError::Refused(format!(
                "{} lists no events: run `loadgen prepare` (or `stack seed`) first",
                self.host
            ))
        })
    }

    /// Creates a venue and an event of `seats` seats as `admin` and waits (up to `wait`) until
    /// the seat map lists them all.
    ///
    /// # Errors
    /// When a step is refused or the seat map does not fill in time.
    pub async fn create_event(
        &self,
        admin: &Admin,
        name: &str,
        seats: u64,
        wait: Duration,
    ) -> Result<Uuid, TargetError> {
        let (status, venue) = self
            .post_as(
                "/api/venues",
                admin,
                // TicketFlow's venue body (it requires every field); Stampede takes the same.
                &json!({"name": format!("{name} venue"), "address": "1 Load Street",
                        "city": "Loadgen", "country": "Nowhere", "capacity": seats}),
            )
            .await?;
        if status != 201 {
            return Err(TargetError::Refused(format!(
                "creating a venue answered {status}: {venue}"
            )));
        }
        // Bare (TicketFlow's and Stampede's shape), or wrapped (Stampede before 2026-12).
        let venue_id = venue["id"]
            .as_str()
            .or_else(|| venue["venue"]["id"].as_str())
            .unwrap_or_default()
            .to_string();
        let (status, event) = self
            .post_as(
                "/api/events",
                admin,
                // TicketFlow's field names (`date`, `price`), which Stampede takes too.
                &json!({"name": name, "venue_id": venue_id, "date": "2027-06-01T20:00:00",
                        "price": 50.0, "total_seats": seats, "category": "loadgen",
                        "description": "created by loadgen prepare"}),
            )
            .await?;
        if status != 201 {
            return Err(TargetError::Refused(format!(
                "creating the event answered {status}: {event}"
            )));
        }
        let id: Uuid = event["id"]
            .as_str()
            .or_else(|| event["event"]["id"].as_str())
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| TargetError::Refused(format!("the created event has no id: {event}")))?;
        let deadline = std::time::Instant::now() + wait;
        loop {
            let listed = self.seats(id).await.map(|s| s.len() as u64).unwrap_or(0);
            if listed >= seats {
                return Ok(id);
            }
            if std::time::Instant::now() > deadline {
                return Err(TargetError::Refused(format!(
                    "the seat map of event {id} lists {listed} of {seats} seats after {wait:?}"
                )));
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }
}
