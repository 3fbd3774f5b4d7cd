//! Where the CPU of a run went: every process of the stack (each service, the broker, Postgres,
//! Redis, the harness itself) between two snapshots of `/proc`, and per confirmed booking.
//! Written by `chaos run` as `cpu.json`, shown as a table in the report.
//!
//! ```text
//! ProcessSnapshot::take() ── load ── quiesce ── ProcessSnapshot::take()
//!        └──────────────── usage_between(a, b, confirmed) ──▶ save(usage, dir) ──▶ dir/cpu.json
//! ```
//!
//! Processes are named by role: a service run as `stack serve NAME` is `NAME`; the harness's own
//! process (loadgen and the fault proxy run inside it) is `harness`; others by their command
//! name (`tansu`, `postgres`, `redis-server`). Postgres and Redis are the machine's: whatever
//! else uses them in the window is counted too. A process that exited between the snapshots
//! (a killed service) is missing its CPU; one started in between counts from zero.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

pub use runfiles::cpu::{CpuUsage, ProcessCpu, FORMAT_VERSION};

/// Process names that belong to a run (besides the services and the harness).
const INFRASTRUCTURE: [&str; 3] = ["tansu", "postgres", "redis-server"];

/// CPU seconds of every relevant process at one moment.
#[derive(Debug, Clone, Default)]
pub struct ProcessSnapshot {
    /// (pid, start time in clock ticks) -> (role, CPU seconds).
    processes: HashMap<(u32, u64), (String, f64)>,
    taken: Option<std::time::Instant>,
    harness_pid: u32,
}

impl ProcessSnapshot {
    /// Reads every process of this machine that belongs to a run; `harness_pid` is the process
    /// that drives the run (usually `std::process::id()`).
    pub fn take(harness_pid: u32) -> Self {
        let ticks = clock_ticks();
        let mut processes = HashMap::new();
        let Ok(entries) = std::fs::read_dir("/proc") else {
            return Self {
                processes,
                taken: Some(std::time::Instant::now()),
                harness_pid,
            };
        };
        for entry in entries.flatten() {
            let Some(pid) = entry
                .file_name()
                .to_str()
                .and_then(|s| s.parse::<u32>().ok())
            else {
                continue;
            };
            let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
                continue;
            };
            let Some((comm, fields)) = parse_stat(&stat) else {
                continue;
            };
            let role = if pid == harness_pid {
                "harness".to_string()
            } else if let Some(service) = served_service(pid) {
                service
            } else if INFRASTRUCTURE.contains(&comm) {
                comm.to_string()
            } else {
                continue;
            };
            let cpu = (fields.utime + fields.stime) as f64 / ticks;
            processes.insert((pid, fields.start), (role, cpu));
        }
        Self {
            processes,
            taken: Some(std::time::Instant::now()),
            harness_pid,
        }
    }

    /// The CPU used from this snapshot until now (a new snapshot of the same harness).
    pub fn usage_until_now(&self, confirmed: u64) -> CpuUsage {
        usage_between(self, &Self::take(self.harness_pid), confirmed)
    }
}

struct StatFields {
    utime: u64,
    stime: u64,
    start: u64,
}

/// `comm` and the fields of `/proc/PID/stat` this needs.
fn parse_stat(stat: &str) -> Option<(&str, StatFields)> {
    let open = stat.find('(')?;
    let close = stat.rfind(')')?;
    let comm = &stat[open + 1..close];
    let rest: Vec<&str> = stat.get(close + 2..)?.split_whitespace().collect();
    // After `comm`: state is field 3; utime 14, stime 15, starttime 22 (1-based, man proc).
    let field = |n: usize| rest.get(n - 3)?.parse::<u64>().ok();
    Some((
        comm,
        StatFields {
            utime: field(14)?,
            stime: field(15)?,
            start: field(22)?,
        },
    ))
}

/// `NAME` for a process started as `... serve NAME` (the stack binary running one service).
fn served_service(pid: u32) -> Option<String> {
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
    let args: Vec<&[u8]> = cmdline.split(|b| *b == 0).collect();
    let serve = args.iter().position(|a| *a == b"serve")?;
    let name = std::str::from_utf8(args.get(serve + 1)?).ok()?;
    (name.ends_with("-service") || name == "gateway").then(|| name.to_string())
}

/// CPU seconds of one process so far, in user and in kernel mode; `which` is a pid or `self`.
/// `None` without `/proc` or when the process is gone.
pub fn cpu_seconds(which: &str) -> Option<(f64, f64)> {
    let stat = std::fs::read_to_string(format!("/proc/{which}/stat")).ok()?;
    let (_, fields) = parse_stat(&stat)?;
    let ticks = clock_ticks();
    Some((fields.utime as f64 / ticks, fields.stime as f64 / ticks))
}

