//! The report of one loadgen or chaos run.
//!
//! ```text
//! Run (input.rs) ─▶ header: scenario, target, versions, times, machine
//!                ─▶ verdict: overall, thresholds, invariants + counter-examples
//!                ─▶ time series (1 s): throughput, ttc p50/p95/p99 + SLO, per endpoint,
//!                   error rate, in flight; every fault window shaded on each
//!                ─▶ per-endpoint table, time-to-confirm table, percentile spectra
//!                ─▶ fault windows with recovery time, nemesis actions
//! ```

use std::collections::BTreeMap;
use std::fmt::Write;

use hdrhistogram::Histogram;

use crate::format::{esc, fixed, human_bytes, human_ms, human_s};
use crate::hist;
use crate::input::{FolderKind, Outcome, Percentiles, Run, Second, Validity};
use crate::page::{badge, document};
use crate::recovery::{recovery, slo_ms, SloSource};
use crate::svg::{Band, Chart, Rule, Series, XKind, YScale, YUnit};
use crate::RenderOptions;
use runfiles::nemesis::{Exit, NemesisAction};

/// Above this many endpoints, one p99 chart for all plus small multiples.
pub const MAX_FULL_ENDPOINT_CHARTS: usize = 4;

/// Outcomes in the order tables list them.
pub const OUTCOMES: [Outcome; 7] = Outcome::ALL;

/// Decoded histograms of a summary, and notes on the ones that did not decode.
pub struct Histograms {
    pub by_name: BTreeMap<String, Histogram<u64>>,
    pub notes: Vec<String>,
}

impl Histograms {
    pub fn of(run: &Run) -> Histograms {
        let mut by_name = BTreeMap::new();
        let mut notes = Vec::new();
        for (name, encoded) in &run.summary.histograms {
            match hist::decode(encoded) {
                Ok(h) => {
                    by_name.insert(name.clone(), h);
                }
                Err(e) => notes.push(format!(
                    "histogram {name:?} in {}: {e}",
                    run.loadgen_dir.join("summary.json").display()
                )),
            }
        }
        Histograms { by_name, notes }
    }

    /// Percentiles from the histogram when there is one, else `fallback`.
    pub fn percentiles(&self, name: &str, fallback: Option<&Percentiles>) -> Option<Percentiles> {
        match self.by_name.get(name) {
            Some(h) => Some(Percentiles {
                count: h.len(),
                p50_ms: hist::quantile_ms(h, 0.5),
                p90_ms: hist::quantile_ms(h, 0.9),
                p95_ms: hist::quantile_ms(h, 0.95),
                p99_ms: hist::quantile_ms(h, 0.99),
                p999_ms: hist::quantile_ms(h, 0.999),
                max_ms: h.max() as f64 / 1000.0,
                mean_ms: h.mean() / 1000.0,
            }),
            None => fallback.cloned(),
        }
    }
}

/// The endpoints of a run: the summary's routes in order, then any only the timeline names.
pub fn endpoint_names(run: &Run) -> Vec<String> {
    let mut names: Vec<String> = run.summary.routes.iter().map(|r| r.name.clone()).collect();
    let mut extra: Vec<String> = run
        .summary
        .timeline
        .iter()
        .flat_map(|s| s.routes.keys())
        .filter(|n| !names.contains(n))
        .cloned()
        .collect();
    extra.sort();
    extra.dedup();
    names.extend(extra);
    names
}

/// The x range of the time charts: the timeline, stretched to the last fault's end.
pub fn time_domain(run: &Run) -> (f64, f64) {
    let mut end = run.summary.timeline.len() as f64;
    for f in &run.faults {
        end = end.max(f.end_s.unwrap_or(f.start_s).ceil());
    }
    (0.0, end.max(1.0))
}

/// The fault windows as chart bands.
pub fn bands(run: &Run, label_prefix: &str, index_offset: usize) -> Vec<Band> {
    run.faults
        .iter()
        .enumerate()
        .map(|(i, f)| Band {
            index: index_offset + i,
            start: f.start_s,
            end: f.end_s,
            label: format!(
                "{label_prefix}#{} {}{}",
                f.fault,
                f.description,
                if f.end_s.is_none() {
                    " (never healed)"
                } else {
                    ""
                }
            ),
        })
        .collect()
}

