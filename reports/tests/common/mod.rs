//! Run folders for the tests.
//!
//! Until real small run folders exist under `reports/tests/fixtures/<name>/`, the folders are
//! generated here in the formats loadgen and chaos write (summary.json with HdrHistograms
//! recorded from known values and encoded exactly like loadgen/src/summary.rs `encode`,
//! faults.json, verdict.json, run-report.json, capacity.json ...). Every test reads its
//! expectations back from the folder's files, never from the generator's parameters, so pointing
//! a test at a real folder is one line: `Fixture::real("name")` instead of `Fixture::chaos(..)`.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use hdrhistogram::Histogram;
use serde_json::{json, Map, Value};

/// A run folder in a temporary directory (removed when dropped).
pub struct Fixture {
    _tmp: tempfile::TempDir,
    pub dir: PathBuf,
}

impl Fixture {
    fn empty(name: &str) -> Fixture {
        let tmp = tempfile::tempdir().expect("temp dir");
        let dir = tmp.path().join(name);
        std::fs::create_dir_all(&dir).expect("fixture dir");
        Fixture { _tmp: tmp, dir }
    }

    /// A copy of the real run folder `reports/tests/fixtures/<name>/` (copied, so rendering does
    /// not write into the repository).
    pub fn real(name: &str) -> Fixture {
        let src = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures")
            .join(name);
        assert!(src.is_dir(), "no fixture folder {}", src.display());
        let f = Fixture::empty(name);
        copy_dir(&src, &f.dir);
        f
    }

    /// A loadgen run folder.
    pub fn loadgen(spec: &RunSpec) -> Fixture {
        let f = Fixture::empty("20261122-051114-3f2a-loadgen");
        write_loadgen(&f.dir, spec);
        if spec.environment {
            write_environment(&f.dir);
        }
        f
    }

    /// A chaos run folder (its loadgen run under `loadgen/`).
    pub fn chaos(spec: &RunSpec) -> Fixture {
        let f = Fixture::empty("20261122-060000-redis-latency");
        write_chaos(&f.dir, spec);
        f
    }

    /// A capacity folder with `steps` loadgen steps.
    pub fn capacity() -> Fixture {
        let f = Fixture::empty("20261122-070000-capacity");
        write_capacity(&f.dir);
        f
    }
}

fn copy_dir(src: &Path, dst: &Path) {
    std::fs::create_dir_all(dst).unwrap();
    for entry in std::fs::read_dir(src).unwrap() {
        let entry = entry.unwrap();
        let to = dst.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &to);
        } else {
            std::fs::copy(entry.path(), to).unwrap();
        }
    }
}

/// What to generate.
#[derive(Debug, Clone)]
pub struct RunSpec {
    pub seconds: usize,
    pub rate: u64,
    pub routes: usize,
    /// (start_s, end_s) of the fault windows; latencies rise inside them.
    pub faults: Vec<(f64, Option<f64>)>,
    /// Writes `timeline[].routes`, `routes[].latency` and `histograms["route:.."]`.
    pub route_latency: bool,
    pub environment: bool,
    pub seed: u64,
    pub ttc_base_ms: f64,
}

impl Default for RunSpec {
    fn default() -> Self {
        RunSpec {
            seconds: 60,
            rate: 40,
            routes: 3,
            faults: Vec::new(),
            route_latency: true,
            environment: true,
            seed: 7,
            ttc_base_ms: 80.0,
        }
    }
}

pub const ROUTES: [&str; 8] = [
    "GET /api/bookings/:id",
    "POST /api/bookings",
    "GET /api/events",
    "GET /api/events/:id",
    "GET /api/events/:id/seats",
    "POST /api/bookings/:id/cancel",
    "POST /api/users/login",
    "GET /api/users/me",
];

pub const HOST: &str = "http://127.0.0.1:3000";

/// xorshift64*: deterministic, no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> f64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 / (1u64 << 53) as f64
    }

    /// A log-normal-ish sample around `median`.
    fn latency(&mut self, median: f64) -> f64 {
        let normal = (0..4).map(|_| self.next()).sum::<f64>() - 2.0;
        median * (normal * 0.9).exp()
    }
}

/// loadgen's histogram: microseconds, 1 us to 1 h, 3 significant digits.
pub fn new_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 3_600_000_000, 3).unwrap()
}

pub use runfiles::histogram::encode;

/// Decodes a `histograms` entry (for the tests' expectations).
pub fn decode(encoded: &str) -> Histogram<u64> {
    runfiles::histogram::decode(encoded).unwrap()
}

