//! Runs the gateway with settings from the environment.

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    kit::telemetry::init("info");
    let settings = gateway::Settings::from_env(&kit::config::Env::from_process())?;
    let app = gateway::Application::build(settings).await?;
    app.run_until_stopped(kit::server::shutdown_signal()).await
}
