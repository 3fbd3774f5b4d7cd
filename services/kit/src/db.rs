//! Postgres: one pool per service, its own database, migrations embedded in the binary.

use std::str::FromStr;
use std::time::Duration;

use anyhow::Context;
use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{ConnectOptions, Connection, PgPool};

/// Pool sizing and timeouts; the defaults suit one service on the local stack under load.
#[derive(Debug, Clone)]
pub struct PoolSettings {
    pub max_connections: u32,
    pub acquire_timeout: Duration,
}

impl Default for PoolSettings {
    fn default() -> Self {
        Self {
            max_connections: 10,
            // Under a load spike requests queue for a connection rather than fail fast.
            acquire_timeout: Duration::from_secs(30),
        }
    }
}

/// Connects lazily-checked pool to `url`, creating the database when it does not exist, and runs
/// the service's migrations.
///
/// # Errors
/// When the server is unreachable, the database cannot be created, or a migration fails; the error
/// names the database.
pub async fn connect_and_migrate(
    url: &str,
    migrator: &Migrator,
    settings: &PoolSettings,
) -> anyhow::Result<PgPool> {
    ensure_database(url).await?;
    let options = PgConnectOptions::from_str(url)
        .with_context(|| format!("DATABASE_URL {url:?} is not a valid Postgres URL"))?
        .log_slow_statements(tracing::log::LevelFilter::Warn, Duration::from_millis(500));
    let pool = PgPoolOptions::new()
        .max_connections(settings.max_connections)
        .acquire_timeout(settings.acquire_timeout)
        .connect_with(options)
        .await
        .with_context(|| format!("cannot connect to {}", redact(url)))?;
    migrator
        .run(&pool)
        .await
        .with_context(|| format!("migrations failed on {}", redact(url)))?;
    Ok(pool)
}

/// Creates the database named in `url` when it is missing (through the `postgres` maintenance
/// database of the same server). Safe to call concurrently.
///
/// # Errors
/// When the server is unreachable or the role may not create databases.
pub async fn ensure_database(url: &str) -> anyhow::Result<()> {
    let options = PgConnectOptions::from_str(url)
        .with_context(|| format!("DATABASE_URL {url:?} is not a valid Postgres URL"))?;
    let name = options
        .get_database()
        .context("DATABASE_URL names no database")?
        .to_string();
    let mut admin = sqlx::PgConnection::connect_with(&options.clone().database("postgres"))
        .await
        .with_context(|| format!("cannot connect to Postgres at {}", redact(url)))?;
    let exists: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
            .bind(&name)
            .fetch_one(&mut admin)
            .await?;
    if !exists {
        let create = format!("CREATE DATABASE \"{}\"", name.replace('"', "\"\""));
        if let Err(e) = sqlx::query(&create).execute(&mut admin).await {
            // Another process may have created it between our check and our CREATE.
            let duplicate = e
                .as_database_error()
                .and_then(|d| d.code())
                .is_some_and(|c| c == "42P04" || c == "23505");
            if !duplicate {
                return Err(e).with_context(|| format!("cannot create database {name}"));
            }
        }
    }
    admin.close().await.ok();
    Ok(())
}

/// Drops the database named in `url` (tests clean up after themselves).
///
/// # Errors
/// When the server is unreachable.
pub async fn drop_database(url: &str) -> anyhow::Result<()> {
    let options = PgConnectOptions::from_str(url)?;
    let name = options.get_database().context("no database")?.to_string();
    let mut admin = sqlx::PgConnection::connect_with(&options.clone().database("postgres")).await?;
    sqlx::query(&format!(
        "DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)",
        name.replace('"', "\"\"")
    ))
    .execute(&mut admin)
    .await?;
    Ok(())
}

/// `url` without its password, for messages.
pub fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        _ => url.to_string(),
    }
}

/// Replaces the database name in `url` (tests derive `<db>_<uuid>` from the configured URL).
///
/// # Errors
/// When `url` does not parse.
pub fn with_database(url: &str, database: &str) -> anyhow::Result<String> {
    let mut parsed = url::Url::parse(url).with_context(|| format!("invalid URL {url:?}"))?;
    parsed.set_path(&format!("/{database}"));
    Ok(parsed.to_string())
}

/// Whether `error` says Postgres could not be reached or answered (the connection was refused,
/// reset, timed out or cut mid-message, the pool had nothing to give, the server is shutting
/// down or full, a serialisation failure or deadlock to be retried), rather than that the
/// statement itself is wrong. What a caller does with such an error is wait and try again: it
/// says nothing about the message or request that ran into it.
pub fn is_unavailable(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::Protocol(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(db) => db.code().is_some_and(|code| {
            // 08: connection exception; 57P01-57P03: shutting down or starting; 53300: too many
            // connections; 40001 / 40P01: serialization failure / deadlock (retry by definition).
            code.starts_with("08")
                || matches!(
                    &*code,
                    "57P01" | "57P02" | "57P03" | "53300" | "40001" | "40P01"
                )
        }),
        _ => false,
    }
}

#[cfg(test)]
mod unavailable_tests {
    use super::is_unavailable;

    #[test]
    fn connection_trouble_is_unavailable_and_a_wrong_statement_is_not() {
        let reset = std::io::Error::from(std::io::ErrorKind::ConnectionReset);
        assert!(is_unavailable(&sqlx::Error::Io(reset)));
        assert!(is_unavailable(&sqlx::Error::PoolTimedOut));
        assert!(is_unavailable(&sqlx::Error::Protocol(
            "unexpected message".into()
        )));
        assert!(!is_unavailable(&sqlx::Error::RowNotFound));
        assert!(!is_unavailable(&sqlx::Error::ColumnNotFound("x".into())));
    }
}
