//! The send and inbound flows through the real handlers on the AWS adapters: API Gateway
//! events in, SQS between the send route and the worker (as the event source mapping
//! delivers it), Twilio's signed webhooks back.

use std::collections::HashMap;

use crate::emulator::Stack;
use aws_lambda_events::event::sqs::SqsEvent;
use send_message::SendApi;
use send_worker::{SendWorker, WorkerSettings};
use shared::api::{GatewayRequest, gateway_event};
use shared::aws::AwsPorts;
use shared::domain::{ContactId, MessageStatus};
use shared::memory::ScriptedSender;
use shared::ports::{ContactStore, MessageStore};
use shared::runtime::Handler;
use shared::testing::{
    ACCOUNT_SID, AUTH_TOKEN, SENDER, contact, json_body, jwt_event, org, secret_json,
};
use shared::twilio::compute_signature;
use twilio_webhook::TwilioWebhook;

pub(crate) async fn stack_with_demo_data() -> (Stack, AwsPorts) {
    let stack = Stack::create().await;
    stack
        .put_secret("acme", &secret_json(ACCOUNT_SID, AUTH_TOKEN, SENDER, true))
        .await;
    let ports = stack.ports();
    ports
        .contacts
        .put(&contact("acme", "c1", "Aisha Rahman", "+60123456789"))
        .await
        .unwrap();
    (stack, ports)
}

/// The worker's settings in these tests: quick retries, Twilio's answers within 10 s.
pub(crate) fn worker_settings(public_base_url: Option<&str>) -> WorkerSettings {
    WorkerSettings {
        max_attempts: 3,
        retry_base: std::time::Duration::from_millis(10),
        claim_lease: std::time::Duration::from_secs(30),
        twilio_timeout: std::time::Duration::from_secs(10),
        public_base_url: public_base_url.map(str::to_owned),
        media_fetch_timeout: std::time::Duration::from_secs(20),
        media_copy_deadline: std::time::Duration::from_secs(40),
        content_unused_for: std::time::Duration::from_secs(30 * 86_400),
    }
}

/// Receives what is on the queue, as the Lambda event source mapping would hand it over.
pub(crate) async fn receive(stack: &Stack, url: &str) -> SqsEvent {
    let out = stack
        .sqs()
        .receive_message()
        .queue_url(url)
        .max_number_of_messages(10)
        .wait_time_seconds(1)
        .message_system_attribute_names(aws_sdk_sqs::types::MessageSystemAttributeName::All)
        .send()
        .await
        .unwrap();
    shared::aws::to_sqs_event(&out.messages.unwrap_or_default()).unwrap()
}

/// Deletes the records the worker did not report as failed (what the mapping does).
pub(crate) async fn acknowledge(stack: &Stack, url: &str, event: &SqsEvent, failed: &[String]) {
    for record in &event.records {
        if !failed.contains(record.message_id.as_ref().unwrap()) {
            stack
                .sqs()
                .delete_message()
                .queue_url(url)
                .receipt_handle(record.receipt_handle.clone().unwrap())
                .send()
                .await
                .unwrap();
        }
    }
}

