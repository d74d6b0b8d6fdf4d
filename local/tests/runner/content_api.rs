//! The sandbox's Content API as Twilio's reference describes it: create, fetch, delete, the
//! session types' limits, and created Contents listed but never offered as templates.

use serde_json::{Value, json};

use crate::common::start;

const ACME: &str = "AC00000000000000000000000000000001";
const ACME_TOKEN: &str = "sandbox-token-acme-0001";

#[tokio::test]
async fn contents_are_created_fetched_listed_and_deleted_as_twilio_does() {
    let local = start().await;
    let call =
        |method: reqwest::Method, path: String, body: Option<Value>, password: &'static str| {
            let mut request = local
                .http
                .request(method, local.url(&format!("/sandbox{path}")))
                .basic_auth(ACME, Some(password));
            if let Some(body) = body {
                request = request
                    .header("content-type", "application/json")
                    .body(body.to_string());
            }
            async move {
                let response = request.send().await.unwrap();
                let status = response.status().as_u16();
                let body = serde_json::from_slice::<Value>(&response.bytes().await.unwrap())
                    .unwrap_or(Value::Null);
                (status, body)
            }
        };
    let quick_reply = json!({"twilio/quick-reply": {"body": "Does 3 pm suit you?",
        "actions": [{"title": "Yes", "id": "yes"}, {"title": "No", "id": "no"}]}});
    let (status, created) = call(
        reqwest::Method::POST,
        "/v1/Content".into(),
        Some(json!({"friendly_name": "crm_interactive_test", "language": "en", "types": quick_reply})),
        ACME_TOKEN,
    )
    .await;
    assert_eq!(status, 201, "{created}");
    let sid = created["sid"].as_str().unwrap().to_owned();
    assert!(shared::domain::is_content_sid(&sid), "{sid}");
    assert_eq!(created["types"], quick_reply);
    assert_eq!(created["account_sid"], ACME);
    assert_eq!(created["variables"], json!({}));

    let (status, fetched) = call(
        reqwest::Method::GET,
        format!("/v1/Content/{sid}"),
        None,
        ACME_TOKEN,
    )
    .await;
    assert_eq!((status, &fetched["sid"]), (200, &json!(sid)));
    let (status, listed) = call(
        reqwest::Method::GET,
        "/v1/ContentAndApprovals?PageSize=1000".into(),
        None,
        ACME_TOKEN,
    )
    .await;
    assert_eq!(status, 200);
    assert!(
        listed["contents"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["sid"] == sid.as_str()),
        "{listed}"
    );
    // Never approved: not a template the agent is offered.
    let templates = local.get("acme", "/whatsapp/templates?refresh=true").await;
    assert_eq!(templates.status, 200);
    assert!(
        !templates.body.to_string().contains(&sid),
        "{}",
        templates.body
    );

    // Refusals: WhatsApp's session limits, the required fields, the credential.
    for (body, message) in [
        (
            json!({"language": "en", "types": {"twilio/quick-reply": {"body": "Pick", "actions": [
                {"title": "a"}, {"title": "b"}, {"title": "c"}, {"title": "d"}]}}}),
            "Invalid content: twilio/quick-reply needs 1 to 3 actions in a session",
        ),
        (
            json!({"types": quick_reply}),
            "Missing required parameter language",
        ),
        (
            json!({"language": "en"}),
            "Missing required parameter types",
        ),
    ] {
        let (status, refused) = call(
            reqwest::Method::POST,
            "/v1/Content".into(),
            Some(body),
            ACME_TOKEN,
        )
        .await;
        assert_eq!(
            (status, refused["code"].as_u64()),
            (400, Some(20001)),
            "{refused}"
        );
        assert_eq!(refused["message"], message);
    }
    let (status, _) = call(
        reqwest::Method::GET,
        format!("/v1/Content/{sid}"),
        None,
        "wrong-token",
    )
    .await;
    assert_eq!(status, 401);

    let (status, _) = call(
        reqwest::Method::DELETE,
        format!("/v1/Content/{sid}"),
        None,
        ACME_TOKEN,
    )
    .await;
    assert_eq!(status, 204);
    let (status, gone) = call(
        reqwest::Method::DELETE,
        format!("/v1/Content/{sid}"),
        None,
        ACME_TOKEN,
    )
    .await;
    assert_eq!((status, gone["code"].as_u64()), (404, Some(20404)));
    let (status, _) = call(
        reqwest::Method::GET,
        format!("/v1/Content/{sid}"),
        None,
        ACME_TOKEN,
    )
    .await;
    assert_eq!(status, 404);
}

