//! The history: every op the load generator wrote, one JSON object per line, and the operations
//! they form (an invoke and the completion that follows it on the same process).
//!
//! ```text
//!   history.jsonl ─▶ History::from_jsonl ─▶ ops (file order) ─▶ operations: (invoke, completion)
//!                    blank lines skipped      unknown `f` kept    no completion = info (unknown)
//!                    bad line = error         unknown fields      completion without invoke kept
//!                    cut-off LAST line counted, not an error
//! ```

use std::collections::HashMap;
use std::fmt;
use std::io::BufRead;
use std::path::{Path, PathBuf};

use uuid::Uuid;

use runfiles::history::{Op, OpFn, OpType, OpValue};
use runfiles::verdict::OpRef;

/// A history that cannot be read.
#[derive(Debug)]
pub enum HistoryError {
    /// The file or stream cannot be read.
    Io {
        /// The file, when read from one.
        path: Option<PathBuf>,
        /// Why.
        source: std::io::Error,
    },
    /// A line (not the cut-off last one) is not an op.
    Malformed {
        /// The file, when read from one.
        path: Option<PathBuf>,
        /// 1-based line number in the file.
        line: usize,
        /// 1-based column where parsing stopped.
        column: usize,
        /// What is wrong, without serde's position suffix.
        message: String,
    },
}

impl fmt::Display for HistoryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Io {
                path: Some(path),
                source,
            } => {
                write!(f, "cannot read {}: {source}", path.display())
            }
            Self::Io { path: None, source } => write!(f, "cannot read the history: {source}"),
            Self::Malformed {
                path,
                line,
                column,
                message,
            } => {
                if let Some(path) = path {
                    write!(f, "{} ", path.display())?;
                }
                write!(
                    f,
                    "line {line}, column {column}: not a history op: {message}"
                )
            }
        }
    }
}

impl std::error::Error for HistoryError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Io { source, .. } => Some(source),
            Self::Malformed { .. } => None,
        }
    }
}

impl HistoryError {
    fn with_path(self, file: &Path) -> Self {
        match self {
            Self::Io { source, .. } => Self::Io {
                path: Some(file.to_path_buf()),
                source,
            },
            Self::Malformed {
                line,
                column,
                message,
                ..
            } => Self::Malformed {
                path: Some(file.to_path_buf()),
                line,
                column,
                message,
            },
        }
    }
}

/// The ops of one run and the operations they form.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct History {
    ops: Vec<Op>,
    /// (invoke, completion) positions in `ops`, ordered by their first op.
    pairs: Vec<(Option<usize>, Option<usize>)>,
    truncated_lines: usize,
}

impl History {
    /// A history of these ops, in this order, with their own indexes.
    pub fn new(ops: Vec<Op>) -> Self {
        let pairs = pair(&ops);
        Self {
            ops,
            pairs,
            truncated_lines: 0,
        }
    }

    /// A history of these ops with `index` = position and `time` = position in milliseconds
    /// (for tests built from the [`invoke`](super::invoke)/[`ok`](super::ok)/... helpers).
    pub fn indexed(ops: Vec<Op>) -> Self {
        let ops = ops
            .into_iter()
            .enumerate()
            .map(|(i, mut op)| {
                op.index = i as u64;
                op.time = i as u64 * 1_000_000;
                op
            })
            .collect();
        Self::new(ops)
    }