/// A per-second series from the timeline, each point at the middle of its second.
pub fn per_second(
    timeline: &[Second],
    value: impl Fn(&Second) -> Option<f64>,
) -> Vec<(f64, Option<f64>)> {
    timeline
        .iter()
        .enumerate()
        .map(|(i, s)| (i as f64 + 0.5, value(s)))
        .collect()
}

fn time_chart(run: &Run, id: &str, title: &str, unit: YUnit) -> Chart {
    let mut chart = Chart::new(id, title, XKind::Seconds, unit);
    chart.x_domain = Some(time_domain(run));
    chart.bands = bands(run, "", 0);
    chart
}

/// Renders the page of one run.
pub fn render(run: &Run, opts: &RenderOptions) -> String {
    let histograms = Histograms::of(run);
    let (slo, slo_source) = slo_ms(opts.slo_p99, run.thresholds());
    let mut main = String::new();
    main.push_str(&header_section(run));
    main.push_str(&verdict_section(run));
    main.push_str(&time_series_section(run, slo, &slo_source));
    main.push_str(&endpoint_section(run, &histograms));
    main.push_str(&distribution_section(run, &histograms));
    main.push_str(&fault_section(run, slo, &slo_source));
    main.push_str(&nemesis_section(run));
    main.push_str(&cpu_section(run));
    let mut header = String::new();
    let overall = run.overall();
    let _ = write!(
        header,
        "<h1>{} {}</h1>",
        esc(&run.name),
        badge(overall.label())
    );
    if !run.description.is_empty() {
        let _ = write!(header, "<p>{}</p>", esc(&run.description));
    }
    let kind = if run.kind == FolderKind::Chaos {
        "chaos run"
    } else {
        "loadgen run"
    };
    let _ = write!(
        header,
        "<p>{kind} against {} · {}</p>",
        esc(&run.summary.host),
        esc(&run.summary.started_at)
    );
    document(&format!("{} - Stampede report", run.name), &header, &main)
}

fn kv(rows: &[(&str, String)]) -> String {
    let mut out = String::from("<table class=\"kv\">");
    for (k, v) in rows {
        let _ = write!(out, "<tr><th>{}</th><td>{v}</td></tr>", esc(k));
    }
    out.push_str("</table>");
    out
}

fn or_not_recorded(value: Option<String>) -> String {
    value.map_or_else(
        || "<span class=\"muted\">not recorded</span>".into(),
        |v| esc(&v),
    )
}