/// The product's Twilio client writes Contents as the worker will: create, find by name (a
/// retry after a crash adopts the one it made), delete (a Content already gone counts).
#[tokio::test]
async fn the_twilio_client_creates_finds_and_deletes_contents() {
    use shared::domain::{ChannelConfig, parse_org_secret};
    use shared::twilio::TwilioClient;
    let local = start().await;
    let ChannelConfig::Configured(config) = parse_org_secret(
        &json!({"twilio_account_sid": ACME, "twilio_auth_token": ACME_TOKEN,
                "twilio_whatsapp_from": "whatsapp:+14155238886", "whatsapp_enabled": true})
        .to_string(),
    ) else {
        panic!("the demo secret");
    };
    let client = TwilioClient::new(&local.url("/sandbox"), std::time::Duration::from_secs(2))
        .unwrap()
        .with_content_base_url(&local.url("/sandbox"))
        .unwrap();
    let types = json!({"twilio/list-picker": {"body": "Choose a slot", "button": "Slots",
        "items": [{"id": "slot-9", "item": "9:00", "description": "Room A"}]}});
    assert_eq!(
        client
            .find_content(&config, "crm_interactive_abc")
            .await
            .unwrap(),
        None
    );
    let sid = client
        .create_content(&config, "crm_interactive_abc", "en", &types)
        .await
        .unwrap();
    assert_eq!(
        client
            .find_content(&config, "crm_interactive_abc")
            .await
            .unwrap(),
        Some(sid.clone())
    );
    let refused = client
        .create_content(
            &config,
            "crm_interactive_bad",
            "en",
            &json!({"twilio/list-picker": {"body": "x", "button": "b", "items": []}}),
        )
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Some(20001), "{refused}");
    client.delete_content(&config, &sid).await.unwrap();
    assert_eq!(
        client
            .find_content(&config, "crm_interactive_abc")
            .await
            .unwrap(),
        None
    );
    client.delete_content(&config, &sid).await.unwrap();
}

/// The Contents the product made that the sandbox's account holds.
async fn product_contents(local: &crate::common::Local) -> Vec<Value> {
    let contents = local
        .http
        .get(local.url("/sandbox/v1/Content"))
        .basic_auth(ACME, Some(ACME_TOKEN))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let contents: Value = serde_json::from_slice(&contents).unwrap();
    contents["contents"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| {
            c["friendly_name"]
                .as_str()
                .is_some_and(|n| n.starts_with("crm_interactive_"))
        })
        .cloned()
        .collect()
}

/// Buttons sent twice at once through the API: both delivered, from one Content made at
/// Twilio (counted in the sandbox), the contact's phone showing the body.
#[tokio::test]
async fn identical_buttons_sent_at_once_make_one_content() {
    let local = start().await;
    let buttons = json!({"type": "buttons", "body": "Does 3 pm suit you?",
        "buttons": [{"id": "yes", "title": "Yes"}, {"id": "no", "title": "No"}]});
    let body = json!({"contact_id": "c-aisha", "interactive": buttons});
    let (a, b) = tokio::join!(
        local.post("acme", "/whatsapp/messages", body.clone()),
        local.post("acme", "/whatsapp/messages", body.clone())
    );
    assert_eq!((a.status, b.status), (202, 202), "{} {}", a.body, b.body);
    for reply in [&a, &b] {
        let id = crate::common::message_id(reply);
        let seen = local.wait_for_status("acme", "c-aisha", &id, "READ").await;
        assert!(seen.contains(&"READ".to_owned()), "{seen:?}");
    }
    let made = product_contents(&local).await;
    assert_eq!(made.len(), 1, "{made:?}");
    assert_eq!(
        made[0]["types"]["twilio/quick-reply"]["actions"][0]["title"],
        "Yes"
    );
    let sandbox = local.sandbox(reqwest::Method::GET, "/messages", None).await;
    let delivered = sandbox
        .body
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["direction"] == "outbound-api" && m["body"] == "Does 3 pm suit you?")
        .count();
    assert_eq!(delivered, 2);
}