    /// Reads JSON lines. Blank lines are skipped; a last line that is cut off (no final newline,
    /// or JSON that ends early) is counted in [`truncated_lines`](Self::truncated_lines), as a
    /// writer that crashed mid-line leaves it.
    ///
    /// # Errors
    /// [`HistoryError::Malformed`] naming the first line that is not an op,
    /// [`HistoryError::Io`] when reading fails.
    pub fn from_jsonl(mut reader: impl BufRead) -> Result<Self, HistoryError> {
        let io = |source| HistoryError::Io { path: None, source };
        let mut ops = Vec::new();
        let mut truncated_lines = 0;
        let mut buf = Vec::new();
        let mut line = 0;
        loop {
            buf.clear();
            if reader.read_until(b'\n', &mut buf).map_err(io)? == 0 {
                break;
            }
            line += 1;
            let complete = buf.ends_with(b"\n");
            let text = buf.trim_ascii();
            if text.is_empty() {
                continue;
            }
            match serde_json::from_slice::<Op>(text) {
                Ok(op) => ops.push(op),
                Err(e) => {
                    let last = reader.fill_buf().map_err(io)?.is_empty();
                    if last && (!complete || e.is_eof()) {
                        truncated_lines += 1;
                        break;
                    }
                    return Err(malformed(line, &e));
                }
            }
        }
        let mut history = Self::new(ops);
        history.truncated_lines = truncated_lines;
        Ok(history)
    }

    /// Reads a `history.jsonl` file (see [`from_jsonl`](Self::from_jsonl)).
    ///
    /// # Errors
    /// As [`from_jsonl`](Self::from_jsonl), naming the file.
    pub fn load(path: impl AsRef<Path>) -> Result<Self, HistoryError> {
        let path = path.as_ref();
        let file = std::fs::File::open(path).map_err(|source| HistoryError::Io {
            path: Some(path.to_path_buf()),
            source,
        })?;
        Self::from_jsonl(std::io::BufReader::new(file)).map_err(|e| e.with_path(path))
    }

    /// Every op, in file order.
    pub fn ops(&self) -> &[Op] {
        &self.ops
    }

    /// Cut-off last lines that were skipped (0 or 1).
    pub fn truncated_lines(&self) -> usize {
        self.truncated_lines
    }

    /// Every operation, ordered by its first op.
    pub fn operations(&self) -> impl Iterator<Item = Operation<'_>> {
        self.pairs.iter().map(|&(invoke, completion)| Operation {
            invoke: invoke.map(|i| &self.ops[i]),
            completion: completion.map(|i| &self.ops[i]),
        })
    }

    /// The operations of one function.
    pub fn operations_of(&self, f: OpFn) -> impl Iterator<Item = Operation<'_>> {
        self.operations()
            .filter(move |operation| operation.f() == f)
    }

    /// The operations of one function that name a booking, by booking id, in history order.
    pub fn by_booking(&self, f: OpFn) -> HashMap<Uuid, Vec<Operation<'_>>> {
        let mut index: HashMap<Uuid, Vec<Operation<'_>>> = HashMap::new();
        for operation in self.operations_of(f) {
            if let Some(id) = operation.booking_id() {
                index.entry(id).or_default().push(operation);
            }
        }
        index
    }
}

/// References to the operations of `index` about booking `id` (none when the history does not
/// name it), for counter-examples.
pub(crate) fn refs(index: &HashMap<Uuid, Vec<Operation<'_>>>, id: Uuid) -> Vec<OpRef> {
    index
        .get(&id)
        .map(|operations| operations.iter().map(Operation::op_ref).collect())
        .unwrap_or_default()
}

/// An operation: its invocation and the completion that followed it on the same process. Either
/// may be missing from a history (an invoke the run ended before completing; a completion whose
/// invoke was not recorded), never both.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Operation<'a> {
    /// The invocation.
    pub invoke: Option<&'a Op>,
    /// The completion.
    pub completion: Option<&'a Op>,
}