fn header_section(run: &Run) -> String {
    let s = &run.summary;
    let mut out = String::from("<section id=\"run\"><h2>Run</h2>");
    let duration = format!(
        "{} of load, {} with the drain",
        human_s(s.load_seconds),
        human_s(s.total_seconds)
    );
    let mut rows = vec![
        ("scenario", esc(&run.name)),
        (
            "description",
            if run.description.is_empty() {
                "<span class=\"muted\">none</span>".into()
            } else {
                esc(&run.description)
            },
        ),
        ("target host", esc(&s.host)),
        (
            "run folder",
            format!("<code>{}</code>", esc(&run.dir.display().to_string())),
        ),
        ("run id", esc(&s.run_id)),
        ("event", esc(&s.event_id)),
        ("started", esc(&s.started_at)),
        ("ended", esc(&s.ended_at)),
        ("duration", duration),
    ];
    if let Some(info) = &run.run_info {
        if !info.args.is_empty() {
            rows.push((
                "command",
                format!("<code>{}</code>", esc(&info.args.join(" "))),
            ));
        }
    }
    let env = run.environment.as_ref();
    rows.push((
        "stampede version",
        or_not_recorded(
            env.map(|e| e.stampede_version.clone())
                .filter(|v| !v.is_empty()),
        ),
    ));
    rows.push((
        "git commit",
        or_not_recorded(env.and_then(|e| e.git_commit.clone())),
    ));
    rows.push((
        "loadgen version",
        or_not_recorded(Some(s.loadgen.clone()).filter(|v| !v.is_empty())),
    ));
    match env {
        None => rows.push((
            "machine",
            "<span class=\"muted\">not recorded (no environment.json)</span>".into(),
        )),
        Some(e) => {
            rows.push(("hostname", or_not_recorded(e.hostname.clone())));
            rows.push(("cpus", or_not_recorded(e.cpus.map(|c| c.to_string()))));
            rows.push(("cpu model", or_not_recorded(e.cpu_model.clone())));
            rows.push(("memory", or_not_recorded(e.memory_bytes.map(human_bytes))));
            rows.push(("os", or_not_recorded(e.os.clone())));
            rows.push(("kernel", or_not_recorded(e.kernel.clone())));
            rows.push((
                "environment captured",
                or_not_recorded(Some(e.captured_at.clone()).filter(|v| !v.is_empty())),
            ));
        }
    }
    out.push_str(&kv(&rows));

    let b = &s.bookings;
    let outcomes = OUTCOMES
        .iter()
        .filter_map(|o| {
            b.outcomes
                .get(o)
                .filter(|n| **n > 0)
                .map(|n| format!("{} {n}", o.as_str()))
        })
        .collect::<Vec<_>>()
        .join(", ");
    let mut rows = vec![
        ("attempted", b.attempted.to_string()),
        ("acknowledged (202)", b.acknowledged.to_string()),
        ("outcomes", esc(&outcomes)),
        ("confirmed/s", fixed(b.confirmed_per_s)),
        ("max in flight", b.max_in_flight.to_string()),
        ("sold out arrivals", b.sold_out.to_string()),
        (
            "cancels ok / failed",
            format!("{} / {}", b.cancels_ok, b.cancels_failed),
        ),
    ];
    if let Some(o) = &s.open_model {
        rows.push((
            "open model",
            esc(&format!(
                "{}: target {}/s, started {}/s; {} scheduled, {} started, {} late, {} dropped, {} workers",
                o.shape,
                fixed(o.target_rate_per_s),
                fixed(o.start_rate_per_s),
                o.scheduled,
                o.started,
                o.late,
                o.dropped,
                o.workers
            )),
        ));
    }
    if s.closed_users > 0 {
        rows.push(("closed-model users", s.closed_users.to_string()));
    }
    out.push_str("<h3>Bookings</h3>");
    out.push_str(&kv(&rows));
    out.push_str("</section>");
    out
}

fn verdict_section(run: &Run) -> String {
    let mut out = String::from("<section id=\"verdict\"><h2>Verdict</h2>");
    let overall = run.overall();
    let _ = write!(
        out,
        "<p>Overall: <span class=\"badge overall {0}\" id=\"overall\">{0}</span>",
        overall.label()
    );
    if let Some(ending) = run.run_report.as_ref().and_then(|r| r.ending) {
        let _ = write!(
            out,
            " <span class=\"muted\">(chaos ending: {})</span>",
            ending.as_str()
        );
    }
    out.push_str("</p>");
    let thresholds = run.thresholds();
    out.push_str("<h3>Thresholds</h3>");
    if thresholds.is_empty() {
        out.push_str("<p class=\"muted\">No threshold rules were given.</p>");
    } else {
        out.push_str(
            "<table id=\"thresholds\"><tr><th>rule</th><th>observed</th><th>verdict</th></tr>",
        );
        for t in thresholds {
            let label = if t.passed { "PASS" } else { "FAIL" };
            let _ = write!(
                out,
                "<tr data-rule=\"{}\"><td><code>{}</code></td><td>{}</td><td>{}</td></tr>",
                esc(&t.rule),
                esc(&t.rule),
                esc(&t.observed),
                badge(label)
            );
        }
        out.push_str("</table>");
    }
    out.push_str("<h3>Invariants</h3>");
    match &run.verdict {
        None if run.kind == FolderKind::Loadgen => out.push_str("<p class=\"muted\">A loadgen run: the checker did not run (run <code>chaos check</code> on its history).</p>"),
        None => out.push_str("<p class=\"muted\">No verdict.json: the checker's answer was not recorded.</p>"),
        Some(v) => {
            let _ = write!(out, "<p>Checker: {}</p>", badge(v.valid.label()));
            out.push_str("<table id=\"invariants\"><tr><th>invariant</th><th>answer</th><th>counts</th><th>counter-examples and notes</th></tr>");
            for (name, inv) in &v.invariants {
                let counts = inv.counts.iter().map(|(k, n)| format!("{}={n}", esc(k))).collect::<Vec<_>>().join(" ");
                let mut detail = String::new();
                if inv.valid == Validity::False && !inv.examples.is_empty() {
                    detail.push_str("<ul class=\"examples\">");
                    for ex in inv.examples.iter().take(10) {
                        detail.push_str(&example_html(ex));
                    }
                    detail.push_str("</ul>");
                    if inv.examples.len() > 10 {
                        let _ = write!(detail, "<p class=\"muted\">{} more in verdict.json</p>", inv.examples.len() - 10);
                    }
                }
                for note in &inv.notes {
                    let _ = write!(detail, "<div class=\"muted\">{}</div>", esc(note));
                }
                let _ = write!(
                    out,
                    "<tr data-invariant=\"{}\"><td>{}</td><td>{}</td><td><code>{counts}</code></td><td>{detail}</td></tr>",
                    esc(name),
                    esc(name),
                    badge(inv.valid.label())
                );
            }
            let counts = v.counts.iter().map(|(k, n)| format!("{}={n}", esc(k))).collect::<Vec<_>>().join(" ");
            let _ = write!(out, "<tr><td><em>run</em></td><td>{}</td><td colspan=\"2\"><code>{counts}</code></td></tr></table>", badge(v.valid.label()));
        }
    }
    out.push_str("</section>");
    out
}

