//! The open model keeps its rate when the target slows down: against a local HTTP target whose
//! POST /api/bookings gets slower every second, arrivals still start at the target rate (within
//! 5 %) while time-to-confirm grows. A closed-model generator would slow down with the target.

mod support;

use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use loadgen::cli::RunArgs;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open_model_keeps_its_rate_while_the_target_slows_down() {
    // 20 ms at the first POST, 70 ms more each second after.
    let first_post: Arc<OnceLock<Instant>> = Arc::default();
    let target = support::start(Arc::new(move || {
        let started = first_post.get_or_init(Instant::now);
        Duration::from_millis(20 + (started.elapsed().as_millis() as u64 * 70) / 1000)
    }))
    .await;
    let host = target.host.clone();
    let dir = tempfile::tempdir().unwrap();
    let data_path = dir.path().join("data.json");
    target.data_file(&data_path, 5);

    let args = RunArgs {
        rate: Some("100/s".into()),
        duration: "8s".into(),
        inflight: 300,
        confirm_timeout: "30s".into(),
        ..support::run_args(&host, data_path, dir.path().join("run"))
    };
    let outcome = loadgen::run::run(&args).await.expect("run");
    let open = outcome
        .summary
        .open_model
        .clone()
        .expect("open model summary");
    eprintln!("open model: {open:?}");
    let rate = open.start_rate_per_s;
    assert!(
        (95.0..=105.0).contains(&rate),
        "start rate {rate:.1}/s is not within 5% of 100/s"
    );
    assert_eq!(open.dropped, 0);
    // Second by second too: every full second of the window started 100 +- 5.
    let timeline = &outcome.summary.timeline;
    for (second, s) in timeline.iter().enumerate().take(8) {
        assert!(
            (95..=105).contains(&s.started),
            "second {second} started {} operations",
            s.started
        );
    }
    assert_eq!(open.started, 800);
    assert_eq!(target.posts(), 800, "every start reached the target");

    // Latency grew with the target's delay (about 20 ms -> 580 ms): the last second's median
    // time-to-confirm is several times the first's.
    let first = timeline
        .iter()
        .find_map(|s| s.ttc_p50_ms)
        .expect("a first second with outcomes");
    let last = timeline
        .iter()
        .rev()
        .find_map(|s| s.ttc_p50_ms)
        .expect("a last second with outcomes");
    eprintln!("ttc p50: first second {first:.1} ms, last second {last:.1} ms");
    assert!(
        last > first * 4.0,
        "ttc p50 went from {first:.1} ms to {last:.1} ms: it should grow with the delay"
    );
}