/// A Content left unused past `CONTENT_UNUSED_SECONDS` is deleted from the account after the
/// organization's next interactive send; the one just used stays, and the deleted payload
/// sent again gets a new Content.
#[tokio::test]
async fn contents_left_unused_are_deleted_from_the_account() {
    let local = crate::common::start_with(&[("CONTENT_UNUSED_SECONDS", "1")]).await;
    let buttons = |body: &str| {
        json!({"contact_id": "c-aisha", "interactive": {"type": "buttons", "body": body,
            "buttons": [{"id": "yes", "title": "Yes"}, {"id": "no", "title": "No"}]}})
    };
    let send = |body: Value| async {
        let reply = local.post("acme", "/whatsapp/messages", body).await;
        assert_eq!(reply.status, 202, "{}", reply.body);
        let id = crate::common::message_id(&reply);
        let seen = local.wait_for_status("acme", "c-aisha", &id, "SENT").await;
        assert!(seen.contains(&"SENT".to_owned()), "{seen:?}");
    };
    send(buttons("Does 3 pm suit you?")).await;
    let first = product_contents(&local).await;
    assert_eq!(first.len(), 1, "{first:?}");
    // Past the unused period (Twilio dates Contents to the second).
    tokio::time::sleep(std::time::Duration::from_millis(2200)).await;
    send(buttons("Does 4 pm suit you?")).await;
    let mut left = Vec::new();
    for _ in 0..50 {
        left = product_contents(&local).await;
        if left.len() == 1 && left[0]["sid"] != first[0]["sid"] {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(left.len(), 1, "the unused one is deleted: {left:?}");
    assert_eq!(
        left[0]["types"]["twilio/quick-reply"]["body"],
        "Does 4 pm suit you?"
    );
    // The deleted payload again: a new Content, and it goes out.
    send(buttons("Does 3 pm suit you?")).await;
    let again = product_contents(&local).await;
    assert!(
        again.iter().any(
            |c| c["types"]["twilio/quick-reply"]["body"] == "Does 3 pm suit you?"
                && c["sid"] != first[0]["sid"]
        ),
        "{again:?}"
    );
}

/// The contact's tap on a list item comes back as Twilio posts it (`ListId`, `ListTitle`,
/// quoting the message): stored as the reply to that message, with the item's id.
#[tokio::test]
async fn a_list_pick_is_the_reply_to_the_list() {
    let local = start().await;
    let list = json!({"contact_id": "c-aisha", "interactive": {"type": "list",
        "body": "When should we deliver?", "button": "See times",
        "items": [{"id": "1", "title": "Morning", "description": "9–12"},
                  {"id": "2", "title": "Afternoon"}]}});
    let reply = local.post("acme", "/whatsapp/messages", list).await;
    assert_eq!(reply.status, 202, "{}", reply.body);
    let id = crate::common::message_id(&reply);
    local.wait_for_status("acme", "c-aisha", &id, "SENT").await;
    let messages = local
        .get("acme", "/whatsapp/messages?contact_id=c-aisha")
        .await;
    let sent = messages.body["messages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["id"] == id.as_str())
        .cloned()
        .unwrap();
    assert_eq!(sent["interactive"]["items"][0]["title"], "Morning");
    let sid = sent["twilio_message_sid"].as_str().unwrap().to_owned();

    let tapped = local
        .sandbox(
            reqwest::Method::POST,
            "/reply",
            Some(json!({"organization_id": "acme", "from": "+60123456789",
                "list": {"id": "2", "title": "Afternoon"}, "reply_to": sid})),
        )
        .await;
    assert_eq!(tapped.status, 200, "{}", tapped.body);
    let mut pick = None;
    for _ in 0..50 {
        let messages = local
            .get("acme", "/whatsapp/messages?contact_id=c-aisha")
            .await;
        pick = messages.body["messages"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["direction"] == "INBOUND" && m["details"]["button"].is_object())
            .cloned();
        if pick.is_some() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let pick = pick.expect("the pick is stored");
    assert_eq!(pick["text"], "Afternoon");
    assert_eq!(pick["details"]["button"]["payload"], "2");
    assert_eq!(pick["details"]["button"]["kind"], "list");
    assert_eq!(pick["details"]["reply_to"]["message_id"], id.as_str());
}
