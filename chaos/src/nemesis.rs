//! The nemesis: faults on processes. The scenario runner starts each service (and the broker) as
//! a [`ManagedProcess`] and, on the fault timeline, kills it with SIGKILL, pauses it with SIGSTOP,
//! resumes it with SIGCONT or restarts it with the same command. Every action is logged with a
//! timestamp as a [`NemesisEvent`], for the report's fault windows.
//!
//! ```text
//!   spawn ──▶ running ──kill9──▶ exited (signal 9) ──restart──▶ running (new pid)
//!               │  ▲
//!         pause │  │ resume            restart on a running process = kill9 + spawn
//!               ▼  │                   stop = SIGTERM (+ SIGCONT), SIGKILL after the grace period
//!             paused (state T)         drop = SIGKILL, reaped
//! ```
//!
//! Each child runs in its own process group (its pgid is its pid) and every signal goes to the
//! whole group, so a service started through a wrapper (`sh -c`, `cargo run`) is killed, paused
//! and resumed with everything it started. A child that exits on its own is noticed by
//! [`ManagedProcess::is_running`] (and the other calls), which kills what is left of its group
//! before reaping it. Signals go to a group only while its leader is not yet reaped, so a
//! recycled pid is never signalled.
//!
//! stdout and stderr are appended to the log file, across restarts. Linux only (`/proc`).

use std::ffi::{OsStr, OsString};
use std::fs::OpenOptions;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::sys::signal::{killpg, Signal};
use nix::sys::wait::{waitid, Id, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;

/// How long `pause`/`resume` wait for `/proc` to show the new state.
const STATE_WAIT: Duration = Duration::from_secs(1);

/// The command a process is started (and restarted) with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessSpec {
    pub program: OsString,
    pub args: Vec<OsString>,
    /// Added to (or replacing in) the runner's own environment.
    pub env: Vec<(OsString, OsString)>,
    /// stdout and stderr are appended here; parent directories are created.
    pub log_file: PathBuf,
    /// Working directory; `None`: the runner's.
    pub current_dir: Option<PathBuf>,
}

impl ProcessSpec {
    /// A command with its log file; no extra environment, the runner's working directory.
    pub fn new(program: impl AsRef<OsStr>, log_file: impl AsRef<Path>) -> Self {
        Self {
            program: program.as_ref().to_os_string(),
            args: Vec::new(),
            env: Vec::new(),
            log_file: log_file.as_ref().to_path_buf(),
            current_dir: None,
        }
    }
}

/// What a nemesis did, how a process ended, and the record of it: `nemesis.json`'s types.
pub use runfiles::nemesis::{Exit, NemesisAction, NemesisEvent};

/// How a reaped child ended.
fn exit_of(status: ExitStatus) -> Exit {
    match (status.code(), status.signal()) {
        (Some(code), _) => Exit::Code(code),
        (None, Some(signal)) => Exit::Signal(signal),
        // Not reachable on Unix: a reaped child either exited or was signalled.
        (None, None) => Exit::Code(-1),
    }
}

/// An exit for people: `exit code 1`, `signal 9 (SIGKILL)`.
pub fn describe_exit(exit: Exit) -> String {
    match exit {
        Exit::Code(code) => format!("exit code {code}"),
        Exit::Signal(signal) => match Signal::try_from(signal) {
            Ok(name) => format!("signal {signal} ({name})"),
            Err(_) => format!("signal {signal}"),
        },
    }
}

/// What [`ManagedProcess::state`] finds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProcessState {
    Running,
    /// Stopped by [`ManagedProcess::pause`].
    Paused,
    Exited(Exit),
}

