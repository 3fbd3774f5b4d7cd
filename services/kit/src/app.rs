//! What every service does at start and stop, written once.
//!
//! ```text
//!   Infra::connect   Postgres (create db, migrate, kit tables) + Kafka producer + metrics + identity keys
//!   App::new         bound listener + router (+ /health, /metrics, layers)
//!      .worker(..)   background loops (outbox relay, consumers, sweepers) that stop on a token
//!      .run_until_stopped(shutdown)   serve; on shutdown stop accepting, finish requests, stop workers
//!   every(..)        the loop of a periodic worker (expiry, sweeper)
//!   Service + run    a service binary: settings from the process env, build, serve until SIGTERM
//! ```

use std::future::Future;
use std::time::Duration;

use anyhow::Context;
use axum::Router;
use futures::future::BoxFuture;
use rdkafka::producer::FutureProducer;
use sqlx::migrate::Migrator;
use sqlx::PgPool;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::config::{CommonSettings, Env, FromEnv, DEV_INTERNAL_SECRET};
use crate::consumer::{self, ConsumerOptions, Handler};
use crate::consumer_watch::ConsumerWatch;
use crate::db::{connect_and_migrate, PoolSettings};
use crate::health::HealthChecks;
use crate::identity::IdentityKeys;
use crate::kafka::{self, Topics};
use crate::metrics::Metrics;
use crate::outbox::{self, Relay};
use crate::server::with_common_routes;

/// Connections every service holds.
#[derive(Clone)]
pub struct Infra {
    pub name: &'static str,
    pub pool: PgPool,
    pub producer: FutureProducer,
    pub topics: Topics,
    pub metrics: Metrics,
    pub identity: IdentityKeys,
    pub brokers: String,
    /// Assignment, lag and progress of this service's consumer groups (`/health`, `/metrics`).
    pub consumers: ConsumerWatch,
    /// See [`CommonSettings::consumer_rejoin_after`].
    pub consumer_rejoin_after: Option<Duration>,
    /// See [`CommonSettings::consumer_concurrency`].
    pub consumer_concurrency: usize,
    /// See [`CommonSettings::bug_variant`].
    pub bug_variant: Option<crate::bug_variants::BugVariant>,
}

impl Infra {
    /// Connects to the service's database (creating and migrating it) and to Kafka.
    ///
    /// # Errors
    /// When Postgres is unreachable or a migration fails; the error names the database.
    pub async fn connect(
        name: &'static str,
        common: &CommonSettings,
        migrator: &Migrator,
    ) -> anyhow::Result<Self> {
        if common.internal_secret.expose() == DEV_INTERNAL_SECRET {
            tracing::warn!(
                service = name,
                "INTERNAL_SECRET is the development default; set it outside local runs"
            );
        }
        let pool_settings = PoolSettings {
            max_connections: common.database_pool_size,
            ..PoolSettings::default()
        };
        let pool = connect_and_migrate(&common.database_url, migrator, &pool_settings)
            .await
            .with_context(|| format!("{name}: database setup failed"))?;
        sqlx::raw_sql(outbox::SCHEMA)
            .execute(&pool)
            .await
            .context("cannot create outbox/inbox tables")?;
        let producer = kafka::producer(&common.kafka_brokers)?;
        let metrics = Metrics::new(name);
        let consumers = ConsumerWatch::new(&metrics, common.consumer_stall_after)?;
        Ok(Self {
            name,
            pool,
            producer,
            topics: Topics::new(common.topic_prefix.clone()),
            metrics,
            identity: IdentityKeys::new(&common.internal_secret),
            brokers: common.kafka_brokers.clone(),
            consumers,
            consumer_rejoin_after: common.consumer_rejoin_after,
            consumer_concurrency: common.consumer_concurrency,
            bug_variant: common.bug_variant,
        })
    }

    /// Health checks for Postgres, Kafka and this service's consumer groups; services add
    /// Redis etc.
    pub fn health(&self) -> HealthChecks {
        HealthChecks::new(self.name)
            .with_postgres(self.pool.clone())
            .with_kafka(self.producer.clone())
            .with_consumers(self.consumers.clone())
    }

    /// Runs this service's consumer group (named after the service, prefixed like the topics) on
    /// `topics` until `token` is cancelled. A consumer that cannot start is logged, not returned:
    /// the HTTP side keeps serving and /health shows the broker's state.
    pub async fn run_consumer(
        self,
        topics: &[&'static str],
        handler: Handler,
        token: CancellationToken,
    ) {
        let mut options = ConsumerOptions::new(&self.topics.group(self.name), topics);
        options.rejoin_after = self.consumer_rejoin_after;
        options.concurrency = self.consumer_concurrency;
        options.drop_dead_letters = crate::bug_variants::is_on(
            self.bug_variant,
            crate::bug_variants::BugVariant::DeadLettersDropped,
        );
        let run = consumer::run(
            &self.brokers,
            &self.topics,
            self.producer.clone(),
            self.metrics.clone(),
            self.consumers.clone(),
            options,
            handler,
            token,
        );
        if let Err(e) = run.await {
            tracing::error!(
                service = self.name,
                error = format!("{e:#}"),
                "consumer stopped"
            );
        }
    }

    /// The outbox relay for this service's database.
    pub fn relay(&self) -> Relay {
        Relay::new(
            self.pool.clone(),
            self.producer.clone(),
            &self.brokers,
            self.metrics.clone(),
        )
    }

    /// The service's app on `address`: `routes` behind the common ones (health, metrics), with
    /// the outbox relay as its first worker. Every service with an outbox starts this way.
    ///
    /// # Errors
    /// When `address` cannot be bound.
    pub async fn app_with_relay(&self, address: &str, routes: Router) -> anyhow::Result<App> {
        let relay = self.relay();
        Ok(App::bind(
            self.name,
            address,
            routes,
            self.metrics.clone(),
            self.health(),
        )
        .await?
        .worker("outbox-relay", move |token| {
            relay.run(token.cancelled_owned())
        }))
    }
}

/// A periodic worker's loop: runs `pass` every `interval` until `token` is cancelled. A slow pass
/// delays the next tick instead of bunching the missed ones; a pass under way is finished.
pub async fn every<F, Fut>(interval: Duration, token: CancellationToken, mut pass: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = ()>,
{
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = ticker.tick() => {},
            _ = token.cancelled() => return,
        }
        pass().await;
    }
}

