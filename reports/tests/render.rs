//! The pages say what the run folders say: numbers, fault windows, verdicts, capacity, and the
//! page stays self-contained and small.

mod common;

use common::{charts, decode, read, row, Fixture, RunSpec, HOST};
use reports::format::fixed;
use reports::{render_diff, render_run, RenderOptions};

fn chaos_spec() -> RunSpec {
    RunSpec {
        seconds: 90,
        routes: 8,
        faults: vec![(20.0, Some(35.0)), (50.0, Some(60.0)), (75.0, Some(75.0))],
        ..RunSpec::default()
    }
}

fn render(dir: &std::path::Path) -> String {
    let path = render_run(dir, &RenderOptions::default()).expect("renders");
    assert_eq!(path, dir.join("report.html"));
    std::fs::read_to_string(path).unwrap()
}

/// The summary of a loadgen or chaos folder.
fn summary_of(dir: &std::path::Path) -> serde_json::Value {
    let nested = dir.join("loadgen/summary.json");
    read(&if nested.is_file() {
        nested
    } else {
        dir.join("summary.json")
    })
}

#[test]
fn endpoint_and_ttc_p99_cells_equal_the_histograms_p99() {
    p99_cells_equal_the_histograms_p99(&Fixture::chaos(&chaos_spec()));
}

/// A real `chaos run` (scenarios/redis-down.toml on this machine, history and logs left out).
#[test]
fn a_real_chaos_run_shows_its_histograms_p99_and_its_fault_on_every_time_chart() {
    let run = Fixture::real("redis-down");
    p99_cells_equal_the_histograms_p99(&run);
    fault_windows_are_shaded_on_every_time_chart(&run);
}

fn p99_cells_equal_the_histograms_p99(run: &Fixture) {
    let html = render(&run.dir);
    let summary = summary_of(&run.dir);
    let histograms = summary["histograms"].as_object().unwrap();

    let mut checked = 0;
    for route in summary["routes"].as_array().unwrap() {
        let name = route["name"].as_str().unwrap();
        let Some(encoded) = histograms.get(&format!("route:{name}")) else {
            continue;
        };
        let h = decode(encoded.as_str().unwrap());
        let p99 = fixed(h.value_at_quantile(0.99) as f64 / 1000.0);
        let tr = row(&html, "data-route", name);
        assert!(
            tr.contains(&format!("class=\"num p99\">{p99}<")),
            "p99 {p99} of {name} not in its row: {tr}"
        );
        assert!(
            tr.contains(&format!("class=\"num errors\">{}<", route["failures"])),
            "errors of {name}: {tr}"
        );
        checked += 1;
    }
    assert!(checked >= 1, "no route histogram to check");

    for (name, encoded) in histograms.iter().filter(|(k, _)| !k.starts_with("route:")) {
        let h = decode(encoded.as_str().unwrap());
        let tr = row(&html, "data-ttc", name);
        let p99 = fixed(h.value_at_quantile(0.99) as f64 / 1000.0);
        assert!(
            tr.contains(&format!("class=\"num p99\">{p99}<")),
            "ttc p99 {p99} of {name} not in its row: {tr}"
        );
        assert!(
            tr.contains(&format!("class=\"num count\">{}<", h.len())),
            "ttc count of {name}: {tr}"
        );
    }
}

#[test]
fn every_fault_window_is_shaded_on_every_time_chart() {
    fault_windows_are_shaded_on_every_time_chart(&Fixture::chaos(&chaos_spec()));
}

fn fault_windows_are_shaded_on_every_time_chart(run: &Fixture) {
    let html = render(&run.dir);
    let windows = read(&run.dir.join("faults.json")).as_array().unwrap().len();
    assert!(windows > 0);
    let time_charts: Vec<&str> = charts(&html)
        .into_iter()
        .filter(|c| c.contains("data-x=\"seconds\""))
        .collect();
    // Endpoints with a per-second timeline get a chart (goose's SAGA rows have none).
    let summary = summary_of(&run.dir);
    let timeline = summary["timeline"].as_array().unwrap();
    let routes = summary["routes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| {
            timeline
                .iter()
                .any(|s| s["routes"].get(r["name"].as_str().unwrap()).is_some())
        })
        .count();
    // throughput, ttc, errors, in flight + per endpoint (+ the all-endpoints p99 chart beyond 4).
    let expected = 4 + routes + usize::from(routes > reports::report::MAX_FULL_ENDPOINT_CHARTS);
    assert_eq!(time_charts.len(), expected, "time charts");
    for chart in &time_charts {
        assert_eq!(
            chart.matches("class=\"fault-window\"").count(),
            windows,
            "fault windows on {}",
            &chart[..120]
        );
        for i in 0..windows {
            assert!(
                chart.contains(&format!("data-fault=\"{i}\"")),
                "window {i} missing"
            );
        }
    }
    // Labelled with the description.
    let first = read(&run.dir.join("faults.json"))[0]["description"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(time_charts[0].contains(&reports::format::esc(&first)));
    // The SLO line on the ttc chart.
    let ttc = time_charts
        .iter()
        .find(|c| c.contains("id=\"ttc\""))
        .unwrap();
    assert!(ttc.contains("class=\"slo-line\""));
}

