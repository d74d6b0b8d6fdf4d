//! The floor: the smallest Rust Lambda (lambda_runtime, an echo handler), built with the same
//! release profile as the functions. Whatever init or latency the functions add is measured
//! against this.

use lambda_runtime::{Error, LambdaEvent, run, service_fn};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    run(service_fn(|event: LambdaEvent<Value>| async move {
        Ok::<_, Error>(event.payload)
    }))
    .await
}
