//! librdkafka clients with the services' settings, the admin client, and the names a run uses.

use std::net::ToSocketAddrs;
use std::time::Duration;

use anyhow::{bail, Context};
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use uuid::Uuid;

/// How long an admin request (metadata, create, delete) may take before the run gives up.
const ADMIN_TIMEOUT: Duration = Duration::from_secs(10);

/// A `bootstrap.servers` list whose every address is on loopback (checked when parsed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Brokers(String);

impl Brokers {
    /// Parses `host:port[,host:port...]`; every host must resolve to loopback addresses only.
    ///
    /// # Errors
    /// When an entry is not `host:port`, does not resolve, or is not loopback.
    pub fn parse(list: &str) -> Result<Self, String> {
        let entries: Vec<&str> = list.split(',').map(str::trim).collect();
        if entries.iter().any(|e| e.is_empty()) {
            return Err("expected host:port[,host:port...]".into());
        }
        for entry in &entries {
            let addrs: Vec<_> = entry
                .to_socket_addrs()
                .map_err(|e| format!("{entry}: not host:port ({e})"))?
                .collect();
            if addrs.is_empty() || addrs.iter().any(|a| !a.ip().is_loopback()) {
                return Err(format!("{entry} is not a loopback address (this bench runs against a local broker only)"));
            }
        }
        Ok(Self(entries.join(",")))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for Brokers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// The names of one run: `bench.<12 hex>.<what>`, never a `ticketflow.*` topic or group. The
/// topics stay on the broker (see [`Cleanup`]).
#[derive(Debug, Clone)]
pub struct RunNames {
    pub run: String,
}

impl RunNames {
    pub fn new() -> Self {
        Self {
            run: format!("bench.{}", &Uuid::new_v4().simple().to_string()[..12]),
        }
    }

    /// A topic (or group) name of this run.
    pub fn name(&self, what: &str) -> String {
        format!("{}.{what}", self.run)
    }
}

impl Default for RunNames {
    fn default() -> Self {
        Self::new()
    }
}

/// The outbox relay's producer settings (`kit::kafka::producer_config`): idempotent, acks=all,
/// linger.ms=1.
pub fn producer_config(brokers: &Brokers) -> ClientConfig {
    kit::kafka::producer_config(brokers.as_str())
}

/// The services' consumer settings (`kit::kafka::consumer_config`): a group, offsets stored by
/// hand after processing and auto-committed every 500 ms, earliest reset; `fetch.wait.max.ms` is
/// the services' 500 unless `wait_ms` says otherwise. Statistics every second (the services: 5 s
/// or none) feed the fetch-request counter.
pub fn consumer_config(brokers: &Brokers, group: &str, wait_ms: u32) -> ClientConfig {
    let mut config = kit::kafka::consumer_config(brokers.as_str(), group);
    config
        .set("fetch.wait.max.ms", wait_ms.to_string())
        .set("statistics.interval.ms", "1000");
    config
}

/// What deleting a run's consumer groups did (never fails the run). Topics are never deleted:
/// tansu 0.6.0's DeleteTopics on its sqlite engine deletes every topic of the cluster, with all
/// their records (`topic_delete_by.sql` matches the cluster, not the topic; measured: one delete
/// of a bench topic emptied the broker, the saga's `ticketflow.*` topics included).
#[derive(Debug, Clone, Default)]
pub struct Cleanup {
    pub deleted: Vec<String>,
    /// `name: reason` of what could not be deleted.
    pub failed: Vec<String>,
}

impl std::fmt::Display for Cleanup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "deleted {} consumer group(s)", self.deleted.len())?;
        if !self.failed.is_empty() {
            write!(f, ", not {}: {}", self.failed.len(), self.failed.join("; "))?;
        }
        f.write_str("; topics kept (DeleteTopics is unsafe on tansu 0.6.0)")
    }
}

/// rdkafka's admin client on a private current-thread runtime (its futures are completed by
/// librdkafka's own thread; the runtime only waits, with a deadline).
pub struct Admin {
    client: AdminClient<DefaultClientContext>,
    runtime: tokio::runtime::Runtime,
    brokers: Brokers,
}

