//! chaos's `nemesis.json`: every action on a process (spawn, kill -9, pause, resume, restart,
//! stop) and every exit found, with its wall-clock time.

use serde::{Deserialize, Serialize};

/// What a nemesis did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NemesisAction {
    /// Started for the first time.
    Spawn,
    /// SIGKILL to the group (`kill -9`), then reaped.
    Kill9,
    /// SIGSTOP to the group.
    Pause,
    /// SIGCONT to the group.
    Resume,
    /// Started again with the same command (after a `kill9`, or in place of a running process).
    Restart,
    /// SIGTERM, then SIGKILL after the grace period.
    Stop,
    /// Found to have exited on its own.
    Exited,
}

impl NemesisAction {
    /// The word in the file (`kill9`, `pause`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            NemesisAction::Spawn => "spawn",
            NemesisAction::Kill9 => "kill9",
            NemesisAction::Pause => "pause",
            NemesisAction::Resume => "resume",
            NemesisAction::Restart => "restart",
            NemesisAction::Stop => "stop",
            NemesisAction::Exited => "exited",
        }
    }
}

/// How a process ended: `{"code": n}` or `{"signal": n}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Exit {
    /// It exited with this code.
    Code(i32),
    /// A signal ended it.
    Signal(i32),
}

/// One action, when it happened and on which process.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NemesisEvent {
    /// RFC 3339 UTC with milliseconds, like the history's `wall`.
    pub wall: String,
    /// The process's name (`booking-service`).
    pub process: String,
    pub action: NemesisAction,
    /// The pid acted on (for spawn and restart: the new one).
    pub pid: u32,
    /// How it ended, for kill9, stop and exited.
    #[serde(default)]
    pub exit: Option<Exit>,
    /// Anything else worth knowing (`SIGKILL after 5s`, `killed before restart`).
    #[serde(default)]
    pub note: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_read_back_as_written() {
        let event = NemesisEvent {
            wall: "2026-12-07T04:00:00.000Z".into(),
            process: "booking-service".into(),
            action: NemesisAction::Kill9,
            pid: 42,
            exit: Some(Exit::Signal(9)),
            note: None,
        };
        let text = serde_json::to_string(&event).unwrap();
        assert!(text.contains(r#""action":"kill9""#), "{text}");
        assert!(text.contains(r#""exit":{"signal":9}"#), "{text}");
        assert_eq!(serde_json::from_str::<NemesisEvent>(&text).unwrap(), event);
    }
}
