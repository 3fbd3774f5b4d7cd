//! Runs notification-service with settings from the environment.

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    kit::telemetry::init("info,sqlx=warn");
    let settings = notification_service::Settings::from_env(&kit::config::Env::from_process())?;
    let app = notification_service::Application::build(settings).await?;
    app.run_until_stopped(kit::server::shutdown_signal()).await
}
