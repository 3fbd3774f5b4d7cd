//! The workspace's dependency rules, read from `cargo metadata` (the resolved graph, normal and
//! build dependencies; dev-dependencies do not ship and are allowed to cross):
//!
//! - the services (kit, stack, gateway, every `*-service`) never depend on the harness;
//! - the checker and loadgen never depend on a service;
//! - faultproxy and runfiles depend on no crate of the workspace, and the checker on none but
//!   `runfiles`: each is usable on its own.
//!
//! A rule broken names the path that breaks it, e.g. `checker -> kit`.

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;

use serde_json::Value;

/// Workspace crates by name, each with the workspace crates it reaches through normal and build
/// dependencies (transitively), and the first hop of the path to each.
struct Graph {
    reach: BTreeMap<String, BTreeMap<String, String>>,
}

impl Graph {
    fn load() -> Graph {
        let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../Cargo.toml");
        // This platform's graph only: the others' crates are not downloaded (and we are offline).
        let host = host_triple();
        let output = Command::new(env!("CARGO"))
            .args([
                "metadata",
                "--format-version",
                "1",
                "--offline",
                "--manifest-path",
                root,
            ])
            .args(["--filter-platform", &host])
            .output()
            .expect("cargo metadata runs");
        assert!(
            output.status.success(),
            "cargo metadata failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let metadata: Value = serde_json::from_slice(&output.stdout).expect("metadata is JSON");
        let members: BTreeSet<&str> = metadata["workspace_members"]
            .as_array()
            .expect("workspace_members")
            .iter()
            .filter_map(Value::as_str)
            .collect();
        let name_of: BTreeMap<&str, &str> = metadata["packages"]
            .as_array()
            .expect("packages")
            .iter()
            .map(|p| (p["id"].as_str().unwrap(), p["name"].as_str().unwrap()))
            .collect();
        // Direct shipped edges between workspace crates.
        let mut direct: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for node in metadata["resolve"]["nodes"].as_array().expect("resolve") {
            let id = node["id"].as_str().unwrap();
            if !members.contains(id) {
                continue;
            }
            let edges = direct.entry(name_of[id].to_owned()).or_default();
            for dep in node["deps"].as_array().unwrap() {
                let dep_id = dep["pkg"].as_str().unwrap();
                let shipped = dep["dep_kinds"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|k| k["kind"].as_str() != Some("dev"));
                if shipped && members.contains(dep_id) {
                    edges.insert(name_of[dep_id].to_owned());
                }
            }
        }
        let mut reach = BTreeMap::new();
        for start in direct.keys() {
            let mut seen: BTreeMap<String, String> = BTreeMap::new();
            let mut stack: Vec<(String, String)> = direct[start]
                .iter()
                .map(|d| (d.clone(), format!("{start} -> {d}")))
                .collect();
            while let Some((crate_name, path)) = stack.pop() {
                if seen.contains_key(&crate_name) {
                    continue;
                }
                for next in direct.get(&crate_name).into_iter().flatten() {
                    stack.push((next.clone(), format!("{path} -> {next}")));
                }
                seen.insert(crate_name, path);
            }
            reach.insert(start.clone(), seen);
        }
        Graph { reach }
    }

    fn crates(&self) -> impl Iterator<Item = &String> {
        self.reach.keys()
    }

    /// The paths by which `from` reaches a crate that `forbidden` names.
    fn violations(&self, from: &str, forbidden: impl Fn(&str) -> bool) -> Vec<String> {
        let reach = self
            .reach
            .get(from)
            .unwrap_or_else(|| panic!("{from} is not a workspace crate"));
        reach
            .iter()
            .filter(|(name, _)| forbidden(name))
            .map(|(_, path)| path.clone())
            .collect()
    }
}

/// The `host:` line of `rustc -vV`.
fn host_triple() -> String {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let output = Command::new(rustc)
        .arg("-vV")
        .output()
        .expect("rustc -vV runs");
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("host: "))
        .expect("rustc -vV names the host")
        .to_owned()
}

fn is_service(name: &str) -> bool {
    matches!(name, "kit" | "stack" | "gateway") || name.ends_with("-service")
}

fn is_harness(name: &str) -> bool {
    matches!(
        name,
        "chaos" | "loadgen" | "checker" | "faultproxy" | "reports" | "runfiles" | "benches"
    )
}

#[test]
fn services_never_depend_on_the_harness() {
    let graph = Graph::load();
    let services: Vec<&String> = graph.crates().filter(|c| is_service(c)).collect();
    assert!(services.len() >= 9, "services found: {services:?}");
    let broken: Vec<String> = services
        .iter()
        .flat_map(|s| graph.violations(s, is_harness))
        .collect();
    assert!(
        broken.is_empty(),
        "a service depends on the harness: {broken:?}"
    );
}

#[test]
fn checker_and_loadgen_never_depend_on_a_service() {
    let graph = Graph::load();
    let broken: Vec<String> = ["checker", "loadgen"]
        .iter()
        .flat_map(|c| graph.violations(c, is_service))
        .collect();
    assert!(broken.is_empty(), "{broken:?}");
}

#[test]
fn faultproxy_checker_and_runfiles_stand_on_their_own() {
    let graph = Graph::load();
    let broken: Vec<String> = graph
        .violations("faultproxy", |_| true)
        .into_iter()
        .chain(graph.violations("checker", |c| c != "runfiles"))
        .chain(graph.violations("runfiles", |_| true))
        .collect();
    assert!(broken.is_empty(), "{broken:?}");
}

/// loadgen repeats the seeded admin's defaults (it must not depend on the services): they must be
/// the stack's.
#[test]
fn loadgen_logs_in_with_the_stacks_seeded_admin_by_default() {
    assert_eq!(loadgen::cli::DEFAULT_ADMIN_EMAIL, kit::seed::ADMIN_EMAIL);
    assert_eq!(
        loadgen::cli::DEFAULT_ADMIN_PASSWORD,
        kit::seed::ADMIN_PASSWORD
    );
}
