//! A per-address limit on the password endpoints: `POST /api/users/login` and
//! `POST /api/users/register`. Each client address has a token bucket (`AUTH_RATE_PER_IP`,
//! `AUTH_BURST_PER_IP`); a request beyond it gets 429 `RATE_LIMITED` with `Retry-After` and the
//! JSON envelope, before the gateway spends anything on it (no upstream call, no password hash).
//!
//! ```text
//!   POST /api/users/{login,register} ──> bucket of the peer address
//!                                          has a token ──> forwarded
//!                                          empty       ──> 429 RATE_LIMITED, Retry-After
//!   anything else ─────────────────────────────────────────> forwarded
//! ```
//!
//! It complements user-service's per-account lockout (wrong passwords for one email) and its
//! bounded hashing (503 `BUSY`): the lockout stops guessing one account from many addresses,
//! this stops one address spraying many accounts or sign-ups.
//!
//! The key is the TCP peer, unless `TRUSTED_PROXY_HOPS` says how many proxies of the
//! operator's own stand in front (a load balancer, an ingress): then it is the address the
//! farthest of them saw, read from the right of `X-Forwarded-For`, which each proxy appends to.
//! Entries left of that are the client's to write and are never trusted. Buckets of idle
//! addresses are forgotten every minute, so memory follows the active ones.

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use kit::error::ApiError;
use tokio_util::sync::CancellationToken;

/// The paths whose POSTs are limited.
pub const PATHS: [&str; 2] = ["/api/users/login", "/api/users/register"];

/// How often buckets of addresses that are full again are dropped.
const FORGET_EVERY: Duration = Duration::from_secs(60);

/// A sustained rate: `count` requests per second or per minute (`10/s`, `300/min`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    pub count: NonZeroU32,
    pub per_minute: bool,
}

impl FromStr for Rate {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (count, unit) = s
            .split_once('/')
            .ok_or_else(|| "expected <count>/s or <count>/min, e.g. 10/s".to_string())?;
        let count: NonZeroU32 = count
            .trim()
            .parse()
            .map_err(|_| format!("{count:?} is not a whole number above 0"))?;
        let per_minute = match unit.trim() {
            "s" | "sec" | "second" => false,
            "min" | "minute" => true,
            other => return Err(format!("unit {other:?}: expected s or min")),
        };
        Ok(Self { count, per_minute })
    }
}

impl fmt::Display for Rate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let unit = if self.per_minute { "min" } else { "s" };
        write!(f, "{}/{unit}", self.count)
    }
}

/// The limit per client address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuthRateLimit {
    pub rate: Rate,
    /// Requests an idle address may send at once.
    pub burst: NonZeroU32,
}

impl AuthRateLimit {
    fn quota(self) -> Quota {
        let quota = if self.rate.per_minute {
            Quota::per_minute(self.rate.count)
        } else {
            Quota::per_second(self.rate.count)
        };
        quota.allow_burst(self.burst)
    }
}

/// The buckets, shared by every request; cheap to clone.
#[derive(Clone)]
pub struct AuthLimiter {
    limiter: Arc<DefaultKeyedRateLimiter<IpAddr>>,
    clock: DefaultClock,
    trusted_hops: usize,
}

impl AuthLimiter {
    /// `trusted_hops`: proxies of the operator's own in front of the gateway (0: clients connect
    /// directly, the peer is the client).
    pub fn new(limit: AuthRateLimit, trusted_hops: usize) -> Self {
        let clock = DefaultClock::default();
        Self {
            limiter: Arc::new(RateLimiter::dashmap_with_clock(
                limit.quota(),
                clock.clone(),
            )),
            clock,
            trusted_hops,
        }
    }

    /// The client address to key on: the peer, or with trusted proxies in front the address
    /// the farthest of them appended to `X-Forwarded-For` (the leftmost entry when fewer are
    /// there; the peer when none parses).
    fn client(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        if self.trusted_hops == 0 {
            return peer;
        }
        let entries: Vec<&str> = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .collect();
        let Some(last) = entries.len().checked_sub(1) else {
            return peer;
        };
        entries[last.saturating_sub(self.trusted_hops - 1)]
            .parse()
            .unwrap_or(peer)
    }

