//! The services this stack runs, their ports, and how to build one in-process from settings.

use kit::app::{build_from_env, App};
use kit::config::Env;

/// One service of the stack.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServiceSpec {
    pub name: &'static str,
    pub port: u16,
}

/// Every service, the gateway last (it routes to the others).
pub const SERVICES: [ServiceSpec; 7] = [
    ServiceSpec {
        name: "user-service",
        port: 3001,
    },
    ServiceSpec {
        name: "event-service",
        port: 3002,
    },
    ServiceSpec {
        name: "booking-service",
        port: 3003,
    },
    ServiceSpec {
        name: "inventory-service",
        port: 3004,
    },
    ServiceSpec {
        name: "payment-service",
        port: 3005,
    },
    ServiceSpec {
        name: "notification-service",
        port: 3006,
    },
    ServiceSpec {
        name: "gateway",
        port: 3000,
    },
];

/// A service that is bound and ready to run (`port()`, `run_until_stopped`).
pub type Built = App;

/// Builds service `name` from the variables in `env` (connects, migrates, binds).
///
/// # Errors
/// For an unknown name, bad settings, or a dependency that is unreachable.
pub async fn build(name: &str, env: &Env) -> anyhow::Result<Built> {
    match name {
        "user-service" => build_from_env::<user_service::Application>(env).await,
        "event-service" => build_from_env::<event_service::Application>(env).await,
        "booking-service" => build_from_env::<booking_service::Application>(env).await,
        "inventory-service" => build_from_env::<inventory_service::Application>(env).await,
        "payment-service" => build_from_env::<payment_service::Application>(env).await,
        "notification-service" => build_from_env::<notification_service::Application>(env).await,
        "gateway" => build_from_env::<gateway::Application>(env).await,
        other => anyhow::bail!(
            "unknown service {other:?}; known: {}",
            SERVICES
                .iter()
                .map(|s| s.name)
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// Runs service `name` with settings from the process environment until SIGTERM/Ctrl-C.
///
/// # Errors
/// For an unknown name, bad settings, or a service that fails.
pub async fn serve(name: &str) -> anyhow::Result<()> {
    build(name, &Env::from_process())
        .await?
        .run_until_stopped(kit::server::shutdown_signal())
        .await
}