fn percentiles(h: &Histogram<u64>) -> Value {
    let ms = |us: u64| us as f64 / 1000.0;
    json!({
        "count": h.len(), "p50_ms": ms(h.value_at_quantile(0.5)), "p90_ms": ms(h.value_at_quantile(0.9)),
        "p95_ms": ms(h.value_at_quantile(0.95)), "p99_ms": ms(h.value_at_quantile(0.99)),
        "p999_ms": ms(h.value_at_quantile(0.999)), "max_ms": ms(h.max()), "mean_ms": h.mean() / 1000.0,
    })
}

fn in_fault(faults: &[(f64, Option<f64>)], t: f64) -> bool {
    faults
        .iter()
        .any(|(s, e)| t >= *s && t < e.unwrap_or(f64::INFINITY))
}

pub fn uuid(a: u64, b: u64) -> String {
    format!("{a:08x}-0000-4000-8000-{b:012x}")
}

/// Writes summary.json and run.json of a loadgen run into `dir`.
pub fn write_loadgen(dir: &Path, spec: &RunSpec) {
    std::fs::create_dir_all(dir).unwrap();
    let mut rng = Rng(spec.seed.max(1).wrapping_mul(0x9E37_79B9_7F4A_7C15));
    let n = spec.seconds;
    let routes: Vec<&str> = ROUTES.iter().copied().cycle().take(spec.routes).collect();
    let mut ttc: std::collections::BTreeMap<String, Histogram<u64>> = Default::default();
    let mut route_h: Vec<Histogram<u64>> = routes.iter().map(|_| new_histogram()).collect();
    let mut route_counts = vec![(0u64, 0u64); routes.len()];
    let mut per_second_ttc: Vec<Option<Histogram<u64>>> = vec![None; n];
    let mut outcomes_per_second: Vec<Map<String, Value>> = vec![Map::new(); n];
    let mut ended = vec![0u64; n];
    let mut route_seconds: Vec<Map<String, Value>> = vec![Map::new(); n];
    let mut totals: std::collections::BTreeMap<&str, u64> = Default::default();
    let mut started_total = 0u64;
    for (i, route_second) in route_seconds.iter_mut().enumerate() {
        let t = i as f64 + 0.5;
        let faulty = in_fault(&spec.faults, t);
        for _ in 0..spec.rate {
            started_total += 1;
            let r = rng.next();
            let outcome = if faulty && r < 0.08 {
                "UNKNOWN"
            } else if r < 0.03 {
                "FAILED"
            } else if r < 0.04 {
                "EXPIRED"
            } else {
                "CONFIRMED"
            };
            *totals.entry(outcome).or_default() += 1;
            let median = if faulty {
                spec.ttc_base_ms * 9.0
            } else {
                spec.ttc_base_ms
            };
            let ms = rng.latency(median);
            let end = (i + (ms / 1000.0) as usize).min(n - 1);
            ended[end] += 1;
            let counter = outcomes_per_second[end].entry(outcome).or_insert(json!(0));
            *counter = json!(counter.as_u64().unwrap() + 1);
            if outcome != "UNKNOWN" {
                let us = (ms * 1000.0).max(1.0) as u64;
                ttc.entry("all".into())
                    .or_insert_with(new_histogram)
                    .record(us)
                    .unwrap();
                ttc.entry(outcome.into())
                    .or_insert_with(new_histogram)
                    .record(us)
                    .unwrap();
                per_second_ttc[end]
                    .get_or_insert_with(new_histogram)
                    .record(us)
                    .unwrap();
            }
        }
        for (k, name) in routes.iter().enumerate() {
            let count = spec.rate * 2 / (k as u64 + 1) + 3;
            let mut h = new_histogram();
            let mut errors = 0;
            for _ in 0..count {
                let median = 4.0 + 6.0 * k as f64;
                let ms = rng.latency(if faulty { median * 6.0 } else { median });
                let us = (ms * 1000.0).max(1.0) as u64;
                h.record(us).unwrap();
                route_h[k].record(us).unwrap();
                if rng.next() < if faulty { 0.1 } else { 0.005 } {
                    errors += 1;
                }
            }
            route_counts[k].0 += count;
            route_counts[k].1 += errors;
            let ms = |q: f64| h.value_at_quantile(q) as f64 / 1000.0;
            route_second.insert(
                (*name).to_string(),
                json!({"count": count, "errors": errors, "p50_ms": ms(0.5), "p95_ms": ms(0.95), "p99_ms": ms(0.99)}),
            );
        }
    }
    let mut in_flight = 0i64;
    let timeline: Vec<Value> = (0..n)
        .map(|i| {
            in_flight += spec.rate as i64 - ended[i] as i64;
            let h = per_second_ttc[i].as_ref();
            let q = |q: f64| h.map(|h| h.value_at_quantile(q) as f64 / 1000.0);
            let mut s = json!({
                "started": spec.rate, "late": 0, "dropped": 0, "outcomes": outcomes_per_second[i],
                "ttc_p50_ms": q(0.5), "ttc_p95_ms": q(0.95), "ttc_p99_ms": q(0.99), "in_flight": in_flight.max(0),
            });
            if spec.route_latency {
                s["routes"] = Value::Object(route_seconds[i].clone());
            }
            s
        })
        .collect();
    let load = n as f64;
    let route_rows: Vec<Value> = routes
        .iter()
        .enumerate()
        .map(|(k, name)| {
            let mut r = json!({"name": name, "count": route_counts[k].0, "failures": route_counts[k].1, "per_s": route_counts[k].0 as f64 / load});
            if spec.route_latency {
                r["latency"] = percentiles(&route_h[k]);
            }
            r
        })
        .collect();
    let mut histograms: Map<String, Value> = ttc
        .iter()
        .map(|(k, h)| (k.clone(), json!(encode(h))))
        .collect();
    if spec.route_latency {
        for (k, name) in routes.iter().enumerate() {
            histograms.insert(format!("route:{name}"), json!(encode(&route_h[k])));
        }
    }
    let p99 = ttc
        .get("all")
        .map_or(0.0, |h| h.value_at_quantile(0.99) as f64 / 1000.0);
    let confirmed = totals.get("CONFIRMED").copied().unwrap_or(0);
    let unknown = totals.get("UNKNOWN").copied().unwrap_or(0);
    let summary = json!({
        "version": 1, "loadgen": "0.1.0", "run_id": "3f2a9c", "host": HOST,
        "event_id": uuid(1, 1), "started_at": "2026-11-22T05:11:14.000+00:00", "ended_at": "2026-11-22T05:12:20.000+00:00",
        "load_seconds": load, "total_seconds": load + 2.0,
        "open_model": {"shape": format!("{}/s for {}s", spec.rate, n), "workers": 500, "scheduled": started_total, "started": started_total,
            "dropped": 0, "late": 0, "target_rate_per_s": spec.rate as f64, "start_rate_per_s": spec.rate as f64,
            "start_delay": {"count": started_total, "p50_ms": 0.1, "p90_ms": 0.2, "p95_ms": 0.3, "p99_ms": 0.5, "p999_ms": 1.0, "max_ms": 2.0, "mean_ms": 0.1}},
        "closed_users": 0,
        "bookings": {"attempted": started_total, "acknowledged": started_total - unknown, "outcomes": totals,
            "confirmed_per_s": confirmed as f64 / load, "sold_out": 0, "cancels_ok": 0, "cancels_failed": 0, "max_in_flight": 120},
        "time_to_confirm": ttc.iter().map(|(k, h)| (k.clone(), percentiles(h))).collect::<Map<String, Value>>(),
        "histograms": histograms,
        "routes": route_rows,
        "thresholds": [
            {"rule": "ttc-p99<500ms", "passed": p99 < 500.0, "observed": format!("{p99:.1}ms")},
            {"rule": "unknown=0", "passed": unknown == 0, "observed": unknown.to_string()},
        ],
        "passed": p99 < 500.0 && unknown == 0,
        "history": {"file": dir.join("history.jsonl").display().to_string(), "ops": started_total * 2, "write_error": null},
        "timeline": timeline,
    });
    std::fs::write(
        dir.join("summary.json"),
        serde_json::to_vec_pretty(&summary).unwrap(),
    )
    .unwrap();
    let run = json!({"args": ["loadgen", "--host", HOST, "--rate", format!("{}/s", spec.rate), "--duration", format!("{n}s")],
        "runId": "3f2a9c", "host": HOST, "eventId": uuid(1, 1), "seed": 42, "users": 50});
    std::fs::write(
        dir.join("run.json"),
        serde_json::to_vec_pretty(&run).unwrap(),
    )
    .unwrap();
    std::fs::write(dir.join("history.jsonl"), "").unwrap();
}

