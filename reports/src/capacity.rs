//! The capacity report: a step-load search's throughput-vs-latency curve, with the SLO, the
//! knee and the sustainable rate marked, the step table with links to each step's own report,
//! and the verification runs.
//!
//! ```text
//! capacity.json ─▶ curve: offered rate ─▶ ttc p99 (+ SLO line), confirmed/s (+ ideal), errors
//! steps/<NN>-<rate>/ ─▶ render_run each ─▶ steps/<NN>-<rate>/report.html (linked, relative)
//! ```

use std::fmt::Write;
use std::path::{Path, PathBuf};

use crate::format::{esc, fixed, human_ms};
use crate::input::Capacity;
use crate::page::{badge, document};
use crate::recovery::ttc_p99_rule_ms;
use crate::svg::{Chart, Rule, Series, XKind, YScale, YUnit};
use crate::{render_run, RenderOptions, ReportError};

/// One step's own report: where it went, or why it could not be rendered.
#[derive(Debug)]
pub struct StepReport {
    pub link: Option<String>,
    pub error: Option<String>,
}

/// Renders every step's report, then the capacity page; returns the page.
///
/// # Errors
/// [`ReportError`] when capacity.json cannot be read. A step that cannot be rendered is noted in
/// its row, not an error.
pub fn render(dir: &Path, opts: &RenderOptions) -> Result<String, ReportError> {
    let path = dir.join("capacity.json");
    let capacity: Capacity = runfiles::read_versioned(&path)?;
    if capacity.steps.is_empty() {
        return Err(ReportError::Invalid {
            path,
            reason: "no steps".into(),
        });
    }
    let step_opts = RenderOptions {
        out: None,
        ..opts.clone()
    };
    let reports: Vec<StepReport> = capacity
        .steps
        .iter()
        .map(|step| {
            let step_dir = resolve(dir, &step.run_dir);
            match render_run(&step_dir, &step_opts) {
                Ok(report) => StepReport {
                    link: Some(relative_link(dir, &report)),
                    error: None,
                },
                Err(e) => StepReport {
                    link: None,
                    error: Some(e.to_string()),
                },
            }
        })
        .collect();
    Ok(page(dir, &capacity, &reports, opts))
}

fn resolve(dir: &Path, run_dir: &str) -> PathBuf {
    let p = Path::new(run_dir);
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        dir.join(p)
    }
}

/// A link from the capacity page to `target`: relative when it lies under `dir`.
fn relative_link(dir: &Path, target: &Path) -> String {
    let rel = target
        .strip_prefix(dir)
        .map(Path::to_path_buf)
        .unwrap_or_else(|_| target.to_path_buf());
    rel.components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join("/")
}

/// The SLO's time-to-confirm p99 limit, in ms: the option, else the first `ttc-p99<X` of the
/// capacity's SLO, else 1 s.
fn slo_ms(capacity: &Capacity, opts: &RenderOptions) -> f64 {
    if let Some(d) = opts.slo_p99 {
        return d.as_secs_f64() * 1000.0;
    }
    capacity
        .slo
        .iter()
        .find_map(|r| ttc_p99_rule_ms(r))
        .unwrap_or(1000.0)
}

fn markers(capacity: &Capacity) -> Vec<Rule> {
    let mut out = Vec::new();
    if let Some(r) = capacity.sustainable_rate_per_s {
        out.push(Rule {
            value: r,
            label: format!("sustainable {}/s", fixed(r)),
            class: "marker sustainable",
            color: "#2e7d32",
        });
    }
    if let Some(r) = capacity.knee_rate_per_s {
        out.push(Rule {
            value: r,
            label: format!("knee {}/s", fixed(r)),
            class: "marker knee",
            color: "#6a3d9a",
        });
    }
    if let Some(r) = capacity.first_failing_rate_per_s {
        out.push(Rule {
            value: r,
            label: format!("first failing {}/s", fixed(r)),
            class: "marker first-failing",
            color: "#c62828",
        });
    }
    out
}

