//! The services this stack runs, their ports, and how to build one in-process from settings.

use std::future::Future;
use std::pin::Pin;

use futures::future::BoxFuture;
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

type Shutdown = Pin<Box<dyn Future<Output = ()> + Send>>;
type Runner = Box<dyn FnOnce(Shutdown) -> BoxFuture<'static, anyhow::Result<()>> + Send>;

/// A service that is bound and ready to run.
pub struct Built {
    port: u16,
    runner: Runner,
}

impl Built {
    /// The port it bound.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Serves until `shutdown` resolves.
    ///
    /// # Errors
    /// When the service fails.
    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        (self.runner)(Box::pin(shutdown)).await
    }
}

macro_rules! built {
    ($app:expr) => {{
        let app = $app;
        Built {
            port: app.port(),
            runner: Box::new(move |shutdown| Box::pin(app.run_until_stopped(shutdown))),
        }
    }};
}

/// Builds service `name` from the variables in `env` (connects, migrates, binds).
///
/// # Errors
/// For an unknown name, bad settings, or a dependency that is unreachable.
pub async fn build(name: &str, env: &Env) -> anyhow::Result<Built> {
    Ok(match name {
        "user-service" => {
            built!(user_service::Application::build(user_service::Settings::from_env(env)?).await?)
        }
        "event-service" => built!(
            event_service::Application::build(event_service::Settings::from_env(env)?).await?
        ),
        "booking-service" => {
            built!(
                booking_service::Application::build(booking_service::Settings::from_env(env)?)
                    .await?
            )
        }
        "inventory-service" => {
            built!(
                inventory_service::Application::build(inventory_service::Settings::from_env(env)?)
                    .await?
            )
        }
        "payment-service" => {
            built!(
                payment_service::Application::build(payment_service::Settings::from_env(env)?)
                    .await?
            )
        }
        "notification-service" => {
            built!(
                notification_service::Application::build(notification_service::Settings::from_env(
                    env
                )?)
                .await?
            )
        }
        "gateway" => built!(gateway::Application::build(gateway::Settings::from_env(env)?).await?),
        other => anyhow::bail!(
            "unknown service {other:?}; known: {}",
            SERVICES
                .iter()
                .map(|s| s.name)
                .collect::<Vec<_>>()
                .join(", ")
        ),
    })
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
