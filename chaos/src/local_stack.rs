//! The local stack of a chaos run: the seven services as child processes (`chaos serve <name>`,
//! so the nemesis can kill -9 and pause them), a private broker, and the built-in fault proxy in
//! front of Redis, Postgres and the broker.
//!
//! ```text
//!   services ──▶ proxy "postgres" :Pp ──▶ 127.0.0.1:5432   (databases ticketflow_<svc>_<suffix>)
//!            ──▶ proxy "redis"    :Pr ──▶ 127.0.0.1:6379   (keys under chaos:<suffix>:)
//!            ──▶ proxy "kafka"    :Pk ──▶ tansu :Pt        (tansu advertises :Pk, so every
//!                                                           reconnect goes through the proxy)
//! ```
//! The checker reads the databases directly (not through the proxy) once everything healed.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;

use crate::collect::DatabaseUrls;
use crate::nemesis::{ManagedProcess, ProcessSpec};
use crate::scenario::StackSettings;
use faultproxy::ToxiproxyClient;
use faultproxy::{ProxyConfig, ProxyServer, ServerHandle};
use stack::infra::DATABASES;

/// What a local run starts.
#[derive(Debug, Clone)]
pub struct LocalOptions {
    /// The scenario's `[stack]` settings.
    pub settings: StackSettings,
    /// Where logs and the broker's storage go.
    pub run_dir: PathBuf,
}

/// Admin of a local run's user-service.
pub const ADMIN_EMAIL: &str = "admin@chaos.test";
pub const ADMIN_PASSWORD: &str = kit::seed::ADMIN_PASSWORD;
const JWT_SECRET: &str = "chaos-run-jwt-secret-0123456789";
const INTERNAL_SECRET: &str = "chaos-run-internal-secret-0123456789";

/// The running local stack.
pub struct LocalStack {
    pub gateway: String,
    /// The built-in proxy's API (toxiproxy's).
    pub toxiproxy: ToxiproxyClient,
    /// Services by name, and "broker" (shared with the fault timeline).
    pub processes: Arc<tokio::sync::Mutex<BTreeMap<String, ManagedProcess>>>,
    /// Direct database URLs, for the checker.
    pub databases: DatabaseUrls,
    /// All six service databases, to drop at the end.
    pub database_names: Vec<String>,
    proxy: Option<ServerHandle>,
    pub suffix: String,
    /// The private broker (through the proxy, as the services reach it) and the run's topic
    /// prefix: where the dead letters are read after the run.
    pub kafka_brokers: String,
    pub topic_prefix: String,
}

/// A free loopback port (bound and released: another process could take it in between, which
/// on a test machine is rare enough to accept).
fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

impl LocalStack {
    /// Starts infra (when down), the proxy, a private broker and the services; waits until the
    /// gateway reports every service healthy.
    ///
    /// A stack that does not come up is started once more, on fresh ports, saying so: its
    /// ports are picked free here and bound later by other processes, so another process can
    /// take one in between, and a private broker on a busy box can be slow to take topics.
    /// Starting is not what a run tests; a second failure is the harness error, naming both.
    ///
    /// # Errors
    /// The step that failed, with the log file to read.
    pub async fn start(options: &LocalOptions) -> anyhow::Result<Self> {
        stack::infra::ensure_up()
            .await
            .context("local infrastructure")?;
        let first = match Self::start_once(options, 1).await {
            Ok(stack) => return Ok(stack),
            Err((error, suffix)) => {
                drop_databases(&database_names(&suffix)).await;
                error
            }
        };
        eprintln!(
            "chaos: the local stack did not start ({first:#}); starting it again on fresh ports"
        );
        match Self::start_once(options, 2).await {
            Ok(stack) => Ok(stack),
            Err((second, suffix)) => {
                drop_databases(&database_names(&suffix)).await;
                Err(second.context(format!("the second start (the first: {first:#})")))
            }
        }
    }

    /// One try of [`LocalStack::start`]; on failure, the error and the run's suffix (its
    /// databases are named after it). Processes it started end with it (dropped).
    async fn start_once(
        options: &LocalOptions,
        attempt: u32,
    ) -> Result<Self, (anyhow::Error, String)> {
        let suffix = uuid::Uuid::new_v4().simple().to_string()[..12].to_string();
        Self::start_with(options, attempt, &suffix)
            .await
            .map_err(|e| (e, suffix))
    }

