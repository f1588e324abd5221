//! `dev-gateway`: the local API on `GATEWAY_ADDR` (default 127.0.0.1:9000),
//! configured from the same environment variables as the functions, with
//! the sweeper running every minute as the schedule would, and (with
//! `S3_UPSTREAM_ADDR`) Supabase Storage's S3 path in front of the S3 server.

use std::sync::Arc;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    shared::telemetry::init();
    let services = Arc::new(shared::app::Services::from_env()?);
    let addr = std::env::var("GATEWAY_ADDR").unwrap_or_else(|_| "127.0.0.1:9000".into());
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    tracing::info!(%addr, "gateway listening");
    let sweeper = services.clone();
    tokio::spawn(async move {
        let mut every_minute = tokio::time::interval(std::time::Duration::from_secs(60));
        loop {
            every_minute.tick().await;
            gateway::sweep(&sweeper).await;
        }
    });
    // `make dev`: Supabase Storage's S3 path in front of the local S3 server.
    let storage = match std::env::var("S3_UPSTREAM_ADDR") {
        Ok(addr) => Some(storage_front::Front::new(addr.parse()?)),
        Err(_) => None,
    };
    gateway::serve_with_storage(listener, services, storage).await;
    Ok(())
}