/// A nemesis action that could not be done.
#[derive(Debug, thiserror::Error)]
pub enum NemesisError {
    #[error("{name}: cannot open the log file {}: {source}", path.display())]
    Log {
        name: String,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{name}: cannot start {}: {source}", program.to_string_lossy())]
    Spawn {
        name: String,
        program: OsString,
        source: std::io::Error,
    },
    #[error("{name}: pid {pid} is not running ({})", describe_exit(*exit))]
    NotRunning { name: String, pid: u32, exit: Exit },
    #[error("{name}: cannot send {signal} to process group {pid}: {source}")]
    Signal {
        name: String,
        pid: u32,
        signal: Signal,
        source: Errno,
    },
    #[error("{name}: cannot wait for pid {pid}: {source}")]
    Wait {
        name: String,
        pid: u32,
        source: std::io::Error,
    },
}

/// A child process the nemesis can kill, pause, resume and restart. Dropping it kills it.
#[derive(Debug)]
pub struct ManagedProcess {
    name: String,
    spec: ProcessSpec,
    child: Child,
    /// Set once the current child is reaped.
    exit: Option<Exit>,
    paused: bool,
    events: Vec<NemesisEvent>,
}

impl ManagedProcess {
    /// Starts `program args` with `env` added to the environment, stdout and stderr appended to
    /// `log_file`, stdin closed, in a process group of its own.
    ///
    /// # Errors
    /// When the log file cannot be opened or the program cannot be started.
    pub fn spawn<A, E, K, V>(
        name: impl Into<String>,
        program: impl AsRef<OsStr>,
        args: A,
        env: E,
        log_file: impl AsRef<Path>,
    ) -> Result<Self, NemesisError>
    where
        A: IntoIterator,
        A::Item: AsRef<OsStr>,
        E: IntoIterator<Item = (K, V)>,
        K: AsRef<OsStr>,
        V: AsRef<OsStr>,
    {
        let mut spec = ProcessSpec::new(program, log_file);
        spec.args = args
            .into_iter()
            .map(|a| a.as_ref().to_os_string())
            .collect();
        spec.env = env
            .into_iter()
            .map(|(k, v)| (k.as_ref().to_os_string(), v.as_ref().to_os_string()))
            .collect();
        Self::start(name, spec)
    }

    /// Starts a process from a full [`ProcessSpec`] (working directory included).
    ///
    /// # Errors
    /// When the log file cannot be opened or the program cannot be started.
    pub fn start(name: impl Into<String>, spec: ProcessSpec) -> Result<Self, NemesisError> {
        let name = name.into();
        let child = launch(&name, &spec)?;
        let mut process = Self {
            name,
            spec,
            child,
            exit: None,
            paused: false,
            events: Vec::new(),
        };
        process.record(NemesisAction::Spawn, None, None);
        Ok(process)
    }

    /// The name events carry.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The command it is (re)started with.
    pub fn spec(&self) -> &ProcessSpec {
        &self.spec
    }

    /// Where its output goes.
    pub fn log_file(&self) -> &Path {
        &self.spec.log_file
    }

    /// The pid of the current child (also its process group id); after an exit, the last one.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Whether the current child is alive (a paused one is). Notices an exit of its own and
    /// records it.
    pub fn is_running(&mut self) -> bool {
        self.check_exit().is_none()
    }

    /// Running, paused or exited.
    pub fn state(&mut self) -> ProcessState {
        match self.check_exit() {
            Some(exit) => ProcessState::Exited(exit),
            None if self.paused => ProcessState::Paused,
            None => ProcessState::Running,
        }
    }

    /// How the current child ended; `None` while it runs.
    pub fn exit(&mut self) -> Option<Exit> {
        self.check_exit()
    }

    /// Everything done so far, in order.
    pub fn events(&self) -> &[NemesisEvent] {
        &self.events
    }

    /// The events so far, leaving none.
    pub fn take_events(&mut self) -> Vec<NemesisEvent> {
        std::mem::take(&mut self.events)
    }

    /// `kill -9`: SIGKILL to the process group, then reaps the child. The event holds its exit
    /// (signal 9).
    ///
    /// # Errors
    /// [`NemesisError::NotRunning`] when it had already exited; signal or wait failures.
    pub fn kill9(&mut self) -> Result<NemesisEvent, NemesisError> {
        self.ensure_alive()?;
        self.signal(Signal::SIGKILL)?;
        let exit = self.reap()?;
        Ok(self.record(NemesisAction::Kill9, Some(exit), None))
    }

    /// SIGSTOP to the process group; returns once `/proc` shows the child stopped (at most 1 s).
    ///
    /// # Errors
    /// [`NemesisError::NotRunning`] when it had exited; a signal failure.
    pub fn pause(&mut self) -> Result<NemesisEvent, NemesisError> {
        self.ensure_alive()?;
        self.signal(Signal::SIGSTOP)?;
        self.paused = true;
        let shown = wait_for_state(self.pid(), |s| matches!(s, 'T' | 't'));
        let note = (!shown).then(|| "not shown stopped in /proc within 1s".to_string());
        Ok(self.record(NemesisAction::Pause, None, note))
    }

