//! Runs notification-service with settings from the environment.

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    kit::app::run::<notification_service::Application>().await
}