fn page(dir: &Path, capacity: &Capacity, reports: &[StepReport], opts: &RenderOptions) -> String {
    let slo = slo_ms(capacity, opts);
    let mut steps = capacity.steps.clone();
    let order: Vec<usize> = {
        let mut idx: Vec<usize> = (0..steps.len()).collect();
        idx.sort_by(|a, b| steps[*a].rate_per_s.total_cmp(&steps[*b].rate_per_s));
        idx
    };
    steps = order.iter().map(|i| capacity.steps[*i].clone()).collect();
    let rate = |r: Option<f64>| r.map_or("none".to_string(), |r| format!("{}/s", fixed(r)));

    let mut main = String::from("<section id=\"capacity\"><h2>Capacity</h2>");
    let _ = write!(
        main,
        "<p class=\"sustainable\" id=\"sustainable\">Sustainable rate under the SLO: <strong>{}</strong></p>",
        rate(capacity.sustainable_rate_per_s)
    );
    let rows = [
        ("scenario", esc(&capacity.scenario)),
        ("target", esc(&capacity.target)),
        ("SLO", esc(&capacity.slo.join(", "))),
        ("step length", format!("{} s", fixed(capacity.step_seconds))),
        ("knee", rate(capacity.knee_rate_per_s)),
        (
            "first failing rate",
            rate(capacity.first_failing_rate_per_s),
        ),
        ("confidence", esc(&capacity.confidence)),
        (
            "folder",
            format!("<code>{}</code>", esc(&dir.display().to_string())),
        ),
    ];
    main.push_str("<table class=\"kv\">");
    for (k, v) in rows {
        let _ = write!(main, "<tr><th>{k}</th><td>{v}</td></tr>");
    }
    main.push_str("</table>");

    let points = |f: fn(&crate::input::CapacityStep) -> Option<f64>| {
        steps
            .iter()
            .map(|s| (s.rate_per_s, f(s)))
            .collect::<Vec<_>>()
    };
    let mut c = Chart::new(
        "capacity-latency",
        "Time-to-confirm vs offered rate",
        XKind::Rate,
        YUnit::Ms,
    );
    c.y_label = "time-to-confirm".into();
    c.y_scale = YScale::Auto;
    c.series.push(
        Series::new("ttc p99", points(|s| s.ttc_p99_ms))
            .color("#e15759")
            .markers(),
    );
    c.series.push(
        Series::new("ttc p50", points(|s| s.ttc_p50_ms))
            .color("#4e79a7")
            .markers(),
    );
    c.hlines.push(Rule {
        value: slo,
        label: format!("SLO p99 {}", human_ms(slo)),
        class: "slo-line",
        color: "#c62828",
    });
    c.vlines = markers(capacity);
    c.caption = "Each dot is one step of the search (hover for values).".into();
    main.push_str(&c.render());

    let mut c = Chart::new(
        "capacity-throughput",
        "Achieved confirmed/s vs offered rate",
        XKind::Rate,
        YUnit::PerSecond,
    );
    c.y_label = "confirmed / s".into();
    c.series.push(
        Series::new("confirmed/s", points(|s| Some(s.confirmed_per_s)))
            .color("#59a14f")
            .markers(),
    );
    c.series.push(
        Series::new("started/s", points(|s| Some(s.start_rate_per_s)))
            .color("#4e79a7")
            .markers(),
    );
    c.series.push(
        Series::new("offered (ideal)", points(|s| Some(s.rate_per_s)))
            .color("#9e9e9e")
            .dashed(),
    );
    c.vlines = markers(capacity);
    main.push_str(&c.render());

    let mut c = Chart::new(
        "capacity-errors",
        "Error rate vs offered rate",
        XKind::Rate,
        YUnit::Percent,
    );
    c.y_label = "errors".into();
    c.series.push(
        Series::new("error rate", points(|s| Some(s.error_rate * 100.0)))
            .color("#b07aa1")
            .markers(),
    );
    c.vlines = markers(capacity);
    main.push_str(&c.render());

    main.push_str("<h3>Steps</h3><table id=\"steps\"><tr><th>#</th><th>phase</th><th class=\"num\">offered /s</th><th class=\"num\">started /s</th><th class=\"num\">confirmed /s</th><th class=\"num\">ttc p50 ms</th><th class=\"num\">ttc p99 ms</th><th class=\"num\">error %</th><th>verdict</th><th>failed rules</th><th>report</th></tr>");
    for (n, i) in order.iter().enumerate() {
        let s = &capacity.steps[*i];
        let report = &reports[*i];
        let link = match (&report.link, &report.error) {
            (Some(link), _) => format!("<a href=\"{}\">{}</a>", esc(link), esc(&s.run_dir)),
            (None, Some(e)) => format!("<span class=\"muted\">not rendered: {}</span>", esc(e)),
            (None, None) => String::new(),
        };
        let mut classes = String::new();
        if Some(s.rate_per_s) == capacity.sustainable_rate_per_s {
            classes.push_str(" sustainable");
        }
        if Some(s.rate_per_s) == capacity.knee_rate_per_s {
            classes.push_str(" knee");
        }
        let _ = write!(
            main,
            "<tr class=\"step{classes}\" data-rate=\"{}\"><td>{}</td><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td>{}</td><td>{}</td><td>{link}</td></tr>",
            fixed(s.rate_per_s),
            n + 1,
            esc(&s.phase),
            fixed(s.rate_per_s),
            fixed(s.start_rate_per_s),
            fixed(s.confirmed_per_s),
            s.ttc_p50_ms.map_or("-".into(), fixed),
            s.ttc_p99_ms.map_or("-".into(), fixed),
            fixed(s.error_rate * 100.0),
            badge(if s.passed { "PASS" } else { "FAIL" }),
            esc(&s.failed_rules.join(", "))
        );
    }
    main.push_str("</table>");

    main.push_str("<h3>Verification</h3>");
    if capacity.verification.is_empty() {
        main.push_str("<p class=\"muted\">No verification runs.</p>");
    } else {
        main.push_str("<table id=\"verification\"><tr><th class=\"num\">fraction</th><th class=\"num\">rate /s</th><th class=\"num\">ttc p99 ms</th><th class=\"num\">error %</th><th>verdict</th><th>as a correct capacity predicts</th></tr>");
        for v in &capacity.verification {
            let _ = write!(
                main,
                "<tr><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td>{}</td><td>{}</td></tr>",
                fixed(v.fraction),
                fixed(v.rate_per_s),
                v.ttc_p99_ms.map_or("-".into(), fixed),
                fixed(v.error_rate * 100.0),
                badge(if v.passed { "PASS" } else { "FAIL" }),
                match v.as_expected {
                    Some(true) => "yes",
                    Some(false) => "no",
                    None => "-",
                }
            );
        }
        main.push_str("</table>");
    }
    main.push_str("</section>");

    let header = format!(
        "<h1>Capacity: {}</h1><p>Sustainable {} under {} · knee {} · confidence {}</p>",
        esc(&capacity.scenario),
        rate(capacity.sustainable_rate_per_s),
        esc(&capacity.slo.join(", ")),
        rate(capacity.knee_rate_per_s),
        esc(&capacity.confidence)
    );
    document(
        &format!("Capacity {} - Stampede report", capacity.scenario),
        &header,
        &main,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_are_relative_to_the_capacity_folder() {
        let dir = Path::new("/runs/cap");
        assert_eq!(
            relative_link(dir, Path::new("/runs/cap/steps/01-10.0/report.html")),
            "steps/01-10.0/report.html"
        );
        assert_eq!(
            resolve(dir, "steps/01-10.0"),
            PathBuf::from("/runs/cap/steps/01-10.0")
        );
    }
}