    async fn start_with(
        options: &LocalOptions,
        attempt: u32,
        suffix: &str,
    ) -> anyhow::Result<Self> {
        let logs = options.run_dir.join("logs");
        std::fs::create_dir_all(&logs)
            .with_context(|| format!("cannot create {}", logs.display()))?;
        let suffix = suffix.to_string();

        // The proxy, and the ports everything will use.
        let proxy = ProxyServer::start("127.0.0.1:0")
            .await
            .context("cannot start the fault proxy")?;
        let toxiproxy = ToxiproxyClient::new(proxy.url());
        let (pg, redis, kafka, broker) = (free_port()?, free_port()?, free_port()?, free_port()?);
        let upstreams = [
            ("postgres", pg, "127.0.0.1:5432".to_string()),
            ("redis", redis, "127.0.0.1:6379".to_string()),
            ("kafka", kafka, format!("127.0.0.1:{broker}")),
        ];
        for (name, listen, upstream) in &upstreams {
            toxiproxy
                .create_proxy(&ProxyConfig {
                    name: (*name).into(),
                    listen: format!("127.0.0.1:{listen}"),
                    upstream: upstream.clone(),
                    enabled: Some(true),
                })
                .await
                .with_context(|| format!("cannot create proxy {name}"))?;
        }

        // A private broker that advertises the proxy.
        let tansu = kit::broker::tansu_binary().map_err(anyhow::Error::msg)?;
        // A second try gets fresh storage: the first broker may have left its file half made.
        let broker_dir = match attempt {
            1 => options.run_dir.join("broker"),
            n => options.run_dir.join(format!("broker-{n}")),
        };
        std::fs::create_dir_all(&broker_dir)?;
        let mut processes = BTreeMap::new();
        let broker_env = vec![
            (
                "LISTENER_URL".to_string(),
                format!("tcp://127.0.0.1:{broker}"),
            ),
            (
                "ADVERTISED_LISTENER_URL".to_string(),
                format!("tcp://127.0.0.1:{kafka}"),
            ),
            (
                "STORAGE_ENGINE".to_string(),
                "sqlite://tansu.db".to_string(),
            ),
        ];
        let broker_process = ManagedProcess::start(
            "broker",
            ProcessSpec {
                program: tansu.into(),
                args: vec!["broker".into()],
                env: broker_env
                    .into_iter()
                    .map(|(k, v)| (k.into(), v.into()))
                    .collect(),
                log_file: logs.join("broker.log"),
                current_dir: Some(broker_dir),
            },
        )
        .context("cannot start tansu (run infra/local/up to install it)")?;
        processes.insert("broker".to_string(), broker_process);
        let brokers = format!("127.0.0.1:{kafka}");
        let prefix = format!("c{suffix}.");
        let topics = kit::kafka::Topics::new(prefix.clone()).all_with_dlt();
        let deadline = Instant::now() + Duration::from_secs(45);
        loop {
            match kit::kafka::ensure_topics(&brokers, &topics, 3).await {
                Ok(()) => break,
                Err(e) if Instant::now() > deadline => {
                    return Err(e).context(format!(
                        "the private broker never took topics (log: {})",
                        logs.join("broker.log").display()
                    ))
                }
                Err(e) => {
                    if let Some(broker) = processes.get_mut("broker") {
                        if !broker.is_running() {
                            return Err(e).context(format!(
                                "the private broker exited ({}); its log: {}",
                                broker.exit().map_or_else(
                                    || "unknown".into(),
                                    crate::nemesis::describe_exit
                                ),
                                logs.join("broker.log").display()
                            ));
                        }
                    }
                    tokio::time::sleep(Duration::from_millis(300)).await;
                }
            }
        }

        // The services, each on a fixed free port so a restart comes back where it was.
        let exe = std::env::current_exe().context("cannot find the chaos executable")?;
        let mut ports = BTreeMap::new();
        for spec in stack::services::SERVICES {
            ports.insert(spec.name, free_port()?);
        }
        let database_names = database_names(&suffix);
        let mut urls = BTreeMap::new();
        for ((service, _), name) in DATABASES.iter().zip(&database_names) {
            urls.insert(
                *service,
                format!("postgres://postgres@127.0.0.1:5432/{name}"),
            );
        }
        for spec in stack::services::SERVICES {
            let mut env: Vec<(String, String)> = vec![
                ("PORT".into(), ports[spec.name].to_string()),
                ("KAFKA_BROKERS".into(), brokers.clone()),
                ("KAFKA_TOPIC_PREFIX".into(), prefix.clone()),
                ("REDIS_URL".into(), format!("redis://127.0.0.1:{redis}")),
                ("REDIS_KEY_PREFIX".into(), format!("chaos:{suffix}:")),
                ("JWT_SECRET".into(), JWT_SECRET.into()),
                ("INTERNAL_SECRET".into(), INTERNAL_SECRET.into()),
                ("ADMIN_EMAIL".into(), ADMIN_EMAIL.into()),
                ("ADMIN_PASSWORD".into(), ADMIN_PASSWORD.into()),
                ("DATABASE_POOL_SIZE".into(), "8".into()),
                // The harness's own stack runs with development secrets.
                (kit::config::MODE_ENV.into(), "dev".into()),
                (
                    "RUST_LOG".into(),
                    std::env::var("CHAOS_SERVICE_LOG").unwrap_or_else(|_| "info".into()),
                ),
            ];
            env.extend(
                options
                    .settings
                    .env()
                    .into_iter()
                    .map(|(k, v)| (k.to_string(), v)),
            );
            if let Some(url) = urls.get(spec.name) {
                // Services reach Postgres through the proxy.
                env.push((
                    "DATABASE_URL".into(),
                    url.replace("127.0.0.1:5432", &format!("127.0.0.1:{pg}")),
                ));
            }
            if spec.name == "gateway" {
                for (other, port) in &ports {
                    if *other != "gateway" {
                        let var = format!(
                            "{}_SERVICE_URL",
                            other.trim_end_matches("-service").to_uppercase()
                        );
                        env.push((var, format!("http://127.0.0.1:{port}")));
                    }
                }
            }
            let process = ManagedProcess::spawn(
                spec.name,
                &exe,
                ["serve", spec.name],
                env,
                logs.join(format!("{}.log", spec.name)),
            )
            .with_context(|| format!("cannot start {}", spec.name))?;
            processes.insert(spec.name.to_string(), process);
        }
        let gateway = format!("http://127.0.0.1:{}", ports["gateway"]);
        let stack = Self {
            gateway,
            toxiproxy,
            processes: Arc::new(tokio::sync::Mutex::new(processes)),
            databases: DatabaseUrls {
                bookings: urls["booking-service"].clone(),
                inventory: urls["inventory-service"].clone(),
                payments: Some(urls["payment-service"].clone()),
                notifications: Some(urls["notification-service"].clone()),
            },
            database_names,
            proxy: Some(proxy),
            suffix,
            kafka_brokers: brokers,
            topic_prefix: prefix,
        };
        stack.wait_healthy(Duration::from_secs(120)).await?;
        Ok(stack)
    }