pub fn write_environment(dir: &Path) {
    let env = json!({"hostname": "bench-1", "cpus": 2, "cpu_model": "AMD EPYC 7B13", "memory_bytes": 25_769_803_776u64,
        "os": "Debian GNU/Linux 12 (bookworm)", "kernel": "6.1.0-18-cloud-amd64", "stampede_version": "0.1.0",
        "git_commit": "1a5e390", "captured_at": "2026-11-22T05:11:13.900Z"});
    std::fs::write(
        dir.join("environment.json"),
        serde_json::to_vec_pretty(&env).unwrap(),
    )
    .unwrap();
}

/// The counter-examples the generated verdict holds (booking ids, seat ids).
pub fn invalid_example_ids() -> (Vec<String>, Vec<String>) {
    (
        vec![uuid(0xb00c, 1), uuid(0xb00c, 2)],
        vec![uuid(0x5ea7, 9)],
    )
}

/// Writes a chaos run folder: scenario.toml, faults.json, verdict.json (double_booking
/// INVALID), run-report.json, nemesis.json, environment.json and loadgen/.
pub fn write_chaos(dir: &Path, spec: &RunSpec) {
    let mut load = spec.clone();
    load.environment = false;
    write_loadgen(&dir.join("loadgen"), &load);
    if spec.environment {
        write_environment(dir);
    }
    std::fs::write(
        dir.join("scenario.toml"),
        "# redis-latency\nname = \"redis-latency\"\ndescription = \"Redis 200 ms ± 50 ms late for 15 s\"\n\n[target]\nmode = \"local\"\n\n[load]\nrate = \"40/s\"\nduration = \"60s\"\n",
    )
    .unwrap();
    let descriptions = [
        "redis latency 200ms±50ms downstream",
        "kill -9 inventory-service",
        "restart broker",
    ];
    let faults: Vec<Value> = spec
        .faults
        .iter()
        .enumerate()
        .map(|(i, (start, end))| {
            let target = ["redis", "inventory-service", "broker"][i % 3];
            let action = ["latency", "kill", "restart"][i % 3];
            json!({"fault": i, "description": descriptions[i % 3], "target": target,
                "action": action, "start_s": start, "end_s": end,
                "start_wall": "2026-11-22T06:00:10.000Z", "end_wall": end.map(|_| "2026-11-22T06:00:25.000Z"),
                "max_in_flight": 80, "started": 600, "error": null, "bookings_in_flight": 42})
        })
        .collect();
    std::fs::write(
        dir.join("faults.json"),
        serde_json::to_vec_pretty(&faults).unwrap(),
    )
    .unwrap();
    let (bookings, seats) = invalid_example_ids();
    let verdict = json!({
        "valid": false,
        "invariants": {
            "double_booking": {"valid": false, "counts": {"double_booked_seats": 1, "oversold_events": 0, "seats": 3000},
                "examples": [{"anomaly": "double_booked_seats", "message": format!("seat {} is held by two CONFIRMED bookings", seats[0]),
                    "bookingIds": bookings, "seatIds": seats, "eventId": uuid(1, 1),
                    "ops": [{"index": 1201, "process": 17, "type": "ok", "f": "book", "wall": "2026-11-22T06:00:12.345Z", "invokeIndex": 1188, "invokeWall": "2026-11-22T06:00:12.001Z"}]}],
                "notes": []},
            "liveness": {"valid": true, "counts": {"pending_bookings": 0, "locked_seats": 0}, "examples": [], "notes": []},
            "notifications": {"valid": "unknown", "counts": {}, "examples": [], "notes": ["notifications database not given"]},
        },
        "counts": {"attempted": 2400, "acknowledged": 2390, "lost": 0},
    });
    std::fs::write(
        dir.join("verdict.json"),
        serde_json::to_vec_pretty(&verdict).unwrap(),
    )
    .unwrap();
    let summary: Value =
        serde_json::from_slice(&std::fs::read(dir.join("loadgen/summary.json")).unwrap()).unwrap();
    let report = json!({"scenario": "redis-latency", "run_dir": dir.display().to_string(), "ending": "invariant_violated",
        "thresholds": summary["thresholds"], "faults": faults, "verdict": verdict, "bookings_attempted": summary["bookings"]["attempted"],
        "ttc_p99_in_faults_ms": 1450.5, "ttc_p99_outside_faults_ms": 310.25});
    std::fs::write(
        dir.join("run-report.json"),
        serde_json::to_vec_pretty(&report).unwrap(),
    )
    .unwrap();
    let nemesis = json!([
        {"wall": "2026-11-22T05:59:50.000Z", "process": "inventory-service", "action": "spawn", "pid": 100, "exit": null, "note": null},
        {"wall": "2026-11-22T06:00:50.000Z", "process": "inventory-service", "action": "kill9", "pid": 100, "exit": {"signal": 9}, "note": null},
        {"wall": "2026-11-22T06:01:00.000Z", "process": "inventory-service", "action": "restart", "pid": 131, "exit": null, "note": null},
    ]);
    std::fs::write(
        dir.join("nemesis.json"),
        serde_json::to_vec_pretty(&nemesis).unwrap(),
    )
    .unwrap();
    std::fs::write(dir.join("final-state.json"), "{}").unwrap();
}

