//! `chaos selftest`: the checker must find the violations a broken build makes.

use std::path::PathBuf;

use runfiles::Exit;

/// `chaos selftest [--variant NAME]`.
pub async fn selftest(out: Option<PathBuf>, variant: Option<String>) -> Exit {
    if !stack::BUG_VARIANTS {
        eprintln!("chaos selftest: this build's services have no bug variants to switch on; run `cargo run --release -p chaos --features selftest -- selftest`");
        return Exit::BadInput;
    }
    let names = crate::selftest::names();
    if let Some(v) = &variant {
        if !names.contains(&v.as_str()) {
            eprintln!(
                "chaos selftest: unknown --variant {v:?} (known: {})",
                names.join(", ")
            );
            return Exit::BadInput;
        }
    }
    let out = out.unwrap_or_else(crate::selftest::default_out);
    match crate::selftest::run(&out, variant.as_deref()).await {
        Ok(findings) => {
            let mut all = true;
            for f in &findings {
                all &= f.found;
                println!(
                    "{} {} ({:.0} s)\n     {}",
                    if f.found { "FOUND  " } else { "MISSING" },
                    f.expectation,
                    f.seconds,
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
