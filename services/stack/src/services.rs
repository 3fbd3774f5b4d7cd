//! The services this stack runs, their ports, and how to run one in-process.

use kit::config::Env;

/// One service of the stack.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServiceSpec {
    pub name: &'static str,
    pub port: u16,
}

/// Every service that exists today, the gateway last (it routes to the others).
pub const SERVICES: [ServiceSpec; 3] = [
    ServiceSpec {
        name: "user-service",
        port: 3001,
    },
    ServiceSpec {
        name: "event-service",
        port: 3002,
    },
    ServiceSpec {
        name: "gateway",
        port: 3000,
    },
];

/// Gateway URL variables of services that do not exist yet, switched off so /health/all reports
/// only what runs.
pub const NOT_YET_DEPLOYED: [&str; 4] = [
    "BOOKING_SERVICE_URL",
    "INVENTORY_SERVICE_URL",
    "PAYMENT_SERVICE_URL",
    "NOTIFICATION_SERVICE_URL",
];

/// Runs service `name` with settings from the environment until SIGTERM/Ctrl-C.
///
/// # Errors
/// For an unknown name, bad settings, or a service that fails to start.
pub async fn serve(name: &str) -> anyhow::Result<()> {
    let env = Env::from_process();
    let shutdown = kit::server::shutdown_signal();
    match name {
        "user-service" => {
            let app = user_service::Application::build(user_service::Settings::from_env(&env)?).await?;
            app.run_until_stopped(shutdown).await
        }
        "event-service" => {
            let app = event_service::Application::build(event_service::Settings::from_env(&env)?).await?;
            app.run_until_stopped(shutdown).await
        }
        "gateway" => {
            let app = gateway::Application::build(gateway::Settings::from_env(&env)?).await?;
            app.run_until_stopped(shutdown).await
        }
        other => anyhow::bail!(
            "unknown service {other:?}; known: {}",
            SERVICES.iter().map(|s| s.name).collect::<Vec<_>>().join(", ")
        ),
    }
}
