//! `[target]`: where the run goes (a local stack or a URL), its databases and proxy names.

use serde::Deserialize;
use toml::Spanned;

use super::FaultTarget;
use super::Validator;
use crate::collect::DatabaseUrls;

/// Where the run goes.
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    /// Spawn the local stack, or attach to a running one.
    pub mode: TargetMode,
    /// An external toxiproxy API (e.g. `http://127.0.0.1:8474`); `None`: the built-in proxy.
    pub toxiproxy: Option<String>,
    /// The service databases, for the checker's final state.
    pub databases: Option<DatabaseUrls>,
    /// Names of the proxies in front of Redis, Kafka and Postgres on the toxiproxy.
    pub proxies: ProxyNames,
}

/// `target.mode`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TargetMode {
    /// Spawn the local stack behind the fault proxy.
    Local,
    /// Attach to a running stack: its gateway's base URL.
    Url(String),
}

/// `[target.proxies]`: the toxiproxy proxy names of the three backing services.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProxyNames {
    pub redis: String,
    pub kafka: String,
    pub postgres: String,
}

impl Default for ProxyNames {
    fn default() -> Self {
        Self {
            redis: "redis".into(),
            kafka: "kafka".into(),
            postgres: "postgres".into(),
        }
    }
}

impl ProxyNames {
    /// The proxy a proxy target goes through; `None` for services and the broker.
    pub fn get(&self, target: FaultTarget) -> Option<&str> {
        match target {
            FaultTarget::Redis => Some(&self.redis),
            FaultTarget::Kafka => Some(&self.kafka),
            FaultTarget::Postgres => Some(&self.postgres),
            _ => None,
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawTarget {
    pub(super) mode: Spanned<String>,
    pub(super) url: Option<Spanned<String>>,
    pub(super) toxiproxy: Option<Spanned<String>>,
    pub(super) databases: Option<RawDatabases>,
    pub(super) proxies: Option<RawProxies>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawDatabases {
    pub(super) bookings: Spanned<String>,
    pub(super) inventory: Spanned<String>,
    pub(super) payments: Option<Spanned<String>>,
    pub(super) notifications: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawProxies {
    pub(super) redis: Option<Spanned<String>>,
    pub(super) kafka: Option<Spanned<String>>,
    pub(super) postgres: Option<Spanned<String>>,
}

impl Validator<'_> {
    pub(super) fn http_url(&mut self, field: &str, value: &Spanned<String>) -> Option<String> {
        let checked = url::Url::parse(value.get_ref())
            .is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some());
        self.url(
            field,
            value,
            checked,
            "an http(s) URL (e.g. http://127.0.0.1:3000)",
        )
    }

    pub(super) fn postgres_url(&mut self, field: &str, value: &Spanned<String>) -> Option<String> {
        let checked = url::Url::parse(value.get_ref())
            .is_ok_and(|u| matches!(u.scheme(), "postgres" | "postgresql"));
        self.url(
            field,
            value,
            checked,
            "a Postgres URL (e.g. postgres://postgres@127.0.0.1:5432/ticketflow_bookings)",
        )
    }

    /// The URL when it passed its check; otherwise a problem saying what it should be.
    fn url(
        &mut self,
        field: &str,
        value: &Spanned<String>,
        passed: bool,
        expected: &str,
    ) -> Option<String> {
        if passed {
            return Some(value.get_ref().clone());
        }
        self.problem(
            &value.span(),
            field,
            format!("{:?} is not {expected}", value.get_ref()),
        );
        None
    }

    pub(super) fn target(&mut self, raw: &Spanned<RawTarget>) -> Option<Target> {
        let t = raw.get_ref();
        let mode = match (t.mode.get_ref().as_str(), &t.url) {
            ("local", None) => Some(TargetMode::Local),
            ("local", Some(url)) => {
                self.problem(
                    &url.span(),
                    "target.url",
                    "only with mode = \"url\" (mode = \"local\" spawns the stack itself)",
                );
                None
            }
            ("url", Some(url)) => self.http_url("target.url", url).map(TargetMode::Url),
            ("url", None) => {
                self.problem(
                    &t.mode.span(),
                    "target.url",
                    "missing: mode = \"url\" needs the gateway's URL (url = \"http://127.0.0.1:3000\")",
                );
                None
            }
            (other, _) => {
                self.problem(
                    &t.mode.span(),
                    "target.mode",
                    format!("{other:?} is not a mode (use \"local\" or \"url\")"),
                );
                None
            }
        };
        let toxiproxy = match &t.toxiproxy {
            Some(url) => self.http_url("target.toxiproxy", url).map(Some),
            None => Some(None),
        };
        let databases = match &t.databases {
            None => Some(None),
            Some(db) => {
                let bookings = self.postgres_url("target.databases.bookings", &db.bookings);
                let inventory = self.postgres_url("target.databases.inventory", &db.inventory);
                let payments = db
                    .payments
                    .as_ref()
                    .map(|u| self.postgres_url("target.databases.payments", u));
                let notifications = db
                    .notifications
                    .as_ref()
                    .map(|u| self.postgres_url("target.databases.notifications", u));
                // Absent: Some(None); given and valid: Some(Some(url)); given and bad: None.
                let optional = |v: Option<Option<String>>| v.map_or(Some(None), |u| u.map(Some));
                match (
                    bookings,
                    inventory,
                    optional(payments),
                    optional(notifications),
                ) {
                    (Some(bookings), Some(inventory), Some(payments), Some(notifications)) => {
                        Some(Some(DatabaseUrls {
                            bookings,
                            inventory,
                            payments,
                            notifications,
                        }))
                    }
                    _ => None,
                }
            }
        };
        let mut proxies = ProxyNames::default();
        if let Some(p) = &t.proxies {
            for (field, value, slot) in [
                ("target.proxies.redis", &p.redis, &mut proxies.redis),
                ("target.proxies.kafka", &p.kafka, &mut proxies.kafka),
                (
                    "target.proxies.postgres",
                    &p.postgres,
                    &mut proxies.postgres,
                ),
            ] {
                if let Some(value) = value {
                    if value.get_ref().trim().is_empty() {
                        self.problem(&value.span(), field, "a proxy name cannot be empty");
                    } else {
                        *slot = value.get_ref().clone();
                    }
                }
            }
        }
        Some(Target {
            mode: mode?,
            toxiproxy: toxiproxy?,
            databases: databases?,
            proxies,
        })
    }
}
