//! `chaos capacity`: the flags checked, then the search, its table and its report.

use std::path::{Path, PathBuf};

use runfiles::Exit;

use crate::capacity::SearchOptions;
use crate::scenario::Scenario;

/// `chaos capacity`.
pub async fn capacity(path: &Path, mut options: SearchOptions, out: Option<PathBuf>) -> Exit {
    let bad = |message: String| {
        eprintln!("chaos capacity: {message}");
        Exit::BadInput
    };
    let scenario = match Scenario::load(path) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{e}");
            return Exit::BadInput;
        }
    };
    if options.slo.is_empty() {
        options.slo = crate::capacity::DEFAULT_SLO
            .iter()
            .map(|r| r.to_string())
            .collect();
    }
    if let Err(message) = options.check() {
        return bad(message);
    }
    options.out = out.unwrap_or_else(|| {
        PathBuf::from(format!(
            "reports/out/{}-capacity-{}",
            chrono::Utc::now().format("%Y%m%d-%H%M%S"),
            scenario.name
        ))
    });
    let out = options.out.clone();
    match crate::capacity::search(&scenario, &options).await {
        Ok(c) => {
            println!(
                "\n{:<8} {:>9} {:>12} {:>10} {:>10} {:>8}  result",
                "phase", "rate/s", "confirmed/s", "ttc p50", "ttc p99", "errors"
            );
            for s in &c.steps {
                let ms = |v: Option<f64>| v.map_or("-".to_string(), loadgen::thresholds::format_ms);
                println!(
                    "{:<8} {:>9.1} {:>12.1} {:>10} {:>10} {:>7.2}%  {}",
                    s.phase,
                    s.rate_per_s,
                    s.confirmed_per_s,
                    ms(s.ttc_p50_ms),
                    ms(s.ttc_p99_ms),
                    s.error_rate * 100.0,
                    if s.passed {
                        "PASS".to_string()
                    } else {
                        format!("FAIL {}", s.failed_rules.join(", "))
                    }
                );
            }
            match c.sustainable_rate_per_s {
                Some(rate) => println!("\nsustainable: {rate}/s under {}", c.slo.join(", ")),
                None => println!(
                    "\nsustainable: none (every step failed {})",
                    c.slo.join(", ")
                ),
            }
            println!(
                "knee: {}",
                c.knee_rate_per_s.map_or("-".into(), |k| format!("{k}/s"))
            );
            println!("confidence: {}", c.confidence);
            println!("capacity folder: {}", out.display());
            match reports::render_run(&out, &reports::RenderOptions::default()) {
                Ok(page) => println!("report: {}", page.display()),
                Err(e) => eprintln!("chaos capacity: the HTML report was not written: {e}"),
            }
            let verified = c.sustainable_rate_per_s.is_some()
                && (!options.verify || c.verification.iter().all(|v| v.as_expected == Some(true)));
            if verified {
                Exit::Pass
            } else {
                Exit::Failed
            }
        }
        Err(e) => {
            eprintln!("chaos capacity {}: harness error: {e:#}", path.display());
            Exit::Broken
        }
    }
}