    /// Waits until the gateway's /health/all answers 200.
    ///
    /// # Errors
    /// After `timeout`, naming what was still down.
    pub async fn wait_healthy(&self, timeout: Duration) -> anyhow::Result<()> {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(2))
            .build()?;
        let deadline = Instant::now() + timeout;
        let mut last = String::from("no answer");
        while Instant::now() < deadline {
            match client
                .get(format!("{}/health/all", self.gateway))
                .send()
                .await
            {
                Ok(r) if r.status().is_success() => return Ok(()),
                Ok(r) => last = r.text().await.unwrap_or_default(),
                Err(e) => last = e.to_string(),
            }
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
        anyhow::bail!("the stack was not healthy after {timeout:?}: {last}")
    }

    /// Stops every process and the proxy; drops the run's databases unless `keep`.
    pub async fn stop(mut self, keep_databases: bool) {
        let processes = std::mem::take(&mut *self.processes.lock().await);
        for (_, mut process) in processes {
            let _ = process.stop(Duration::from_secs(5)).await;
        }
        if let Some(proxy) = self.proxy.take() {
            proxy.shutdown().await;
        }
        if !keep_databases {
            drop_databases(&self.database_names).await;
        }
    }
}

/// The databases of the run with this suffix, in the order of `DATABASES`.
fn database_names(suffix: &str) -> Vec<String> {
    DATABASES
        .iter()
        .map(|(_, db)| format!("{db}_{suffix}"))
        .collect()
}

/// Drops databases of a run (those it kept, once done with them).
pub async fn drop_databases(names: &[String]) {
    use sqlx::Connection;
    if let Ok(mut conn) =
        sqlx::PgConnection::connect("postgres://postgres@127.0.0.1:5432/postgres").await
    {
        for db in names {
            let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS \"{db}\" WITH (FORCE)"))
                .execute(&mut conn)
                .await;
        }
    }
}