fn signed_status_callback(
    message_id: &str,
    sid: &str,
    status: &str,
) -> shared::api::ApiGatewayV2httpRequest {
    let path = "/webhook/twilio/whatsapp/acme/status";
    let query = format!("message_id={message_id}");
    let params: Vec<(String, String)> = [
        ("MessageSid", sid),
        ("MessageStatus", status),
        ("AccountSid", ACCOUNT_SID),
        ("From", "whatsapp:+14155238886"),
        ("To", "whatsapp:+60123456789"),
        ("ChannelPrefix", "whatsapp"),
        ("ApiVersion", "2010-04-01"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    let url = format!("https://api.example.com{path}?{query}");
    signed(
        path,
        &query,
        "POST /webhook/twilio/whatsapp/{organization_id}/status",
        &url,
        &params,
    )
}

pub(crate) fn signed(
    path: &str,
    query: &str,
    route_key: &str,
    url: &str,
    params: &[(String, String)],
) -> shared::api::ApiGatewayV2httpRequest {
    gateway_event(GatewayRequest {
        method: "POST".into(),
        raw_path: path.into(),
        route_key: route_key.into(),
        raw_query: query.into(),
        headers: vec![
            (
                "content-type".into(),
                "application/x-www-form-urlencoded".into(),
            ),
            (
                "x-twilio-signature".into(),
                compute_signature(AUTH_TOKEN, url, params),
            ),
        ],
        body: Some(serde_urlencoded::to_string(params).unwrap().into_bytes()),
        path_parameters: HashMap::from([("organization_id".into(), "acme".into())]),
        claims: None,
        domain_name: "abc123.execute-api.eu-west-1.amazonaws.com".into(),
        source_ip: "54.172.60.1".into(),
    })
    .unwrap()
}

#[tokio::test]
#[ignore = "needs the AWS emulator"]
async fn send_worker_and_status_callback_end_to_end() {
    let (stack, ports) = stack_with_demo_data().await;
    let url = stack.resources.send_queue_url.clone().unwrap();
    let send = SendApi {
        ports: ports.clone(),
        org_claim: "custom:organization_id".into(),
        templates: shared::template_cache::TemplateCache::new(std::time::Duration::from_secs(60)),
    };
    let accepted = send
        .handle(jwt_event(
            "POST",
            "/whatsapp/messages",
            "",
            Some("acme"),
            Some(r#"{"contact_id":"c1","text":"Your order shipped"}"#),
        ))
        .await;
    assert_eq!(accepted.status_code, 202);
    let id = json_body(&accepted)["messages"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();

    let sender = ScriptedSender::new();
    sender.fail_next([shared::twilio::TwilioError::Api {
        http_status: 503,
        code: None,
        message: "Service Unavailable".into(),
        more_info: None,
    }]);
    let worker = SendWorker {
        ports: ports.clone().with_sender(sender.clone()),
        settings: crate::flows::worker_settings(Some("https://api.example.com")),
    };
    // First delivery: Twilio answers 503, which may hide an accepted message: the job is
    // queued again (attempt 2), which looks at Twilio's list first, finds nothing, sends.
    let event = receive(&stack, &url).await;
    assert_eq!(event.records.len(), 1);
    let response = worker.handle_sqs(event.clone()).await;
    assert!(response.batch_item_failures.is_empty());
    acknowledge(&stack, &url, &event, &[]).await;
    // Second delivery (after its one-second delay): sent.
    let mut event = receive(&stack, &url).await;
    for _ in 0..5 {
        if !event.records.is_empty() {
            break;
        }
        event = receive(&stack, &url).await;
    }
    assert_eq!(event.records.len(), 1, "the retry is on the queue");
    assert!(
        event.records[0]
            .body
            .as_deref()
            .unwrap()
            .contains("\"attempt\":2")
    );
    worker.handle_sqs(event.clone()).await;
    acknowledge(&stack, &url, &event, &[]).await;
    let acme = org("acme");
    let message_id = shared::domain::MessageId::parse(&id).unwrap();
    let stored = ports
        .messages
        .get(&acme, &message_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.status, MessageStatus::Sent);
    let sid = stored.twilio_message_sid.clone().unwrap();
    assert_eq!(sender.attempts().len(), 2);

    // Twilio's callbacks, delivered twice and out of order.
    let webhook = TwilioWebhook::at(ports.clone(), Some("https://api.example.com".into()));
    for status in ["read", "delivered", "read", "sent"] {
        let r = webhook
            .handle(signed_status_callback(&id, &sid, status))
            .await;
        assert_eq!(r.status_code, 200, "{status}");
    }
    let conversation = list_messages::MessagesApi {
        ports: ports.clone(),
        org_claim: "custom:organization_id".into(),
        poll_settle: std::time::Duration::from_secs(30),
    }
    .handle(jwt_event(
        "GET",
        "/whatsapp/messages",
        "contact_id=c1",
        Some("acme"),
        None,
    ))
    .await;
    let body = json_body(&conversation);
    assert_eq!(body["messages"][0]["status"], "READ");
    assert_eq!(body["messages"][0]["twilio_message_sid"], sid.as_str());
}

#[tokio::test]
#[ignore = "needs the AWS emulator"]
async fn inbound_message_reaches_the_conversation_once_and_stop_opts_out() {
    let (_stack, ports) = stack_with_demo_data().await;
    let webhook = TwilioWebhook::at(ports.clone(), None);
    let path = "/webhook/twilio/whatsapp/acme";
    let url = format!("https://abc123.execute-api.eu-west-1.amazonaws.com{path}");
    let inbound = |sid: &str, body: &str| {
        let params: Vec<(String, String)> = [
            ("MessageSid", sid),
            ("AccountSid", ACCOUNT_SID),
            ("From", "whatsapp:+60123456789"),
            ("To", "whatsapp:+14155238886"),
            ("Body", body),
            ("NumMedia", "0"),
            ("ProfileName", "Aisha"),
            ("WaId", "60123456789"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        signed(
            path,
            "",
            "POST /webhook/twilio/whatsapp/{organization_id}",
            &url,
            &params,
        )
    };
    for _ in 0..2 {
        let r = webhook
            .handle(inbound("SM22222222222222222222222222222222", "Hello!"))
            .await;
        assert_eq!(r.status_code, 200);
    }
    let page = ports
        .messages
        .conversation(
            &org("acme"),
            &ContactId::parse("c1").unwrap(),
            shared::ports::ConversationQuery::Latest { limit: 10 },
        )
        .await
        .unwrap();
    assert_eq!(page.messages.len(), 1);
    assert_eq!(page.messages[0].text.as_deref(), Some("Hello!"));

    webhook
        .handle(inbound("SM33333333333333333333333333333333", "STOP"))
        .await;
    let c = ports
        .contacts
        .get(&org("acme"), &ContactId::parse("c1").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert!(!c.whatsapp_opt_in);
    assert!(
        ports
            .contacts
            .list_eligible(&org("acme"), None, None, 10)
            .await
            .unwrap()
            .items
            .is_empty()
    );
}

#[tokio::test]
#[ignore = "needs the AWS emulator"]
async fn a_malformed_job_ends_in_the_dead_letter_queue() {
    let (stack, ports) = stack_with_demo_data().await;
    let url = stack.resources.send_queue_url.clone().unwrap();
    stack
        .sqs()
        .send_message()
        .queue_url(&url)
        .message_body("{not a job")
        .send()
        .await
        .unwrap();
    let worker = SendWorker {
        ports: ports.clone().with_sender(ScriptedSender::new()),
        settings: crate::flows::worker_settings(None),
    };
    // maxReceiveCount is 3: three failed deliveries, then SQS moves it.
    for _ in 0..6 {
        let event = receive(&stack, &url).await;
        if event.records.is_empty() {
            tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
            continue;
        }
        let response = worker.handle_sqs(event.clone()).await;
        let failed: Vec<String> = response
            .batch_item_failures
            .iter()
            .map(|f| f.item_identifier.clone())
            .collect();
        assert_eq!(
            failed.len(),
            1,
            "the malformed job is reported, not acknowledged"
        );
        acknowledge(&stack, &url, &event, &failed).await;
        tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    }
    let dlq = stack
        .sqs()
        .receive_message()
        .queue_url(&stack.dlq_url)
        .wait_time_seconds(1)
        .send()
        .await
        .unwrap();
    let messages = dlq.messages.unwrap_or_default();
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0].body(), Some("{not a job"));
}

#[tokio::test]
#[ignore = "needs the AWS emulator"]
async fn an_unavailable_table_is_a_503_and_nothing_is_queued() {
    let (stack, _) = stack_with_demo_data().await;
    let mut resources = stack.resources.clone();
    resources.messages_table = format!("{}-gone", stack.name);
    let ports = shared::runtime::aws_ports_from(&stack.settings(), &stack.sdk, resources).unwrap();
    let send = SendApi {
        ports: ports.clone(),
        org_claim: "custom:organization_id".into(),
        templates: shared::template_cache::TemplateCache::new(std::time::Duration::from_secs(60)),
    };
    let r = send
        .handle(jwt_event(
            "POST",
            "/whatsapp/messages",
            "",
            Some("acme"),
            Some(r#"{"contact_id":"c1","text":"hi"}"#),
        ))
        .await;
    assert_eq!(r.status_code, 503);
    assert_eq!(json_body(&r)["error"]["code"], "service_unavailable");
    let url = stack.resources.send_queue_url.clone().unwrap();
    assert!(receive(&stack, &url).await.records.is_empty());
}

#[tokio::test]
#[ignore = "needs the AWS emulator"]
async fn a_webhook_that_cannot_be_stored_answers_503_so_twilio_retries() {
    let (stack, _) = stack_with_demo_data().await;
    let mut resources = stack.resources.clone();
    resources.messages_table = format!("{}-gone", stack.name);
    let ports = shared::runtime::aws_ports_from(&stack.settings(), &stack.sdk, resources).unwrap();
    let webhook = TwilioWebhook::at(ports.clone(), Some("https://api.example.com".into()));
    let path = "/webhook/twilio/whatsapp/acme";
    let params: Vec<(String, String)> = [
        ("MessageSid", "SM44444444444444444444444444444444"),
        ("AccountSid", ACCOUNT_SID),
        ("From", "whatsapp:+60123456789"),
        ("To", "whatsapp:+14155238886"),
        ("Body", "Hello?"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    let event = signed(
        path,
        "",
        "POST /webhook/twilio/whatsapp/{organization_id}",
        &format!("https://api.example.com{path}"),
        &params,
    );
    let r = webhook.handle(event).await;
    assert_eq!(r.status_code, 503);
    let c = ports
        .contacts
        .get(&org("acme"), &ContactId::parse("c1").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert!(
        c.last_inbound_at.unwrap() < chrono::Utc::now() - chrono::Duration::minutes(30),
        "nothing changed"
    );
}
