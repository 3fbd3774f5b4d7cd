//! Charts as inline SVG, drawn here (no chart library, no script needed to see them).
//!
//! ```text
//! Chart { series, bands (fault windows), hlines (SLO), vlines (knee, sustainable) }
//!   └─ render() ─▶ <figure> <svg class="chart"> plot background, grid + ticks, bands
//!                  (rect.fault-window[data-fault]), lines (polyline.series[data-s]), rules,
//!                  legend (g.legend-item[data-s]) </svg>
//!                  <script type="application/json" class="chart-data"> values for the tooltips
//! ```
//! The y axis is linear from 0, or logarithmic (decades) for latencies that span more than
//! about 1.5 decades. The x axis is seconds, offered rate, or a percentile axis where
//! x = log10(1 / (1 - q)), so 90 %, 99 %, 99.9 % ... are evenly spaced.

use std::fmt::Write;

use crate::format::{compact, esc, human_ms};

/// Colours for series, in order (colour-blind friendly, Tableau 10).
pub const PALETTE: [&str; 10] = [
    "#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7",
    "#9c755f", "#7f7f7f",
];

/// What the x values are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum XKind {
    /// Seconds from the load start.
    Seconds,
    /// log10(1 / (1 - q)) of a quantile q.
    Percentile,
    /// An offered rate, per second.
    Rate,
}

/// What the y values are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum YUnit {
    Ms,
    Count,
    Percent,
    PerSecond,
}

/// How the y axis maps values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum YScale {
    Linear,
    Log,
    /// Log for milliseconds spanning more than ~1.5 decades, else linear.
    Auto,
}

/// One line.
#[derive(Debug, Clone, Default)]
pub struct Series {
    pub name: String,
    /// (x, y); `None` is a gap in the line.
    pub points: Vec<(f64, Option<f64>)>,
    pub color: Option<&'static str>,
    pub dashed: bool,
    /// Draws a dot, with a native tooltip, at each point (for short series).
    pub markers: bool,
}

impl Series {
    pub fn new(name: impl Into<String>, points: Vec<(f64, Option<f64>)>) -> Series {
        Series {
            name: name.into(),
            points,
            ..Series::default()
        }
    }

    #[must_use]
    pub fn color(mut self, color: &'static str) -> Series {
        self.color = Some(color);
        self
    }

    #[must_use]
    pub fn markers(mut self) -> Series {
        self.markers = true;
        self
    }

    #[must_use]
    pub fn dashed(mut self) -> Series {
        self.dashed = true;
        self
    }
}

/// A shaded x range: a fault window.
#[derive(Debug, Clone)]
pub struct Band {
    /// Position in faults.json; written as `data-fault`.
    pub index: usize,
    pub start: f64,
    /// `None`: never healed, shaded to the end of the axis.
    pub end: Option<f64>,
    pub label: String,
}

/// A horizontal or vertical reference line.
#[derive(Debug, Clone)]
pub struct Rule {
    pub value: f64,
    pub label: String,
    /// CSS class (`slo-line`, `marker sustainable`, ...).
    pub class: &'static str,
    pub color: &'static str,
}

/// A chart.
#[derive(Debug, Clone)]
pub struct Chart {
    /// Unique in the page.
    pub id: String,
    pub title: String,
    pub width: f64,
    pub height: f64,
    pub x_kind: XKind,
    pub x_label: String,
    pub y_label: String,
    pub y_unit: YUnit,
    pub y_scale: YScale,
    /// Fixed x range; else the data's.
    pub x_domain: Option<(f64, f64)>,
    pub series: Vec<Series>,
    pub bands: Vec<Band>,
    pub hlines: Vec<Rule>,
    pub vlines: Vec<Rule>,
    /// A line under the chart (what it shows, notes).
    pub caption: String,
}

impl Chart {
    pub fn new(
        id: impl Into<String>,
        title: impl Into<String>,
        x_kind: XKind,
        y_unit: YUnit,
    ) -> Chart {
        Chart {
            id: id.into(),
            title: title.into(),
            width: 1200.0,
            height: 300.0,
            x_kind,
            x_label: match x_kind {
                XKind::Seconds => "seconds from load start".into(),
                XKind::Percentile => "percentile".into(),
                XKind::Rate => "offered rate (bookings/s)".into(),
            },
            y_label: String::new(),
            y_unit,
            y_scale: YScale::Auto,
            x_domain: None,
            series: Vec::new(),
            bands: Vec::new(),
            hlines: Vec::new(),
            vlines: Vec::new(),
            caption: String::new(),
        }
    }

