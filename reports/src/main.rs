//! `reports`: renders a run folder's report, or a diff of two runs.
//!
//! ```text
//! reports render <run folder> [--out FILE] [--slo-p99 DURATION]   -> prints the page's path
//! reports diff <run A> <run B> [--out FILE]                        -> path + the deltas
//! ```
//! Exit codes: 0 done; 2 bad input (one line on stderr naming the file); 3 the page could not be
//! written.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use reports::{diff::Diff, render_run, write_diff, RenderOptions, ReportError};

#[derive(Parser)]
#[command(
    name = "reports",
    version,
    about = "Stampede's self-contained HTML run reports"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Render a loadgen, chaos or capacity run folder into <folder>/report.html.
    Render {
        /// The run folder.
        dir: PathBuf,
        /// Where to write the page (default <folder>/report.html).
        #[arg(long)]
        out: Option<PathBuf>,
        /// The time-to-confirm p99 SLO (500ms, 2s); default the run's first ttc-p99 rule, else 1s.
        #[arg(long, value_parser = parse_duration)]
        slo_p99: Option<Duration>,
    },
    /// Render run A (baseline) and run B (candidate) side by side.
    Diff {
        a: PathBuf,
        b: PathBuf,
        /// Where to write the page (default <B>/diff-<A folder name>.html).
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

fn parse_duration(text: &str) -> Result<Duration, String> {
    reports::format::parse_duration(text)
}

fn fail(e: &ReportError) -> ExitCode {
    let line = e.to_string().replace('\n', " ");
    eprintln!("reports: {line}");
    if e.is_input() {
        runfiles::Exit::BadInput.into()
    } else {
        runfiles::Exit::Broken.into()
    }
}

fn main() -> ExitCode {
    let cli: Cli = match runfiles::exit::parse_args("reports") {
        Ok(cli) => cli,
        Err(ended) => return ended.into(),
    };
    match cli.command {
        Command::Render { dir, out, slo_p99 } => {
            match render_run(&dir, &RenderOptions { slo_p99, out }) {
                Ok(path) => {
                    println!("{}", path.display());
                    ExitCode::SUCCESS
                }
                Err(e) => fail(&e),
            }
        }
        Command::Diff { a, b, out } => {
            let result = Diff::compare(&a, &b)
                .and_then(|diff| write_diff(&diff, out.as_deref()).map(|path| (diff, path)));
            match result {
                Ok((diff, path)) => {
                    println!("{}", path.display());
                    print!("{}", diff.text_table());
                    ExitCode::SUCCESS
                }
                Err(e) => fail(&e),
            }
        }
    }
}
