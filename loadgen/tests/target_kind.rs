//! A target without Stampede's `/openapi.json` is driven as an original TicketFlow: every
//! booking carries TicketFlow's four fields (eventName, totalAmount = price x seats), and each
//! simulated user sends its own `X-Forwarded-For`, since TicketFlow's gateway limits each
//! address to 100 requests a minute.

mod support;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use loadgen::cli::RunArgs;

fn args(host: String, data: std::path::PathBuf, out: std::path::PathBuf, kind: &str) -> RunArgs {
    RunArgs {
        seats_per_booking: "2".into(),
        target_kind: kind.into(),
        ..support::run_args(&host, data, out)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ticketflow_target_gets_its_booking_body_and_one_address_per_simulated_user() {
    let target = support::start(Arc::new(|| Duration::from_millis(5))).await;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data.json");
    target.data_file(&data, 5);

    loadgen::run::run(&args(
        target.host.clone(),
        data.clone(),
        dir.path().join("a"),
        "auto",
    ))
    .await
    .expect("run");

    let seen = target.bookings();
    assert!(seen.len() >= 60, "{} bookings", seen.len());
    for booking in &seen {
        assert_eq!(booking.body["eventName"], "fake", "{:?}", booking.body);
        assert_eq!(
            booking.body["totalAmount"], 150.0,
            "2 seats at 75.0: {:?}",
            booking.body
        );
        assert_eq!(booking.body["seatIds"].as_array().map(Vec::len), Some(2));
    }
    let addresses: BTreeSet<String> = seen
        .iter()
        .filter_map(|b| b.forwarded_for.clone())
        .collect();
    assert_eq!(
        seen.iter().filter(|b| b.forwarded_for.is_none()).count(),
        0,
        "every booking names its simulated user's address"
    );
    assert!(
        addresses.len() > 1,
        "one address per simulated user, not one for all: {addresses:?}"
    );
    assert!(
        addresses.iter().all(|a| a.starts_with("10.")),
        "{addresses:?}"
    );

    // Told it is Stampede, loadgen claims no address.
    let before = seen.len();
    loadgen::run::run(&args(
        target.host.clone(),
        data,
        dir.path().join("b"),
        "stampede",
    ))
    .await
    .expect("run");
    let later = &target.bookings()[before..];
    assert!(!later.is_empty());
    assert!(later.iter().all(|b| b.forwarded_for.is_none()), "{later:?}");
}
