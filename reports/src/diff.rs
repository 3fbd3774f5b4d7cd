//! Two runs side by side: a baseline (A) and a candidate (B), with the deltas that matter.
//!
//! ```text
//! Run A, Run B ─▶ rows: throughput, confirmed/s, ttc p50/p95/p99, per endpoint p99 + errors
//!              ─▶ text table (stdout) and diff.html: table + overlaid time series + spectra
//! ```

use std::fmt::Write;
use std::path::{Path, PathBuf};

use crate::format::{esc, fixed};
use crate::hist;
use crate::input::{Percentiles, Run};
use crate::page::{badge, document};
use crate::report::{bands, endpoint_names, per_second, Histograms};
use crate::svg::{Chart, Series, XKind, YUnit};
use crate::ReportError;

/// Which way a metric is better.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Better {
    Higher,
    Lower,
}

/// One compared metric.
#[derive(Debug, Clone)]
pub struct DiffRow {
    pub metric: String,
    pub a: Option<f64>,
    pub b: Option<f64>,
    pub better: Better,
}

impl DiffRow {
    /// B - A, when both are known.
    pub fn delta(&self) -> Option<f64> {
        Some(self.b? - self.a?)
    }

    /// (B - A) / A in percent, when A is known and not 0.
    pub fn delta_pct(&self) -> Option<f64> {
        let a = self.a?;
        (a != 0.0)
            .then(|| self.delta().map(|d| d * 100.0 / a))
            .flatten()
    }

    /// Whether B is worse than A (by more than 1 %, to ignore noise).
    pub fn worse(&self) -> Option<bool> {
        let pct = self
            .delta_pct()
            .or_else(|| self.delta().map(|d| d.signum() * 100.0))?;
        if pct.abs() < 1.0 {
            return Some(false);
        }
        Some(match self.better {
            Better::Higher => pct < 0.0,
            Better::Lower => pct > 0.0,
        })
    }
}

/// A comparison of two runs.
pub struct Diff {
    pub a: Run,
    pub b: Run,
    pub rows: Vec<DiffRow>,
}

fn ttc(run: &Run, histograms: &Histograms) -> Option<Percentiles> {
    histograms.percentiles("all", run.summary.time_to_confirm.get("all"))
}

fn throughput(run: &Run) -> Option<f64> {
    match &run.summary.open_model {
        Some(o) => Some(o.start_rate_per_s),
        None if run.summary.load_seconds > 0.0 => {
            Some(run.summary.bookings.attempted as f64 / run.summary.load_seconds)
        }
        None => None,
    }
}

impl Diff {
    /// Loads both runs and compares them.
    ///
    /// # Errors
    /// A [`ReportError`] naming the file of either run that is missing or malformed.
    pub fn compare(a: &Path, b: &Path) -> Result<Diff, ReportError> {
        let a = Run::load(a)?;
        let b = Run::load(b)?;
        let (ha, hb) = (Histograms::of(&a), Histograms::of(&b));
        let (ta, tb) = (ttc(&a, &ha), ttc(&b, &hb));
        let mut rows = vec![
            DiffRow {
                metric: "throughput (bookings started/s)".into(),
                a: throughput(&a),
                b: throughput(&b),
                better: Better::Higher,
            },
            DiffRow {
                metric: "confirmed/s".into(),
                a: Some(a.summary.bookings.confirmed_per_s),
                b: Some(b.summary.bookings.confirmed_per_s),
                better: Better::Higher,
            },
        ];
        for (label, f) in [
            (
                "ttc p50 ms",
                (|p: &Percentiles| p.p50_ms) as fn(&Percentiles) -> f64,
            ),
            ("ttc p95 ms", |p| p.p95_ms),
            ("ttc p99 ms", |p| p.p99_ms),
        ] {
            rows.push(DiffRow {
                metric: label.into(),
                a: ta.as_ref().map(f),
                b: tb.as_ref().map(f),
                better: Better::Lower,
            });
        }
        let mut names = endpoint_names(&a);
        for n in endpoint_names(&b) {
            if !names.contains(&n) {
                names.push(n);
            }
        }
        for name in &names {
            let route_a = a.summary.routes.iter().find(|r| &r.name == name);
            let route_b = b.summary.routes.iter().find(|r| &r.name == name);
            let key = format!("route:{name}");
            let pa = route_a.and_then(|r| ha.percentiles(&key, r.latency.as_ref()));
            let pb = route_b.and_then(|r| hb.percentiles(&key, r.latency.as_ref()));
            if pa.is_some() || pb.is_some() {
                rows.push(DiffRow {
                    metric: format!("{name} p99 ms"),
                    a: pa.map(|p| p.p99_ms),
                    b: pb.map(|p| p.p99_ms),
                    better: Better::Lower,
                });
            }
            rows.push(DiffRow {
                metric: format!("{name} errors"),
                a: route_a.map(|r| r.failures as f64),
                b: route_b.map(|r| r.failures as f64),
                better: Better::Lower,
            });
        }
        Ok(Diff { a, b, rows })
    }

