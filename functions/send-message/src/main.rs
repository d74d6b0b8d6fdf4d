use lambda_runtime::{Error, LambdaEvent, run, service_fn};
use send_message::SendApi;
use shared::api::ApiGatewayV2httpRequest;
use shared::config::Settings;

#[tokio::main]
async fn main() -> Result<(), Error> {
    shared::telemetry::init_lambda();
    let settings = Settings::from_env()?;
    let ports = shared::runtime::aws_ports(&settings).await;
    let queue = ports.queue()?;
    let media = ports.media()?;
    let api = SendApi {
        contacts: ports.contacts,
        messages: ports.messages,
        credentials: ports.credentials,
        queue,
        media,
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
