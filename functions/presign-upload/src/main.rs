use lambda_runtime::{Error, LambdaEvent, run, service_fn};
use presign_upload::PresignApi;
use shared::api::ApiGatewayV2httpRequest;
use shared::config::Settings;

#[tokio::main]
async fn main() -> Result<(), Error> {
    shared::telemetry::init_lambda();
    let settings = Settings::from_env()?;
    let ports = shared::runtime::aws_ports(&settings).await;
    let api = PresignApi {
        media: ports.media()?,
        org_claim: settings.org_claim,
    };
    let api = &api;
    run(service_fn(
        move |event: LambdaEvent<ApiGatewayV2httpRequest>| async move {
            Ok::<_, Error>(api.handle(event.payload).await)
        },
    ))
    .await
}
