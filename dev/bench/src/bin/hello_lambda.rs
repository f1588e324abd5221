//! The cold-start baseline of `coldstart`: the smallest lambda_runtime function
//! (a tokio runtime, the Runtime API client, an echo handler), built in the same
//! profile as the functions so their init times compare with it side by side.

use lambda_runtime::{service_fn, LambdaEvent};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    lambda_runtime::run(service_fn(|event: LambdaEvent<serde_json::Value>| async move {
        Ok::<_, lambda_runtime::Error>(serde_json::json!({ "hello": "world", "echo": event.payload }))
    }))
    .await
}
