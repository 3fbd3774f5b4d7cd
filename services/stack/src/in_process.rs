//! The whole stack inside one test process: the seven services on port 0 against their own
//! databases (`ticketflow_*_<suffix>`), topic prefix and Redis key prefix, so tests run in
//! parallel against the machine's one Postgres, Redis and broker. Used by the saga tests and by
//! loadgen's end-to-end tests (feature `testing`).

use std::collections::HashMap;

use kit::config::Env;
use kit::testing::{self, TEST_INTERNAL_SECRET, TEST_JWT_SECRET};
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

/// The admin every in-process stack ensures.
pub const ADMIN_EMAIL: &str = "admin@stampede.test";
pub const ADMIN_PASSWORD: &str = kit::seed::ADMIN_PASSWORD;

/// Knobs of one in-process stack.
#[derive(Debug, Clone)]
pub struct StackOptions {
    pub lock_strategy: &'static str,
    pub booking_timeout_ms: u64,
    pub payment_success_rate: f64,
    pub payment_latency_ms: u64,
    /// Another broker than the machine's (the outage test runs its own).
    pub brokers: Option<String>,
}

impl Default for StackOptions {
    fn default() -> Self {
        Self {
            lock_strategy: "lua",
            booking_timeout_ms: 60_000,
            payment_success_rate: 1.0,
            payment_latency_ms: 0,
            brokers: None,
        }
    }
}

/// The six service databases (one list for the in-process, local and chaos stacks).
pub use crate::infra::DATABASES;

/// The seven services of one test; all stop when dropped.
pub struct InProcessStack {
    /// Base URL of the gateway.
    pub gateway: String,
    pub prefix: String,
    pub brokers: String,
    /// A one-connection pool on each service's database, for assertions on the final state.
    pub pools: HashMap<&'static str, PgPool>,
    /// Database URL of each service.
    pub database_urls: HashMap<&'static str, String>,
    /// Base URL of each service (for /metrics).
    pub service_urls: HashMap<&'static str, String>,
    envs: HashMap<&'static str, Vec<(String, String)>>,
    stops: HashMap<&'static str, CancellationToken>,
    running: HashMap<&'static str, tokio::task::JoinHandle<anyhow::Result<()>>>,
}

impl Drop for InProcessStack {
    fn drop(&mut self) {
        for token in self.stops.values() {
            token.cancel();
        }
    }
}

impl InProcessStack {
    /// Creates topics, then builds and spawns the six services and the gateway.
    ///
    /// # Panics
    /// When the broker, Postgres or a service cannot start: a test cannot go on without them,
    /// and the message says which and how to fix it.
    pub async fn start(options: StackOptions) -> Self {
        kit::telemetry::init_for_tests();
        // The slowest test binary with in-process stacks (the saga tests) takes ~1.5 min on 2 cores.
        testing::watchdog(std::time::Duration::from_secs(600));
        let suffix = testing::unique_suffix();
        let prefix = format!("t{suffix}.");
        let brokers = options.brokers.clone().unwrap_or_else(testing::brokers);
        let names = kit::kafka::Topics::new(prefix.clone()).all_with_dlt();
        kit::kafka::ensure_topics(&brokers, &names, 3)
            .await
            .unwrap_or_else(|e| {
                panic!("Kafka broker at {brokers} is required (run infra/local/up): {e:#}")
            });
        let common = vec![
            // Tests: the published development admin password is allowed.
            (kit::config::MODE_ENV, "dev".to_string()),
            ("PORT", "0".to_string()),
            ("DATABASE_POOL_SIZE", "5".to_string()),
            ("KAFKA_BROKERS", brokers.clone()),
            ("KAFKA_TOPIC_PREFIX", prefix.clone()),
            ("INTERNAL_SECRET", TEST_INTERNAL_SECRET.to_string()),
            ("JWT_SECRET", TEST_JWT_SECRET.to_string()),
            ("ADMIN_EMAIL", ADMIN_EMAIL.to_string()),
            ("ADMIN_PASSWORD", ADMIN_PASSWORD.to_string()),
            ("REDIS_KEY_PREFIX", format!("test:{suffix}:")),
            ("LOCK_STRATEGY", options.lock_strategy.to_string()),
            // Only the `unsafe` strategy reads it: two bookings of one seat that arrive within a
            // second of each other both win it (inventory-service's `race` module).
            ("UNSAFE_RACE_WINDOW_MS", "1000".to_string()),
            ("BOOKING_TIMEOUT_MS", options.booking_timeout_ms.to_string()),
            ("EXPIRY_SCAN_INTERVAL_MS", "200".to_string()),
            (
                "PAYMENT_SUCCESS_RATE",
                options.payment_success_rate.to_string(),
            ),
            ("PAYMENT_LATENCY_MS", options.payment_latency_ms.to_string()),
        ];
        let mut stack = Self {
            gateway: String::new(),
            prefix,
            brokers,
            pools: HashMap::new(),
            database_urls: HashMap::new(),
            service_urls: HashMap::new(),
            envs: HashMap::new(),
            stops: HashMap::new(),
            running: HashMap::new(),
        };
        let mut urls = Vec::new();
        for (service, database) in DATABASES {
            let mut env: Vec<(String, String)> = common
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect();
            let url = format!("{}/{database}_{suffix}", testing::postgres_server());
            env.push(("DATABASE_URL".into(), url.clone()));
            stack.envs.insert(service, env);
            let port = stack.start_service(service).await;
            let var = format!(
                "{}_SERVICE_URL",
                service.trim_end_matches("-service").to_uppercase()
            );
            urls.push((var, format!("http://127.0.0.1:{port}")));
            stack
                .service_urls
                .insert(service, format!("http://127.0.0.1:{port}"));
            let pool = sqlx::postgres::PgPoolOptions::new()
                .max_connections(1)
                .connect(&url)
                .await
                .expect("test database reachable");
            stack.pools.insert(service, pool);
            stack.database_urls.insert(service, url);
        }
        let mut gateway_env: Vec<(String, String)> = common
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect();
        gateway_env.extend(urls);
        stack.envs.insert("gateway", gateway_env);
        let port = stack.start_service("gateway").await;
        stack.gateway = format!("http://127.0.0.1:{port}");
        stack
    }

