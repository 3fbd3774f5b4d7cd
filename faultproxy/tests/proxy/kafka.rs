//! Kafka through the proxy: a tansu broker of the test's own (sqlite storage in a temp dir)
//! advertises the proxy's address, so every client connection goes through the proxy. With a
//! `timeout` toxic (timeout 0) a produce stalls; once the toxic is removed it completes (the
//! toxic's removal closes the dead connections, librdkafka reconnects and retries) and the
//! message is consumed.
//!
//! The broker binary is `$TANSU_BIN`, else `tansu` in `$CARGO_HOME/bin`, `~/.cargo/bin` or on
//! `PATH`. If it is missing the test fails with the install command: CI installs it first.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use faultproxy::{Timeout, Toxic};
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{Message, Offset, TopicPartitionList};
use tokio::net::TcpStream;
use tokio::process::{Child, Command};

use crate::helpers::{bounded, free_port, unique, TestApp};

/// Where the tansu binary is (the workspace's one lookup); panics with how to install it.
fn tansu_bin() -> PathBuf {
    kit::broker::tansu_binary().unwrap_or_else(|e| panic!("{e}"))
}

/// A tansu broker on `port`, advertising `advertised`, storing in `dir`; killed on drop.
async fn start_tansu(bin: &Path, port: u16, advertised: std::net::SocketAddr, dir: &Path) -> Child {
    let log = std::fs::File::create(dir.join("tansu.log")).unwrap();
    let mut child = Command::new(bin)
        .arg("broker")
        .arg("--listener-url")
        .arg(format!("tcp://127.0.0.1:{port}"))
        .arg("--advertised-listener-url")
        .arg(format!("tcp://{advertised}"))
        // tansu opens a sqlite path relative to its working directory (even "sqlite:///abs"),
        // so it runs in the temp dir.
        .arg("--storage-engine")
        .arg("sqlite://tansu.db")
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", bin.display()));
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            let log = std::fs::read_to_string(dir.join("tansu.log")).unwrap_or_default();
            panic!("tansu exited with {status} before listening:\n{log}");
        }
        if TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
            return child;
        }
        assert!(
            Instant::now() < deadline,
            "tansu did not listen on {port} within 20 s"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kafka_produce_stalls_under_timeout_toxic_and_completes_after_removal() {
    bounded(Duration::from_secs(150), async {
        let bin = tansu_bin();
        let app = TestApp::spawn().await;
        let dir = tempfile::tempdir().unwrap();
        let broker_port = free_port();
        let name = unique("kafka");
        let proxy = app.proxy(&name, format!("127.0.0.1:{broker_port}")).await;
        let mut broker = start_tansu(&bin, broker_port, proxy, dir.path()).await;
        let bootstrap = proxy.to_string();

        let topic = unique("chaos-proxy");
        let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
            .set("bootstrap.servers", &bootstrap)
            .create()
            .unwrap();
        let created = admin
            .create_topics(
                &[NewTopic::new(&topic, 1, TopicReplication::Fixed(1))],
                &AdminOptions::new().operation_timeout(Some(Duration::from_secs(10))),
            )
            .await
            .expect("create topics request");
        assert!(created.iter().all(Result::is_ok), "{created:?}");

        let producer: FutureProducer = ClientConfig::new()
            .set("bootstrap.servers", &bootstrap)
            .set("acks", "all")
            .set("message.timeout.ms", "90000")
            .create()
            .unwrap();
        let before = producer
            .send(
                FutureRecord::to(&topic).key("k").payload("before"),
                Duration::from_secs(5),
            )
            .await
            .expect("produce through the proxy");
        println!("produced 'before' at offset {}", before.offset);

        // Requests are swallowed: the produce cannot complete.
        app.client
            .add_toxic(&name, &Toxic::new(Timeout { timeout: 0 }).upstream())
            .await
            .unwrap();
        let mut during = producer
            .send_result(FutureRecord::to(&topic).key("k").payload("during"))
            .map_err(|(e, _)| e)
            .expect("enqueue");
        let stalled = tokio::time::timeout(Duration::from_secs(4), &mut during).await;
        assert!(
            stalled.is_err(),
            "produce must stall under the timeout toxic: {stalled:?}"
        );
        println!("produce stalled for 4 s under the timeout toxic");

        let removed = Instant::now();
        app.client
            .remove_toxic(&name, "timeout_upstream")
            .await
            .unwrap();
        let delivered = tokio::time::timeout(Duration::from_secs(60), during)
            .await
            .expect("produce completes after the toxic is removed")
            .expect("producer alive")
            .map_err(|(e, _)| e)
            .expect("delivered");
        println!(
            "produced 'during' at offset {} {:?} after removal",
            delivered.offset,
            removed.elapsed()
        );

        let consumer: StreamConsumer = ClientConfig::new()
            .set("bootstrap.servers", &bootstrap)
            .set("group.id", unique("chaos-proxy-test"))
            .set("enable.auto.commit", "false")
            .set("auto.offset.reset", "earliest")
            .create()
            .unwrap();
        let mut partitions = TopicPartitionList::new();
        partitions
            .add_partition_offset(&topic, 0, Offset::Beginning)
            .unwrap();
        consumer.assign(&partitions).unwrap();
        let mut seen = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(30);
        while !seen.iter().any(|p: &String| p == "during") {
            let left = deadline.saturating_duration_since(Instant::now());
            let message = tokio::time::timeout(left, consumer.recv())
                .await
                .unwrap_or_else(|_| panic!("consumed only {seen:?} within 30 s"))
                .expect("consume through the proxy");
            seen.push(String::from_utf8_lossy(message.payload().unwrap_or_default()).into_owned());
        }
        println!("consumed {seen:?}");
        assert_eq!(seen.first().map(String::as_str), Some("before"));

        // A group consumer's drop waits until it has left the group; close it while the broker answers.
        drop(consumer);
        broker.kill().await.unwrap();
    })
    .await;
}
