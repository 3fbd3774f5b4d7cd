//! `chaos run`, `chaos suite` and `chaos validate`: scenario files, checked before anything
//! starts, then run.

use std::path::{Path, PathBuf};

use runfiles::Exit;

use crate::collect::DatabaseUrls;
use crate::scenario::Scenario;

/// Where `chaos run --target` points instead of the file's target.
pub struct Aim {
    /// The running stack's gateway.
    pub gateway: String,
    /// The toxiproxy API in front of its Redis, Kafka and Postgres.
    pub toxiproxy: Option<String>,
    /// Its service databases, for the checker.
    pub databases: Option<DatabaseUrls>,
}

/// `chaos run`.
pub async fn run(
    path: &Path,
    out: Option<PathBuf>,
    keep_databases: bool,
    stretch: u32,
    aim: Option<Aim>,
) -> Exit {
    let scenario = match Scenario::load(path) {
        Ok(s) => s.stretched(stretch),
        Err(e) => {
            eprintln!("{e}");
            return Exit::BadInput;
        }
    };
    let scenario = match aim {
        None => scenario,
        Some(aim) => match scenario.aimed_at(&aim.gateway, aim.toxiproxy, aim.databases) {
            Ok(s) => s,
            Err(e) => {
                eprintln!("chaos run: {e}");
                return Exit::BadInput;
            }
        },
    };
    let options = crate::runner::RunOptions {
        out,
        keep_databases,
        stretch,
        before_load: None,
        after_load: None,
    };
    match crate::runner::run(&scenario, &options).await {
        Ok(report) => {
            println!("{}", crate::runner::table(&report));
            Exit::from(report.ending)
        }
        Err(e) => {
            eprintln!("chaos run {}: harness error: {e}", path.display());
            Exit::Broken
        }
    }
}

/// `chaos suite`.
pub async fn suite(paths: &[PathBuf], out: Option<PathBuf>, stretch: u32) -> Exit {
    let files = match scenario_files(paths) {
        Ok(files) => files,
        Err(e) => {
            eprintln!("chaos suite: {e}");
            return Exit::BadInput;
        }
    };
    // Every file is checked before any stack starts.
    let mut scenarios = Vec::new();
    let mut bad = false;
    for file in &files {
        match Scenario::load(file) {
            Ok(s) => scenarios.push(s),
            Err(e) => {
                eprintln!("{e}");
                bad = true;
            }
        }
    }
    if bad {
        return Exit::BadInput;
    }
    let out = out.unwrap_or_else(|| {
        PathBuf::from(format!(
            "reports/out/{}-suite",
            chrono::Utc::now().format("%Y%m%d-%H%M%S")
        ))
    });
    match crate::suite::run(&scenarios, &out, stretch).await {
        Ok(rows) => {
            println!("\n{}", crate::suite::markdown(&rows));
            println!("suite folder: {}", out.display());
            for row in &rows {
                println!("report: {}", row.run_dir.join("report.html").display());
            }
            Exit::from_code(crate::suite::exit_code(&rows))
        }
        Err(e) => {
            eprintln!("chaos suite: harness error: {e:#}");
            Exit::Broken
        }
    }
}

/// `chaos validate`: every file, every problem, exit 2 when any has one.
pub fn validate(paths: &[PathBuf]) -> Exit {
    let mut bad = false;
    for path in paths {
        match Scenario::load(path) {
            Ok(s) => println!(
                "{}: ok ({}, {} faults, load {:?})",
                path.display(),
                s.name,
                s.faults.len(),
                s.load_length()
            ),
            Err(e) => {
                eprintln!("{e}");
                bad = true;
            }
        }
    }
    if bad {
        Exit::BadInput
    } else {
        Exit::Pass
    }
}

/// The scenario files of `paths` (a directory gives its *.toml, sorted).
fn scenario_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>, String> {
    let mut files = Vec::new();
    for path in paths {
        if path.is_dir() {
            let entries = std::fs::read_dir(path)
                .map_err(|e| format!("{}: cannot read the directory: {e}", path.display()))?;
            let mut found: Vec<PathBuf> = entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "toml"))
                .collect();
            if found.is_empty() {
                return Err(format!("{}: no *.toml scenario files", path.display()));
            }
            found.sort();
            files.extend(found);
        } else {
            files.push(path.clone());
        }
    }
    Ok(files)
}