/// Writes a capacity folder: five 10 s loadgen steps at 10..50/s, 30/s sustainable.
pub fn write_capacity(dir: &Path) {
    let rates = [10.0, 20.0, 30.0, 40.0, 50.0];
    let mut steps = Vec::new();
    for (i, rate) in rates.iter().enumerate() {
        let run_dir = format!("steps/{:02}-{rate:.1}", i + 1);
        let spec = RunSpec {
            seconds: 10,
            rate: *rate as u64,
            routes: 2,
            ttc_base_ms: 30.0 * (1.0 + (i * i) as f64),
            seed: i as u64 + 1,
            ..RunSpec::default()
        };
        write_loadgen(&dir.join(&run_dir), &spec);
        let summary: Value = serde_json::from_slice(
            &std::fs::read(dir.join(&run_dir).join("summary.json")).unwrap(),
        )
        .unwrap();
        let p99 = summary["time_to_confirm"]["all"]["p99_ms"]
            .as_f64()
            .unwrap();
        // The top step: nothing reached a terminal status in time (null percentiles, as chaos writes them).
        let p50 = if i == rates.len() - 1 {
            Value::Null
        } else {
            summary["time_to_confirm"]["all"]["p50_ms"].clone()
        };
        steps.push(json!({"phase": if i < 4 { "ramp" } else { "refine" }, "rate_per_s": rate, "run_dir": run_dir, "dropped": 0, "attempted": summary["bookings"]["attempted"], "start_rate_per_s": rate, "confirmed_per_s": summary["bookings"]["confirmed_per_s"],
            "ttc_p50_ms": p50, "ttc_p99_ms": p99, "error_rate": 0.002 * (i as f64 + 1.0),
            "passed": i < 3, "failed_rules": if i < 3 { vec![] } else { vec!["ttc-p99<500ms"] }}));
    }
    let capacity = json!({"version": 1, "scenario": "smoke", "target": HOST, "slo": ["ttc-p99<500ms", "error-rate<1%"], "step_seconds": 10,
        "steps": steps, "sustainable_rate_per_s": 30.0, "first_failing_rate_per_s": 40.0, "knee_rate_per_s": 35.0,
        "confidence": "medium: one run per step",
        "verification": [{"fraction": 0.8, "rate_per_s": 24.0, "passed": true, "ttc_p99_ms": 210.5, "error_rate": 0.001, "as_expected": true},
            {"fraction": 1.5, "rate_per_s": 45.0, "passed": false, "ttc_p99_ms": null, "error_rate": 0.2, "as_expected": true}]});
    std::fs::write(
        dir.join("capacity.json"),
        serde_json::to_vec_pretty(&capacity).unwrap(),
    )
    .unwrap();
}

/// Reads a JSON file of a fixture.
pub fn read(path: &Path) -> Value {
    serde_json::from_slice(
        &std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display())),
    )
    .unwrap()
}

/// The `<svg class="chart" ...>...</svg>` elements of a page.
pub fn charts(html: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = html;
    while let Some(start) = rest.find("<svg class=\"chart\"") {
        let end = rest[start..].find("</svg>").expect("closed svg") + start + "</svg>".len();
        out.push(&rest[start..end]);
        rest = &rest[end..];
    }
    out
}

/// The `<tr ...attr="value"...>...</tr>` row of a page.
pub fn row<'a>(html: &'a str, attr: &str, value: &str) -> &'a str {
    let marker = format!("<tr {attr}=\"{}\"", reports::format::esc(value));
    let start = html
        .find(&marker)
        .unwrap_or_else(|| panic!("no row {marker}"));
    let end = html[start..].find("</tr>").unwrap() + start;
    &html[start..end]
}