impl<'a> Operation<'a> {
    fn first(&self) -> &'a Op {
        // A pair always holds at least one op (see `pair`).
        self.completion
            .or(self.invoke)
            .expect("an operation has an invoke or a completion")
    }

    /// The function.
    pub fn f(&self) -> OpFn {
        self.invoke.unwrap_or_else(|| self.first()).f
    }

    /// Ok, Fail or Info; an operation without completion is Info (it may have happened).
    pub fn outcome(&self) -> OpType {
        match self.completion {
            Some(op) if op.kind != OpType::Invoke => op.kind,
            _ => OpType::Info,
        }
    }

    /// The completion's value if it has one, else the invocation's.
    pub fn value(&self) -> &'a OpValue {
        &self.first().value
    }

    fn either<T>(&self, get: impl Fn(&'a OpValue) -> Option<T>) -> Option<T> {
        self.completion
            .and_then(|op| get(&op.value))
            .or_else(|| self.invoke.and_then(|op| get(&op.value)))
    }

    /// The booking created (book) or cancelled (cancel), when known.
    pub fn booking_id(&self) -> Option<Uuid> {
        self.either(|v| v.booking_id)
    }

    /// The user acting.
    pub fn user(&self) -> Option<Uuid> {
        self.either(|v| v.user)
    }

    /// The event booked.
    pub fn event_id(&self) -> Option<Uuid> {
        self.either(|v| v.event_id)
    }

    /// The seats requested.
    pub fn seat_ids(&self) -> &'a [Uuid] {
        self.either(|v| (!v.seat_ids.is_empty()).then_some(v.seat_ids.as_slice()))
            .unwrap_or(&[])
    }

    /// Whether the client saw the booking CONFIRMED (from the completion).
    pub fn observed_confirmed(&self) -> bool {
        self.completion
            .is_some_and(|op| op.value.observed_confirmed())
    }

    /// A reference for counter-examples: the completion (or the lone invoke) with the
    /// invocation's index and wall clock.
    pub fn op_ref(&self) -> OpRef {
        let op = self.first();
        OpRef {
            index: op.index,
            process: op.process,
            kind: self.outcome(),
            f: self.f(),
            wall: op.wall.clone(),
            invoke_index: self.invoke.map(|i| i.index),
            invoke_wall: self.invoke.and_then(|i| i.wall.clone()),
        }
    }
}

fn pair(ops: &[Op]) -> Vec<(Option<usize>, Option<usize>)> {
    let mut open: HashMap<u64, usize> = HashMap::new();
    let mut pairs = Vec::new();
    for (i, op) in ops.iter().enumerate() {
        if op.kind == OpType::Invoke {
            if let Some(previous) = open.insert(op.process, i) {
                pairs.push((Some(previous), None));
            }
        } else {
            pairs.push((open.remove(&op.process), Some(i)));
        }
    }
    pairs.extend(open.into_values().map(|i| (Some(i), None)));
    pairs.sort_by_key(|&(invoke, completion)| invoke.or(completion));
    pairs
}

