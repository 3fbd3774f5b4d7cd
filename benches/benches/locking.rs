//! Seat locking strategies against real Redis (127.0.0.1:6379) and Postgres (127.0.0.1:5432).
//!
//! ```text
//!   lock_release/<strategy>/<k>    one booking at a time: lock k seats, release them   (k = 1, 4, 10)
//!   contention/<strategy>/<n>      n concurrent lockers, 4 seats each, 80 % of picks on 20 % of 1,000 seats
//! ```
//!
//! Throughput is per lock + release (lock_release) and per attempt (contention). The contention
//! benches also print acquisitions/s and the conflict rate, and append them as JSON lines to
//! `$STAMPEDE_BENCH_OUT` when set (`locking-limits.sh` reads them).
//!
//! `cargo bench -p benches` measures; `cargo test --workspace --bench locking` (debug) or
//! `cargo bench -p benches -- --test` (release) runs every bench once (CI).
//!
//! `STAMPEDE_LOCK_SCRIPT=lock|release cargo bench -q -p benches --bench locking` prints the source of
//! inventory-service's lock or release script instead, byte for byte, so `locking-limits.sh` can
//! `SCRIPT LOAD` the very script the service runs for redis-benchmark's EVALSHA without a second
//! release build.

use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use benches::{Attempt, Contention, HotSpot, Rig, Strategy, Tally};
use criterion::{criterion_group, BenchmarkId, Criterion, Throughput};
use inventory_service::locks::{LOCK_ALL, RELEASE_OWNED};
use tokio::runtime::Runtime;
use uuid::Uuid;

/// Seats per lock attempt in the single-booking benches.
const SEAT_COUNTS: [usize; 3] = [1, 4, 10];
/// Concurrent lockers in the contention benches.
const LOCKERS: [usize; 3] = [1, 8, 64];
/// Seats per attempt under contention.
const CONTENTION_K: usize = 4;
/// Seats of the contention pool.
const POOL: usize = 1000;
/// Postgres connections the contention lockers share (the server allows 100 for everyone).
const CONTENTION_CONNECTIONS: u32 = 32;

fn rig(runtime: &Runtime, connections: u32) -> Rig {
    runtime.block_on(Rig::connect(connections)).expect(
        "Redis at 127.0.0.1:6379 and Postgres at 127.0.0.1:5432 are required (run infra/local/up)",
    )
}

fn cleanup(runtime: &Runtime, rig: Rig) {
    let (prefix, database) = (rig.prefix().to_string(), rig.database().to_string());
    match runtime.block_on(rig.cleanup()) {
        Ok(keys) => {
            eprintln!("benches: deleted {keys} keys {prefix}*, dropped database {database}")
        }
        Err(e) => eprintln!("benches: cleanup of {prefix}* / {database} failed: {e:#}"),
    }
}

/// One booking at a time: the cost of lock + release per strategy and seat count.
fn lock_release(c: &mut Criterion) {
    // One thread, as one consumer handling one message: no cross-thread wake-ups in the numbers.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let rig = rig(&runtime, 2);
    let event = runtime.block_on(rig.event(POOL)).expect("seats inserted");
    let mut group = c.benchmark_group("lock_release");
    group.throughput(Throughput::Elements(1));
    // Postgres strategies take milliseconds (each commit waits for the WAL flush); 30 samples fit.
    group.sample_size(30);
    let mut next_seat = 0;
    // k outer: strategies compared at the same k run next to each other (the machine's load drifts).
    for k in SEAT_COUNTS {
        for strategy in Strategy::ALL {
            // Each bench its own seats, so nothing one bench did can be in another's way.
            let seats = event.seats[next_seat..next_seat + k].to_vec();
            next_seat += k;
            group.bench_with_input(BenchmarkId::new(strategy.name(), k), &seats, |b, seats| {
                b.to_async(&runtime).iter(|| async {
                    let booking = Uuid::new_v4();
                    let attempt = rig
                        .lock(strategy, event.id, booking, seats)
                        .await
                        .expect("lock");
                    assert_eq!(
                        attempt,
                        Attempt::Acquired,
                        "{strategy:?}: nobody else wants these seats"
                    );
                    rig.release(strategy, event.id, booking, seats)
                        .await
                        .expect("release");
                });
            });
        }
    }
    group.finish();
    cleanup(&runtime, rig);
}

