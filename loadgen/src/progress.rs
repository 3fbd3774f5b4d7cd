//! The progress line, every few seconds on stderr, while the run goes:
//! `[  12s] start 200.0/s (target 200/s) in-flight 143 | ttc p99 1.20s | CONFIRMED 2100 FAILED 12 …`

use std::sync::atomic::Ordering;
use std::time::Duration;

use crate::context::Ctx;
use crate::thresholds::format_ms;

/// Prints progress until `stop` fires.
pub async fn report(ctx: &Ctx, every: Duration, stop: tokio_util::sync::CancellationToken) {
    let start = ctx.gate.wait().await;
    let mut last_started = 0;
    let mut ticker = tokio::time::interval_at((start + every).into(), every);
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            _ = ticker.tick() => {}
        }
        let started = ctx.stats.started.load(Ordering::Relaxed);
        let rate = (started - last_started) as f64 / every.as_secs_f64();
        last_started = started;
        let target = ctx
            .open
            .as_ref()
            .map(|o| format!(" (target {:.0}/s)", o.shape.rate_at(start.elapsed())))
            .unwrap_or_default();
        let p99 = ctx
            .stats
            .ttc("all")
            .map(|h| format_ms(h.value_at_quantile(0.99) as f64 / 1000.0))
            .unwrap_or_else(|| "-".into());
        let outcomes: Vec<String> = ctx
            .stats
            .outcomes()
            .iter()
            .map(|(o, n)| format!("{} {n}", o.as_str()))
            .collect();
        let dropped = ctx.stats.dropped.load(Ordering::Relaxed);
        let late = ctx.stats.late.load(Ordering::Relaxed);
        eprintln!(
            "[{:>5.0}s] start {rate:.1}/s{target} in-flight {} late {late} dropped {dropped} | ttc p99 {p99} | {}",
            start.elapsed().as_secs_f64(),
            ctx.stats.in_flight.load(Ordering::Relaxed),
            if outcomes.is_empty() { "no outcomes yet".to_string() } else { outcomes.join(" ") },
        );
    }
}