fn malformed(line: usize, e: &serde_json::Error) -> HistoryError {
    let text = e.to_string();
    // serde_json appends " at line L column C"; the line is ours, the column is kept apart.
    let message = match text.rfind(" at line ") {
        Some(at) => text[..at].to_string(),
        None => text,
    };
    HistoryError::Malformed {
        path: None,
        line,
        column: e.column(),
        message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use runfiles::history::{fail, info, invoke, ok};

    fn uuid(n: u128) -> Uuid {
        Uuid::from_u128(n)
    }

    fn line(index: u64, process: u64, kind: &str, f: &str) -> String {
        format!(
            r#"{{"index":{index},"process":{process},"type":"{kind}","f":"{f}","time":{index},"wall":"w{index}","value":null,"error":null}}"#
        )
    }

    #[test]
    fn empty_input_is_an_empty_history() {
        let history = History::from_jsonl(&b""[..]).unwrap();
        assert_eq!(history, History::default());
        assert_eq!(history.operations().count(), 0);
    }

    #[test]
    fn invokes_pair_with_the_next_op_of_their_process() {
        let text = [
            line(0, 1, "invoke", "book"),
            line(1, 2, "invoke", "cancel"),
            String::new(),
            line(2, 1, "ok", "book"),
            line(3, 2, "fail", "cancel"),
            line(4, 1, "invoke", "book"),
            line(5, 3, "info", "book"),
        ]
        .join("\n")
            + "\n";
        let history = History::from_jsonl(text.as_bytes()).unwrap();
        let operations: Vec<_> = history
            .operations()
            .map(|o| {
                (
                    o.invoke.map(|op| op.index),
                    o.completion.map(|op| op.index),
                    o.outcome(),
                )
            })
            .collect();
        assert_eq!(
            operations,
            vec![
                (Some(0), Some(2), OpType::Ok),
                (Some(1), Some(3), OpType::Fail),
                (Some(4), None, OpType::Info),
                (None, Some(5), OpType::Info),
            ]
        );
        assert_eq!(history.truncated_lines(), 0);
    }

    #[test]
    fn a_second_invoke_leaves_the_first_without_completion() {
        let history = History::indexed(vec![
            invoke(1, OpFn::Book, OpValue::default()),
            invoke(1, OpFn::Book, OpValue::default()),
            ok(1, OpFn::Book, OpValue::default()),
        ]);
        let outcomes: Vec<_> = history.operations().map(|o| o.outcome()).collect();
        assert_eq!(outcomes, vec![OpType::Info, OpType::Ok]);
    }

    #[test]
    fn a_cut_off_last_line_is_counted_not_an_error() {
        let text = format!(
            "{}\n{}",
            line(0, 1, "invoke", "book"),
            r#"{"index":1,"proc"#
        );
        let history = History::from_jsonl(text.as_bytes()).unwrap();
        assert_eq!(history.ops().len(), 1);
        assert_eq!(history.truncated_lines(), 1);

        let with_newline = format!("{}\n{}\n", line(0, 1, "invoke", "book"), r#"{"index":1,"#);
        assert_eq!(
            History::from_jsonl(with_newline.as_bytes())
                .unwrap()
                .truncated_lines(),
            1
        );
    }

    #[test]
    fn a_malformed_line_names_its_line_number() {
        let text = [
            line(0, 1, "invoke", "book"),
            r#"{"index":1,"process":1,"type":"maybe","f":"book"}"#.to_string(),
            line(2, 1, "ok", "book"),
        ]
        .join("\n");
        let err = History::from_jsonl(text.as_bytes()).unwrap_err();
        let text = err.to_string();
        assert!(text.starts_with("line 2, column "), "{text}");
        assert!(text.contains("maybe"), "{text}");
        assert!(!text.contains("at line 1"), "{text}");
    }

    #[test]
    fn a_complete_bad_last_line_is_an_error() {
        let text = format!("{}\n[1, 2]\n", line(0, 1, "invoke", "book"));
        let err = History::from_jsonl(text.as_bytes()).unwrap_err();
        assert!(
            matches!(err, HistoryError::Malformed { line: 2, .. }),
            "{err}"
        );
    }

    #[test]
    fn load_names_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("history.jsonl");
        std::fs::write(&path, "{}\n{}\n").unwrap();
        let err = History::load(&path).unwrap_err().to_string();
        assert!(
            err.starts_with(&format!("{} line 1, column", path.display())),
            "{err}"
        );
        let missing = History::load(dir.path().join("nope.jsonl"))
            .unwrap_err()
            .to_string();
        assert!(missing.contains("nope.jsonl"), "{missing}");
    }

    #[test]
    fn operation_merges_invoke_and_completion_values() {
        let (user, event, seat, booking) = (uuid(1), uuid(2), uuid(3), uuid(4));
        let history = History::indexed(vec![
            invoke(7, OpFn::Book, OpValue::book(user, event, vec![seat])),
            info(7, OpFn::Book, OpValue::default().with_booking(booking)),
            invoke(8, OpFn::Book, OpValue::book(user, event, vec![seat])),
            fail(8, OpFn::Book, OpValue::default()),
        ]);
        let operations: Vec<_> = history.operations_of(OpFn::Book).collect();
        assert_eq!(operations[0].booking_id(), Some(booking));
        assert_eq!(operations[0].seat_ids(), &[seat]);
        assert_eq!(operations[0].user(), Some(user));
        assert_eq!(operations[1].event_id(), Some(event));
        assert_eq!(
            operations[0].op_ref(),
            OpRef {
                index: 1,
                process: 7,
                kind: OpType::Info,
                f: OpFn::Book,
                wall: None,
                invoke_index: Some(0),
                invoke_wall: None,
            }
        );
    }
}
