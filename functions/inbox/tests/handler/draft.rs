//! Drafts: per agent (the token's `sub`) and conversation, checked as a send is, each
//! attachment told available or not.

use std::collections::HashMap;

use serde_json::{Value, json};
use shared::api::{ApiGatewayV2httpResponse, GatewayRequest, gateway_event};
use shared::runtime::Handler;
use shared::testing::{error_code, json_body};

use super::api;

/// `{method} /whatsapp/conversations/{contact}/draft` for agent `sub` (None: a token
/// without `sub`) of organization `org`.
async fn draft(
    api: &inbox::InboxApi<shared::memory::MemoryPorts>,
    method: &str,
    (org, sub): (&str, Option<&str>),
    contact: &str,
    body: Option<Value>,
) -> ApiGatewayV2httpResponse {
    let mut claims = HashMap::from([("custom:organization_id".to_owned(), org.to_owned())]);
    if let Some(sub) = sub {
        claims.insert("sub".to_owned(), sub.to_owned());
    }
    let event = gateway_event(GatewayRequest {
        method: method.into(),
        raw_path: format!("/whatsapp/conversations/{contact}/draft"),
        route_key: format!("{method} /whatsapp/conversations/{{contact_id}}/draft"),
        raw_query: String::new(),
        headers: vec![("content-type".to_owned(), "application/json".to_owned())],
        body: body.map(|b| b.to_string().into_bytes()),
        path_parameters: HashMap::from([("contact_id".to_owned(), contact.to_owned())]),
        claims: Some(claims),
        domain_name: "api.example.com".into(),
        source_ip: "203.0.113.7".into(),
    })
    .unwrap();
    api.handle(event).await
}

const ANA: (&str, Option<&str>) = ("org-a", Some("ana"));
const BEN: (&str, Option<&str>) = ("org-a", Some("ben"));

fn photo(key: &str) -> Value {
    json!({"key": key, "content_type": "image/jpeg", "filename": "photo.jpg", "size": 4})
}

#[tokio::test]
async fn a_draft_is_the_agents_own_in_each_conversation() {
    let api = api().await;
    api.ports
        .media
        .store(
            "org-a/uploads/01J/photo.jpg",
            vec![0xFF, 0xD8, 0xFF, 0xE0],
            "image/jpeg",
        )
        .unwrap();
    let saved = draft(
        &api,
        "PUT",
        ANA,
        "c1",
        Some(json!({"text": "Hello Aisha", "attachments": [photo("org-a/uploads/01J/photo.jpg"), photo("org-a/uploads/01K/gone.jpg")]})),
    )
    .await;
    assert_eq!(saved.status_code, 200);
    let answer = json_body(&saved)["draft"].clone();
    assert_eq!(answer["text"], "Hello Aisha");
    assert_eq!(answer["kind"], "message");
    let available: Vec<bool> = answer["attachments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["available"].as_bool().unwrap())
        .collect();
    assert_eq!(
        available,
        [true, false],
        "an upload the lifecycle deleted shows as such"
    );

    let read = json_body(&draft(&api, "GET", ANA, "c1", None).await);
    assert_eq!(read["draft"], answer);
    // Another agent, another conversation, another organization: none of it.
    for (who, contact) in [(BEN, "c1"), (ANA, "c2")] {
        let other = draft(&api, "GET", who, contact, None).await;
        assert_eq!(
            (other.status_code, json_body(&other)["draft"].clone()),
            (200, Value::Null)
        );
    }
    let foreign = draft(&api, "GET", ("org-b", Some("ana")), "c1", None).await;
    assert_eq!(
        (foreign.status_code, error_code(&foreign)),
        (404, "not_found".into())
    );

    // The last write wins; an empty one deletes, as does DELETE.
    draft(
        &api,
        "PUT",
        ANA,
        "c1",
        Some(json!({"text": "Hello again", "kind": "note"})),
    )
    .await;
    let read = json_body(&draft(&api, "GET", ANA, "c1", None).await);
    assert_eq!(
        (read["draft"]["text"].clone(), read["draft"]["kind"].clone()),
        (json!("Hello again"), json!("note"))
    );
    let emptied = draft(&api, "PUT", ANA, "c1", Some(json!({"text": "  \n"}))).await;
    assert_eq!(
        (emptied.status_code, json_body(&emptied)["draft"].clone()),
        (200, Value::Null)
    );
    assert_eq!(
        json_body(&draft(&api, "GET", ANA, "c1", None).await)["draft"],
        Value::Null
    );
    draft(&api, "PUT", ANA, "c1", Some(json!({"text": "once more"}))).await;
    let deleted = draft(&api, "DELETE", ANA, "c1", None).await;
    assert_eq!(deleted.status_code, 200);
    assert_eq!(
        json_body(&draft(&api, "GET", ANA, "c1", None).await)["draft"],
        Value::Null
    );
}

#[tokio::test]
async fn a_draft_is_refused_as_a_send_would_be_and_nothing_is_stored() {
    let api = api().await;
    draft(&api, "PUT", ANA, "c1", Some(json!({"text": "kept"}))).await;
    let too_many: Vec<Value> = (0..11)
        .map(|i| photo(&format!("org-a/uploads/{i}/p.jpg")))
        .collect();
    let cases = [
        (json!({"text": "é".repeat(1601)}), 400, "text_too_long"),
        (json!({"attachments": too_many}), 400, "invalid_parameter"),
        (
            json!({"attachments": [{"key": "org-a/uploads/1/a.exe", "content_type": "application/x-msdownload", "size": 3}]}),
            422,
            "attachment_rejected",
        ),
        (
            json!({"attachments": [photo("org-b/uploads/01J/photo.jpg")]}),
            422,
            "attachment_rejected",
        ),
        (json!({"text": "x", "kind": "memo"}), 400, "invalid_json"),
        (json!({"text": "x", "agent": "ben"}), 400, "invalid_json"),
        (json!(["text"]), 400, "invalid_json"),
        // An empty array would be a struct of defaults to serde: an empty draft, deleted.
        (json!([]), 400, "invalid_json"),
    ];
    for (body, status, code) in cases {
        let refused = draft(&api, "PUT", ANA, "c1", Some(body.clone())).await;
        assert_eq!(
            (refused.status_code, error_code(&refused)),
            (status, code.to_owned()),
            "{body}"
        );
    }
    assert_eq!(
        json_body(&draft(&api, "GET", ANA, "c1", None).await)["draft"]["text"],
        "kept",
        "nothing refused was stored"
    );
}

#[tokio::test]
async fn a_token_without_an_agent_or_a_foreign_contact_gets_no_draft() {
    let api = api().await;
    for method in ["GET", "PUT", "DELETE"] {
        let body = (method == "PUT").then(|| json!({"text": "hi"}));
        let anonymous = draft(&api, method, ("org-a", None), "c1", body.clone()).await;
        assert_eq!(
            (anonymous.status_code, error_code(&anonymous)),
            (403, "agent_required".to_owned()),
            "{method}"
        );
        let foreign = draft(&api, method, ANA, "b1", body).await;
        assert_eq!(
            (foreign.status_code, error_code(&foreign)),
            (404, "not_found".to_owned()),
            "{method}"
        );
    }
    assert!(
        api.ports
            .messages
            .side_items(&shared::testing::org("org-a"))
            == 0
    );
}
