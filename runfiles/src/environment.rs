//! `environment.json`: the machine and build a run ran on, captured at the run's start
//! (`reports::environment::capture`) and shown in the report's header.

use serde::{Deserialize, Serialize};

/// Where and with what a run ran.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Environment {
    /// The machine's hostname.
    pub hostname: Option<String>,
    /// CPUs this process may use.
    pub cpus: Option<u64>,
    /// `model name` of the first CPU in /proc/cpuinfo.
    pub cpu_model: Option<String>,
    /// MemTotal of /proc/meminfo, in bytes.
    pub memory_bytes: Option<u64>,
    /// PRETTY_NAME of /etc/os-release.
    pub os: Option<String>,
    /// /proc/sys/kernel/osrelease.
    pub kernel: Option<String>,
    /// The Stampede version that ran (the crates share one version).
    pub stampede_version: String,
    /// `git rev-parse --short HEAD` in the current directory, when that works.
    pub git_commit: Option<String>,
    /// When this was captured, RFC 3339 UTC.
    pub captured_at: String,
}
