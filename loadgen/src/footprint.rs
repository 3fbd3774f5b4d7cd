//! What the generator itself cost: its peak memory and CPU time, and both per user, printed at
//! the end of every run and kept in `summary.json` (`generator`). A figure per user is how one
//! tells whether 10,000 or 100,000 users fit on a box, and whether a change made users cheaper.
//!
//! Linux only (`/proc/self`); elsewhere every figure is absent rather than made up.

use serde::{Deserialize, Serialize};

/// One reading of this process's memory and CPU use.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Usage {
    /// Resident memory now (`VmRSS`), bytes.
    pub rss_bytes: u64,
    /// The highest resident memory since the process started (`VmHWM`), bytes.
    pub peak_rss_bytes: u64,
    /// CPU time in user and kernel mode since the process started, seconds.
    pub cpu_user_s: f64,
    pub cpu_sys_s: f64,
}

impl Usage {
    /// Reads `/proc/self/status` and `/proc/self/stat` (the latter with the reports' reader of
    /// `cpu.json`); `None` where they do not exist.
    pub fn now() -> Option<Usage> {
        let status = std::fs::read_to_string("/proc/self/status").ok()?;
        let (cpu_user_s, cpu_sys_s) = reports::cpu::cpu_seconds("self")?;
        Some(Usage {
            rss_bytes: kib_field(&status, "VmRSS:")? * 1024,
            peak_rss_bytes: kib_field(&status, "VmHWM:")? * 1024,
            cpu_user_s,
            cpu_sys_s,
        })
    }
}

/// A `Name:   1234 kB` line of `/proc/<pid>/status`, in KiB.
fn kib_field(status: &str, name: &str) -> Option<u64> {
    status
        .lines()
        .find_map(|line| line.strip_prefix(name))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// The generator's cost over one run, as summary.json's `generator` keeps it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Footprint {
    /// The most goose users running at once.
    pub peak_users: u64,
    /// The process's peak resident memory (`VmHWM`: since the process started, so in a process
    /// that ran several loads, such as `chaos suite`, the largest of them), bytes.
    pub peak_rss_bytes: u64,
    /// Resident memory before the first user was made (the data, the seat map, the runtime).
    pub rss_before_users_bytes: u64,
    /// CPU time of the process during the run (user + kernel mode), seconds.
    pub cpu_s: f64,
    pub cpu_user_s: f64,
    pub cpu_sys_s: f64,
    /// `peak_rss_bytes / peak_users`, KiB.
    pub kib_per_user: f64,
    /// `(peak_rss_bytes - rss_before_users_bytes) / peak_users`, KiB: what one more user costs.
    pub added_kib_per_user: f64,
    /// `cpu_s / peak_users`, milliseconds.
    pub cpu_ms_per_user: f64,
}

impl Footprint {
    /// The cost between `before` (read before the users were made) and `after`, shared by
    /// `peak_users`.
    pub fn between(before: Usage, after: Usage, peak_users: u64) -> Footprint {
        let cpu_user_s = (after.cpu_user_s - before.cpu_user_s).max(0.0);
        let cpu_sys_s = (after.cpu_sys_s - before.cpu_sys_s).max(0.0);
        let cpu_s = cpu_user_s + cpu_sys_s;
        let users = peak_users.max(1) as f64;
        Footprint {
            peak_users,
            peak_rss_bytes: after.peak_rss_bytes,
            rss_before_users_bytes: before.rss_bytes,
            cpu_s,
            cpu_user_s,
            cpu_sys_s,
            kib_per_user: after.peak_rss_bytes as f64 / 1024.0 / users,
            added_kib_per_user: after.peak_rss_bytes.saturating_sub(before.rss_bytes) as f64
                / 1024.0
                / users,
            cpu_ms_per_user: cpu_s * 1000.0 / users,
        }
    }
}

impl std::fmt::Display for Footprint {
    /// `generator: 10000 users, peak RSS 402.1 MiB = 41.2 KiB/user (39.0 KiB/user above the
    /// 21.4 MiB before the users), CPU 35.20 s (user 30.10 s, sys 5.10 s) = 3.52 ms/user`
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mib = |bytes: u64| bytes as f64 / (1024.0 * 1024.0);
        write!(
            f,
            "generator: {} users, peak RSS {:.1} MiB = {:.1} KiB/user ({:.1} KiB/user above the \
             {:.1} MiB before the users), CPU {:.2} s (user {:.2} s, sys {:.2} s) = {:.2} ms/user",
            self.peak_users,
            mib(self.peak_rss_bytes),
            self.kib_per_user,
            self.added_kib_per_user,
            mib(self.rss_before_users_bytes),
            self.cpu_s,
            self.cpu_user_s,
            self.cpu_sys_s,
            self.cpu_ms_per_user
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_fields_are_read_in_kib() {
        let status = "Name:\tloadgen\nVmHWM:\t  409600 kB\nVmRSS:\t  204800 kB\n";
        assert_eq!(kib_field(status, "VmHWM:"), Some(409_600));
        assert_eq!(kib_field(status, "VmRSS:"), Some(204_800));
        assert_eq!(kib_field(status, "VmSwap:"), None);
    }

    #[test]
    fn per_user_figures_divide_by_the_peak_users() {
        let before = Usage {
            rss_bytes: 20 * 1024 * 1024,
            peak_rss_bytes: 20 * 1024 * 1024,
            cpu_user_s: 1.0,
            cpu_sys_s: 0.5,
        };
        let after = Usage {
            rss_bytes: 100 * 1024 * 1024,
            peak_rss_bytes: 120 * 1024 * 1024,
            cpu_user_s: 9.0,
            cpu_sys_s: 2.5,
        };
        let f = Footprint::between(before, after, 1024);
        assert_eq!(f.kib_per_user, 120.0);
        assert_eq!(f.added_kib_per_user, 100.0);
        assert_eq!(f.cpu_s, 10.0);
        assert_eq!(f.cpu_ms_per_user, 10000.0 / 1024.0);
        let line = f.to_string();
        assert!(line.contains("1024 users"), "{line}");
        assert!(line.contains("120.0 KiB/user"), "{line}");
        assert!(line.contains("9.77 ms/user"), "{line}");
    }
}
