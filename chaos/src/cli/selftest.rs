//! `chaos selftest`: the checker must find the violations a broken build makes.

use std::path::PathBuf;

use runfiles::Exit;

/// `chaos selftest`.
pub async fn selftest(out: Option<PathBuf>) -> Exit {
    if !stack::BUG_VARIANTS {
        eprintln!("chaos selftest: this build's services have no bug variants to switch on; run `cargo run --release -p chaos --features selftest -- selftest`");
        return Exit::BadInput;
    }
    let out = out.unwrap_or_else(crate::selftest::default_out);
    match crate::selftest::run(&out).await {
        Ok(findings) => {
            let mut all = true;
            for f in &findings {
                all &= f.found;
                println!(
                    "{} {}\n     {}",
                    if f.found { "FOUND  " } else { "MISSING" },
                    f.expectation,
                    f.evidence
                );
            }
            println!(
                "selftest: {} (run folders in {})",
                if all { "PASS" } else { "FAIL" },
                out.display()
            );
            if all {
                Exit::Pass
            } else {
                Exit::Failed
            }
        }
        Err(e) => {
            eprintln!("chaos selftest: harness error: {e:#}");
            Exit::Broken
        }
    }
}
