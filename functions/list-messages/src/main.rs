use lambda_runtime::{Error, LambdaEvent, run, service_fn};
use list_messages::MessagesApi;
use shared::api::ApiGatewayV2httpRequest;
use shared::config::Settings;

#[tokio::main]
async fn main() -> Result<(), Error> {
    shared::telemetry::init_lambda();
    let settings = Settings::from_env()?;
    let ports = shared::runtime::aws_ports(&settings).await;
    let media = ports.media()?;
    let api = MessagesApi {
        contacts: ports.contacts,
        messages: ports.messages,
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