fn example_html(ex: &crate::input::Example) -> String {
    let mut out = format!(
        "<li class=\"example\"><strong>{}</strong>: {}",
        esc(&ex.anomaly),
        esc(&ex.message)
    );
    if !ex.booking_ids.is_empty() {
        let _ = write!(
            out,
            "<br>bookings: <code class=\"booking-ids\">{}</code>",
            ids(&ex.booking_ids)
        );
    }
    if !ex.seat_ids.is_empty() {
        let _ = write!(
            out,
            "<br>seats: <code class=\"seat-ids\">{}</code>",
            ids(&ex.seat_ids)
        );
    }
    if let Some(event) = &ex.event_id {
        let _ = write!(out, "<br>event: <code>{event}</code>");
    }
    for op in &ex.ops {
        let _ = write!(
            out,
            "<br>op #{} {} {} (process {}){}{}",
            op.index,
            op.f.as_str(),
            op.kind.as_str(),
            op.process,
            op.wall
                .as_ref()
                .map(|w| format!(" at <code>{}</code>", esc(w)))
                .unwrap_or_default(),
            match (&op.invoke_index, &op.invoke_wall) {
                (Some(i), Some(w)) => format!(", invoked #{i} at <code>{}</code>", esc(w)),
                (Some(i), None) => format!(", invoked #{i}"),
                (None, Some(w)) => format!(", invoked at <code>{}</code>", esc(w)),
                (None, None) => String::new(),
            }
        );
    }
    out.push_str("</li>");
    out
}

fn slo_rule(slo: f64) -> Rule {
    Rule {
        value: slo,
        label: format!("SLO p99 {}", human_ms(slo)),
        class: "slo-line",
        color: "#c62828",
    }
}

fn slo_text(slo: f64, source: &SloSource) -> String {
    match source {
        SloSource::Option => format!(
            "SLO: time-to-confirm p99 under {} (from --slo-p99)",
            human_ms(slo)
        ),
        SloSource::Threshold(rule) => format!(
            "SLO: time-to-confirm p99 under {} (from the threshold {rule})",
            human_ms(slo)
        ),
        SloSource::Default => format!(
            "SLO: time-to-confirm p99 under {} (default; no ttc-p99 rule)",
            human_ms(slo)
        ),
    }
}

