//! `chaos matrix`: list the cells, run a selection of them as a suite, or tabulate an earlier
//! matrix folder; optionally write the table into a Markdown file.

use std::path::{Path, PathBuf};

use runfiles::Exit;

use crate::matrix::{self, CellLoad, Selection};

/// What `chaos matrix` was asked to do.
pub enum What {
    /// Print the selected cells.
    List { selection: Selection },
    /// Tabulate the run folders of an earlier matrix folder.
    Table { dir: PathBuf },
    /// Run the selected cells.
    Run {
        selection: Selection,
        load: CellLoad,
        out: Option<PathBuf>,
    },
}

pub async fn matrix(what: What, readme: Option<&Path>) -> Exit {
    match what {
        What::List { selection } => match selection.apply(matrix::cells()) {
            Ok(cells) => {
                for cell in cells {
                    println!("{:<30} {}", cell.name, cell.description);
                    if let Some(why) = matrix::known_failure(&cell.name) {
                        println!("{:<30} KNOWN TO FAIL: {why}", "");
                    }
                }
                Exit::Pass
            }
            Err(e) => {
                eprintln!("chaos matrix: {e}");
                Exit::BadInput
            }
        },
        What::Table { dir } => match table(&dir, readme) {
            Ok(()) => Exit::Pass,
            Err(e) => {
                eprintln!("chaos matrix: {e:#}");
                Exit::BadInput
            }
        },
        What::Run {
            selection,
            load,
            out,
        } => run(&selection, load, out, readme).await,
    }
}

async fn run(
    selection: &Selection,
    load: CellLoad,
    out: Option<PathBuf>,
    readme: Option<&Path>,
) -> Exit {
    // A README that cannot take the table is refused before an hour of runs, not after.
    if let Some(path) = readme {
        if let Err(e) = read_markers(path) {
            eprintln!("chaos matrix: {e:#}");
            return Exit::BadInput;
        }
    }
    let all = matrix::cells().len();
    let cells = match selection.apply(matrix::cells()) {
        Ok(cells) => cells,
        Err(e) => {
            eprintln!("chaos matrix: {e}");
            return Exit::BadInput;
        }
    };
    let out = out.unwrap_or_else(|| {
        PathBuf::from(format!(
            "reports/out/{}-matrix",
            chrono::Utc::now().format("%Y%m%d-%H%M%S")
        ))
    });
    let scenarios = match matrix::write_scenarios(&cells, load, &out.join("cells")) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("chaos matrix: {e:#}");
            return Exit::Broken;
        }
    };
    match selection.sample {
        Some(n) => eprintln!(
            "chaos matrix: {} of {all} cells at {}/s, a sample of {n} drawn with seed {} \
             (again: --sample {n} --seed {}): {}",
            cells.len(),
            load.rate,
            selection.seed,
            selection.seed,
            names(&cells)
        ),
        None => eprintln!(
            "chaos matrix: {} of {all} cells at {}/s: {}",
            cells.len(),
            load.rate,
            names(&cells)
        ),
    }
    let rows = match crate::suite::run(&scenarios, &out, 1).await {
        Ok(rows) => rows,
        Err(e) => {
            eprintln!("chaos matrix: harness error: {e:#}");
            return Exit::Broken;
        }
    };
    println!("\n{}", crate::suite::markdown(&rows));
    if let Err(e) = table(&out, readme) {
        eprintln!("chaos matrix: {e:#}");
        return Exit::Broken;
    }
    println!("matrix folder: {}", out.display());
    Exit::from_code(crate::suite::exit_code(&rows))
}

fn names(cells: &[matrix::Cell]) -> String {
    cells
        .iter()
        .map(|c| c.name.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Prints the table of `dir`'s run folders and, with `readme`, writes it there.
fn table(dir: &Path, readme: Option<&Path>) -> anyhow::Result<()> {
    let rows = reports::matrix::rows(dir)?;
    if rows.is_empty() {
        anyhow::bail!("{}: no chaos run folder in it", dir.display());
    }
    let table = reports::matrix::markdown(&rows);
    println!("\n{table}");
    if let Some(path) = readme {
        let text = read_markers(path)?;
        let updated = reports::matrix::splice(&text, &table)
            .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        std::fs::write(path, updated)
            .map_err(|e| anyhow::anyhow!("{}: cannot write: {e}", path.display()))?;
        eprintln!("chaos matrix: the table is in {}", path.display());
    }
    Ok(())
}

/// The file's text, when it has the markers the table goes between.
fn read_markers(path: &Path) -> anyhow::Result<String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| anyhow::anyhow!("{}: cannot read: {e}", path.display()))?;
    reports::matrix::splice(&text, "").map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    Ok(text)
}