    /// Takes a token for `address`; how long until the next one when there is none.
    fn take(&self, address: IpAddr) -> Result<(), Duration> {
        self.limiter
            .check_key(&address)
            .map_err(|not_until| not_until.wait_time_from(self.clock.now()))
    }

    /// Drops the buckets of addresses that are full again (idle long enough) until `token`
    /// is cancelled.
    pub async fn forget_idle(self, token: CancellationToken) {
        let mut every = tokio::time::interval(FORGET_EVERY);
        loop {
            tokio::select! {
                _ = token.cancelled() => return,
                _ = every.tick() => {
                    self.limiter.retain_recent();
                    self.limiter.shrink_to_fit();
                }
            }
        }
    }
}

/// The middleware: limits the password endpoints, passes everything else.
pub async fn limit(
    State(limiter): State<Option<AuthLimiter>>,
    request: Request,
    next: Next,
) -> Response {
    let (Some(limiter), true) = (
        limiter,
        request.method() == Method::POST && PATHS.contains(&request.uri().path()),
    ) else {
        return next.run(request).await;
    };
    // Served without peer addresses (only in-process router tests): nothing to key on.
    let Some(peer) = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(address)| address.ip())
    else {
        return next.run(request).await;
    };
    let client = limiter.client(peer, request.headers());
    match limiter.take(client) {
        Ok(()) => next.run(request).await,
        Err(wait) => {
            let secs = (wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1);
            ApiError::too_many_requests(
                "RATE_LIMITED",
                format!(
                    "too many sign-in or sign-up requests from this address; retry in {secs} s"
                ),
                secs,
            )
            .into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_parse_and_bad_ones_say_why() {
        let rate: Rate = "10/s".parse().unwrap();
        assert_eq!((rate.count.get(), rate.per_minute), (10, false));
        let rate: Rate = "300/min".parse().unwrap();
        assert_eq!((rate.count.get(), rate.per_minute), (300, true));
        assert_eq!(rate.to_string(), "300/min");
        for bad in ["10", "0/s", "-1/s", "10/h", "x/s", ""] {
            assert!(bad.parse::<Rate>().is_err(), "{bad}");
        }
    }

    #[test]
    fn an_address_gets_its_burst_then_waits_and_others_are_not_affected() {
        let limiter = AuthLimiter::new(
            AuthRateLimit {
                rate: "1/min".parse().unwrap(),
                burst: NonZeroU32::new(3).unwrap(),
            },
            0,
        );
        let one: IpAddr = "192.0.2.1".parse().unwrap();
        let two: IpAddr = "192.0.2.2".parse().unwrap();
        for _ in 0..3 {
            limiter.take(one).unwrap();
        }
        let wait = limiter.take(one).unwrap_err();
        assert!(
            wait > Duration::from_secs(50) && wait <= Duration::from_secs(60),
            "{wait:?}"
        );
        limiter.take(two).unwrap();
    }

    #[test]
    fn behind_trusted_proxies_the_client_is_read_from_the_right_of_x_forwarded_for() {
        let limit = AuthRateLimit {
            rate: "1/s".parse().unwrap(),
            burst: NonZeroU32::new(1).unwrap(),
        };
        let peer: IpAddr = "10.0.0.9".parse().unwrap();
        let headers = |values: &[&str]| {
            let mut map = HeaderMap::new();
            for v in values {
                map.append("x-forwarded-for", v.parse().unwrap());
            }
            map
        };
        // A client-written entry, then what two proxies appended.
        let forwarded = headers(&["6.6.6.6, 203.0.113.7", "10.0.0.2"]);
        let direct = AuthLimiter::new(limit, 0);
        assert_eq!(direct.client(peer, &forwarded), peer, "no proxy trusted");
        let one = AuthLimiter::new(limit, 1);
        assert_eq!(one.client(peer, &forwarded).to_string(), "10.0.0.2");
        let two = AuthLimiter::new(limit, 2);
        assert_eq!(two.client(peer, &forwarded).to_string(), "203.0.113.7");
        let many = AuthLimiter::new(limit, 5);
        assert_eq!(many.client(peer, &forwarded).to_string(), "6.6.6.6");
        assert_eq!(one.client(peer, &headers(&[])), peer);
        assert_eq!(one.client(peer, &headers(&["not-an-address"])), peer);
    }
}