impl Admin {
    /// Connects and checks that the broker answers and advertises only loopback addresses
    /// (librdkafka follows the advertised ones).
    ///
    /// # Errors
    /// When no broker answers within 10 s, or one it advertises is not on loopback.
    pub fn connect(brokers: &Brokers) -> anyhow::Result<Self> {
        let client: AdminClient<DefaultClientContext> = ClientConfig::new()
            .set("bootstrap.servers", brokers.as_str())
            .create()
            .context("cannot create the Kafka admin client")?;
        let metadata = client
            .inner()
            .fetch_metadata(None, ADMIN_TIMEOUT)
            .with_context(|| format!("no broker answers at {brokers} (run infra/local/up)"))?;
        for broker in metadata.brokers() {
            let advertised = format!("{}:{}", broker.host(), broker.port());
            Brokers::parse(&advertised)
                .map_err(|e| anyhow::anyhow!("the broker advertises {e}"))?;
        }
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .context("cannot start a runtime for the admin client")?;
        Ok(Self {
            client,
            runtime,
            brokers: brokers.clone(),
        })
    }

    fn options() -> AdminOptions {
        AdminOptions::new()
            .operation_timeout(Some(ADMIN_TIMEOUT))
            .request_timeout(Some(ADMIN_TIMEOUT))
    }

    fn wait<T>(
        &self,
        what: &str,
        future: impl std::future::Future<Output = T>,
    ) -> anyhow::Result<T> {
        self.runtime
            .block_on(async {
                tokio::time::timeout(ADMIN_TIMEOUT + Duration::from_secs(2), future).await
            })
            .with_context(|| {
                format!(
                    "{what}: no answer from {} within {ADMIN_TIMEOUT:?}",
                    self.brokers
                )
            })
    }

    /// Creates `topics`, [`PARTITIONS`](super::PARTITIONS) each, replication 1. They must be new.
    ///
    /// # Errors
    /// When the broker refuses one (one that exists already included: names are unique per run).
    pub fn create_topics(&self, topics: &[String]) -> anyhow::Result<()> {
        let new: Vec<NewTopic> = topics
            .iter()
            .map(|t| NewTopic::new(t, super::PARTITIONS, TopicReplication::Fixed(1)))
            .collect();
        let results = self
            .wait(
                "create topics",
                self.client.create_topics(&new, &Self::options()),
            )?
            .with_context(|| format!("cannot create topics at {}", self.brokers))?;
        for result in results {
            if let Err((name, code)) = result {
                bail!("cannot create topic {name}: {code}");
            }
        }
        Ok(())
    }

    /// Deletes `groups` (they must be empty: close their consumers first). tansu 0.6.0 deletes
    /// exactly the named group (`consumer_group_delete.sql` matches cluster and group name).
    /// There is deliberately no topic deletion here: see [`Cleanup`].
    pub fn delete_groups(&self, groups: &[String]) -> Cleanup {
        let mut cleanup = Cleanup::default();
        if groups.is_empty() {
            return cleanup;
        }
        let names: Vec<&str> = groups.iter().map(String::as_str).collect();
        let results = self
            .wait(
                "delete groups",
                self.client.delete_groups(&names, &Self::options()),
            )
            .and_then(|r| r.context("delete groups"));
        match results {
            Ok(results) => {
                for r in results {
                    match r {
                        Ok(name) => cleanup.deleted.push(name),
                        Err((name, code)) => cleanup.failed.push(format!("{name}: {code}")),
                    }
                }
            }
            Err(e) => cleanup
                .failed
                .extend(groups.iter().map(|n| format!("{n}: {e:#}"))),
        }
        cleanup
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn brokers_must_be_loopback() {
        assert_eq!(
            Brokers::parse("127.0.0.1:9092").unwrap().as_str(),
            "127.0.0.1:9092"
        );
        assert!(Brokers::parse("127.0.0.1:9092, [::1]:9093").is_ok());
        assert!(Brokers::parse("localhost:9092").is_ok());
        let far = Brokers::parse("10.1.2.3:9092").unwrap_err();
        assert!(far.contains("not a loopback address"), "{far}");
        assert!(Brokers::parse("127.0.0.1").is_err());
        assert!(Brokers::parse("").is_err());
        assert!(Brokers::parse("127.0.0.1:9092,").is_err());
    }

    #[test]
    fn run_names_are_unique_and_not_the_services() {
        let (a, b) = (RunNames::new(), RunNames::new());
        assert_ne!(a.run, b.run);
        assert!(a.name("lat").starts_with("bench."));
        assert!(!a.name("lat").contains("ticketflow"));
    }
}
