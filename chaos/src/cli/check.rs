//! `chaos collect` and `chaos check`: the final state out of the databases, and the verdict on
//! a history against it.

use std::path::Path;
use std::time::Duration;

use runfiles::Exit;

use crate::checker::{self, FinalState, History, Opts};
use crate::collect::{self, DatabaseUrls};

/// `chaos collect`: reads the databases, writes the final state, prints one summary line.
pub async fn collect(
    urls: &DatabaseUrls,
    events: &[uuid::Uuid],
    out: &Path,
    timeout: Duration,
) -> Exit {
    let failed = |message: String| {
        // One line, whatever the driver's message holds.
        eprintln!("chaos: {}", message.replace(['\n', '\r'], " "));
        Exit::BadInput
    };
    let filter = (!events.is_empty()).then_some(events);
    let collected =
        tokio::time::timeout(timeout, collect::collect_from_databases(urls, filter)).await;
    let state = match collected {
        Ok(Ok(state)) => state,
        Ok(Err(e)) => return failed(format!("{e:#}")),
        Err(_) => {
            return failed(format!(
                "the databases did not answer within {timeout:?} (bookings: {})",
                collect::redact_url(&urls.bookings)
            ))
        }
    };
    if let Err(e) = state.save(out) {
        return failed(format!("cannot write {}: {e}", out.display()));
    }
    let count = |rows: Option<usize>| rows.map_or("unobserved".to_string(), |n| n.to_string());
    println!(
        "collected {} bookings, {} seats, {} payments, {} notifications, {} events into {}",
        state.bookings.len(),
        state.seats.len(),
        count(state.payments.as_ref().map(Vec::len)),
        count(state.notifications.as_ref().map(Vec::len)),
        state.capacity.len(),
        out.display()
    );
    Exit::Pass
}

/// `chaos check`: reads both files, prints the table, writes the JSON, maps the verdict to the
/// exit code.
pub fn check(history: &Path, state: &Path, json: Option<&Path>, opts: &Opts) -> Exit {
    let bad_input = |message: String| {
        eprintln!("chaos: {message}");
        Exit::BadInput
    };
    let history = match History::load(history) {
        Ok(history) => history,
        Err(e) => return bad_input(e.to_string()),
    };
    let state = match FinalState::load(state) {
        Ok(state) => state,
        Err(e) => return bad_input(e.to_string()),
    };
    let verdict = checker::check(&history, &state, opts);
    print!("{}", checker::table(&verdict));
    if let Some(path) = json {
        // A verdict is plain data with string keys: serialising it cannot fail.
        let text = serde_json::to_string_pretty(&verdict).expect("a verdict serialises");
        if let Err(e) = std::fs::write(path, text + "\n") {
            return bad_input(format!("cannot write {}: {e}", path.display()));
        }
    }
    Exit::from(verdict.valid)
}