fn time_series_section(run: &Run, slo: f64, slo_source: &SloSource) -> String {
    let tl = &run.summary.timeline;
    let mut out = String::from("<section id=\"time-series\"><h2>Over time (1 s)</h2>");
    if tl.is_empty() {
        out.push_str("<p class=\"muted\">The summary has no timeline.</p></section>");
        return out;
    }
    if !run.faults.is_empty() {
        let _ = write!(
            out,
            "<p class=\"muted\">Shaded: the {} fault window(s) of faults.json.</p>",
            run.faults.len()
        );
    }

    let mut c = time_chart(
        run,
        "throughput",
        "Throughput: bookings started and ended per second",
        YUnit::Count,
    );
    c.y_label = "operations / s".into();
    c.series
        .push(Series::new("started", per_second(tl, |s| Some(s.started as f64))).color("#4e79a7"));
    c.series.push(
        Series::new(
            "confirmed",
            per_second(tl, |s| Some(s.outcome(Outcome::Confirmed) as f64)),
        )
        .color("#59a14f"),
    );
    c.series.push(
        Series::new(
            "failed (FAILED+EXPIRED)",
            per_second(tl, |s| {
                Some((s.outcome(Outcome::Failed) + s.outcome(Outcome::Expired)) as f64)
            }),
        )
        .color("#e15759"),
    );
    if tl.iter().any(|s| s.dropped > 0) {
        c.series.push(
            Series::new("dropped", per_second(tl, |s| Some(s.dropped as f64))).color("#7f7f7f"),
        );
    }
    out.push_str(&c.render());

    let mut c = time_chart(
        run,
        "ttc",
        "Time-to-confirm of the bookings that ended in each second",
        YUnit::Ms,
    );
    c.y_label = "time-to-confirm".into();
    c.series
        .push(Series::new("p50", per_second(tl, |s| s.ttc_p50_ms)).color("#4e79a7"));
    c.series
        .push(Series::new("p95", per_second(tl, |s| s.ttc_p95_ms)).color("#f28e2b"));
    c.series
        .push(Series::new("p99", per_second(tl, |s| s.ttc_p99_ms)).color("#e15759"));
    c.hlines.push(slo_rule(slo));
    c.caption = format!(
        "{}. Gaps: no booking ended in that second.",
        slo_text(slo, slo_source)
    );
    out.push_str(&c.render());

    // Per endpoint: those with a timeline (goose's own rows such as loadgen's `SAGA
    // time-to-confirm ...` have none; their latency is in the time-to-confirm chart).
    let names: Vec<String> = endpoint_names(run)
        .into_iter()
        .filter(|n| tl.iter().any(|s| s.routes.contains_key(n)))
        .collect();
    let has_route_timeline = tl.iter().any(|s| !s.routes.is_empty());
    out.push_str("<h3>Per endpoint</h3>");
    if !has_route_timeline {
        out.push_str("<p class=\"muted\">This summary has no per-endpoint timeline (<code>timeline[].routes</code>): per-endpoint latency over time was not recorded.</p>");
    } else {
        let route_series = |name: &str, pick: fn(&crate::input::RouteSecond) -> Option<f64>| {
            per_second(tl, |s| s.routes.get(name).and_then(pick))
        };
        let full = names.len() <= MAX_FULL_ENDPOINT_CHARTS;
        if !full {
            let mut c = time_chart(run, "endpoints-p99", "p99 latency per endpoint", YUnit::Ms);
            c.y_label = "p99 latency".into();
            for name in &names {
                c.series
                    .push(Series::new(name.clone(), route_series(name, |r| r.p99_ms)));
            }
            out.push_str(&c.render());
            out.push_str("<div class=\"grid\">");
        }
        for (k, name) in names.iter().enumerate() {
            let mut c = time_chart(
                run,
                &format!("endpoint-{k}"),
                &format!("{name}: latency"),
                YUnit::Ms,
            );
            if !full {
                c = c.size(600.0, 230.0);
            }
            c.y_label = "latency".into();
            c.series
                .push(Series::new("p50", route_series(name, |r| r.p50_ms)).color("#4e79a7"));
            c.series
                .push(Series::new("p95", route_series(name, |r| r.p95_ms)).color("#f28e2b"));
            c.series
                .push(Series::new("p99", route_series(name, |r| r.p99_ms)).color("#e15759"));
            out.push_str(&c.render());
        }
        if !full {
            out.push_str("</div>");
        }
    }

    let mut c = time_chart(run, "errors", "Error rate per second", YUnit::Percent);
    c.y_scale = YScale::Linear;
    c.y_label = "% of requests / bookings".into();
    if has_route_timeline {
        c.series.push(
            Series::new(
                "request errors (% of requests)",
                per_second(tl, |s| {
                    let (n, e) = s
                        .routes
                        .values()
                        .fold((0u64, 0u64), |(n, e), r| (n + r.count, e + r.errors));
                    (n > 0).then(|| e as f64 * 100.0 / n as f64)
                }),
            )
            .color("#e15759"),
        );
    }
    c.series.push(
        Series::new(
            "UNKNOWN bookings (% of bookings ended)",
            per_second(tl, |s| {
                let ended: u64 = s.outcomes.values().sum();
                (ended > 0).then(|| s.outcome(Outcome::Unknown) as f64 * 100.0 / ended as f64)
            }),
        )
        .color("#b07aa1"),
    );
    c.caption = "Request errors: failed requests over all requests completed in the second (goose's failures). UNKNOWN: bookings whose POST timed out, hit a connection error or a 5xx.".into();
    out.push_str(&c.render());

    let mut c = time_chart(
        run,
        "in-flight",
        "Booking operations in flight (end of each second)",
        YUnit::Count,
    );
    c.y_label = "in flight".into();
    c.series.push(
        Series::new("in flight", per_second(tl, |s| Some(s.in_flight as f64))).color("#76b7b2"),
    );
    if tl.iter().any(|s| s.late > 0) {
        c.series.push(
            Series::new("late starts", per_second(tl, |s| Some(s.late as f64))).color("#edc948"),
        );
    }
    out.push_str(&c.render());
    out.push_str("</section>");
    out
}

