//! The bug variants (`LOCK_STRATEGY=unsafe` here, `BUG_VARIANT` in `kit::bug_variants`) exist
//! only in builds made for `chaos selftest`: the `bug-variants` features of inventory-service
//! and kit (which booking-, payment-, notification- and inventory-service forward), turned on only by
//! dev-dependencies and `chaos --features selftest`. This reads the workspace's normal
//! dependency graph (what `cargo build --workspace`, the Docker image and `stack` compile) and
//! fails if anything there enables either feature.

use std::process::Command;

#[test]
fn no_normal_build_of_the_workspace_enables_the_bug_variants() {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let output = Command::new(cargo)
        .args([
            "tree",
            "--workspace",
            "--offline",
            "--edges",
            "normal,features",
            "--invert",
            "inventory-service",
            "--invert",
            "kit",
            "--prefix",
            "none",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo runs");
    let tree = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "cargo tree failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        tree.contains("stack v") && tree.contains("booking-service v"),
        "the graph names inventory-service's and kit's dependents: {tree}"
    );
    assert!(
        !tree.contains("bug-variants"),
        "a normal build enables the bug variants:\n{tree}"
    );
}