fn clock_ticks() -> f64 {
    // USER_HZ is 100 on every Linux this runs on (x86_64, aarch64); /proc reports in it.
    100.0
}

/// The CPU each role used between `a` and `b`.
pub fn usage_between(a: &ProcessSnapshot, b: &ProcessSnapshot, confirmed: u64) -> CpuUsage {
    let mut by_role: BTreeMap<String, f64> = BTreeMap::new();
    for (key, (role, cpu)) in &b.processes {
        let before = a.processes.get(key).map_or(0.0, |(_, c)| *c);
        *by_role.entry(role.clone()).or_default() += (cpu - before).max(0.0);
    }
    let wall_seconds = match (a.taken, b.taken) {
        (Some(a), Some(b)) => b.saturating_duration_since(a).as_secs_f64(),
        _ => 0.0,
    };
    let per = |seconds: f64| (confirmed > 0).then(|| seconds * 1000.0 / confirmed as f64);
    let mut processes: Vec<ProcessCpu> = by_role
        .into_iter()
        .map(|(name, cpu_seconds)| ProcessCpu {
            name,
            cpu_seconds,
            ms_per_confirmed: per(cpu_seconds),
        })
        .collect();
    processes.sort_by(|x, y| y.cpu_seconds.total_cmp(&x.cpu_seconds));
    let total_cpu_seconds: f64 = processes.iter().map(|p| p.cpu_seconds).sum();
    CpuUsage {
        format_version: FORMAT_VERSION,
        wall_seconds,
        confirmed,
        cores_busy: if wall_seconds > 0.0 {
            total_cpu_seconds / wall_seconds
        } else {
            0.0
        },
        ms_per_confirmed: per(total_cpu_seconds),
        processes,
        total_cpu_seconds,
    }
}

/// Writes `dir/cpu.json` (atomically).
///
/// # Errors
/// When the file cannot be written.
pub fn save(usage: &CpuUsage, dir: &Path) -> Result<(), runfiles::RunFileError> {
    runfiles::write_json(&dir.join(runfiles::folder::CPU), usage)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snapshot(entries: &[(u32, u64, &str, f64)]) -> ProcessSnapshot {
        ProcessSnapshot {
            processes: entries
                .iter()
                .map(|(pid, start, role, cpu)| ((*pid, *start), (role.to_string(), *cpu)))
                .collect(),
            taken: Some(std::time::Instant::now()),
            harness_pid: 0,
        }
    }

    #[test]
    fn usage_is_the_difference_per_role_and_per_confirmed_booking() {
        let a = snapshot(&[
            (1, 10, "tansu", 5.0),
            (2, 10, "postgres", 1.0),
            (3, 10, "postgres", 1.0),
            (4, 10, "booking-service", 2.0),
        ]);
        // pid 4 restarted (new start time): counts from zero; pid 5 is new.
        let b = snapshot(&[
            (1, 10, "tansu", 7.0),
            (2, 10, "postgres", 1.5),
            (3, 10, "postgres", 1.5),
            (4, 99, "booking-service", 0.5),
            (5, 50, "harness", 1.0),
        ]);
        let usage = usage_between(&a, &b, 100);
        let by: BTreeMap<_, _> = usage
            .processes
            .iter()
            .map(|p| (p.name.as_str(), p.cpu_seconds))
            .collect();
        assert_eq!(by["tansu"], 2.0);
        assert_eq!(by["postgres"], 1.0);
        assert_eq!(by["booking-service"], 0.5);
        assert_eq!(usage.processes[0].name, "tansu", "largest first");
        assert_eq!(usage.total_cpu_seconds, 4.5);
        assert_eq!(usage.ms_per_confirmed, Some(45.0));
        assert!(
            usage
                .summary_line()
                .starts_with("45.0 ms CPU per confirmed booking (tansu 20.0"),
            "{}",
            usage.summary_line()
        );
    }

    #[test]
    fn without_confirmed_bookings_there_is_no_per_booking_figure() {
        let usage = usage_between(&snapshot(&[]), &snapshot(&[(1, 1, "tansu", 1.0)]), 0);
        assert_eq!(usage.ms_per_confirmed, None);
        assert!(usage.summary_line().contains("nothing confirmed"));
    }

    #[test]
    fn stat_lines_with_spaces_in_the_command_parse() {
        let line = "42 (tokio worker 1) S 1 42 42 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 8 0 123456 1000 10 18446744073709551615";
        let (comm, f) = parse_stat(line).unwrap();
        assert_eq!(comm, "tokio worker 1");
        assert_eq!((f.utime, f.stime, f.start), (250, 50, 123456));
    }

    #[test]
    fn this_process_is_the_harness() {
        let snap = ProcessSnapshot::take(std::process::id());
        assert!(snap.processes.values().any(|(role, _)| role == "harness"));
    }
}