/// n lockers at once on a hot-spot pool: attempts/s, acquisitions/s and the conflict rate.
fn contention(c: &mut Criterion) {
    // Two workers: the machine's cores (shared with Redis and Postgres), as a service would run.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let rig = Arc::new(rig(&runtime, CONTENTION_CONNECTIONS));
    let mut group = c.benchmark_group("contention");
    group.throughput(Throughput::Elements(1));
    group.sample_size(10);
    let seed = AtomicU64::new(1);
    let mut summaries = Vec::new();
    for strategy in Strategy::ALL {
        for lockers in LOCKERS {
            // Built on first use: a bench filtered out on the command line inserts nothing.
            let mut bench: Option<Contention> = None;
            group.bench_function(BenchmarkId::new(strategy.name(), lockers), |b| {
                let bench: &Contention = bench.get_or_insert_with(|| Contention {
                    rig: rig.clone(),
                    event: Arc::new(runtime.block_on(rig.event(POOL)).expect("seats inserted")),
                    strategy,
                    spot: HotSpot::pareto(POOL),
                    lockers,
                    k: CONTENTION_K,
                    tally: Arc::new(Tally::default()),
                });
                b.to_async(&runtime).iter_custom(|attempts| {
                    let seed = seed.fetch_add(1, Ordering::Relaxed);
                    async move { bench.run(attempts, seed).await }
                });
            });
            if let Some(bench) = bench {
                let mut summary = bench.tally.summary();
                summary["strategy"] = strategy.name().into();
                summary["lockers"] = lockers.into();
                summary["k"] = CONTENTION_K.into();
                summaries.push(summary);
            }
        }
    }
    group.finish();
    report(&summaries);
    let rig =
        Arc::try_unwrap(rig).unwrap_or_else(|_| panic!("every bench has finished with the rig"));
    cleanup(&runtime, rig);
}

/// Prints the contention counts and appends them to `$STAMPEDE_BENCH_OUT` (JSON lines).
fn report(summaries: &[serde_json::Value]) {
    if summaries.is_empty() {
        return;
    }
    println!(
        "\ncontention: {CONTENTION_K} seats per attempt, 80 % of picks on 200 of {POOL} seats"
    );
    println!(
        "{:<16} {:>7} {:>12} {:>16} {:>14} {:>7}",
        "strategy", "lockers", "attempts/s", "acquisitions/s", "conflict rate", "errors"
    );
    for s in summaries {
        println!(
            "{:<16} {:>7} {:>12.0} {:>16.0} {:>13.1}% {:>7}",
            s["strategy"].as_str().unwrap_or_default(),
            s["lockers"],
            s["attempts_per_s"].as_f64().unwrap_or_default(),
            s["acquisitions_per_s"].as_f64().unwrap_or_default(),
            100.0 * s["conflict_rate"].as_f64().unwrap_or_default(),
            s["errors"],
        );
    }
    if let Some(path) = std::env::var_os("STAMPEDE_BENCH_OUT") {
        let written = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .and_then(|mut file| summaries.iter().try_for_each(|s| writeln!(file, "{s}")));
        if let Err(e) = written {
            eprintln!("benches: cannot write {}: {e}", path.to_string_lossy());
        }
    }
}

criterion_group!(locking, lock_release, contention);

/// `criterion_main!`, plus the script printer of `locking-limits.sh`.
fn main() {
    if let Some(which) = std::env::var_os("STAMPEDE_LOCK_SCRIPT") {
        let source = match which.to_str() {
            Some("lock") => LOCK_ALL,
            Some("release") => RELEASE_OWNED,
            _ => {
                eprintln!("STAMPEDE_LOCK_SCRIPT must be lock or release");
                std::process::exit(2);
            }
        };
        print!("{source}");
        return;
    }
    locking();
    Criterion::default().configure_from_args().final_summary();
}