    #[must_use]
    pub fn size(mut self, width: f64, height: f64) -> Chart {
        self.width = width;
        self.height = height;
        self
    }

    /// The chart as a `<figure>` with its SVG and the tooltip data.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let id = esc(&self.id);
        let _ = write!(
            out,
            "<figure class=\"chart-box\" style=\"max-width:{}px\"><figcaption>{}</figcaption>",
            self.width,
            esc(&self.title)
        );
        let layout = Layout::new(self);
        let (w, h) = (self.width, layout.height);
        let _ = write!(
            out,
            "<svg class=\"chart\" id=\"{id}\" data-x=\"{}\" viewBox=\"0 0 {w} {h}\" width=\"100%\" role=\"img\" aria-label=\"{}\" font-family=\"sans-serif\" font-size=\"11\">",
            match self.x_kind {
                XKind::Seconds => "seconds",
                XKind::Percentile => "percentile",
                XKind::Rate => "rate",
            },
            esc(&self.title)
        );
        let (px0, px1, py0, py1) = (layout.px0, layout.px1, layout.py0, layout.py1);
        let _ = write!(out, "<clipPath id=\"clip-{id}\"><rect x=\"{px0}\" y=\"{py0}\" width=\"{:.1}\" height=\"{:.1}\"/></clipPath>", px1 - px0, py1 - py0);
        let _ = write!(out, "<rect class=\"plot\" x=\"{px0}\" y=\"{py0}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"#f4f6f9\"/>", px1 - px0, py1 - py0);

        // Grid and ticks.
        for (value, label) in &layout.y_ticks {
            let y = layout.sy(*value);
            let _ = write!(
                out,
                "<line x1=\"{px0}\" x2=\"{px1}\" y1=\"{y:.1}\" y2=\"{y:.1}\" stroke=\"#dde1e6\"/>"
            );
            let _ = write!(
                out,
                "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\" fill=\"#333\">{}</text>",
                px0 - 6.0,
                y + 4.0,
                esc(label)
            );
        }
        for (value, label) in &layout.x_ticks {
            let x = layout.sx(*value);
            // A label at the right edge would run out of the chart.
            let anchor = if x > px1 - 20.0 { "end" } else { "middle" };
            let _ = write!(
                out,
                "<line x1=\"{x:.1}\" x2=\"{x:.1}\" y1=\"{py0}\" y2=\"{py1}\" stroke=\"#e6e9ed\"/>"
            );
            let _ = write!(
                out,
                "<text x=\"{x:.1}\" y=\"{:.1}\" text-anchor=\"{anchor}\" fill=\"#333\">{}</text>",
                py1 + 15.0,
                esc(label)
            );
        }
        let _ = write!(
            out,
            "<line x1=\"{px0}\" x2=\"{px1}\" y1=\"{py1}\" y2=\"{py1}\" stroke=\"#888\"/>"
        );
        let _ = write!(
            out,
            "<line x1=\"{px0}\" x2=\"{px0}\" y1=\"{py0}\" y2=\"{py1}\" stroke=\"#888\"/>"
        );
        let _ = write!(
            out,
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\" fill=\"#555\">{}</text>",
            (px0 + px1) / 2.0,
            py1 + 31.0,
            esc(&self.x_label)
        );
        if !self.y_label.is_empty() {
            let (x, y) = (13.0, (py0 + py1) / 2.0);
            let _ = write!(out, "<text x=\"{x}\" y=\"{y:.1}\" text-anchor=\"middle\" fill=\"#555\" transform=\"rotate(-90 {x} {y:.1})\">{}</text>", esc(&self.y_label));
        }

        // Fault windows.
        for band in &self.bands {
            let x0 = layout.sx(band.start).clamp(px0, px1);
            let x1 = band.end.map_or(px1, |e| layout.sx(e)).clamp(px0, px1);
            let width = (x1 - x0).max(2.0);
            let label = truncate(&band.label, 48);
            let _ = write!(
                out,
                "<rect class=\"fault-window\" data-fault=\"{}\" x=\"{x0:.1}\" y=\"{py0}\" width=\"{width:.1}\" height=\"{:.1}\" fill=\"#f28e2b\" fill-opacity=\"0.16\" stroke=\"#f28e2b\" stroke-opacity=\"0.5\"><title>{}</title></rect>",
                band.index,
                py1 - py0,
                esc(&band.label)
            );
            let ly = py0 + 11.0 + (band.index % 3) as f64 * 12.0;
            let _ = write!(
                out,
                "<text class=\"fault-label\" x=\"{:.1}\" y=\"{ly:.1}\" fill=\"#a0521a\">{}</text>",
                x0 + 3.0,
                esc(&label)
            );
        }

        // Series.
        let _ = write!(out, "<g clip-path=\"url(#clip-{id})\">");
        for (i, series) in self.series.iter().enumerate() {
            let color = series.color.unwrap_or(PALETTE[i % PALETTE.len()]);
            let dash = if series.dashed {
                " stroke-dasharray=\"5 3\""
            } else {
                ""
            };
            let _ = write!(out, "<g class=\"series\" data-s=\"{i}\">");
            for run in runs(&series.points) {
                if run.len() == 1 {
                    let (x, y) = run[0];
                    let _ = write!(
                        out,
                        "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"2\" fill=\"{color}\"/>",
                        layout.sx(x),
                        layout.sy(y)
                    );
                    continue;
                }
                let mut points = String::with_capacity(run.len() * 12);
                for (x, y) in &run {
                    let _ = write!(points, "{:.1},{:.1} ", layout.sx(*x), layout.sy(*y));
                }
                let _ = write!(out, "<polyline points=\"{}\" fill=\"none\" stroke=\"{color}\" stroke-width=\"1.6\"{dash}/>", points.trim_end());
            }
            if series.markers {
                for (x, y) in series.points.iter().filter_map(|(x, y)| y.map(|y| (*x, y))) {
                    let _ = write!(
                        out,
                        "<circle class=\"point\" cx=\"{:.1}\" cy=\"{:.1}\" r=\"4\" fill=\"{color}\"><title>{}: {} at {}</title></circle>",
                        layout.sx(x),
                        layout.sy(y),
                        esc(&series.name),
                        esc(&y_text(self.y_unit, y)),
                        esc(&x_text(self.x_kind, x))
                    );
                }
            }
            out.push_str("</g>");
        }
        out.push_str("</g>");

        // Reference lines.
        for rule in &self.hlines {
            let y = layout.sy(rule.value);
            if !(py0 - 0.5..=py1 + 0.5).contains(&y) {
                continue;
            }
            let _ = write!(
                out,
                "<line class=\"{}\" x1=\"{px0}\" x2=\"{px1}\" y1=\"{y:.1}\" y2=\"{y:.1}\" stroke=\"{}\" stroke-width=\"1.5\" stroke-dasharray=\"7 4\"/>",
                rule.class, rule.color
            );
            let _ = write!(
                out,
                "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\" fill=\"{}\">{}</text>",
                px1 - 4.0,
                y - 4.0,
                rule.color,
                esc(&rule.label)
            );
        }
        for (k, rule) in self.vlines.iter().enumerate() {
            let x = layout.sx(rule.value);
            if !(px0 - 0.5..=px1 + 0.5).contains(&x) {
                continue;
            }
            let _ = write!(
                out,
                "<line class=\"{}\" data-value=\"{}\" x1=\"{x:.1}\" x2=\"{x:.1}\" y1=\"{py0}\" y2=\"{py1}\" stroke=\"{}\" stroke-width=\"1.5\" stroke-dasharray=\"4 3\"/>",
                rule.class,
                compact(rule.value),
                rule.color
            );
            let _ = write!(
                out,
                "<text x=\"{:.1}\" y=\"{:.1}\" fill=\"{}\">{}</text>",
                x + 4.0,
                py0 + 12.0 + k as f64 * 13.0,
                rule.color,
                esc(&rule.label)
            );
        }

        // Legend (click toggles a series when scripts run).
        for item in &layout.legend {
            let color = self.series[item.series]
                .color
                .unwrap_or(PALETTE[item.series % PALETTE.len()]);
            let _ = write!(
                out,
                "<g class=\"legend-item\" data-s=\"{}\"><rect x=\"{:.1}\" y=\"{:.1}\" width=\"14\" height=\"4\" fill=\"{color}\"/><text x=\"{:.1}\" y=\"{:.1}\" fill=\"#222\">{}</text></g>",
                item.series,
                item.x,
                item.y - 4.0,
                item.x + 18.0,
                item.y,
                esc(&self.series[item.series].name)
            );
        }
        let _ = write!(out, "<line class=\"cursor\" x1=\"0\" x2=\"0\" y1=\"{py0}\" y2=\"{py1}\" stroke=\"#555\" visibility=\"hidden\"/>");
        let _ = write!(out, "<rect class=\"hover\" x=\"{px0}\" y=\"{py0}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"transparent\"/>", px1 - px0, py1 - py0);
        out.push_str("</svg>");
        out.push_str(&self.data_json(&layout));
        if !self.caption.is_empty() {
            let _ = write!(out, "<p class=\"caption\">{}</p>", esc(&self.caption));
        }
        out.push_str("</figure>");
        out
    }

