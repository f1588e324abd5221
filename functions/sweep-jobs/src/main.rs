//! Lambda entry point for the schedule: wiring only.

use lambda_runtime::{service_fn, LambdaEvent};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    shared::telemetry::init();
    let services: &'static shared::app::Services = Box::leak(Box::new(shared::app::Services::from_env()?));
    lambda_runtime::run(service_fn(move |_: LambdaEvent<serde_json::Value>| sweep_jobs::handle(services))).await
}
