use lambda_runtime::{Error, LambdaEvent, run, service_fn};
use shared::api::ApiGatewayV2httpRequest;
use shared::config::Settings;
use twilio_webhook::TwilioWebhook;

#[tokio::main]
async fn main() -> Result<(), Error> {
    shared::telemetry::init_lambda();
    let settings = Settings::from_env()?;
    let ports = shared::runtime::aws_ports(&settings).await;
    let queue = ports.queue()?;
    let webhook = TwilioWebhook {
        messages: ports.messages,
        contacts: ports.contacts,
        credentials: ports.credentials,
        queue,
        public_base_url: settings.public_base_url,
    };
    let webhook = &webhook;
    run(service_fn(
        move |event: LambdaEvent<ApiGatewayV2httpRequest>| async move {
            Ok::<_, Error>(webhook.handle(event.payload).await)
        },
    ))
    .await
}
