//! Spawning the services as child processes, waiting until they are healthy, stopping them.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::Context;
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use tokio::process::{Child, Command};

use crate::services::{ServiceSpec, SERVICES};

/// A running child service.
pub struct Running {
    pub spec: ServiceSpec,
    pub child: Child,
    pub log: PathBuf,
}

/// All children of one `stack up`.
pub struct Stack {
    pub children: Vec<Running>,
    pub log_dir: PathBuf,
}

impl Stack {
    /// Spawns every service as `<this exe> serve <name>`, logs to `log_dir/<name>.log`.
    ///
    /// # Errors
    /// When a process cannot be spawned or a log file cannot be created.
    pub fn spawn(log_dir: &Path) -> anyhow::Result<Self> {
        std::fs::create_dir_all(log_dir)
            .with_context(|| format!("cannot create {}", log_dir.display()))?;
        let exe = std::env::current_exe().context("cannot find the stack executable")?;
        let mut children = Vec::new();
        for spec in SERVICES {
            let log = log_dir.join(format!("{}.log", spec.name));
            let out =
                File::create(&log).with_context(|| format!("cannot create {}", log.display()))?;
            let mut command = Command::new(&exe);
            command
                .args(["serve", spec.name])
                .env("PORT", spec.port.to_string())
                // `stack up` is the development stack: the published default secrets are allowed
                // unless the caller chose a mode.
                .env(
                    kit::config::MODE_ENV,
                    std::env::var(kit::config::MODE_ENV).unwrap_or_else(|_| "dev".into()),
                )
                .stdin(Stdio::null())
                .stdout(out.try_clone()?)
                .stderr(out)
                .kill_on_drop(true);
            let child = command
                .spawn()
                .with_context(|| format!("cannot start {}", spec.name))?;
            children.push(Running { spec, child, log });
        }
        Ok(Self {
            children,
            log_dir: log_dir.to_path_buf(),
        })
    }

    /// Waits until each service answers /health with 200, then the gateway's /health/all.
    ///
    /// # Errors
    /// When a child exits or a service is not healthy within `timeout`; the error names the
    /// service and its log file.
    pub async fn wait_healthy(&mut self, timeout: Duration) -> anyhow::Result<()> {
        let client = reqwest::Client::new();
        let deadline = Instant::now() + timeout;
        for running in &mut self.children {
            let url = format!("http://127.0.0.1:{}/health", running.spec.port);
            loop {
                if let Some(status) = running.child.try_wait()? {
                    anyhow::bail!(
                        "{} exited during start ({status}); last lines of {}:\n{}",
                        running.spec.name,
                        running.log.display(),
                        tail(&running.log, 15)
                    );
                }
                let ok = client
                    .get(&url)
                    .timeout(Duration::from_secs(2))
                    .send()
                    .await
                    .is_ok_and(|r| r.status().is_success());
                if ok {
                    break;
                }
                anyhow::ensure!(
                    Instant::now() < deadline,
                    "{} not healthy at {url} after {timeout:?}; see {}",
                    running.spec.name,
                    running.log.display()
                );
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
        let all = client
            .get("http://127.0.0.1:3000/health/all")
            .send()
            .await
            .context("gateway /health/all unreachable")?;
        anyhow::ensure!(
            all.status().is_success(),
            "gateway /health/all: {}",
            all.text().await.unwrap_or_default()
        );
        Ok(())
    }

    /// Sends SIGTERM to every child, waits up to `grace`, then SIGKILLs what is left.
    pub async fn stop(mut self, grace: Duration) {
        for running in self.children.iter().rev() {
            if let Some(pid) = running.child.id() {
                let _ = kill(Pid::from_raw(pid as i32), Signal::SIGTERM);
            }
        }
        let deadline = Instant::now() + grace;
        for running in &mut self.children {
            let left = deadline.saturating_duration_since(Instant::now());
            if tokio::time::timeout(left, running.child.wait())
                .await
                .is_err()
            {
                println!(
                    "stack: {} did not stop in {grace:?}; killing it",
                    running.spec.name
                );
                let _ = running.child.kill().await;
            }
        }
    }

    /// Resolves when any child exits, with its name and status.
    pub async fn any_exit(&mut self) -> (String, String) {
        let waits = self.children.iter_mut().map(|r| {
            let name = r.spec.name.to_string();
            Box::pin(async move {
                let status = r.child.wait().await;
                (name, format!("{status:?}"))
            })
        });
        futures_select_all(waits).await
    }
}

async fn futures_select_all<F>(futures: impl Iterator<Item = F>) -> (String, String)
where
    F: std::future::Future<Output = (String, String)> + Unpin,
{
    let all: Vec<F> = futures.collect();
    if all.is_empty() {
        return std::future::pending().await;
    }
    let (result, _, _) = futures::future::select_all(all).await;
    result
}

/// The last `n` lines of a log file, for error messages.
pub fn tail(path: &Path, n: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}
