//! Reading and writing run files: errors that name the file (and the line and column of bad
//! JSON), a check of the format version, atomic writes.

use std::io;
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde::Serialize;

/// A run file could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum RunFileError {
    /// The file exists but cannot be read (or does not exist where it must).
    #[error("{}: cannot read: {source}", path.display())]
    Read { path: PathBuf, source: io::Error },
    /// The file is not the JSON its type expects.
    #[error("{}:{line}:{column}: {message}", path.display())]
    Json {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
    /// The file was written by a newer Stampede, in a format this build does not know.
    #[error("{}: format version {found}, newer than this build reads (up to {supported}); read it with the Stampede that wrote it or a newer one", path.display())]
    Version {
        path: PathBuf,
        found: u32,
        supported: u32,
    },
    /// The file cannot be written.
    #[error("{}: cannot write: {source}", path.display())]
    Write { path: PathBuf, source: io::Error },
}

impl RunFileError {
    /// The file the error is about.
    pub fn path(&self) -> &Path {
        match self {
            RunFileError::Read { path, .. }
            | RunFileError::Json { path, .. }
            | RunFileError::Version { path, .. }
            | RunFileError::Write { path, .. } => path,
        }
    }
}

/// A file with a format version: reading refuses versions above [`Versioned::SUPPORTED`].
/// Files of unversioned types (and versioned ones written before the field: version 0) load.
pub trait Versioned {
    /// The newest format version this build reads (and writes).
    const SUPPORTED: u32;
    /// The version the file declares.
    fn version(&self) -> u32;
}

fn json_error(path: &Path, e: &serde_json::Error) -> RunFileError {
    // serde_json's message ends with " at line L column C"; the location goes in front instead.
    let message = e.to_string();
    let message = match message.rfind(" at line ") {
        Some(at) => message[..at].to_owned(),
        None => message,
    };
    RunFileError::Json {
        path: path.to_path_buf(),
        line: e.line(),
        column: e.column(),
        message,
    }
}

/// Reads and parses a JSON run file.
///
/// # Errors
/// [`RunFileError::Read`] or [`RunFileError::Json`], naming the file.
pub fn read_json<T: DeserializeOwned>(path: &Path) -> Result<T, RunFileError> {
    let bytes = std::fs::read(path).map_err(|source| RunFileError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    serde_json::from_slice(&bytes).map_err(|e| json_error(path, &e))
}

/// Like [`read_json`], but a missing file is `None`.
///
/// # Errors
/// As [`read_json`] for a file that exists.
pub fn read_optional_json<T: DeserializeOwned>(path: &Path) -> Result<Option<T>, RunFileError> {
    if !path.exists() {
        return Ok(None);
    }
    read_json(path).map(Some)
}

/// Reads a versioned run file and refuses one newer than this build reads.
///
/// # Errors
/// As [`read_json`], and [`RunFileError::Version`].
pub fn read_versioned<T: DeserializeOwned + Versioned>(path: &Path) -> Result<T, RunFileError> {
    let value: T = read_json(path)?;
    if value.version() > T::SUPPORTED {
        return Err(RunFileError::Version {
            path: path.to_path_buf(),
            found: value.version(),
            supported: T::SUPPORTED,
        });
    }
    Ok(value)
}

/// Writes `value` as pretty JSON (with a final newline): to a temporary file beside `path`,
/// then renamed over it, so a reader sees the old file or the new one, never half of one.
///
/// # Errors
/// [`RunFileError::Write`] naming `path`.
pub fn write_json<T: Serialize + ?Sized>(path: &Path, value: &T) -> Result<(), RunFileError> {
    let write_error = |source| RunFileError::Write {
        path: path.to_path_buf(),
        source,
    };
    let mut text = serde_json::to_string_pretty(value)
        .map_err(|e| write_error(io::Error::new(io::ErrorKind::InvalidData, e)))?;
    text.push('\n');
    let file_name = path
        .file_name()
        .ok_or_else(|| write_error(io::Error::other("not a file path")))?;
    let mut temporary = file_name.to_os_string();
    temporary.push(format!(".tmp-{}", std::process::id()));
    let temporary = path.with_file_name(temporary);
    std::fs::write(&temporary, text).map_err(write_error)?;
    std::fs::rename(&temporary, path).map_err(|e| {
        let _ = std::fs::remove_file(&temporary);
        write_error(e)
    })
}