    /// SIGCONT to the process group; returns once `/proc` shows the child no longer stopped
    /// (at most 1 s).
    ///
    /// # Errors
    /// [`NemesisError::NotRunning`] when it had exited; a signal failure.
    pub fn resume(&mut self) -> Result<NemesisEvent, NemesisError> {
        self.ensure_alive()?;
        self.signal(Signal::SIGCONT)?;
        self.paused = false;
        let shown = wait_for_state(self.pid(), |s| !matches!(s, 'T' | 't'));
        let note = (!shown).then(|| "still shown stopped in /proc after 1s".to_string());
        Ok(self.record(NemesisAction::Resume, None, note))
    }

    /// Starts the command again; a child still running is killed with SIGKILL first (recorded
    /// as its own `kill9` event). The returned event carries the new pid.
    ///
    /// # Errors
    /// When killing the old child or starting the new one fails.
    pub fn restart(&mut self) -> Result<NemesisEvent, NemesisError> {
        if self.check_exit().is_none() {
            self.signal(Signal::SIGKILL)?;
            let exit = self.reap()?;
            self.record(
                NemesisAction::Kill9,
                Some(exit),
                Some("killed to restart".into()),
            );
        }
        let previous = self.pid();
        self.child = launch(&self.name, &self.spec)?;
        self.exit = None;
        self.paused = false;
        Ok(self.record(
            NemesisAction::Restart,
            None,
            Some(format!("was pid {previous}")),
        ))
    }