    /// The values behind the lines, for the tooltips: `{"xk", "u", "map": [x0, x1, px0, px1],
    /// "x": [..], "s": [{"n", "v": [..]} | {"n", "x", "v"}]}`.
    fn data_json(&self, layout: &Layout) -> String {
        let xs = |s: &Series| {
            s.points
                .iter()
                .map(|p| compact(p.0))
                .collect::<Vec<_>>()
                .join(",")
        };
        let shared = self.series.first().map(xs);
        let all_same = self.series.iter().all(|s| Some(xs(s)) == shared);
        let mut json = String::new();
        let xk = match self.x_kind {
            XKind::Seconds => "s",
            XKind::Percentile => "p",
            XKind::Rate => "r",
        };
        let unit = match self.y_unit {
            YUnit::Ms => "ms",
            YUnit::Count => "",
            YUnit::Percent => "%",
            YUnit::PerSecond => "/s",
        };
        let _ = write!(
            json,
            "{{\"xk\":\"{xk}\",\"u\":\"{unit}\",\"map\":[{},{},{},{}]",
            compact(layout.x0),
            compact(layout.x1),
            compact(layout.px0),
            compact(layout.px1)
        );
        if all_same {
            let _ = write!(json, ",\"x\":[{}]", shared.unwrap_or_default());
        }
        json.push_str(",\"s\":[");
        for (i, s) in self.series.iter().enumerate() {
            if i > 0 {
                json.push(',');
            }
            let name = serde_json::to_string(&s.name).unwrap_or_else(|_| "\"\"".into());
            let values = s
                .points
                .iter()
                .map(|p| p.1.map_or("null".into(), compact))
                .collect::<Vec<_>>()
                .join(",");
            if all_same {
                let _ = write!(json, "{{\"n\":{name},\"v\":[{values}]}}");
            } else {
                let _ = write!(json, "{{\"n\":{name},\"x\":[{}],\"v\":[{values}]}}", xs(s));
            }
        }
        json.push_str("]}");
        format!(
            "<script type=\"application/json\" class=\"chart-data\" data-for=\"{}\">{}</script>",
            esc(&self.id),
            json.replace("</", "<\\/")
        )
    }
}

