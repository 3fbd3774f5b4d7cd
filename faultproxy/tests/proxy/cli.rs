//! The `faultproxy` command (and `chaos proxy`, which is the same code): a config file populates proxies; bad input ends with one line on
//! stderr and a non-zero exit.

use std::process::Stdio;
use std::time::{Duration, Instant};

use tokio::process::Command;

use crate::helpers::{bounded, free_port, spawn_echo, unique};

const FAULTPROXY: &str = env!("CARGO_BIN_EXE_faultproxy");

#[tokio::test]
async fn cli_exits_with_one_line_when_the_listen_address_is_in_use() {
    bounded(Duration::from_secs(30), async {
        let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = taken.local_addr().unwrap().to_string();
        let output = Command::new(FAULTPROXY)
            .args(["--listen", &addr])
            .env("RUST_LOG", "off")
            .output()
            .await
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        println!("exit {:?}, stderr: {stderr}", output.status.code());
        assert_eq!(
            output.status.code(),
            Some(3),
            "the environment, not the input: {stderr}"
        );
        assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
        assert!(
            stderr.contains(&addr) && stderr.to_lowercase().contains("in use"),
            "{stderr}"
        );
    })
    .await;
}

#[tokio::test]
async fn cli_exits_with_one_line_on_a_bad_config() {
    bounded(Duration::from_secs(30), async {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("proxies.json");
        std::fs::write(&config, r#"{"not": "an array"}"#).unwrap();
        let output = Command::new(FAULTPROXY)
            .args(["--listen", "127.0.0.1:0", "--config"])
            .arg(&config)
            .env("RUST_LOG", "off")
            .output()
            .await
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "bad input: {stderr}");
        assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
        assert!(stderr.contains("proxies.json"), "{stderr}");
    })
    .await;
}

#[tokio::test]
async fn cli_config_file_populates_proxies() {
    bounded(Duration::from_secs(60), async {
        let echo = spawn_echo().await;
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("proxies.json");
        let name = unique("cli");
        let proxy_port = free_port();
        std::fs::write(
            &config,
            serde_json::json!([{"name": name, "listen": format!("127.0.0.1:{proxy_port}"), "upstream": echo.to_string()}])
                .to_string(),
        )
        .unwrap();
        let api = format!("127.0.0.1:{}", free_port());
        let mut child = Command::new(FAULTPROXY)
            .args(["--listen", &api, "--config"])
            .arg(&config)
            .env("RUST_LOG", "off")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let client = faultproxy::ToxiproxyClient::new(&api);
        let deadline = Instant::now() + Duration::from_secs(20);
        let proxies = loop {
            match client.proxies().await {
                Ok(proxies) => break proxies,
                Err(e) => {
                    assert!(child.try_wait().unwrap().is_none(), "faultproxy exited early");
                    assert!(Instant::now() < deadline, "API not up: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        };
        assert_eq!(proxies[&name].listen, format!("127.0.0.1:{proxy_port}"));
        assert!(proxies[&name].enabled);
        child.kill().await.unwrap();
    })
    .await;
}
