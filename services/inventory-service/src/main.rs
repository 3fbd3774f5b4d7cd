//! Runs inventory-service with settings from the environment.

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    kit::app::run::<inventory_service::Application>().await
}