/// Where things go in a chart.
struct Layout {
    height: f64,
    px0: f64,
    px1: f64,
    py0: f64,
    py1: f64,
    x0: f64,
    x1: f64,
    y0: f64,
    y1: f64,
    log: bool,
    x_ticks: Vec<(f64, String)>,
    y_ticks: Vec<(f64, String)>,
    legend: Vec<LegendItem>,
}

struct LegendItem {
    series: usize,
    x: f64,
    y: f64,
}

impl Layout {
    fn new(chart: &Chart) -> Layout {
        let px0 = 66.0;
        let px1 = chart.width - 18.0;
        // Legend rows above the plot.
        let mut legend = Vec::new();
        let (mut x, mut row) = (px0, 0usize);
        for (i, s) in chart.series.iter().enumerate() {
            let width = 28.0 + 6.4 * s.name.chars().count() as f64;
            if x + width > px1 && x > px0 {
                x = px0;
                row += 1;
            }
            legend.push(LegendItem {
                series: i,
                x,
                y: 16.0 + row as f64 * 15.0,
            });
            x += width;
        }
        let py0 = 26.0 + row as f64 * 15.0;
        let height = chart.height + row as f64 * 15.0;
        let py1 = height - 40.0;

        // x domain.
        let xs = chart
            .series
            .iter()
            .flat_map(|s| s.points.iter().map(|p| p.0));
        let (mut x0, mut x1) = chart
            .x_domain
            .unwrap_or_else(|| min_max(xs).unwrap_or((0.0, 1.0)));
        if chart.x_domain.is_none() {
            for v in &chart.vlines {
                x0 = x0.min(v.value);
                x1 = x1.max(v.value);
            }
            if chart.x_kind == XKind::Rate {
                x0 = 0.0;
                x1 *= 1.05;
            }
        }
        if x1 <= x0 {
            x1 = x0 + 1.0;
        }

        // y domain.
        let ys: Vec<f64> = chart
            .series
            .iter()
            .flat_map(|s| s.points.iter().filter_map(|p| p.1))
            .filter(|y| y.is_finite())
            .chain(chart.hlines.iter().map(|r| r.value))
            .collect();
        let max = ys.iter().copied().fold(0.0_f64, f64::max);
        let min_pos = ys
            .iter()
            .copied()
            .filter(|y| *y > 0.0)
            .fold(f64::INFINITY, f64::min);
        let log = match chart.y_scale {
            YScale::Linear => false,
            YScale::Log => min_pos.is_finite(),
            YScale::Auto => {
                chart.y_unit == YUnit::Ms && min_pos.is_finite() && max / min_pos > 30.0
            }
        };
        let (y0, y1, y_ticks) = if log {
            let lo = 10f64.powf(min_pos.log10().floor());
            let hi = 10f64.powf((max * 1.02).log10().ceil()).max(lo * 10.0);
            (lo, hi, log_ticks(lo, hi, chart.y_unit))
        } else {
            let (step, top) = nice_linear(if max > 0.0 { max * 1.05 } else { 1.0 }, 5);
            let ticks = (0..)
                .map(|k| k as f64 * step)
                .take_while(|v| *v <= top + step * 1e-9)
                .map(|v| (v, y_text(chart.y_unit, v)))
                .collect();
            (0.0, top, ticks)
        };

        let x_ticks = match chart.x_kind {
            XKind::Percentile => [0.0, 0.5, 0.9, 0.99, 0.999, 0.9999, 0.99999]
                .iter()
                .map(|q: &f64| {
                    (
                        (1.0 / (1.0 - q)).log10(),
                        x_text(XKind::Percentile, (1.0 / (1.0 - q)).log10()),
                    )
                })
                .filter(|(x, _)| *x >= x0 - 1e-9 && *x <= x1 + 1e-9)
                .collect(),
            XKind::Seconds => {
                let span = x1 - x0;
                let step = [
                    1.0, 2.0, 5.0, 10.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 900.0, 1800.0,
                    3600.0,
                ]
                .into_iter()
                .find(|s| span / s <= 12.0)
                .unwrap_or(7200.0);
                let first = (x0 / step).ceil() * step;
                (0..)
                    .map(|k| first + k as f64 * step)
                    .take_while(|v| *v <= x1 + 1e-9)
                    .map(|v| (v, x_text(XKind::Seconds, v)))
                    .collect()
            }
            XKind::Rate => {
                let (step, _) = nice_linear(x1 - x0, 8);
                let first = (x0 / step).ceil() * step;
                (0..)
                    .map(|k| first + k as f64 * step)
                    .take_while(|v| *v <= x1 + 1e-9)
                    .map(|v| (v, x_text(XKind::Rate, v)))
                    .collect()
            }
        };
        Layout {
            height,
            px0,
            px1,
            py0,
            py1,
            x0,
            x1,
            y0,
            y1,
            log,
            x_ticks,
            y_ticks,
            legend,
        }
    }

