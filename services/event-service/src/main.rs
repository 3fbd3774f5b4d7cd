//! Runs event-service with settings from the environment.

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    kit::app::run::<event_service::Application>().await
}