    /// Builds and spawns one service with its env; returns its port.
    ///
    /// # Panics
    /// When the service does not start.
    pub async fn start_service(&mut self, name: &'static str) -> u16 {
        self.start_service_with(name, &[]).await
    }

    /// [`InProcessStack::start_service`] with some variables of its env replaced.
    ///
    /// # Panics
    /// When the service does not start.
    pub async fn start_service_with(
        &mut self,
        name: &'static str,
        overrides: &[(&str, &str)],
    ) -> u16 {
        let pairs = self.service_env(name, overrides);
        let pairs: Vec<(&str, &str)> = pairs
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let built = crate::services::build(name, &Env::from_pairs(&pairs))
            .await
            .unwrap_or_else(|e| panic!("{name} starts: {e:#}"));
        let port = built.port();
        let token = CancellationToken::new();
        let stop = token.clone();
        let handle = tokio::spawn(async move {
            built
                .run_until_stopped(async move { stop.cancelled().await })
                .await
        });
        self.stops.insert(name, token);
        self.running.insert(name, handle);
        port
    }

    /// The variables service `name` runs with, with `overrides` replacing or adding some (for
    /// running it as a child process: `stack serve NAME` with these).
    pub fn service_env(&self, name: &str, overrides: &[(&str, &str)]) -> Vec<(String, String)> {
        let mut env: Vec<(String, String)> = self.envs[name]
            .iter()
            .filter(|(k, _)| !overrides.iter().any(|(o, _)| o == k))
            .cloned()
            .collect();
        env.extend(
            overrides
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string())),
        );
        env
    }

    /// The port service `name` listens on (the gateway's too).
    pub fn port_of(&self, name: &str) -> u16 {
        let url = if name == "gateway" {
            &self.gateway
        } else {
            &self.service_urls[name]
        };
        url.rsplit(':')
            .next()
            .and_then(|p| p.parse().ok())
            .expect("service URLs end in a port")
    }

    /// Stops one service without waiting (its consumer leaves the group in the background).
    pub fn stop_service(&mut self, name: &'static str) {
        if let Some(token) = self.stops.remove(name) {
            token.cancel();
        }
    }

    /// Stops one service the way Ctrl-C / SIGTERM does and waits until it has finished (its
    /// workers stopped, its consumer closed), at most 30 s.
    ///
    /// # Panics
    /// When it does not stop in 30 s.
    pub async fn stop_service_and_wait(&mut self, name: &'static str) {
        self.stop_service(name);
        if let Some(handle) = self.running.remove(name) {
            tokio::time::timeout(std::time::Duration::from_secs(30), handle)
                .await
                .unwrap_or_else(|_| panic!("{name} did not stop within 30 s"))
                .unwrap_or_else(|e| panic!("{name} crashed while stopping: {e}"))
                .unwrap_or_else(|e| panic!("{name} failed while stopping: {e:#}"));
        }
    }

    /// Stops every service (gateway first), waits until all have stopped, and starts them again
    /// at once on the same ports against the same databases, topics and consumer groups: what
    /// Ctrl-C and `stack up` again do.
    ///
    /// # Panics
    /// When a service does not stop or start.
    pub async fn restart_all(&mut self) {
        // SERVICES lists the gateway last: it stops first and starts last.
        for spec in crate::services::SERVICES.iter().rev() {
            self.stop_service_and_wait(spec.name).await;
        }
        for spec in crate::services::SERVICES {
            let port = self.port_of(spec.name).to_string();
            self.start_service_with(spec.name, &[("PORT", &port)]).await;
        }
    }
}