    /// The deltas as a text table for a terminal.
    pub fn text_table(&self) -> String {
        let width = self
            .rows
            .iter()
            .map(|r| r.metric.chars().count())
            .max()
            .unwrap_or(6)
            .max(7);
        let cell = |v: Option<f64>| v.map_or("-".to_string(), fixed);
        let mut out = format!(
            "{:<width$}  {:>12}  {:>12}  {:>12}  {:>8}\n",
            "metric", "A", "B", "delta", "delta%"
        );
        for r in &self.rows {
            let delta = r.delta().map_or("-".to_string(), |d| format!("{d:+.2}"));
            let pct = r
                .delta_pct()
                .map_or("-".to_string(), |p| format!("{p:+.1}%"));
            let mark = if r.worse() == Some(true) {
                "  worse"
            } else {
                ""
            };
            let _ = writeln!(
                out,
                "{:<width$}  {:>12}  {:>12}  {:>12}  {:>8}{mark}",
                r.metric,
                cell(r.a),
                cell(r.b),
                delta,
                pct
            );
        }
        let _ = writeln!(
            out,
            "{:<width$}  {:>12}  {:>12}",
            "verdict",
            self.a.overall().label(),
            self.b.overall().label()
        );
        out
    }

    /// The page.
    pub fn render_html(&self) -> String {
        let (a, b) = (&self.a, &self.b);
        let mut main = String::from("<section id=\"diff\"><h2>Runs</h2><table><tr><th></th><th>A (baseline)</th><th>B (candidate)</th></tr>");
        let row = |k: &str, fa: String, fb: String| {
            format!("<tr><th>{k}</th><td>{fa}</td><td>{fb}</td></tr>")
        };
        main.push_str(&row("scenario", esc(&a.name), esc(&b.name)));
        main.push_str(&row(
            "folder",
            format!("<code>{}</code>", esc(&a.dir.display().to_string())),
            format!("<code>{}</code>", esc(&b.dir.display().to_string())),
        ));
        main.push_str(&row(
            "target host",
            esc(&a.summary.host),
            esc(&b.summary.host),
        ));
        main.push_str(&row(
            "started",
            esc(&a.summary.started_at),
            esc(&b.summary.started_at),
        ));
        let commit = |r: &Run| {
            esc(r
                .environment
                .as_ref()
                .and_then(|e| e.git_commit.as_deref())
                .unwrap_or("not recorded"))
        };
        main.push_str(&row("git commit", commit(a), commit(b)));
        let machine = |r: &Run| {
            r.environment.as_ref().map_or("not recorded".into(), |e| {
                esc(&format!(
                    "{} ({} cpus, {})",
                    e.hostname.as_deref().unwrap_or("?"),
                    e.cpus.unwrap_or(0),
                    e.cpu_model.as_deref().unwrap_or("?")
                ))
            })
        };
        main.push_str(&row("machine", machine(a), machine(b)));
        main.push_str(&row(
            "verdict",
            badge(a.overall().label()),
            badge(b.overall().label()),
        ));
        main.push_str("</table><h2>Deltas</h2><table id=\"deltas\"><tr><th>metric</th><th class=\"num\">A</th><th class=\"num\">B</th><th class=\"num\">B - A</th><th class=\"num\">change</th></tr>");
        for r in &self.rows {
            let class = match r.worse() {
                Some(true) => " delta-worse",
                Some(false)
                    if r.delta().is_some_and(|d| d != 0.0)
                        && r.delta_pct().is_none_or(|p| p.abs() >= 1.0) =>
                {
                    " delta-better"
                }
                _ => "",
            };
            let _ = write!(
                main,
                "<tr data-metric=\"{}\"><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num{class}\">{}</td><td class=\"num{class}\">{}</td></tr>",
                esc(&r.metric),
                esc(&r.metric),
                r.a.map_or("-".into(), fixed),
                r.b.map_or("-".into(), fixed),
                r.delta().map_or("-".into(), |d| format!("{d:+.2}")),
                r.delta_pct().map_or("-".into(), |p| format!("{p:+.1}%"))
            );
        }
        main.push_str("</table></section><section id=\"diff-charts\"><h2>Over time</h2>");

        let domain = {
            let (_, ea) = crate::report::time_domain(a);
            let (_, eb) = crate::report::time_domain(b);
            (0.0, ea.max(eb))
        };
        let mut all_bands = bands(a, "A ", 0);
        all_bands.extend(bands(b, "B ", a.faults.len()));
        let overlay =
            |id: &str, title: &str, unit: YUnit, f: fn(&crate::input::Second) -> Option<f64>| {
                let mut c = Chart::new(id, title, XKind::Seconds, unit);
                c.x_domain = Some(domain);
                c.bands = all_bands.clone();
                c.series
                    .push(Series::new("A", per_second(&a.summary.timeline, f)).color("#7f7f7f"));
                c.series
                    .push(Series::new("B", per_second(&b.summary.timeline, f)).color("#e15759"));
                c.render()
            };
        main.push_str(&overlay(
            "diff-confirmed",
            "Confirmed per second: A vs B",
            YUnit::Count,
            |s| Some(s.outcome(runfiles::Outcome::Confirmed) as f64),
        ));
        main.push_str(&overlay(
            "diff-ttc-p99",
            "Time-to-confirm p99 per second: A vs B",
            YUnit::Ms,
            |s| s.ttc_p99_ms,
        ));
        main.push_str(&overlay(
            "diff-in-flight",
            "In flight: A vs B",
            YUnit::Count,
            |s| Some(s.in_flight as f64),
        ));

        let (ha, hb) = (Histograms::of(a), Histograms::of(b));
        let mut c = Chart::new(
            "diff-spectrum",
            "Time-to-confirm percentile spectrum: A vs B",
            XKind::Percentile,
            YUnit::Ms,
        );
        c.x_domain = Some((0.0, hist::SPECTRUM_MAX_X));
        if let Some(h) = ha.by_name.get("all") {
            c.series
                .push(Series::new("A", hist::spectrum(h)).color("#7f7f7f"));
        }
        if let Some(h) = hb.by_name.get("all") {
            c.series
                .push(Series::new("B", hist::spectrum(h)).color("#e15759"));
        }
        if !c.series.is_empty() {
            main.push_str(&c.render());
        }
        main.push_str("</section>");
        let header = format!(
            "<h1>Diff: {} vs {}</h1><p>A (baseline) <code>{}</code> · B (candidate) <code>{}</code></p>",
            esc(&a.name),
            esc(&b.name),
            esc(&a.dir.display().to_string()),
            esc(&b.dir.display().to_string())
        );
        document(
            &format!("Diff {} vs {} - Stampede report", a.name, b.name),
            &header,
            &main,
        )
    }

    /// The default output: `diff-<A folder name>.html` in B's folder.
    pub fn default_out(&self) -> PathBuf {
        let a_dir = std::fs::canonicalize(&self.a.dir).unwrap_or_else(|_| self.a.dir.clone());
        let name = a_dir
            .file_name()
            .map_or_else(|| "baseline".into(), |n| n.to_string_lossy().into_owned());
        self.b.dir.join(format!("diff-{name}.html"))
    }
}