    fn sx(&self, x: f64) -> f64 {
        self.px0 + (x - self.x0) / (self.x1 - self.x0) * (self.px1 - self.px0)
    }

    fn sy(&self, y: f64) -> f64 {
        let t = if self.log {
            let y = y.max(self.y0);
            (y.log10() - self.y0.log10()) / (self.y1.log10() - self.y0.log10())
        } else {
            (y - self.y0) / (self.y1 - self.y0)
        };
        self.py1 - t * (self.py1 - self.py0)
    }
}

/// Splits points into runs of defined values.
fn runs(points: &[(f64, Option<f64>)]) -> Vec<Vec<(f64, f64)>> {
    let mut out = Vec::new();
    let mut run = Vec::new();
    for (x, y) in points {
        match y.filter(|y| y.is_finite()) {
            Some(y) => run.push((*x, y)),
            None if !run.is_empty() => out.push(std::mem::take(&mut run)),
            None => {}
        }
    }
    if !run.is_empty() {
        out.push(run);
    }
    out
}

fn min_max(values: impl Iterator<Item = f64>) -> Option<(f64, f64)> {
    values
        .filter(|v| v.is_finite())
        .fold(None, |acc, v| match acc {
            None => Some((v, v)),
            Some((lo, hi)) => Some((lo.min(v), hi.max(v))),
        })
}

