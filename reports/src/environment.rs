//! The machine and build a run ran on, captured at the run's start into `environment.json` and
//! shown in the report's header. Everything is best effort: what cannot be read is `null`.
//!
//! ```text
//! capture() ─▶ /proc/sys/kernel/hostname, available_parallelism, /proc/cpuinfo,
//!                           /proc/meminfo, /etc/os-release, /proc/sys/kernel/osrelease,
//!                           CARGO_PKG_VERSION, `git rev-parse --short HEAD`, now (RFC 3339)
//!           ─▶ save(&environment, dir) ─▶ dir/environment.json
//! ```

use std::path::Path;
use std::process::{Command, Stdio};

pub use runfiles::environment::Environment;

/// Reads the machine and build. Never fails: what cannot be read stays `None`.
pub fn capture() -> Environment {
    let read = |path: &str| std::fs::read_to_string(path).ok();
    let trimmed = |s: String| Some(s.trim().to_string()).filter(|s| !s.is_empty());
    Environment {
        hostname: read("/proc/sys/kernel/hostname")
            .or_else(|| read("/etc/hostname"))
            .and_then(trimmed)
            .or_else(|| std::env::var("HOSTNAME").ok()),
        cpus: std::thread::available_parallelism()
            .ok()
            .map(|n| n.get() as u64),
        cpu_model: read("/proc/cpuinfo").and_then(|t| cpu_model(&t)),
        memory_bytes: read("/proc/meminfo").and_then(|t| mem_total(&t)),
        os: read("/etc/os-release").and_then(|t| os_pretty_name(&t)),
        kernel: read("/proc/sys/kernel/osrelease").and_then(trimmed),
        stampede_version: env!("CARGO_PKG_VERSION").to_string(),
        git_commit: git_commit(),
        captured_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
    }
}

/// Writes `dir/environment.json` (atomically).
///
/// # Errors
/// When the file cannot be written.
pub fn save(environment: &Environment, dir: &Path) -> Result<(), runfiles::RunFileError> {
    runfiles::write_json(&dir.join(runfiles::folder::ENVIRONMENT), environment)
}

fn git_commit() -> Option<String> {
    let out = Command::new("git")
        .args(["rev-parse", "--short", "HEAD"])
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()?;
    let text = String::from_utf8(out.stdout).ok()?.trim().to_string();
    (out.status.success() && !text.is_empty()).then_some(text)
}

/// The first `model name` (x86) or `Model`/`Hardware` (ARM) line of /proc/cpuinfo.
fn cpu_model(cpuinfo: &str) -> Option<String> {
    ["model name", "Model", "Hardware", "cpu model"]
        .iter()
        .find_map(|key| {
            cpuinfo.lines().find_map(|line| {
                let (k, v) = line.split_once(':')?;
                (k.trim() == *key && !v.trim().is_empty()).then(|| v.trim().to_string())
            })
        })
}

/// MemTotal of /proc/meminfo in bytes.
fn mem_total(meminfo: &str) -> Option<u64> {
    let line = meminfo.lines().find(|l| l.starts_with("MemTotal:"))?;
    let kb: u64 = line
        .trim_start_matches("MemTotal:")
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kb * 1024)
}

/// PRETTY_NAME of /etc/os-release, unquoted.
fn os_pretty_name(os_release: &str) -> Option<String> {
    let line = os_release.lines().find(|l| l.starts_with("PRETTY_NAME="))?;
    let value = line
        .trim_start_matches("PRETTY_NAME=")
        .trim()
        .trim_matches('"')
        .trim_matches('\'');
    Some(value.to_string()).filter(|v| !v.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proc_files_parse() {
        assert_eq!(
            cpu_model("processor\t: 0\nmodel name\t: AMD EPYC 7B13\n").as_deref(),
            Some("AMD EPYC 7B13")
        );
        assert_eq!(
            mem_total("MemTotal:       24576000 kB\nMemFree: 1 kB\n"),
            Some(24_576_000 * 1024)
        );
        assert_eq!(
            os_pretty_name("NAME=x\nPRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\n").as_deref(),
            Some("Debian GNU/Linux 12 (bookworm)")
        );
    }

    #[test]
    fn capture_then_save_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let env = capture();
        assert_eq!(env.stampede_version, env!("CARGO_PKG_VERSION"));
        assert!(env.cpus.unwrap_or(1) >= 1);
        chrono::DateTime::parse_from_rfc3339(&env.captured_at).unwrap();
        save(&env, dir.path()).unwrap();
        let back: Environment =
            serde_json::from_slice(&std::fs::read(dir.path().join("environment.json")).unwrap())
                .unwrap();
        assert_eq!(back, env);
    }
}