type Worker = Box<dyn FnOnce(CancellationToken) -> BoxFuture<'static, ()> + Send>;

/// A bound service: its HTTP routes and its background workers.
pub struct App {
    name: &'static str,
    listener: TcpListener,
    router: Router,
    workers: Vec<(&'static str, Worker)>,
}

impl App {
    /// Binds `address` (port 0 picks one) and wraps `routes` with the shared routes and layers.
    ///
    /// # Errors
    /// When the address cannot be bound (the error names it).
    pub async fn bind(
        name: &'static str,
        address: &str,
        routes: Router,
        metrics: Metrics,
        health: HealthChecks,
    ) -> anyhow::Result<Self> {
        let listener = TcpListener::bind(address)
            .await
            .with_context(|| format!("{name}: cannot bind {address}"))?;
        Ok(Self {
            name,
            listener,
            router: with_common_routes(routes, metrics, health),
            workers: Vec::new(),
        })
    }

    /// Adds a background loop; it must return soon after its token is cancelled.
    pub fn worker<F, Fut>(mut self, name: &'static str, run: F) -> Self
    where
        F: FnOnce(CancellationToken) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.workers
            .push((name, Box::new(move |token| Box::pin(run(token)))));
        self
    }

    /// The bound port.
    pub fn port(&self) -> u16 {
        self.listener.local_addr().map(|a| a.port()).unwrap_or(0)
    }

    /// Serves until `shutdown` resolves (or a worker panics), then drains requests and stops the
    /// workers (each gets 5 s).
    ///
    /// # Errors
    /// When the HTTP server fails.
    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let token = CancellationToken::new();
        let mut handles = Vec::new();
        for (worker_name, worker) in self.workers {
            let child = token.child_token();
            let stop_all = token.clone();
            let service = self.name;
            handles.push(tokio::spawn(async move {
                let result = tokio::spawn(worker(child)).await;
                if let Err(e) = result {
                    tracing::error!(service, worker = worker_name, error = %e, "worker crashed; stopping the service");
                    stop_all.cancel();
                }
            }));
        }
        let stop = token.clone();
        let serve_shutdown = async move {
            tokio::select! {
                _ = shutdown => {},
                _ = stop.cancelled() => {},
            }
        };
        tracing::info!(
            service = self.name,
            port = self.listener.local_addr()?.port(),
            "listening"
        );
        // Peer addresses reach handlers (the gateway limits sign-ins per client address).
        let served = axum::serve(
            self.listener,
            self.router
                .into_make_service_with_connect_info::<std::net::SocketAddr>(),
        )
        .with_graceful_shutdown(serve_shutdown)
        .await;
        token.cancel();
        for handle in handles {
            let _ = tokio::time::timeout(Duration::from_secs(5), handle).await;
        }
        tracing::info!(service = self.name, "stopped");
        served.context("HTTP server failed")
    }
}

/// A service as its binary and the stack see it: settings read from an [`Env`], then a build
/// that connects, migrates and binds. Each service's `Application` implements it.
pub trait Service {
    /// The tracing filter when `RUST_LOG` is unset.
    const LOG_FILTER: &'static str = "info,sqlx=warn";

    type Settings: FromEnv;

    /// Connects to the service's dependencies, migrates, binds.
    ///
    /// # Errors
    /// When a dependency is unreachable or the port cannot be bound.
    fn build(settings: Self::Settings) -> impl Future<Output = anyhow::Result<App>> + Send;
}

/// Reads `S`'s settings from `env` and builds it.
///
/// # Errors
/// Bad settings, or what [`Service::build`] returns.
pub async fn build_from_env<S: Service>(env: &Env) -> anyhow::Result<App> {
    S::build(S::Settings::from_env(env)?).await
}

/// A service's `main`: tracing, settings from the process environment, build, serve until
/// SIGTERM/Ctrl-C.
///
/// # Errors
/// Bad settings, an unreachable dependency, or a server that fails.
pub async fn run<S: Service>() -> anyhow::Result<()> {
    crate::telemetry::init(S::LOG_FILTER);
    build_from_env::<S>(&Env::from_process())
        .await?
        .run_until_stopped(crate::server::shutdown_signal())
        .await
}
