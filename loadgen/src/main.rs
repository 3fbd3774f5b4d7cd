//! `loadgen`: parse, run, print the verdict, exit 0 (pass) / 1 (a threshold failed) /
//! 2 (bad input: nothing was run) / 3 (the run broke).

use loadgen::cli::{Cli, Command};
use loadgen::thresholds::format_ms;
use runfiles::Exit;

#[tokio::main]
async fn main() {
    let cli: Cli = match runfiles::exit::parse_args("loadgen") {
        Ok(cli) => cli,
        Err(ended) => exit(ended),
    };
    let ended = match cli.command {
        Some(Command::Prepare(args)) => match loadgen::prepare::prepare(&args).await {
            Ok(_) => Exit::Pass,
            Err(e) => {
                eprintln!("loadgen prepare: {e:#}");
                Exit::BadInput
            }
        },
        Some(Command::Run(args)) => run(&args).await,
        Some(Command::Merge(args)) => match loadgen::merge::merge(&args.runs, &args.out) {
            Ok(s) => {
                println!(
                    "merged {} runs into {}: {} attempted, {:.1} confirmed/s, ttc p99 {}",
                    args.runs.len(),
                    args.out.display(),
                    s.bookings.attempted,
                    s.bookings.confirmed_per_s,
                    s.time_to_confirm
                        .get("all")
                        .map_or("-".into(), |p| format_ms(p.p99_ms))
                );
                Exit::Pass
            }
            Err(e) => {
                eprintln!("loadgen merge: {e}");
                Exit::BadInput
            }
        },
        None => run(&cli.run).await,
    };
    exit(ended);
}

/// Ends the process at once: goose and the history writer may leave blocking threads that a
/// runtime's drop would wait for.
fn exit(ended: Exit) -> ! {
    std::process::exit(i32::from(ended.code()))
}

async fn run(args: &loadgen::cli::RunArgs) -> Exit {
    match loadgen::run::run(args).await {
        Ok(outcome) => {
            let s = &outcome.summary;
            let b = &s.bookings;
            let outcomes: Vec<String> = b
                .outcomes
                .iter()
                .map(|(o, n)| format!("{} {n}", o.as_str()))
                .collect();
            println!();
            println!(
                "bookings: {} attempted, {} acknowledged, {:.1} confirmed/s | {}",
                b.attempted,
                b.acknowledged,
                b.confirmed_per_s,
                outcomes.join(", ")
            );
            if let Some(all) = s.time_to_confirm.get("all") {
                println!(
                    "time-to-confirm: p50 {} p90 {} p99 {} p99.9 {} max {}",
                    format_ms(all.p50_ms),
                    format_ms(all.p90_ms),
                    format_ms(all.p99_ms),
                    format_ms(all.p999_ms),
                    format_ms(all.max_ms)
                );
            }
            if let Some(o) = &s.open_model {
                println!(
                    "open model: target {:.1}/s, started {:.1}/s ({} started, {} late, {} dropped)",
                    o.target_rate_per_s, o.start_rate_per_s, o.started, o.late, o.dropped
                );
            }
            for t in &s.thresholds {
                println!("threshold {t}");
            }
            if let Some(e) = &s.history.write_error {
                println!("history: WRITE FAILED: {e}");
            }
            match &outcome.footprint {
                Some(footprint) => println!("{footprint}"),
                None => println!("generator: memory and CPU not measured (no /proc/self)"),
            }
            println!("run folder: {}", outcome.out_dir.display());
            match reports::render_run(&outcome.out_dir, &reports::RenderOptions::default()) {
                Ok(page) => println!("report: {}", page.display()),
                // The run and its files stand without the page: say so, keep the verdict.
                Err(e) => eprintln!("loadgen: the HTML report was not written: {e}"),
            }
            println!("verdict: {}", if s.passed { "PASS" } else { "FAIL" });
            outcome.exit()
        }
        Err(e) => {
            eprintln!("loadgen: {e}");
            e.exit()
        }
    }
}
