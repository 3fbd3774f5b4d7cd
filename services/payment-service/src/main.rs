//! Runs payment-service with settings from the environment.

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    kit::app::run::<payment_service::Application>().await
}
