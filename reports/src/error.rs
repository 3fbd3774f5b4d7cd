//! What can go wrong while rendering: every error names the file it is about, on one line, so
//! the binary can print it as it is (`reports: <file>: <what>`).

use std::io;
use std::path::{Path, PathBuf};

/// A report could not be rendered.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// The run folder does not exist (or is not a folder).
    #[error("{}: no such run folder", path.display())]
    MissingFolder { path: PathBuf },
    /// The folder holds none of the files of a loadgen, chaos or capacity run.
    #[error("{}: not found (not a loadgen, chaos or capacity run folder)", path.display())]
    NoSummary { path: PathBuf },
    /// An input file exists but cannot be read, is not the JSON its type expects (with the
    /// line and column), or is of a newer format version.
    #[error(transparent)]
    File(#[from] runfiles::RunFileError),
    /// An input file parses but says something unusable (no steps, a bad histogram, ...).
    #[error("{}: {reason}", path.display())]
    Invalid { path: PathBuf, reason: String },
    /// The report could not be written.
    #[error("{}: cannot write: {source}", path.display())]
    Write { path: PathBuf, source: io::Error },
}

impl ReportError {
    /// Whether the input is at fault (exit 2) rather than the output (exit 3).
    pub fn is_input(&self) -> bool {
        !matches!(self, ReportError::Write { .. })
    }

    /// The file or folder the error is about.
    pub fn path(&self) -> &Path {
        match self {
            ReportError::MissingFolder { path }
            | ReportError::NoSummary { path }
            | ReportError::Invalid { path, .. }
            | ReportError::Write { path, .. } => path,
            ReportError::File(e) => e.path(),
        }
    }
}