/// A step of 1, 2 or 5 x 10^k giving about `ticks` ticks up to `max`, and the top tick.
fn nice_linear(max: f64, ticks: usize) -> (f64, f64) {
    let raw = max / ticks as f64;
    let magnitude = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 2.5, 5.0, 10.0]
        .into_iter()
        .map(|m| m * magnitude)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * magnitude);
    (step, (max / step).ceil() * step)
}

fn log_ticks(lo: f64, hi: f64, unit: YUnit) -> Vec<(f64, String)> {
    let decades = (hi / lo).log10().round() as i32;
    let multiples: &[f64] = if decades <= 2 {
        &[1.0, 2.0, 5.0]
    } else {
        &[1.0]
    };
    let mut out = Vec::new();
    let mut decade = lo;
    while decade <= hi * 1.0001 {
        for m in multiples {
            let v = decade * m;
            if v <= hi * 1.0001 {
                out.push((v, y_text(unit, v)));
            }
        }
        decade *= 10.0;
    }
    out
}

/// A y value with its unit.
pub fn y_text(unit: YUnit, y: f64) -> String {
    match unit {
        YUnit::Ms => human_ms(y),
        YUnit::Count => compact(y),
        YUnit::Percent => format!("{}%", compact(y)),
        YUnit::PerSecond => format!("{}/s", compact(y)),
    }
}

/// An x value for people.
pub fn x_text(kind: XKind, x: f64) -> String {
    match kind {
        XKind::Seconds => format!("{}s", compact(x)),
        XKind::Rate => format!("{}/s", compact(x)),
        XKind::Percentile => {
            let q = 1.0 - 10f64.powf(-x);
            let pct = q * 100.0;
            let text = format!("{pct:.5}");
            let text = text.trim_end_matches('0').trim_end_matches('.');
            format!("{text}%")
        }
    }
}

fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let mut out: String = text.chars().take(max - 1).collect();
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chart() -> Chart {
        let mut c = Chart::new("t", "test", XKind::Seconds, YUnit::Ms);
        c.series.push(Series::new(
            "p99",
            vec![
                (0.5, Some(10.0)),
                (1.5, None),
                (2.5, Some(30.0)),
                (3.5, Some(3000.0)),
            ],
        ));
        c.bands.push(Band {
            index: 0,
            start: 1.0,
            end: Some(2.0),
            label: "redis latency".into(),
        });
        c.bands.push(Band {
            index: 1,
            start: 3.0,
            end: None,
            label: "kill <inventory>".into(),
        });
        c
    }

    #[test]
    fn bands_series_and_data_render() {
        let svg = chart().render();
        assert_eq!(svg.matches("class=\"fault-window\"").count(), 2);
        assert!(svg.contains("data-fault=\"1\""));
        assert!(svg.contains("kill &lt;inventory&gt;"));
        // One isolated point (a dot) and one two-point line.
        assert_eq!(svg.matches("<polyline").count(), 1);
        assert!(svg.contains("\"v\":[10,null,30,3000]"));
        assert!(!svg.contains("http"));
    }

    #[test]
    fn percentile_axis_spaces_nines_evenly() {
        assert_eq!(x_text(XKind::Percentile, 2.0), "99%");
        assert_eq!(x_text(XKind::Percentile, 3.0), "99.9%");
        assert_eq!(x_text(XKind::Percentile, 0.0), "0%");
        assert_eq!(x_text(XKind::Percentile, 2f64.log10()), "50%");
    }

    #[test]
    fn nice_steps() {
        assert_eq!(nice_linear(97.0, 5), (20.0, 100.0));
        assert_eq!(nice_linear(1.0, 5), (0.2, 1.0));
    }
}