#[test]
fn invalid_verdict_shows_the_counter_example_ids() {
    let run = Fixture::chaos(&chaos_spec());
    let html = render(&run.dir);
    let verdict = read(&run.dir.join("verdict.json"));
    let mut invalid = 0;
    for (name, inv) in verdict["invariants"].as_object().unwrap() {
        let tr = row(&html, "data-invariant", name);
        let label = match &inv["valid"] {
            serde_json::Value::Bool(true) => "VALID",
            serde_json::Value::Bool(false) => "INVALID",
            _ => "UNKNOWN",
        };
        assert!(
            tr.contains(&format!("badge {label}\">{label}<")),
            "{name} should be {label}: {tr}"
        );
        if label != "INVALID" {
            continue;
        }
        invalid += 1;
        for ex in inv["examples"].as_array().unwrap() {
            for key in ["bookingIds", "seatIds"] {
                for id in ex[key].as_array().into_iter().flatten() {
                    assert!(
                        tr.contains(id.as_str().unwrap()),
                        "{name}: {key} {id} not shown"
                    );
                }
            }
            for op in ex["ops"].as_array().into_iter().flatten() {
                assert!(
                    tr.contains(op["wall"].as_str().unwrap()),
                    "{name}: op time not shown"
                );
            }
        }
    }
    assert!(invalid > 0, "the fixture has an INVALID invariant");
    assert!(html.contains("id=\"overall\">FAIL<"));
}

#[test]
fn capacity_page_marks_the_sustainable_rate_and_links_each_step() {
    let cap = Fixture::capacity();
    let html = render(&cap.dir);
    let capacity = read(&cap.dir.join("capacity.json"));
    let sustainable = fixed(capacity["sustainable_rate_per_s"].as_f64().unwrap());
    assert!(html.contains(&format!(
        "Sustainable rate under the SLO: <strong>{sustainable}/s</strong>"
    )));
    let curve = charts(&html)
        .into_iter()
        .find(|c| c.contains("id=\"capacity-latency\""))
        .expect("curve");
    assert!(
        curve.contains("class=\"marker sustainable\""),
        "sustainable marker"
    );
    assert!(curve.contains(&format!("sustainable {sustainable}/s")));
    assert!(curve.contains("class=\"marker knee\""));
    assert!(curve.contains("class=\"slo-line\""));
    assert!(html.contains(&format!(
        "<tr class=\"step sustainable\" data-rate=\"{sustainable}\""
    )));
    for step in capacity["steps"].as_array().unwrap() {
        let dir = step["run_dir"].as_str().unwrap();
        assert!(
            html.contains(&format!("href=\"{dir}/report.html\"")),
            "link to {dir}"
        );
        assert!(
            cap.dir.join(dir).join("report.html").is_file(),
            "step report {dir}"
        );
    }
    assert!(html.contains("id=\"verification\""));
}

#[test]
fn pages_are_self_contained() {
    let run = Fixture::chaos(&chaos_spec());
    let cap = Fixture::capacity();
    let a = Fixture::loadgen(&RunSpec::default());
    let diff = render_diff(&a.dir, &run.dir, None).unwrap();
    for html in [
        render(&run.dir),
        render(&cap.dir),
        std::fs::read_to_string(diff).unwrap(),
    ] {
        assert!(html.contains(&format!(
            "<meta http-equiv=\"Content-Security-Policy\" content=\"{}\">",
            reports::page::CSP
        )));
        for attr in ["src=", "href="] {
            for (i, _) in html.match_indices(attr) {
                let value = String::from_utf8_lossy(
                    &html.as_bytes()[i + attr.len()..(i + attr.len() + 12).min(html.len())],
                );
                assert!(
                    !value.contains("http:") && !value.contains("https:") && !value.contains("//"),
                    "external {attr}{value}"
                );
            }
        }
        let without_host = html.replace(HOST, "");
        assert!(
            !without_host.contains("http://") && !without_host.contains("https://"),
            "a URL other than the target host"
        );
        assert!(!html.contains("<link") && !html.contains("@import") && !html.contains("url(http"));
    }
}

#[test]
fn a_600_second_run_with_8_routes_and_3_faults_stays_small() {
    let spec = RunSpec {
        seconds: 600,
        routes: 8,
        rate: 50,
        faults: vec![
            (100.0, Some(160.0)),
            (300.0, Some(330.0)),
            (450.0, Some(452.0)),
        ],
        ..RunSpec::default()
    };
    let run = Fixture::chaos(&spec);
    let started = std::time::Instant::now();
    let html = render(&run.dir);
    let size = html.len();
    println!("600-second run, 8 routes, 3 faults: report.html is {size} bytes ({:.1} KiB), rendered in {:?}", size as f64 / 1024.0, started.elapsed());
    assert!(size < 5 * 1024 * 1024, "{size} bytes");
    assert!(size < 1024 * 1024, "aim: under 1 MiB, is {size}");
    assert!(!html.contains("history.jsonl\""), "no history in the page");
}

