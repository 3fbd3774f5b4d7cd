//! `loadgen prepare`: an event of N seats and M users with tokens, written to a file.

use std::time::Instant;

use crate::cli::PrepareArgs;
use crate::data::{PreparedData, VERSION};
use crate::rate::parse_duration;
use crate::target::{Admin, Target, TICKETFLOW_MAX_SEATS};
use crate::target_kind::{TargetChoice, TargetKind};

/// Prepares the data and writes it; returns the data written.
///
/// # Errors
/// A one-line message: the target, the admin login or a creation step refused.
pub async fn prepare(args: &PrepareArgs) -> anyhow::Result<PreparedData> {
    let wait = parse_duration(&args.wait).map_err(|e| anyhow::anyhow!("--wait: {e}"))?;
    anyhow::ensure!(args.seats > 0, "--seats must be at least 1");
    anyhow::ensure!(args.users > 0, "--users must be at least 1");
    let choice = args.target_kind;
    let target = Target::new(&args.host)?;
    target.check().await?;
    let kind = match choice {
        TargetChoice::Stampede => TargetKind::Stampede,
        TargetChoice::TicketFlow => TargetKind::TicketFlow,
        TargetChoice::Auto => target.kind().await,
    };
    eprintln!("loadgen prepare: target {} is {kind}", args.host);
    let admin = match kind {
        TargetKind::Stampede => Admin::Token(target
            .login(&args.admin_email, &args.admin_password)
            .await
            .map_err(|e| anyhow::anyhow!("admin login: {e} (set --admin-email/--admin-password or ADMIN_EMAIL/ADMIN_PASSWORD)"))?),
        TargetKind::TicketFlow => {
            anyhow::ensure!(
                args.seats <= TICKETFLOW_MAX_SEATS,
                "--seats {}: a TicketFlow event's seat map holds at most {TICKETFLOW_MAX_SEATS} seats (its layout rule); ask for {TICKETFLOW_MAX_SEATS} or fewer",
                args.seats
            );
            eprintln!("loadgen prepare: TicketFlow has no admin account; the event is created with its trusted x-user-role: ADMIN header, and each user registers from its own X-Forwarded-For");
            Admin::TicketFlowRole
        }
    };
    let started = Instant::now();
    let tag = chrono::Utc::now().format("%Y%m%d-%H%M%S").to_string()
        + &format!("-{:04x}", rand::random::<u16>());
    let name = format!("Loadgen {} seats {tag}", args.seats);
    eprintln!("loadgen prepare: creating {name:?} and waiting for its seat map");
    let event_id = target.create_event(&admin, &name, args.seats, wait).await?;
    eprintln!(
        "loadgen prepare: {} seats ready after {:.1}s; registering {} users",
        args.seats,
        started.elapsed().as_secs_f64(),
        args.users
    );
    let users = target
        .register_many(
            &format!("loadgen-{tag}"),
            args.users,
            kind.forwards_per_user(),
        )
        .await?;
    let data = PreparedData {
        version: VERSION,
        host: target.host.clone(),
        created_at: chrono::Utc::now().to_rfc3339(),
        event_id,
        event_name: name,
        seats: args.seats,
        users,
    };
    data.save(&args.out)
        .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", args.out.display()))?;
    eprintln!(
        "loadgen prepare: wrote {} in {:.1}s",
        args.out.display(),
        started.elapsed().as_secs_f64()
    );
    Ok(data)
}
