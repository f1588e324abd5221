//! Lambda entry point: wiring only; the handler lives in the crate's lib.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::app::run_http(account::handle).await
}
