//! Stampede's run reports: one self-contained HTML file per run folder (no network needed to
//! view it), and side-by-side diffs of two runs.
//!
//! ```text
//! run folder ──detect──▶ loadgen run (summary.json)          ─┐
//!                        chaos run (faults, verdict, loadgen/) ├─▶ report.html
//!                        capacity (capacity.json, steps/*)    ─┘   (+ each step's report.html)
//! run A + run B ──▶ diff-<A>.html in B + a text table of the deltas
//! ```
//!
//! Modules:
//! - [`environment`]: the machine and build of a run (`environment.json`), captured by loadgen
//!   and chaos at a run's start;
//! - [`input`]: a run folder's files (the `runfiles` crate's types) put together into a run;
//! - [`report`]: the page of one run; [`capacity`]: the capacity page; [`diff`]: two runs;
//! - [`recovery`]: recovery time after a fault window and the SLO;
//! - [`svg`]: the charts; [`hist`]: the HdrHistograms; [`page`]: the HTML shell; [`format`]:
//!   text helpers; [`error`]: [`ReportError`].
//!
//! What it must never import: the services, chaos, loadgen or an async runtime (it reads files
//! and writes pages; loadgen and chaos call it, not the other way round). `chaos/tests/
//! dependencies.rs` checks the services.

use std::path::{Path, PathBuf};
use std::time::Duration;

pub mod capacity;
pub mod cpu;
pub mod diff;
pub mod environment;
pub mod error;
pub mod format;
pub mod hist;
pub mod input;
pub mod matrix;
pub mod page;
pub mod recovery;
pub mod report;
pub mod svg;

pub use environment::Environment;
pub use error::ReportError;
pub use input::FolderKind;

/// How to render a run.
#[derive(Debug, Clone, Default)]
pub struct RenderOptions {
    /// The time-to-confirm p99 SLO for recovery times and the SLO line; default the first
    /// `ttc-p99<X` threshold rule of the run, else 1 s.
    pub slo_p99: Option<Duration>,
    /// Where to write the page; default `<run folder>/report.html`.
    pub out: Option<PathBuf>,
}

/// Renders the report of a loadgen, chaos or capacity run folder (a capacity folder's steps get
/// their own reports too) and returns the page's path (`<dir>/report.html` unless
/// `opts.out`).
///
/// # Errors
/// [`ReportError`] naming the file: the folder is missing, holds no run, a file is malformed
/// (input errors), or the page cannot be written.
pub fn render_run(dir: &Path, opts: &RenderOptions) -> Result<PathBuf, ReportError> {
    let html = match input::detect(dir)? {
        FolderKind::Capacity => capacity::render(dir, opts)?,
        FolderKind::Loadgen | FolderKind::Chaos => report::render(&input::Run::load(dir)?, opts),
    };
    let out = opts.out.clone().unwrap_or_else(|| dir.join("report.html"));
    write(&out, &html)?;
    Ok(out)
}

/// Renders runs `a` (baseline) and `b` (candidate) side by side and returns the page's path
/// (default `<b>/diff-<a's folder name>.html`). [`diff::Diff::compare`] gives the deltas too.
///
/// # Errors
/// As [`render_run`], for either run.
pub fn render_diff(a: &Path, b: &Path, out: Option<&Path>) -> Result<PathBuf, ReportError> {
    let diff = diff::Diff::compare(a, b)?;
    write_diff(&diff, out)
}

/// Writes a computed diff's page (default path as [`render_diff`]).
///
/// # Errors
/// [`ReportError::Write`].
pub fn write_diff(diff: &diff::Diff, out: Option<&Path>) -> Result<PathBuf, ReportError> {
    let path = out.map_or_else(|| diff.default_out(), Path::to_path_buf);
    write(&path, &diff.render_html())?;
    Ok(path)
}

fn write(path: &Path, html: &str) -> Result<(), ReportError> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(|source| ReportError::Write {
            path: path.to_path_buf(),
            source,
        })?;
    }
    std::fs::write(path, html).map_err(|source| ReportError::Write {
        path: path.to_path_buf(),
        source,
    })
}
