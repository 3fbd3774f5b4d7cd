//! The pages in a real browser: Debian's headless chromium loads a report with the network
//! blocked (`--proxy-server=127.0.0.1:9`), runs its script, and draws it.
//!
//! - `--dump-dom`: the body carries `data-rendered="ok"`, `data-charts` >= the page's charts, no
//!   `data-errors`, and `data-load-ms` < 2000;
//! - `--screenshot`: the PNG is not blank (> 20 distinct colours, > 5 % non-white pixels).
//!
//! Needs `/usr/bin/chromium` (`apt-get install -y chromium`); fails without it unless
//! `STAMPEDE_SKIP_BROWSER=1`. `STAMPEDE_KEEP_SCREENSHOTS=<dir>` keeps the pages and PNGs.
//! Every chromium call is killed after 60 s.

mod common;

use std::collections::HashSet;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{charts, Fixture, RunSpec};
use reports::{render_run, RenderOptions};

const CHROMIUM: &str = "/usr/bin/chromium";
const TIMEOUT: Duration = Duration::from_secs(60);

/// Whether to run; panics when chromium is missing and skipping was not asked for.
fn chromium_available() -> bool {
    if std::env::var("STAMPEDE_SKIP_BROWSER").as_deref() == Ok("1") {
        eprintln!("STAMPEDE_SKIP_BROWSER=1: browser test skipped");
        return false;
    }
    assert!(
        Path::new(CHROMIUM).exists(),
        "{CHROMIUM} is missing: install Debian's chromium (apt-get install -y chromium); CI installs it. \
         Set STAMPEDE_SKIP_BROWSER=1 to skip this test."
    );
    true
}

struct Ran {
    status: Option<i32>,
    stdout: String,
    stderr: String,
}

/// Runs chromium headless on `page` with `extra` flags, in a session of its own, killed (the
/// whole process group) after [`TIMEOUT`].
fn chromium(page: &Path, extra: &[String]) -> Ran {
    chromium_url(&format!("file://{}", page.display()), extra)
}

fn chromium_url(url: &str, extra: &[String]) -> Ran {
    let profile = tempfile::tempdir().expect("profile dir");
    // `setsid`: chromium gets a session (and process group) of its own, whose id is its pid, so
    // a timeout kills exactly it and its helpers, and nothing it does reaches our session.
    let mut cmd = Command::new("setsid");
    cmd.arg(CHROMIUM)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
            &format!("--user-data-dir={}", profile.path().display()),
            "--proxy-server=127.0.0.1:9",
            "--virtual-time-budget=5000",
        ])
        .args(extra)
        .arg(url)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("starts chromium");
    let mut out = child.stdout.take().unwrap();
    let mut err = child.stderr.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = out.read_to_string(&mut s);
        s
    });
    let err_reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = err.read_to_string(&mut s);
        s
    });
    let deadline = Instant::now() + TIMEOUT;
    let status = loop {
        if let Some(status) = child.try_wait().expect("waits for chromium") {
            break status.code();
        }
        if Instant::now() > deadline {
            // Chromium's own process group (setsid above): it and its helpers only.
            let _ = Command::new("kill")
                .args(["-KILL", &format!("-{}", child.id())])
                .status();
            let _ = child.wait();
            panic!("chromium did not finish within {TIMEOUT:?} on {url}");
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    Ran {
        status,
        stdout: reader.join().unwrap(),
        stderr: err_reader.join().unwrap(),
    }
}

/// The attributes of the dumped DOM's `<body>` tag.
fn body_attr<'a>(dom: &'a str, name: &str) -> Option<&'a str> {
    let start = dom.find("<body")?;
    let tag = &dom[start..start + dom[start..].find('>')?];
    let key = format!("{name}=\"");
    let at = tag.find(&key)? + key.len();
    Some(&tag[at..at + tag[at..].find('"')?])
}

fn keep(name: &str, path: &Path) {
    if let Ok(dir) = std::env::var("STAMPEDE_KEEP_SCREENSHOTS") {
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::copy(path, PathBuf::from(dir).join(name)).unwrap();
    }
}

