//! Runs booking-service with settings from the environment.

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    kit::app::run::<booking_service::Application>().await
}
