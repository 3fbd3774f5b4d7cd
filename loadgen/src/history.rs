//! The operation history: every booking and cancel operation, appended as JSON lines for the
//! chaos checker (Jepsen's model: an `invoke` then one completion per process).
//!
//! ```text
//! {"index":0,"process":17,"type":"invoke","f":"book","time":1234567,"wall":"2026-11-22T05:00:00.123Z",
//!  "value":{"user":"<uuid>","eventId":"<uuid>","seatIds":["<uuid>"]},"error":null}
//! {"index":5,"process":17,"type":"ok","f":"book","time":2234567,"wall":"...",
//!  "value":{"user":"..","eventId":"..","seatIds":[..],"bookingId":"<uuid>","status":"CONFIRMED",
//!           "statuses":["PENDING","CONFIRMED"],"http":202},"error":null}
//! ```
//! - `time`: nanoseconds since the run started (monotonic); `wall`: RFC 3339 UTC, milliseconds.
//! - `process`: at most one outstanding operation per process; the next op of the same process
//!   completes the invoke.
//! - book `ok`: the POST was acknowledged (202); `status` is the last status seen by polling
//!   (terminal, or PENDING when polling gave up). `fail`: definitely rejected (4xx), nothing was
//!   created. `info`: unknown (timeout, connection error, 5xx); the booking may exist.
//! - cancel: invoke `{user, bookingId}`; `ok` = accepted (CANCELLED), `fail` = refused, `info` = unknown.
//!
//! Each line is written and flushed to the OS before the call returns, so a crash of the load
//! generator loses nothing already written (at worst a torn last line, which the checker skips).

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::sync::Mutex;
use std::time::Instant;

pub use runfiles::history::{Op, OpFn, OpType, OpValue};

pub struct History {
    started: Instant,
    inner: Mutex<Writer>,
}

struct Writer {
    out: BufWriter<File>,
    next_index: u64,
    failed: Option<String>,
}

impl History {
    /// Creates (truncates) the history file.
    ///
    /// # Errors
    /// When the file cannot be created.
    pub fn create(path: &Path, started: Instant) -> std::io::Result<Self> {
        let file = File::create(path)?;
        Ok(Self {
            started,
            inner: Mutex::new(Writer {
                out: BufWriter::new(file),
                next_index: 0,
                failed: None,
            }),
        })
    }

    /// Appends one op and flushes it. A write error is remembered (see [`History::error`]) rather
    /// than returned: a full disk must not abort the load half-way without a word.
    pub fn append(
        &self,
        process: u64,
        kind: OpType,
        f: OpFn,
        value: &OpValue,
        error: Option<&str>,
    ) {
        let time = self.started.elapsed().as_nanos();
        let wall = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        // The lock is never held across an await; a poisoned lock only means another thread
        // panicked mid-write, and the file is still ours to append to.
        let mut w = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let line = Op {
            index: w.next_index,
            process,
            kind,
            f,
            time: u64::try_from(time).unwrap_or(u64::MAX),
            wall: Some(wall),
            value: value.clone(),
            error: error.map(serde_json::Value::from),
        };
        w.next_index += 1;
        let result = serde_json::to_writer(&mut w.out, &line)
            .map_err(std::io::Error::from)
            .and_then(|()| w.out.write_all(b"\n"))
            .and_then(|()| w.out.flush());
        if let Err(e) = result {
            w.failed.get_or_insert_with(|| e.to_string());
        }
    }

    /// The first write error, if any happened.
    pub fn error(&self) -> Option<String> {
        self.inner
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .failed
            .clone()
    }

    /// Ops written so far.
    pub fn len(&self) -> u64 {
        self.inner
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .next_index
    }

    /// Whether nothing has been written.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_op_is_one_flushed_json_line_with_increasing_index() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("history.jsonl");
        let history = History::create(&path, Instant::now()).unwrap();
        let seat = uuid::Uuid::from_u128(7);
        let booked = OpValue::book(
            uuid::Uuid::from_u128(1),
            uuid::Uuid::from_u128(2),
            vec![seat],
        );
        history.append(3, OpType::Invoke, OpFn::Book, &booked, None);
        // Read before dropping: the line must already be on disk.
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text.lines().count(), 1);
        history.append(3, OpType::Info, OpFn::Book, &booked, Some("timeout"));
        let text = std::fs::read_to_string(&path).unwrap();
        let ops: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(ops[0]["index"], 0);
        assert_eq!(ops[1]["index"], 1);
        assert_eq!(ops[1]["type"], "info");
        assert_eq!(ops[1]["error"], "timeout");
        assert_eq!(ops[0]["process"], 3);
        assert!(ops[1]["time"].as_u64().unwrap() >= ops[0]["time"].as_u64().unwrap());
        assert_eq!(ops[0]["value"]["seatIds"][0], seat.to_string());
        // What the checker reads back is what was written.
        let back: Vec<Op> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(back[0].value, booked);
        assert_eq!(back[1].kind, OpType::Info);
    }
}