/// A table column of percentiles: its CSS class and how to read it.
type Column = (&'static str, fn(&Percentiles) -> f64);

fn pct_cells(p: Option<&Percentiles>, cols: &[Column]) -> String {
    let mut out = String::new();
    for (class, f) in cols {
        let value = p.map_or("-".into(), |p| fixed(f(p)));
        let _ = write!(out, "<td class=\"num {class}\">{value}</td>");
    }
    out
}

fn endpoint_section(run: &Run, histograms: &Histograms) -> String {
    let mut out = String::from("<section id=\"endpoints\"><h2>Per endpoint</h2>");
    if run.summary.routes.is_empty() {
        out.push_str("<p class=\"muted\">No goose routes in the summary.</p></section>");
        return out;
    }
    let cols: [Column; 5] = [
        ("p50", |p| p.p50_ms),
        ("p90", |p| p.p90_ms),
        ("p99", |p| p.p99_ms),
        ("p999", |p| p.p999_ms),
        ("max", |p| p.max_ms),
    ];
    out.push_str("<table id=\"endpoint-table\"><tr><th>endpoint</th><th class=\"num\">p50 ms</th><th class=\"num\">p90 ms</th><th class=\"num\">p99 ms</th><th class=\"num\">p99.9 ms</th><th class=\"num\">max ms</th><th class=\"num\">count</th><th class=\"num\">errors</th><th class=\"num\">error %</th><th class=\"num\">per s</th></tr>");
    let mut any_latency = false;
    for r in &run.summary.routes {
        let p = histograms.percentiles(&format!("route:{}", r.name), r.latency.as_ref());
        any_latency |= p.is_some();
        let error_pct = if r.count > 0 {
            r.failures as f64 * 100.0 / r.count as f64
        } else {
            0.0
        };
        let _ = write!(
            out,
            "<tr data-route=\"{}\"><td><code>{}</code></td>{}<td class=\"num count\">{}</td><td class=\"num errors\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
            esc(&r.name),
            esc(&r.name),
            pct_cells(p.as_ref(), &cols),
            r.count,
            r.failures,
            fixed(error_pct),
            fixed(r.per_s)
        );
    }
    out.push_str("</table>");
    if !any_latency {
        out.push_str("<p class=\"caption\">This summary has no per-route latency (<code>routes[].latency</code>, <code>histograms[\"route:…\"]</code>): counts and errors only.</p>");
    } else {
        out.push_str("<p class=\"caption\">Percentiles from each route's HdrHistogram when the summary has it, else from <code>routes[].latency</code>.</p>");
    }
    out.push_str("</section>");
    out
}

fn distribution_section(run: &Run, histograms: &Histograms) -> String {
    let mut out = String::from(
        "<section id=\"distribution\"><h2>Latency distribution</h2><h3>Time-to-confirm</h3>",
    );
    let mut names: Vec<&str> = vec!["all"];
    names.extend(OUTCOMES.iter().map(|o| o.as_str()));
    for k in run
        .summary
        .time_to_confirm
        .keys()
        .chain(histograms.by_name.keys())
    {
        if !k.starts_with("route:") && !names.contains(&k.as_str()) {
            names.push(k);
        }
    }
    let cols: [Column; 7] = [
        ("p50", |p| p.p50_ms),
        ("p90", |p| p.p90_ms),
        ("p95", |p| p.p95_ms),
        ("p99", |p| p.p99_ms),
        ("p999", |p| p.p999_ms),
        ("max", |p| p.max_ms),
        ("mean", |p| p.mean_ms),
    ];
    out.push_str("<table id=\"ttc-table\"><tr><th>outcome</th><th class=\"num\">count</th><th class=\"num\">p50 ms</th><th class=\"num\">p90 ms</th><th class=\"num\">p95 ms</th><th class=\"num\">p99 ms</th><th class=\"num\">p99.9 ms</th><th class=\"num\">max ms</th><th class=\"num\">mean ms</th></tr>");
    let mut rows = 0;
    for name in &names {
        let Some(p) = histograms.percentiles(name, run.summary.time_to_confirm.get(*name)) else {
            continue;
        };
        rows += 1;
        let _ = write!(
            out,
            "<tr data-ttc=\"{0}\"><td>{0}</td><td class=\"num count\">{1}</td>{2}</tr>",
            esc(name),
            p.count,
            pct_cells(Some(&p), &cols)
        );
    }
    out.push_str("</table>");
    if rows == 0 {
        out.push_str(
            "<p class=\"muted\">No booking reached a terminal status: no time-to-confirm.</p>",
        );
    }

    let mut spectrum = Chart::new(
        "spectrum-ttc",
        "Time-to-confirm percentile spectrum",
        XKind::Percentile,
        YUnit::Ms,
    );
    spectrum.y_label = "time-to-confirm".into();
    spectrum.x_domain = Some((0.0, hist::SPECTRUM_MAX_X));
    for name in &names {
        if let Some(h) = histograms.by_name.get(*name) {
            let mut s = Series::new(format!("{name} ({})", h.len()), hist::spectrum(h));
            if *name == "all" {
                s = s.color("#1d2330");
            }
            spectrum.series.push(s);
        }
    }
    if spectrum.series.is_empty() {
        out.push_str("<p class=\"muted\">No time-to-confirm histograms in the summary.</p>");
    } else {
        spectrum.caption = "x: percentile on a 1/(1-q) log axis (each tick one more nine); y: latency at that percentile, from the HdrHistograms (measured from each operation's due time).".into();
        out.push_str(&spectrum.render());
    }

    let mut spectrum = Chart::new(
        "spectrum-endpoints",
        "Per-endpoint latency percentile spectrum",
        XKind::Percentile,
        YUnit::Ms,
    );
    spectrum.y_label = "latency".into();
    spectrum.x_domain = Some((0.0, hist::SPECTRUM_MAX_X));
    for name in endpoint_names(run) {
        if let Some(h) = histograms.by_name.get(&format!("route:{name}")) {
            spectrum
                .series
                .push(Series::new(name.clone(), hist::spectrum(h)));
        }
    }
    out.push_str("<h3>Per endpoint</h3>");
    if spectrum.series.is_empty() {
        out.push_str("<p class=\"muted\">No per-endpoint histograms (<code>histograms[\"route:…\"]</code>) in the summary.</p>");
    } else {
        out.push_str(&spectrum.render());
    }
    for note in &histograms.notes {
        let _ = write!(out, "<p class=\"muted\">Skipped: {}</p>", esc(note));
    }
    out.push_str("</section>");
    out
}

fn fault_section(run: &Run, slo: f64, slo_source: &SloSource) -> String {
    let mut out = String::from("<section id=\"faults\"><h2>Fault windows and recovery</h2>");
    if run.faults.is_empty() {
        let what = if run.kind == FolderKind::Chaos {
            "This run had no fault windows."
        } else {
            "A loadgen run: no faults were injected."
        };
        let _ = write!(out, "<p class=\"muted\">{what}</p></section>");
        return out;
    }
    let _ = write!(
        out,
        "<p>{}. Recovery: from the window's end until the per-second p99 is under the SLO and stays under for 3 consecutive seconds.</p>",
        esc(&slo_text(slo, slo_source))
    );
    out.push_str("<table id=\"fault-table\"><tr><th>#</th><th>fault</th><th>target</th><th>action</th><th class=\"num\">start s</th><th class=\"num\">end s</th><th class=\"num\">started in window</th><th class=\"num\">max in flight</th><th>bookings in flight</th><th>recovery</th><th>error</th></tr>");
    for (i, f) in run.faults.iter().enumerate() {
        let r = recovery(&run.summary.timeline, f, slo);
        let in_flight = match f.bookings_in_flight {
            None => "-".to_string(),
            Some(n) => format!("{n} bookings"),
        };
        let _ = write!(
            out,
            "<tr data-fault=\"{i}\"><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td>{in_flight}</td><td class=\"recovery\">{}</td><td>{}</td></tr>",
            f.fault,
            esc(&f.description),
            esc(&f.target),
            esc(&f.action),
            fixed(f.start_s),
            f.end_s.map_or("never healed".into(), fixed),
            f.started.map_or("-".into(), |n| n.to_string()),
            f.max_in_flight.map_or("-".into(), |n| n.to_string()),
            esc(&r.label()),
            f.error.as_deref().map(esc).unwrap_or_default()
        );
    }
    out.push_str("</table>");
    if let Some(report) = &run.run_report {
        if report.ttc_p99_in_faults_ms.is_some() || report.ttc_p99_outside_faults_ms.is_some() {
            let show = |v: Option<f64>| v.map_or("-".into(), |v| format!("{} ms", fixed(v)));
            let _ = write!(
                out,
                "<p>Time-to-confirm p99 inside the fault windows: <strong>{}</strong>; outside: <strong>{}</strong>.</p>",
                show(report.ttc_p99_in_faults_ms),
                show(report.ttc_p99_outside_faults_ms)
            );
        }
    }
    out.push_str("</section>");
    out
}

fn cpu_section(run: &Run) -> String {
    let Some(cpu) = &run.cpu else {
        return String::new();
    };
    let mut out = String::from(
        "<section id=\"cpu\"><h2>CPU by process (cpu.json)</h2><table><tr><th>process</th><th class=\"num\">CPU s</th><th class=\"num\">ms per confirmed booking</th><th class=\"num\">share</th></tr>",
    );
    let ms = |v: Option<f64>| v.map_or_else(|| "-".to_string(), |v| format!("{v:.2}"));
    for p in &cpu.processes {
        let share = if cpu.total_cpu_seconds > 0.0 {
            p.cpu_seconds / cpu.total_cpu_seconds * 100.0
        } else {
            0.0
        };
        let _ = write!(
            out,
            "<tr><td>{}</td><td class=\"num\">{:.1}</td><td class=\"num\">{}</td><td class=\"num\">{share:.0} %</td></tr>",
            esc(&p.name),
            p.cpu_seconds,
            ms(p.ms_per_confirmed)
        );
    }
    let _ = write!(
        out,
        "<tr><th>total</th><th class=\"num\">{:.1}</th><th class=\"num\">{}</th><th></th></tr></table><p class=\"caption\">{} confirmed bookings; {:.2} cores busy on average over {:.0} s (load and settling). Postgres and Redis are the machine's: anything else using them counts too.</p></section>",
        cpu.total_cpu_seconds,
        ms(cpu.ms_per_confirmed),
        cpu.confirmed,
        cpu.cores_busy,
        cpu.wall_seconds
    );
    out
}

fn nemesis_section(run: &Run) -> String {
    if run.nemesis.is_empty() {
        return String::new();
    }
    let mut out = String::from("<section id=\"nemesis\"><h2>Process actions (nemesis.json)</h2><table><tr><th>wall</th><th>process</th><th>action</th><th class=\"num\">pid</th><th>exit</th><th>note</th></tr>");
    for e in run
        .nemesis
        .iter()
        .filter(|e| e.action != NemesisAction::Spawn)
    {
        let exit = match e.exit {
            None => String::new(),
            Some(Exit::Code(code)) => format!("code {code}"),
            Some(Exit::Signal(signal)) => format!("signal {signal}"),
        };
        let _ = write!(
            out,
            "<tr><td><code>{}</code></td><td>{}</td><td>{}</td><td class=\"num\">{}</td><td>{}</td><td>{}</td></tr>",
            esc(&e.wall),
            esc(&e.process),
            e.action.as_str(),
            e.pid,
            esc(&exit),
            esc(e.note.as_deref().unwrap_or(""))
        );
    }
    let spawns = run
        .nemesis
        .iter()
        .filter(|e| e.action == NemesisAction::Spawn)
        .count();
    let _ = write!(
        out,
        "</table><p class=\"caption\">{spawns} initial spawns not listed.</p></section>"
    );
    out
}
/// Ids as a comma-separated list (UUIDs need no escaping).
fn ids(ids: &[uuid::Uuid]) -> String {
    ids.iter()
        .map(uuid::Uuid::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}