fn check_page(page: &Path, label: &str) {
    let html = std::fs::read_to_string(page).unwrap();
    let expected = charts(&html).len();
    assert!(expected > 0);
    keep(&format!("{label}.html"), page);

    let ran = chromium(page, &["--dump-dom".to_string()]);
    assert_eq!(
        ran.status,
        Some(0),
        "chromium --dump-dom failed: {}",
        ran.stderr
    );
    let dom = &ran.stdout;
    assert_eq!(
        body_attr(dom, "data-rendered"),
        Some("ok"),
        "{label}: not rendered; errors {:?}; stderr {}",
        body_attr(dom, "data-errors"),
        ran.stderr
    );
    let counted: usize = body_attr(dom, "data-charts")
        .expect("data-charts")
        .parse()
        .unwrap();
    assert!(
        counted >= expected,
        "{label}: {counted} charts counted, {expected} in the page"
    );
    assert_eq!(
        body_attr(dom, "data-errors"),
        None,
        "{label}: script errors"
    );
    let load_ms: f64 = body_attr(dom, "data-load-ms")
        .expect("data-load-ms")
        .parse()
        .unwrap();
    println!("{label}: {counted} charts, load {load_ms} ms (performance.now at load)");
    assert!(load_ms < 2000.0, "{label}: load took {load_ms} ms");

    // The script's own self-test: a hover shows the values, a legend click hides a line.
    let ran = chromium_url(
        &format!("file://{}#selftest", page.display()),
        &["--dump-dom".to_string()],
    );
    let dom = &ran.stdout;
    assert_eq!(
        body_attr(dom, "data-errors"),
        None,
        "{label}: script errors in the self-test"
    );
    let tooltip = body_attr(dom, "data-tooltip").unwrap_or_default();
    println!("{label}: tooltip {tooltip:?}");
    assert!(
        tooltip.contains(':') && tooltip.len() > 8,
        "{label}: no tooltip: {tooltip:?}"
    );
    assert_eq!(
        body_attr(dom, "data-toggled"),
        Some("true"),
        "{label}: legend click did not hide the series"
    );

    let shots = tempfile::tempdir().unwrap();
    let png_path = shots.path().join(format!("{label}.png"));
    let ran = chromium(
        page,
        &[
            format!("--screenshot={}", png_path.display()),
            "--window-size=1400,4000".to_string(),
            "--hide-scrollbars".to_string(),
        ],
    );
    assert!(
        png_path.is_file(),
        "{label}: no screenshot (status {:?}): {}",
        ran.status,
        ran.stderr
    );
    keep(&format!("{label}.png"), &png_path);
    let decoder = png::Decoder::new(std::fs::File::open(&png_path).unwrap());
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).unwrap();
    let channels = info.color_type.samples();
    assert!(channels >= 3, "{label}: colour type {:?}", info.color_type);
    let pixels = buf[..info.buffer_size()].chunks(channels);
    let (mut colours, mut non_white, mut total) = (HashSet::new(), 0usize, 0usize);
    for p in pixels {
        let rgb = (p[0], p[1], p[2]);
        colours.insert(rgb);
        non_white += usize::from(rgb != (255, 255, 255));
        total += 1;
    }
    let share = non_white as f64 / total as f64;
    println!(
        "{label}: screenshot {}x{}, {} colours, {:.1} % non-white",
        info.width,
        info.height,
        colours.len(),
        share * 100.0
    );
    assert!(
        colours.len() > 20,
        "{label}: only {} colours",
        colours.len()
    );
    assert!(share > 0.05, "{label}: {:.1} % non-white", share * 100.0);
}

#[test]
fn reports_render_in_headless_chromium() {
    if !chromium_available() {
        return;
    }
    let run = Fixture::chaos(&RunSpec {
        seconds: 120,
        routes: 8,
        faults: vec![(20.0, Some(35.0)), (50.0, Some(60.0)), (90.0, None)],
        ..RunSpec::default()
    });
    check_page(
        &render_run(&run.dir, &RenderOptions::default()).unwrap(),
        "chaos-run",
    );
    let cap = Fixture::capacity();
    check_page(
        &render_run(&cap.dir, &RenderOptions::default()).unwrap(),
        "capacity",
    );
    let a = Fixture::loadgen(&RunSpec::default());
    check_page(
        &reports::render_diff(&a.dir, &run.dir, None).unwrap(),
        "diff",
    );
    // A 10-minute run opens in under 2 s (check_page), and a real chaos run renders too.
    let long = Fixture::chaos(&RunSpec {
        seconds: 600,
        routes: 8,
        faults: vec![
            (60.0, Some(120.0)),
            (300.0, Some(330.0)),
            (480.0, Some(540.0)),
        ],
        ..RunSpec::default()
    });
    check_page(
        &render_run(&long.dir, &RenderOptions::default()).unwrap(),
        "chaos-run-600s",
    );
    let real = Fixture::real("redis-down");
    check_page(
        &render_run(&real.dir, &RenderOptions::default()).unwrap(),
        "real-redis-down",
    );
}