#[test]
fn a_loadgen_run_without_environment_or_route_latency_still_renders() {
    let run = Fixture::loadgen(&RunSpec {
        route_latency: false,
        environment: false,
        ..RunSpec::default()
    });
    let html = render(&run.dir);
    assert!(html.contains("not recorded (no environment.json)"));
    assert!(html.contains("no per-endpoint timeline"));
    assert!(html.contains("counts and errors only"));
    let summary = read(&run.dir.join("summary.json"));
    for route in summary["routes"].as_array().unwrap() {
        let tr = row(&html, "data-route", route["name"].as_str().unwrap());
        assert!(tr.contains(&format!("class=\"num count\">{}<", route["count"])));
        assert!(tr.contains("class=\"num p99\">-<"));
    }
    assert!(html.contains("A loadgen run: the checker did not run"));
}

#[test]
fn header_shows_the_environment_and_scenario() {
    let run = Fixture::chaos(&chaos_spec());
    let html = render(&run.dir);
    let env = read(&run.dir.join("environment.json"));
    for key in [
        "hostname",
        "cpu_model",
        "os",
        "kernel",
        "git_commit",
        "stampede_version",
    ] {
        let value = env[key].as_str().unwrap();
        assert!(html.contains(&reports::format::esc(value)), "{key} {value}");
    }
    assert!(html.contains("redis-latency"));
    assert!(html.contains(&reports::format::esc("Redis 200 ms ± 50 ms late for 15 s")));
}

#[test]
fn recovery_is_reported_for_each_fault_window() {
    let run = Fixture::chaos(&chaos_spec());
    let html = render(&run.dir);
    let faults = read(&run.dir.join("faults.json"));
    for i in 0..faults.as_array().unwrap().len() {
        let tr = row(&html, "data-fault", &i.to_string());
        assert!(tr.contains("class=\"recovery\">"), "{tr}");
    }
    // The latency fault (ttc x9 around an 80 ms median) breaches the 500 ms SLO of ttc-p99<500ms.
    let first = row(&html, "data-fault", "0");
    assert!(!first.contains("no breach"), "{first}");
    assert!(html.contains("(from the threshold ttc-p99&lt;500ms)"));
    // --slo-p99 wins over the rule.
    let path = render_run(
        &run.dir,
        &RenderOptions {
            slo_p99: Some(std::time::Duration::from_secs(60)),
            out: Some(run.dir.join("slo.html")),
        },
    )
    .unwrap();
    let html = std::fs::read_to_string(path).unwrap();
    assert!(html.contains("(from --slo-p99)"));
    assert!(row(&html, "data-fault", "0").contains("no breach"));
}

#[test]
fn diff_compares_two_runs_and_writes_into_b() {
    let a = Fixture::loadgen(&RunSpec {
        ttc_base_ms: 80.0,
        ..RunSpec::default()
    });
    let b = Fixture::chaos(&chaos_spec());
    let path = render_diff(&a.dir, &b.dir, None).unwrap();
    assert_eq!(
        path,
        b.dir.join(format!(
            "diff-{}.html",
            a.dir.file_name().unwrap().to_string_lossy()
        ))
    );
    let html = std::fs::read_to_string(&path).unwrap();
    for metric in [
        "throughput (bookings started/s)",
        "confirmed/s",
        "ttc p50 ms",
        "ttc p95 ms",
        "ttc p99 ms",
        "GET /api/events p99 ms",
        "GET /api/events errors",
    ] {
        row(&html, "data-metric", metric);
    }
    // B's faults made its p99 worse: marked, with one class attribute per cell.
    assert!(row(&html, "data-metric", "ttc p99 ms").contains("class=\"num delta-worse\""));
    for tag in html.split('<').map(|t| t.split('>').next().unwrap_or("")) {
        assert!(
            tag.matches(" class=").count() <= 1,
            "a tag with two class attributes: <{tag}>"
        );
    }
    let diff = reports::diff::Diff::compare(&a.dir, &b.dir).unwrap();
    let p99 = diff.rows.iter().find(|r| r.metric == "ttc p99 ms").unwrap();
    let ha = decode(
        read(&a.dir.join("summary.json"))["histograms"]["all"]
            .as_str()
            .unwrap(),
    );
    assert_eq!(p99.a, Some(ha.value_at_quantile(0.99) as f64 / 1000.0));
    let text = diff.text_table();
    assert!(
        text.contains("ttc p99 ms") && text.contains("verdict"),
        "{text}"
    );
    assert_eq!(
        charts(&html)
            .iter()
            .filter(|c| c.contains("data-x=\"seconds\""))
            .count(),
        3
    );
}
