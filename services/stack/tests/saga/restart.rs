//! A restart never stalls the saga: the whole stack stopped and started again at once, one
//! service killed with -9 and started again at once, the broker restarted: the next booking
//! confirms within 15 s. Before the fix an immediate restart left the consumer groups assigned
//! nothing on tansu 0.6.0 and every booking expired (`kit::consumer`'s docs say why).

use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use kit::testing::PrivateBroker;
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use uuid::Uuid;

use crate::helpers::{json_of, text_of, SagaStack, StackOptions};

/// What "within seconds" means for the saga after a restart (issue 22).
const RESUMES_WITHIN: Duration = Duration::from_secs(15);

/// Books `seat` for a fresh user and waits until the booking is CONFIRMED within `within`;
/// returns the booking and how long it took.
async fn confirmed_within(
    stack: &SagaStack,
    event: Uuid,
    seat: Uuid,
    within: Duration,
) -> (Uuid, Duration) {
    let started = Instant::now();
    let (_, token) = stack.user_token();
    let (booking, done) = stack
        .book_until_terminal(&token, event, &[seat], within)
        .await;
    assert_eq!(done["status"], "CONFIRMED", "booking {booking}: {done}");
    (booking, started.elapsed())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_whole_stack_stopped_and_started_again_at_once_confirms_within_15_s() {
    let (mut stack, event, seats) = SagaStack::start_with_event(StackOptions::default()).await;
    confirmed_within(&stack, event, seats[0], Duration::from_secs(60)).await;

    for (round, seat) in [(1, seats[1]), (2, seats[2])] {
        let stopping = Instant::now();
        stack.restart_all().await;
        println!(
            "round {round}: stack stopped and started again in {:.1} s",
            stopping.elapsed().as_secs_f64()
        );
        let (_, took) = confirmed_within(&stack, event, seat, RESUMES_WITHIN).await;
        println!(
            "round {round}: first booking after the restart CONFIRMED in {:.1} s",
            took.as_secs_f64()
        );
    }
}

/// One service run as its own process (`stack serve NAME`), so it can be killed with -9.
struct ChildService {
    name: &'static str,
    child: tokio::process::Child,
    log: PathBuf,
}

impl ChildService {
    /// Starts `name` with the in-process stack's settings for it on `port`, and waits until its
    /// /health answers 200.
    async fn start(stack: &SagaStack, name: &'static str, port: u16) -> Self {
        let log = std::env::temp_dir().join(format!(
            "stampede-{name}-{}.log",
            kit::testing::unique_suffix()
        ));
        let out = std::fs::File::create(&log).expect("log file");
        let port_text = port.to_string();
        let env = stack.service_env(name, &[("PORT", &port_text), ("RUST_LOG", "warn")]);
        let child = tokio::process::Command::new(env!("CARGO_BIN_EXE_stack"))
            .args(["serve", name])
            .envs(env)
            .stdin(Stdio::null())
            .stdout(out.try_clone().expect("log file"))
            .stderr(out)
            .kill_on_drop(true)
            .spawn()
            .expect("stack serve starts");
        let service = Self { name, child, log };
        let url = format!("http://127.0.0.1:{port}/health");
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let ok = stack
                .client
                .get(&url)
                .send()
                .await
                .is_ok_and(|r| r.status().is_success());
            if ok {
                return service;
            }
            assert!(
                Instant::now() < deadline,
                "{name} (child) not healthy in 30 s; log {}",
                service.log.display()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// `kill -9`, and waits until it is gone.
    async fn kill9(mut self) {
        self.child.kill().await.expect("SIGKILL");
    }

    /// SIGTERM, as `stack up` stops it, and waits.
    async fn stop(mut self) {
        let pid = self.child.id().expect("running") as i32;
        kill(Pid::from_raw(pid), Signal::SIGTERM).expect("SIGTERM");
        let status = tokio::time::timeout(Duration::from_secs(20), self.child.wait())
            .await
            .unwrap_or_else(|_| {
                panic!(
                    "{} did not stop on SIGTERM in 20 s; log {}",
                    self.name,
                    self.log.display()
                )
            });
        assert!(status.is_ok());
        let _ = std::fs::remove_file(&self.log);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_service_killed_with_sigkill_and_started_again_at_once_resumes_within_15_s() {
    let (mut stack, event, seats) = SagaStack::start_with_event(StackOptions::default()).await;
    let mut seats = seats.into_iter();
    for name in [
        "booking-service",
        "inventory-service",
        "payment-service",
        "notification-service",
    ] {
        // The in-process service makes room for a process of its own on the same port.
        let port = stack.port_of(name);
        stack.stop_service_and_wait(name).await;
        let child = ChildService::start(&stack, name, port).await;
        confirmed_within(
            &stack,
            event,
            seats.next().unwrap(),
            Duration::from_secs(60),
        )
        .await;

        child.kill9().await;
        let killed = Instant::now();
        let child = ChildService::start(&stack, name, port).await;
        let (booking, took) =
            confirmed_within(&stack, event, seats.next().unwrap(), RESUMES_WITHIN).await;
        if name == "notification-service" {
            // CONFIRMED does not wait for notification-service: its own work must resume too.
            let deadline = killed + RESUMES_WITHIN + Duration::from_secs(5);
            while stack.notifications(booking).await != ["CONFIRMED"] {
                assert!(
                    Instant::now() < deadline,
                    "no confirmation notification for {booking} after the restart"
                );
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
        println!(
            "{name}: killed -9 and started again; next booking CONFIRMED in {:.1} s ({:.1} s after the kill)",
            took.as_secs_f64(),
            killed.elapsed().as_secs_f64()
        );
        child.stop().await;
        let port_text = port.to_string();
        stack
            .start_service_with(name, &[("PORT", &port_text)])
            .await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_broker_killed_and_started_again_at_once_confirms_within_15_s() {
    let mut broker = PrivateBroker::start().await;
    let (stack, event, seats) = SagaStack::start_with_event(StackOptions {
        brokers: Some(broker.address()),
        ..StackOptions::default()
    })
    .await;
    confirmed_within(&stack, event, seats[0], Duration::from_secs(60)).await;

    broker.kill().await;
    broker.spawn().await;
    let (_, took) = confirmed_within(&stack, event, seats[1], RESUMES_WITHIN).await;
    println!(
        "broker restarted at once; next booking CONFIRMED in {:.1} s",
        took.as_secs_f64()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_consumer_assigned_nothing_shows_in_health_and_metrics_and_clears_when_it_recovers() {
    use kit::testing::{unique_suffix, TEST_INTERNAL_SECRET};
    let broker = PrivateBroker::start().await;
    let prefix = format!("t{}.", unique_suffix());
    kit::kafka::ensure_topics(
        &broker.address(),
        &kit::kafka::Topics::new(prefix.clone()).all_with_dlt(),
        3,
    )
    .await
    .expect("topics on the private broker");
    let database = format!(
        "{}/ticketflow_payments_{}",
        kit::testing::postgres_server(),
        unique_suffix()
    );
    let address = broker.address();
    let env = kit::config::Env::from_pairs(&[
        ("PORT", "0"),
        ("DATABASE_URL", &database),
        ("DATABASE_POOL_SIZE", "3"),
        ("KAFKA_BROKERS", &address),
        ("KAFKA_TOPIC_PREFIX", &prefix),
        ("INTERNAL_SECRET", TEST_INTERNAL_SECRET),
        (kit::config::MODE_ENV, "dev"),
        ("CONSUMER_STALL_AFTER_MS", "2000"),
        ("CONSUMER_REJOIN_AFTER_MS", "0"),
    ]);
    let built = stack::services::build("payment-service", &env)
        .await
        .expect("payment-service builds");
    let base = format!("http://127.0.0.1:{}", built.port());
    // The broker accepts connections and answers nothing: the consumer can never be assigned.
    let broker_pid = Pid::from_raw(broker.pid().expect("broker runs") as i32);
    kill(broker_pid, Signal::SIGSTOP).expect("SIGSTOP the broker");
    let stop = tokio_util::sync::CancellationToken::new();
    let stopped = stop.clone();
    let service = tokio::spawn(built.run_until_stopped(async move { stopped.cancelled().await }));
    let client = reqwest::Client::new();
    let group = format!("{prefix}payment-service");

    let started = Instant::now();
    let stalled = consumers_become(&client, &base, "down", Duration::from_secs(30)).await;
    println!(
        "stall shown in /health after {:.1} s: {stalled}",
        started.elapsed().as_secs_f64()
    );
    assert!(
        stalled["error"]
            .as_str()
            .unwrap()
            .contains("assigned no partition"),
        "{stalled}"
    );
    let metrics = metrics_of(&client, &base).await;
    assert_eq!(
        kit::testing::metric(&metrics, "kafka_consumer_stalled", &[("group", &group)]),
        Some(1.0),
        "{metrics}"
    );

    kill(broker_pid, Signal::SIGCONT).expect("SIGCONT the broker");
    consumers_become(&client, &base, "up", Duration::from_secs(60)).await;
    let metrics = metrics_of(&client, &base).await;
    let assigned: f64 = metrics
        .lines()
        .filter(|l| l.starts_with("kafka_consumer_assigned_partitions{") && l.contains(&group))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum();
    assert_eq!(
        assigned, 9.0,
        "payment-service holds its 3 topics x 3 partitions: {metrics}"
    );
    stop.cancel();
    let _ = tokio::time::timeout(Duration::from_secs(20), service).await;
}

/// Polls the service's `/health` until its `consumers` check has `status`; returns the check.
async fn consumers_become(
    client: &reqwest::Client,
    base: &str,
    status: &str,
    within: Duration,
) -> serde_json::Value {
    let started = Instant::now();
    loop {
        let body = json_of(client.get(format!("{base}/health"))).await;
        let check = body["checks"]["consumers"].clone();
        if check["status"] == status {
            return check;
        }
        assert!(
            started.elapsed() < within,
            "consumers not {status} after {within:?}: {check}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

async fn metrics_of(client: &reqwest::Client, base: &str) -> String {
    text_of(client.get(format!("{base}/metrics"))).await
}
