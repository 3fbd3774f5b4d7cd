//! `cargo run -p stack -- [up [--seed] | seed | dlt list|replay | serve NAME]`; see the library docs.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use stack::seed::{seed, SeedOptions, TEST_USER_EMAIL, TEST_USER_PASSWORD};
use stack::supervisor::Stack;

#[derive(Parser)]
#[command(
    name = "stack",
    about = "Run the Stampede reference services on this machine"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Start every service (the default), wait until healthy, stop all on Ctrl-C.
    Up {
        /// Seed demo data once the stack is healthy.
        #[arg(long)]
        seed: bool,
        /// Where the services' logs go.
        #[arg(long, default_value = ".stampede/logs")]
        log_dir: PathBuf,
        /// Stop after this many seconds instead of waiting for Ctrl-C (CI, smoke tests).
        #[arg(long)]
        exit_after: Option<u64>,
    },
    /// Create demo venues and events (one of 10,000 seats), the admin and the test user.
    Seed {
        #[arg(long, default_value = "http://127.0.0.1:3000")]
        gateway: String,
    },
    /// Dead letters: list what the consumers parked on the `.DLT` topics, replay it after a fix.
    Dlt {
        #[command(subcommand)]
        action: DltAction,
        /// Topic prefix of the stack (its `KAFKA_TOPIC_PREFIX`).
        #[arg(long, env = "KAFKA_TOPIC_PREFIX", default_value = "", global = true)]
        prefix: String,
        #[arg(
            long,
            env = "KAFKA_BROKERS",
            default_value = "127.0.0.1:9092",
            global = true
        )]
        brokers: String,
    },
    /// Run one service in this process (what `up` spawns).
    #[command(hide = true)]
    Serve { name: String },
}

#[derive(Subcommand)]
enum DltAction {
    /// Every dead letter, parked or replayed.
    List {
        /// One JSON object per line instead of the table.
        #[arg(long)]
        json: bool,
    },
    /// Re-publish parked letters to their original topic (same key and bytes) and mark them.
    Replay {
        /// Every parked letter.
        #[arg(
            long,
            conflicts_with = "message_id",
            required_unless_present = "message_id"
        )]
        all: bool,
        /// Only the letter with this message id (as `stack dlt list` prints it: the envelope's
        /// `messageId`, or derived for a message without one). `--event-id` is its old name.
        #[arg(long, alias = "event-id")]
        message_id: Option<String>,
    },
}

async fn dead_letters(action: DltAction, prefix: &str, brokers: &str) -> anyhow::Result<()> {
    use kit::dead_letters::{list, replay, Selection};
    match action {
        DltAction::List { json } => {
            let letters = list(brokers, prefix).await?;
            let parked = letters.iter().filter(|l| !l.replayed).count();
            for letter in &letters {
                if json {
                    println!("{}", serde_json::to_string(letter)?);
                } else {
                    println!(
                        "{:<8} {}:{}:{}  message {}  key {}  group {}  attempts {}  {}",
                        if letter.replayed {
                            "replayed"
                        } else {
                            "PARKED"
                        },
                        letter.dlt_topic,
                        letter.partition,
                        letter.offset,
                        letter.message_id,
                        letter.key.as_deref().unwrap_or("-"),
                        letter.consumer_group,
                        letter.attempts,
                        letter.error,
                    );
                }
            }
            if !json {
                println!(
                    "stack: {} dead letters, {parked} parked, {} replayed",
                    letters.len(),
                    letters.len() - parked
                );
            }
            Ok(())
        }
        DltAction::Replay { all, message_id } => {
            let selection = match (all, message_id) {
                (_, Some(id)) => Selection::MessageId(id),
                _ => Selection::All,
            };
            let report = replay(brokers, prefix, &selection).await?;
            for letter in &report.replayed {
                println!(
                    "replayed {}:{}:{} -> {}  message {}",
                    letter.dlt_topic,
                    letter.partition,
                    letter.offset,
                    letter.original_topic,
                    letter.message_id
                );
            }
            println!(
                "stack: replayed {}, {} still parked",
                report.replayed.len(),
                report.left_parked
            );
            Ok(())
        }
    }
}

fn seed_options(gateway: String) -> SeedOptions {
    SeedOptions {
        gateway,
        admin_email: std::env::var("ADMIN_EMAIL").unwrap_or_else(|_| kit::seed::ADMIN_EMAIL.into()),
        admin_password: std::env::var("ADMIN_PASSWORD")
            .unwrap_or_else(|_| kit::seed::ADMIN_PASSWORD.into()),
    }
}

async fn run_seed(gateway: String) -> anyhow::Result<()> {
    let summary = seed(&seed_options(gateway)).await?;
    println!("stack: seeded ({} new events)", summary.created);
    for ((name, id, seats), built) in summary.events.iter().zip(&summary.seat_maps) {
        let map = if built == seats {
            "seat map ready".to_string()
        } else {
            format!("WARNING: inventory holds {built} of {seats} seats (see .stampede/logs/inventory-service.log)")
        };
        println!("  event {id}  {seats:>6} seats  {name}  ({map})");
    }
    println!("  admin  {}", seed_options(String::new()).admin_email);
    println!("  user   {TEST_USER_EMAIL} / {TEST_USER_PASSWORD}");
    Ok(())
}

async fn up(seed_after: bool, log_dir: PathBuf, exit_after: Option<u64>) -> anyhow::Result<()> {
    stack::infra::ensure_up().await?;
    let brokers = std::env::var("KAFKA_BROKERS").unwrap_or_else(|_| "127.0.0.1:9092".into());
    let prefix = std::env::var("KAFKA_TOPIC_PREFIX").unwrap_or_default();
    kit::kafka::ensure_topics(&brokers, &kit::kafka::Topics::new(prefix).all_with_dlt(), 3).await?;
    println!("stack: starting services (logs in {})", log_dir.display());
    let mut stack = Stack::spawn(&log_dir)?;
    if let Err(e) = stack.wait_healthy(Duration::from_secs(90)).await {
        stack.stop(Duration::from_secs(5)).await;
        return Err(e);
    }
    println!("stack: healthy");
    for running in &stack.children {
        println!(
            "  {:<21} http://127.0.0.1:{}",
            running.spec.name, running.spec.port
        );
    }
    if seed_after {
        if let Err(e) = run_seed("http://127.0.0.1:3000".into()).await {
            stack.stop(Duration::from_secs(5)).await;
            return Err(e);
        }
    }
    let deadline = async {
        match exit_after {
            Some(s) => tokio::time::sleep(Duration::from_secs(s)).await,
            None => std::future::pending().await,
        }
    };
    println!("stack: running; Ctrl-C stops every service");
    tokio::select! {
        _ = kit::server::shutdown_signal() => {},
        _ = deadline => println!("stack: --exit-after reached"),
        (name, status) = stack.any_exit() => println!("stack: {name} exited ({status}); stopping the others"),
    }
    stack.stop(Duration::from_secs(10)).await;
    println!("stack: stopped");
    Ok(())
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command.unwrap_or(Command::Up {
        seed: false,
        log_dir: ".stampede/logs".into(),
        exit_after: None,
    }) {
        Command::Up {
            seed,
            log_dir,
            exit_after,
        } => up(seed, log_dir, exit_after).await,
        Command::Seed { gateway } => run_seed(gateway).await,
        Command::Serve { name } => {
            kit::telemetry::init("info,sqlx=warn");
            stack::services::serve(&name).await
        }
        Command::Dlt {
            action,
            prefix,
            brokers,
        } => dead_letters(action, &prefix, &brokers).await,
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("stack: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
