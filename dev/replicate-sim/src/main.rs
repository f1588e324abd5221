//! `replicate-sim` for the local stack. Environment: `REPLICATE_SIM_ADDR`
//! (default 127.0.0.1:9200), `REPLICATE_API_TOKEN`, `REPLICATE_WEBHOOK_SECRET`
//! (defaults: the crate's test values), `REPLICATE_SIM_PUBLIC_URL`.

use std::net::SocketAddr;
use std::process::ExitCode;

use replicate_sim::{try_spawn, SimConfig, DEFAULT_API_TOKEN, DEFAULT_WEBHOOK_SECRET};

#[tokio::main]
async fn main() -> ExitCode {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let address = var("REPLICATE_SIM_ADDR").unwrap_or_else(|| "127.0.0.1:9200".to_owned());
    let Ok(bind) = address.parse::<SocketAddr>() else {
        eprintln!("replicate-sim: REPLICATE_SIM_ADDR {address:?} is not an ip:port");
        return ExitCode::FAILURE;
    };
    let config = SimConfig {
        api_token: var("REPLICATE_API_TOKEN").unwrap_or_else(|| DEFAULT_API_TOKEN.to_owned()),
        webhook_secret: var("REPLICATE_WEBHOOK_SECRET").unwrap_or_else(|| DEFAULT_WEBHOOK_SECRET.to_owned()),
        bind,
        public_base_url: var("REPLICATE_SIM_PUBLIC_URL"),
        log_requests: true,
        ..SimConfig::default()
    };
    match try_spawn(config).await {
        Ok(sim) => {
            eprintln!("replicate-sim: listening on {} (hooks under /_sim/)", sim.url());
            // Runs until the process is stopped; the handle must stay alive.
            std::future::pending::<()>().await;
            drop(sim);
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("replicate-sim: cannot start on {bind}: {e}");
            ExitCode::FAILURE
        }
    }
}