    /// Stops it for good: SIGTERM to the group (and SIGCONT, so a paused process sees it), then
    /// SIGKILL if it has not exited within `grace`. Already exited: just reports how.
    ///
    /// # Errors
    /// Signal or wait failures.
    pub async fn stop(&mut self, grace: Duration) -> Result<NemesisEvent, NemesisError> {
        if let Some(exit) = self.check_exit() {
            return Ok(self.record(
                NemesisAction::Stop,
                Some(exit),
                Some("had already exited".into()),
            ));
        }
        self.signal(Signal::SIGTERM)?;
        self.signal(Signal::SIGCONT)?;
        self.paused = false;
        let deadline = Instant::now() + grace;
        loop {
            if let Some(exit) = self.peek_exit()? {
                return Ok(self.record(NemesisAction::Stop, Some(exit), None));
            }
            if Instant::now() >= deadline {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        self.signal(Signal::SIGKILL)?;
        let exit = self.reap()?;
        let note = format!("SIGKILL after a {grace:?} grace period");
        Ok(self.record(NemesisAction::Stop, Some(exit), Some(note)))
    }

    fn record(
        &mut self,
        action: NemesisAction,
        exit: Option<Exit>,
        note: Option<String>,
    ) -> NemesisEvent {
        let event = NemesisEvent {
            wall: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            process: self.name.clone(),
            action,
            pid: self.pid(),
            exit,
            note,
        };
        tracing::info!(process = %self.name, pid = event.pid, action = ?action, exit = ?exit, "nemesis");
        self.events.push(event.clone());
        event
    }

    /// The process group: the child's pid. Linux pids fit in an i32 (at most 2^22).
    fn pgid(&self) -> Pid {
        Pid::from_raw(i32::try_from(self.pid()).unwrap_or(i32::MAX))
    }

    /// Signals the group. Only called while the leader is not reaped, so the group is ours.
    fn signal(&self, signal: Signal) -> Result<(), NemesisError> {
        match killpg(self.pgid(), signal) {
            Ok(()) => Ok(()),
            // A group of zombies only: nothing left to signal.
            Err(Errno::ESRCH) => Ok(()),
            Err(source) => Err(NemesisError::Signal {
                name: self.name.clone(),
                pid: self.pid(),
                signal,
                source,
            }),
        }
    }

    fn ensure_alive(&mut self) -> Result<(), NemesisError> {
        match self.check_exit() {
            None => Ok(()),
            Some(exit) => Err(NemesisError::NotRunning {
                name: self.name.clone(),
                pid: self.pid(),
                exit,
            }),
        }
    }

    /// The exit, recording an `exited` event the first time one of its own is seen.
    fn check_exit(&mut self) -> Option<Exit> {
        if self.exit.is_some() {
            return self.exit;
        }
        match self.peek_exit() {
            Ok(Some(exit)) => {
                self.record(NemesisAction::Exited, Some(exit), None);
                Some(exit)
            }
            Ok(None) => None,
            Err(e) => {
                tracing::warn!(process = %self.name, error = %e, "cannot tell whether it runs");
                None
            }
        }
    }

    /// Whether the child exited, without recording. On an exit, kills what is left of its group
    /// (while the unreaped leader still holds the group id) and reaps it.
    fn peek_exit(&mut self) -> Result<Option<Exit>, NemesisError> {
        if self.exit.is_some() {
            return Ok(self.exit);
        }
        let flags = WaitPidFlag::WEXITED | WaitPidFlag::WNOHANG | WaitPidFlag::WNOWAIT;
        loop {
            match waitid(Id::Pid(self.pgid()), flags) {
                Ok(WaitStatus::Exited(..) | WaitStatus::Signaled(..)) => {
                    let _ = killpg(self.pgid(), Signal::SIGKILL);
                    return self.reap().map(Some);
                }
                Ok(_) => return Ok(None),
                Err(Errno::EINTR) => continue,
                // Cannot peek (not expected): ask std, which reaps without the group clean-up.
                Err(_) => {
                    let status = self.child.try_wait().map_err(|source| NemesisError::Wait {
                        name: self.name.clone(),
                        pid: self.pid(),
                        source,
                    })?;
                    return Ok(status.map(|s| {
                        let exit = exit_of(s);
                        self.exit = Some(exit);
                        self.paused = false;
                        exit
                    }));
                }
            }
        }
    }

    /// Waits for the child (after SIGKILL or its own exit) and keeps how it ended.
    fn reap(&mut self) -> Result<Exit, NemesisError> {
        let status = self.child.wait().map_err(|source| NemesisError::Wait {
            name: self.name.clone(),
            pid: self.pid(),
            source,
        })?;
        let exit = exit_of(status);
        self.exit = Some(exit);
        self.paused = false;
        Ok(exit)
    }
}

impl Drop for ManagedProcess {
    /// Kills the group and reaps the child, so nothing outlives the runner's handle.
    fn drop(&mut self) {
        if self.exit.is_none() {
            let _ = killpg(self.pgid(), Signal::SIGKILL);
            let _ = self.child.wait();
        }
    }
}

/// The state letter of a process in `/proc/<pid>/stat` (`R`, `S`, `T` stopped, `Z` zombie,
/// ...); `None` when there is no such process (or no `/proc`).
pub fn proc_state(pid: u32) -> Option<char> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // `pid (comm) S ...`: comm may hold spaces and parentheses, so take the last `)`.
    let after = &stat[stat.rfind(')')? + 1..];
    after.trim_start().chars().next()
}

/// Polls `/proc` until the state satisfies `wanted` (true) or 1 s passed (false). Without
/// `/proc`, answers true at once.
fn wait_for_state(pid: u32, wanted: impl Fn(char) -> bool) -> bool {
    let deadline = Instant::now() + STATE_WAIT;
    loop {
        match proc_state(pid) {
            None => return true,
            Some(state) if wanted(state) => return true,
            Some(_) if Instant::now() >= deadline => return false,
            Some(_) => std::thread::sleep(Duration::from_millis(1)),
        }
    }
}

fn launch(name: &str, spec: &ProcessSpec) -> Result<Child, NemesisError> {
    if let Some(dir) = spec.log_file.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|source| NemesisError::Log {
            name: name.to_string(),
            path: spec.log_file.clone(),
            source,
        })?;
    }
    let log_error = |source| NemesisError::Log {
        name: name.to_string(),
        path: spec.log_file.clone(),
        source,
    };
    let out = OpenOptions::new()
        .create(true)
        .append(true)
        .open(&spec.log_file)
        .map_err(log_error)?;
    let err = out.try_clone().map_err(log_error)?;
    let mut command = Command::new(&spec.program);
    command
        .args(&spec.args)
        .envs(spec.env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .process_group(0);
    if let Some(dir) = &spec.current_dir {
        command.current_dir(dir);
    }
    command.spawn().map_err(|source| NemesisError::Spawn {
        name: name.to_string(),
        program: spec.program.clone(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use NemesisAction::{Exited, Kill9, Pause, Restart, Resume, Spawn};

    fn sleeper(dir: &Path, name: &str) -> ManagedProcess {
        ManagedProcess::spawn(
            name,
            "sleep",
            ["30"],
            [("A", "1")],
            dir.join(format!("{name}.log")),
        )
        .unwrap()
    }

    /// Gone, or a zombie waiting for a reaper that is not us (a grandchild reparented to init).
    fn gone(pid: u32) -> bool {
        matches!(proc_state(pid), None | Some('Z'))
    }

    fn eventually(what: &str, mut condition: impl FnMut() -> bool) {
        let deadline = Instant::now() + Duration::from_secs(5);
        while !condition() {
            assert!(Instant::now() < deadline, "timed out waiting until {what}");
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    fn actions(p: &ManagedProcess) -> Vec<NemesisAction> {
        p.events().iter().map(|e| e.action).collect()
    }

    #[test]
    fn kill9_ends_it_with_signal_9() {
        let dir = tempfile::tempdir().unwrap();
        let mut p = sleeper(dir.path(), "victim");
        let pid = p.pid();
        assert!(p.is_running());
        assert_eq!(proc_state(pid).map(|s| s != 'Z'), Some(true));

        let event = p.kill9().unwrap();

        assert_eq!(event.exit, Some(Exit::Signal(9)));
        assert_eq!((event.action, event.pid), (NemesisAction::Kill9, pid));
        assert_eq!(describe_exit(event.exit.unwrap()), "signal 9 (SIGKILL)");
        assert!(!p.is_running());
        assert_eq!(p.state(), ProcessState::Exited(Exit::Signal(9)));
        assert_eq!(proc_state(pid), None, "reaped");
        assert_eq!(actions(&p), [Spawn, Kill9]);
        let err = p.kill9().unwrap_err().to_string();
        assert!(
            err.contains("victim: pid") && err.contains("not running"),
            "{err}"
        );
    }

    #[test]
    fn pause_stops_it_and_resume_continues_it() {
        let dir = tempfile::tempdir().unwrap();
        let mut p = sleeper(dir.path(), "sleepy");
        let pid = p.pid();

        let paused = p.pause().unwrap();
        assert_eq!(paused.note, None);
        assert_eq!(proc_state(pid), Some('T'));
        assert_eq!(p.state(), ProcessState::Paused);
        assert!(p.is_running(), "a paused process is alive");

        p.resume().unwrap();
        assert!(
            matches!(proc_state(pid), Some('S' | 'R')),
            "{:?}",
            proc_state(pid)
        );
        assert_eq!(p.state(), ProcessState::Running);
        assert_eq!(actions(&p), [Spawn, Pause, Resume]);
    }

    #[test]
    fn restart_gives_a_new_pid_with_the_same_command() {
        let dir = tempfile::tempdir().unwrap();
        let mut p = sleeper(dir.path(), "phoenix");
        let old = p.pid();

        let event = p.restart().unwrap();

        assert_ne!(event.pid, old);
        assert_eq!(event.pid, p.pid());
        assert_eq!(
            event.note.as_deref(),
            Some(format!("was pid {old}").as_str())
        );
        assert_eq!(proc_state(old), None, "the old one is killed and reaped");
        assert!(p.is_running());
        let cmdline = format!("/proc/{}/cmdline", p.pid());
        eventually("the new child runs sleep", || {
            std::fs::read(&cmdline).is_ok_and(|c| c == b"sleep\x0030\x00")
        });
        let environ = std::fs::read(format!("/proc/{}/environ", p.pid())).unwrap();
        assert!(environ.split(|b| *b == 0).any(|kv| kv == b"A=1"));
        assert_eq!(actions(&p), [Spawn, Kill9, Restart]);
    }

    #[test]
    fn kill9_then_restart_is_the_kill_fault() {
        let dir = tempfile::tempdir().unwrap();
        let mut p = sleeper(dir.path(), "service");
        let old = p.pid();
        p.kill9().unwrap();
        p.restart().unwrap();
        assert_ne!(p.pid(), old);
        assert!(p.is_running());
        assert_eq!(actions(&p), [Spawn, Kill9, Restart]);
    }

    #[test]
    fn drop_kills_the_whole_process_group() {
        let dir = tempfile::tempdir().unwrap();
        let pid_file = dir.path().join("grandchild.pid");
        let script = format!("sleep 30 & echo $! > {}; wait", pid_file.display());
        let p = ManagedProcess::spawn(
            "wrapper",
            "sh",
            ["-c", &script],
            Vec::<(String, String)>::new(),
            dir.path().join("wrapper.log"),
        )
        .unwrap();
        let pid = p.pid();
        eventually("the grandchild pid is written", || {
            std::fs::read_to_string(&pid_file).is_ok_and(|s| s.ends_with('\n'))
        });
        let grandchild: u32 = std::fs::read_to_string(&pid_file)
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        assert!(!gone(grandchild));

        drop(p);

        assert_eq!(proc_state(pid), None, "the child is killed and reaped");
        eventually("the grandchild is gone", || gone(grandchild));
    }

    #[test]
    fn output_is_appended_to_the_log_across_restarts() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("logs/nested/talker.log");
        let mut p = ManagedProcess::spawn(
            "talker",
            "sh",
            ["-c", "echo out; echo err >&2"],
            Vec::<(String, String)>::new(),
            &log,
        )
        .unwrap();
        eventually("it exits", || !p.is_running());
        assert_eq!(p.exit(), Some(Exit::Code(0)));
        p.restart().unwrap();
        eventually("it exits again", || !p.is_running());

        let text = std::fs::read_to_string(&log).unwrap();
        assert_eq!(text.matches("out\n").count(), 2, "{text}");
        assert_eq!(text.matches("err\n").count(), 2, "{text}");
        assert_eq!(actions(&p), [Spawn, Exited, Restart, Exited]);
        assert_eq!(p.events()[1].exit, Some(Exit::Code(0)));
    }

    #[tokio::test]
    async fn stop_terminates_and_kills_after_the_grace_period() {
        let dir = tempfile::tempdir().unwrap();
        let mut polite = sleeper(dir.path(), "polite");
        let event = polite.stop(Duration::from_secs(5)).await.unwrap();
        assert_eq!(event.exit, Some(Exit::Signal(15)));
        assert_eq!(event.note, None);

        // Ignores SIGTERM (the ignore is inherited by `sleep`): killed after the grace period.
        let log = dir.path().join("stubborn.log");
        let mut stubborn = ManagedProcess::spawn(
            "stubborn",
            "sh",
            ["-c", "trap '' TERM; echo ready; sleep 30; true"],
            Vec::<(String, String)>::new(),
            &log,
        )
        .unwrap();
        eventually("the trap is set", || {
            std::fs::read_to_string(&log).is_ok_and(|t| t.contains("ready"))
        });
        let started = Instant::now();
        let event = stubborn.stop(Duration::from_millis(300)).await.unwrap();
        let took = started.elapsed();
        println!("stop of a TERM-ignoring process took {took:?}");
        assert_eq!(event.exit, Some(Exit::Signal(9)));
        assert!(event.note.unwrap().contains("SIGKILL after"));
        assert!(
            took >= Duration::from_millis(300) && took < Duration::from_secs(3),
            "{took:?}"
        );

        // Stopping again reports the exit without signalling.
        let again = stubborn.stop(Duration::from_secs(1)).await.unwrap();
        assert_eq!(again.exit, Some(Exit::Signal(9)));
    }

    #[tokio::test]
    async fn stop_reaches_a_paused_process() {
        let dir = tempfile::tempdir().unwrap();
        let mut p = sleeper(dir.path(), "frozen");
        p.pause().unwrap();
        let event = p.stop(Duration::from_secs(5)).await.unwrap();
        assert_eq!(event.exit, Some(Exit::Signal(15)), "{event:?}");
    }

    #[test]
    fn a_missing_program_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let err = ManagedProcess::spawn(
            "ghost",
            "/nonexistent/stampede-service",
            Vec::<String>::new(),
            Vec::<(String, String)>::new(),
            dir.path().join("ghost.log"),
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.starts_with("ghost: cannot start /nonexistent/stampede-service"),
            "{err}"
        );
    }

    #[test]
    fn events_serialize_for_the_report() {
        let dir = tempfile::tempdir().unwrap();
        let mut p = sleeper(dir.path(), "json");
        let event = p.kill9().unwrap();
        let value = serde_json::to_value(&event).unwrap();
        assert_eq!(value["action"], "kill9");
        assert_eq!(value["process"], "json");
        assert_eq!(value["exit"], serde_json::json!({"signal": 9}));
        assert!(value["wall"].as_str().unwrap().ends_with('Z'));
    }

    #[test]
    fn proc_state_is_none_without_such_a_process() {
        assert!(proc_state(std::process::id()).is_some());
        assert_eq!(proc_state(u32::MAX), None);
    }
}
