//! The gateway's binary refuses to start, outside development mode, with a published or weak
//! secret: it exits non-zero with one line naming the variable, and never echoes the value.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Runs the gateway binary with `vars` (and nothing inherited that could set a mode or a
/// secret); its exit status and stderr, or a panic when it is still running after 20 s.
fn start_gateway(vars: &[(&str, &str)]) -> (std::process::ExitStatus, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_gateway"));
    command
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("PORT", "0")
        .env("RUST_LOG", "error")
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    for (name, value) in vars {
        command.env(name, value);
    }
    let mut child = command.spawn().expect("the gateway binary starts");
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for the gateway") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("the gateway was still running after 20 s: it accepted the secrets");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut stderr = String::new();
    use std::io::Read;
    child
        .stderr
        .take()
        .expect("piped stderr")
        .read_to_string(&mut stderr)
        .expect("stderr is text");
    (status, stderr)
}

#[test]
fn outside_development_mode_a_published_or_short_secret_stops_the_start_naming_its_variable() {
    let strong = "0123456789abcdef0123456789abcdef-strong";
    let cases = [
        (
            "JWT_SECRET",
            kit::config::DEV_JWT_SECRET,
            "INTERNAL_SECRET",
            strong,
        ),
        (
            "INTERNAL_SECRET",
            kit::config::DEV_INTERNAL_SECRET,
            "JWT_SECRET",
            strong,
        ),
        (
            "JWT_SECRET",
            "short-but-not-empty",
            "INTERNAL_SECRET",
            strong,
        ),
    ];
    for (bad_name, bad_value, other_name, other_value) in cases {
        let (status, stderr) = start_gateway(&[(bad_name, bad_value), (other_name, other_value)]);
        assert!(
            !status.success(),
            "{bad_name}={bad_value} was accepted: {stderr}"
        );
        assert!(
            stderr.contains(bad_name),
            "the message names {bad_name}: {stderr}"
        );
        assert!(
            !stderr.contains(bad_value),
            "the value is not echoed: {stderr}"
        );
    }
}
