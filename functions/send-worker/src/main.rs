use aws_lambda_events::event::sqs::SqsEvent;
use lambda_runtime::{Error, LambdaEvent, run, service_fn};
use send_worker::{SendWorker, WorkerSettings};
use shared::config::Settings;
use shared::twilio::TwilioClient;

#[tokio::main]
async fn main() -> Result<(), Error> {
    shared::telemetry::init_lambda();
    let settings = Settings::from_env()?;
    let ports = shared::runtime::aws_ports(&settings).await;
    let queue = ports.queue()?;
    let media = ports.media()?;
    let worker = SendWorker {
        messages: ports.messages,
        contacts: ports.contacts,
        credentials: ports.credentials,
        sender: TwilioClient::new(&settings.twilio_api_base_url, settings.twilio_timeout)?,
        queue,
        media,
        settings: WorkerSettings {
            max_attempts: settings.send_max_attempts,
            retry_base: settings.send_retry_base,
            public_base_url: settings.public_base_url,
        },
    };
    let worker = &worker;
    run(service_fn(move |event: LambdaEvent<SqsEvent>| async move {
        Ok::<_, Error>(worker.handle_sqs(event.payload).await)
    }))
    .await
}
