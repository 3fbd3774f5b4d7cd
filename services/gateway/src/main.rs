//! Runs the gateway with settings from the environment.

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    kit::app::run::<gateway::Application>().await
}
