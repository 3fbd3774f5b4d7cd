//! CPU time of a process: utime + stime from `/proc/PID/stat`, in clock ticks of USER_HZ = 100
//! (what Linux reports to user space on every architecture this runs on).

use std::time::Instant;

use anyhow::{anyhow, Context};

/// Clock ticks per second of `/proc/PID/stat` (USER_HZ).
const USER_HZ: f64 = 100.0;

/// A process whose CPU time is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Proc {
    /// This process (the bench's own clients).
    Myself,
    Pid(u32),
}

impl Proc {
    fn stat_path(self) -> String {
        match self {
            Self::Myself => "/proc/self/stat".into(),
            Self::Pid(pid) => format!("/proc/{pid}/stat"),
        }
    }

    /// utime + stime so far, in seconds.
    ///
    /// # Errors
    /// When the process is gone or its stat line does not parse.
    pub fn cpu_seconds(self) -> anyhow::Result<f64> {
        let path = self.stat_path();
        let stat = std::fs::read_to_string(&path).with_context(|| format!("cannot read {path}"))?;
        let (_, ticks) = parse_stat(&stat).ok_or_else(|| anyhow!("{path}: unexpected format"))?;
        Ok(ticks as f64 / USER_HZ)
    }

    /// The process's command line, arguments separated by spaces.
    ///
    /// # Errors
    /// When there is no such process.
    pub fn command_line(self) -> anyhow::Result<String> {
        let path = self.stat_path().replace("/stat", "/cmdline");
        let raw = std::fs::read(&path).with_context(|| format!("no process {self} ({path})"))?;
        let args: Vec<String> = raw
            .split(|b| *b == 0)
            .filter(|a| !a.is_empty())
            .map(|a| String::from_utf8_lossy(a).into_owned())
            .collect();
        Ok(args.join(" "))
    }

    /// The process's command name (`comm`, e.g. `tansu`).
    ///
    /// # Errors
    /// When there is no such process.
    pub fn name(self) -> anyhow::Result<String> {
        let path = self.stat_path();
        let stat = std::fs::read_to_string(&path)
            .with_context(|| format!("no process {self} ({path})"))?;
        let (comm, _) = parse_stat(&stat).ok_or_else(|| anyhow!("{path}: unexpected format"))?;
        Ok(comm.to_string())
    }
}

impl std::fmt::Display for Proc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Myself => f.write_str("self"),
            Self::Pid(pid) => write!(f, "{pid}"),
        }
    }
}

/// `(comm, utime + stime in ticks)` of a `/proc/PID/stat` line. `comm` sits in parentheses and
/// may hold spaces and parentheses itself, so fields are counted after the last `)`.
fn parse_stat(stat: &str) -> Option<(&str, u64)> {
    let open = stat.find('(')?;
    let close = stat.rfind(')')?;
    let comm = stat.get(open + 1..close)?;
    // After ") " come fields 3 (state) onwards; utime and stime are fields 14 and 15.
    let mut rest = stat.get(close + 1..)?.split_whitespace().skip(11);
    let utime: u64 = rest.next()?.parse().ok()?;
    let stime: u64 = rest.next()?.parse().ok()?;
    Some((comm, utime + stime))
}

/// CPU used by a process between [`Window::start`] and [`Window::end`].
#[derive(Debug, Clone, Copy)]
pub struct Window {
    proc: Proc,
    cpu0: f64,
    t0: Instant,
}

/// CPU seconds used and the wall-clock seconds they were used in.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Used {
    pub cpu_s: f64,
    pub wall_s: f64,
}

impl Used {
    /// Cores busy on average (CPU seconds per second).
    pub fn cores(&self) -> f64 {
        if self.wall_s > 0.0 {
            self.cpu_s / self.wall_s
        } else {
            f64::NAN
        }
    }
}

impl Window {
    /// # Errors
    /// When the process is gone.
    pub fn start(proc: Proc) -> anyhow::Result<Self> {
        Ok(Self {
            proc,
            cpu0: proc.cpu_seconds()?,
            t0: Instant::now(),
        })
    }

    /// # Errors
    /// When the process is gone (a broker that died mid-run).
    pub fn end(&self) -> anyhow::Result<Used> {
        let cpu1 = self
            .proc
            .cpu_seconds()
            .with_context(|| format!("process {} ended during the measurement", self.proc))?;
        Ok(Used {
            cpu_s: cpu1 - self.cpu0,
            wall_s: self.t0.elapsed().as_secs_f64(),
        })
    }
}

/// CPU used by `proc` over the next `within` (sleeps that long).
///
/// # Errors
/// When the process is gone.
pub fn sample(proc: Proc, within: std::time::Duration) -> anyhow::Result<Used> {
    let window = Window::start(proc)?;
    std::thread::sleep(within);
    window.end()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_utime_and_stime_after_an_awkward_comm() {
        let stat =
            "335 (ta) n(su) S 1 335 335 0 -1 4194560 2914 0 0 0 1234 567 0 0 20 0 9 0 1620 1 2 3";
        assert_eq!(parse_stat(stat), Some(("ta) n(su", 1234 + 567)));
        assert_eq!(parse_stat("garbage"), None);
    }

    #[test]
    fn reads_this_process() {
        assert!(Proc::Myself.cpu_seconds().unwrap() >= 0.0);
        assert!(!Proc::Myself.name().unwrap().is_empty());
    }
}
