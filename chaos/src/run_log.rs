//! Where the harness's own log lines go while a run is on: the run folder's `chaos.log`, not the
//! terminal.
//!
//! A run's terminal output is for a person: progress lines and the verdict. During a fault the
//! proxy logs every connection it could not open upstream (`WARN faultproxy::link: unable to
//! open connection to upstream … Connection refused`, 17 of them in one redis-down run), which is
//! expected and drowned the progress lines. While a run is on, [`RunLog`] sends every tracing line
//! to `<run folder>/chaos.log`; the run ends by saying how many lines went there. Outside a run
//! (and when the file cannot be opened) lines go to stderr as before.

use std::fs::File;
use std::io::{self, Write};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use tracing_subscriber::fmt::MakeWriter;

static CURRENT: Mutex<Option<File>> = Mutex::new(None);
static LINES: AtomicU64 = AtomicU64::new(0);

/// The tracing writer: the current run's `chaos.log`, else stderr.
#[derive(Debug, Clone, Copy, Default)]
pub struct RunLog;

/// One log line's destination.
pub struct RunLogLine;

impl<'a> MakeWriter<'a> for RunLog {
    type Writer = RunLogLine;

    fn make_writer(&'a self) -> Self::Writer {
        RunLogLine
    }
}

impl Write for RunLogLine {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        let mut current = CURRENT.lock().unwrap_or_else(|e| e.into_inner());
        match current.as_mut() {
            Some(file) => {
                if bytes.ends_with(b"\n") {
                    LINES.fetch_add(1, Ordering::Relaxed);
                }
                file.write(bytes)
            }
            None => io::stderr().write(bytes),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        let mut current = CURRENT.lock().unwrap_or_else(|e| e.into_inner());
        match current.as_mut() {
            Some(file) => file.flush(),
            None => io::stderr().flush(),
        }
    }
}

/// Sends log lines to `path` (appended) from now on.
///
/// # Errors
/// When the file cannot be opened (lines then stay on stderr).
pub fn start(path: &Path) -> io::Result<()> {
    let file = File::options().create(true).append(true).open(path)?;
    *CURRENT.lock().unwrap_or_else(|e| e.into_inner()) = Some(file);
    LINES.store(0, Ordering::Relaxed);
    Ok(())
}

/// Sends log lines to stderr again; returns how many went to the file since [`start`].
pub fn stop() -> u64 {
    CURRENT.lock().unwrap_or_else(|e| e.into_inner()).take();
    LINES.swap(0, Ordering::Relaxed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_go_to_the_run_file_while_it_is_set_and_are_counted() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("chaos.log");
        start(&path).unwrap();
        let mut line = RunLog.make_writer();
        line.write_all(b"WARN unable to open connection to upstream\n")
            .unwrap();
        line.write_all(b"WARN again\n").unwrap();
        assert_eq!(stop(), 2);
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text.lines().count(), 2, "{text}");
        // After the run: stderr again, the file untouched.
        RunLog.make_writer().write_all(b"").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), text);
    }
}
