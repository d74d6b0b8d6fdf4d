//! Handler tests: in-memory ports, API Gateway events shaped like the real ones.
#![allow(
    clippy::too_many_lines,
    reason = "a test states its scenario whole (docs/design.md, \"Long functions\")"
)]

use std::collections::HashMap;

use canned_responses::CannedApi;
use serde_json::{Value, json};
use shared::api::{ApiGatewayV2httpResponse, GatewayRequest, gateway_event};
use shared::memory::MemoryPorts;
use shared::runtime::Handler;
use shared::testing::{error_code, json_body};

type Api = CannedApi<MemoryPorts>;

fn api() -> Api {
    CannedApi {
        ports: MemoryPorts::new("http://127.0.0.1:8080"),
        org_claim: "custom:organization_id".into(),
    }
}

/// `{method} /whatsapp/canned-responses[/{id}]` as organization `org`.
async fn call(
    api: &Api,
    org: &str,
    method: &str,
    id: Option<&str>,
    query: &str,
    body: Option<Value>,
) -> ApiGatewayV2httpResponse {
    let (raw_path, route) = match id {
        Some(id) => (
            format!("/whatsapp/canned-responses/{id}"),
            "/whatsapp/canned-responses/{id}",
        ),
        None => (
            "/whatsapp/canned-responses".to_owned(),
            "/whatsapp/canned-responses",
        ),
    };
    let event = gateway_event(GatewayRequest {
        method: method.into(),
        raw_path,
        route_key: format!("{method} {route}"),
        raw_query: query.into(),
        headers: vec![("content-type".to_owned(), "application/json".to_owned())],
        body: body.map(|b| b.to_string().into_bytes()),
        path_parameters: id
            .map(|id| HashMap::from([("id".to_owned(), id.to_owned())]))
            .unwrap_or_default(),
        claims: Some(HashMap::from([
            ("custom:organization_id".to_owned(), org.to_owned()),
            ("sub".to_owned(), "u-ana".to_owned()),
        ])),
        domain_name: "api.example.com".into(),
        source_ip: "203.0.113.7".into(),
    })
    .unwrap();
    api.handle(event).await
}

async fn create(api: &Api, org: &str, shortcut: &str, text: &str) -> ApiGatewayV2httpResponse {
    call(
        api,
        org,
        "POST",
        None,
        "",
        Some(json!({"shortcut": shortcut, "title": format!("About {shortcut}"), "text": text})),
    )
    .await
}

async fn shortcuts(api: &Api, org: &str) -> Vec<String> {
    let r = call(api, org, "GET", None, "limit=200", None).await;
    assert_eq!(r.status_code, 200);
    json_body(&r)["canned_responses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["shortcut"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn a_response_is_created_listed_edited_and_deleted() {
    let api = api();
    let r = create(
        &api,
        "org-a",
        "Thanks",
        "Thank you {{contact.first_name}}! — {{agent.name}}",
    )
    .await;
    assert_eq!(r.status_code, 201, "{:?}", r.body);
    let made = json_body(&r)["canned_response"].clone();
    assert_eq!(made["shortcut"], "thanks", "kept lowercase");
    assert_eq!(made["title"], "About Thanks");
    let id = made["id"].as_str().unwrap().to_owned();
    assert_eq!(shortcuts(&api, "org-a").await, ["thanks"]);
    assert!(
        shortcuts(&api, "org-b").await.is_empty(),
        "another organization sees none"
    );

    // An edit names the version it was made from.
    let edit = json!({"shortcut": "ty", "title": "Thanks", "text": "Thanks, {{?reason}}.", "updated_at": made["updated_at"]});
    let r = call(&api, "org-a", "PUT", Some(&id), "", Some(edit.clone())).await;
    assert_eq!(r.status_code, 200, "{:?}", r.body);
    let edited = json_body(&r)["canned_response"].clone();
    assert_eq!(
        (edited["shortcut"].as_str(), edited["id"].as_str()),
        (Some("ty"), Some(id.as_str()))
    );
    assert_ne!(edited["updated_at"], made["updated_at"]);
    // The same edit again is stale: another version is stored now.
    let r = call(&api, "org-a", "PUT", Some(&id), "", Some(edit)).await;
    assert_eq!(
        (r.status_code, error_code(&r).as_str()),
        (409, "canned_response_changed")
    );
    // The old shortcut is free.
    assert_eq!(
        create(&api, "org-a", "thanks", "Thanks!").await.status_code,
        201
    );

    // Another organization can neither edit nor delete it.
    let theirs =
        json!({"shortcut": "x", "title": "x", "text": "x", "updated_at": edited["updated_at"]});
    assert_eq!(
        call(&api, "org-b", "PUT", Some(&id), "", Some(theirs))
            .await
            .status_code,
        404
    );
    assert_eq!(
        call(&api, "org-b", "DELETE", Some(&id), "", None)
            .await
            .status_code,
        404
    );

    let r = call(&api, "org-a", "DELETE", Some(&id), "", None).await;
    assert_eq!(r.status_code, 204);
    assert_eq!(
        call(&api, "org-a", "DELETE", Some(&id), "", None)
            .await
            .status_code,
        404
    );
    assert_eq!(shortcuts(&api, "org-a").await, ["thanks"]);
}

#[tokio::test]
async fn two_creates_of_one_shortcut_at_once_make_one() {
    let api = api();
    let (a, b) = tokio::join!(
        create(&api, "org-a", "late", "Sorry!"),
        create(&api, "org-a", "LATE", "So sorry!")
    );
    let mut answers = [
        (a.status_code, error_code(&a)),
        (b.status_code, error_code(&b)),
    ];
    answers.sort();
    assert_eq!(
        answers,
        [(201, String::new()), (409, "shortcut_taken".to_owned())]
    );
    assert_eq!(shortcuts(&api, "org-a").await, ["late"]);
}

#[tokio::test]
async fn an_organization_holds_at_most_a_thousand() {
    let api = api();
    for n in 0..1000 {
        let r = create(&api, "org-a", &format!("r{n}"), "x").await;
        assert_eq!(r.status_code, 201, "{n}");
    }
    let r = create(&api, "org-a", "one-more", "x").await;
    assert_eq!(
        (r.status_code, error_code(&r).as_str()),
        (409, "canned_response_limit")
    );
    // Pages of 200 cover them all, in the order they were made, once each.
    let mut seen = Vec::new();
    let mut query = "limit=200".to_owned();
    loop {
        let page = json_body(&call(&api, "org-a", "GET", None, &query, None).await);
        seen.extend(
            page["canned_responses"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c["shortcut"].as_str().unwrap().to_owned()),
        );
        match page["next_cursor"].as_str() {
            Some(cursor) => query = format!("limit=200&cursor={cursor}"),
            None => break,
        }
    }
    assert_eq!(seen, (0..1000).map(|n| format!("r{n}")).collect::<Vec<_>>());
    // Another organization's limit is its own.
    assert_eq!(create(&api, "org-b", "r0", "x").await.status_code, 201);
}

#[tokio::test]
async fn what_cannot_be_saved_is_refused_and_stores_nothing() {
    let api = api();
    let long = "n".repeat(1601);
    let cases = [
        (
            json!({"shortcut": "two words", "title": "T", "text": "x"}),
            400,
            "invalid_parameter",
        ),
        (
            json!({"shortcut": "", "title": "T", "text": "x"}),
            400,
            "invalid_parameter",
        ),
        (
            json!({"shortcut": "a".repeat(33), "title": "T", "text": "x"}),
            400,
            "invalid_parameter",
        ),
        (
            json!({"shortcut": "a", "title": " ", "text": "x"}),
            400,
            "invalid_parameter",
        ),
        (
            json!({"shortcut": "a", "title": "T", "text": "  "}),
            400,
            "invalid_parameter",
        ),
        (
            json!({"shortcut": "a", "title": "T", "text": long}),
            400,
            "text_too_long",
        ),
        (
            json!({"shortcut": "a", "title": "T", "text": "Hi {{contact.email}}"}),
            422,
            "unknown_variable",
        ),
        (
            json!({"shortcut": "a", "title": "T", "text": "Hi {{contact.name"}),
            422,
            "unknown_variable",
        ),
        (json!({"shortcut": "a", "title": "T"}), 400, "invalid_json"),
        (
            json!({"shortcut": "a", "title": "T", "text": "x", "id": "01J"}),
            400,
            "invalid_json",
        ),
        (
            json!({"shortcut": "a", "title": "T", "text": "x", "updated_at": "2026-12-06T09:00:00Z"}),
            400,
            "invalid_parameter",
        ),
    ];
    for (body, status, code) in cases {
        let r = call(&api, "org-a", "POST", None, "", Some(body.clone())).await;
        assert_eq!(
            (r.status_code, error_code(&r).as_str()),
            (status, code),
            "{body}"
        );
    }
    assert!(shortcuts(&api, "org-a").await.is_empty());
    // An edit without the version it was made from, or of an id that is no response.
    let made = json_body(&create(&api, "org-a", "ok", "fine").await)["canned_response"].clone();
    let id = made["id"].as_str().unwrap();
    let r = call(
        &api,
        "org-a",
        "PUT",
        Some(id),
        "",
        Some(json!({"shortcut": "ok", "title": "T", "text": "y"})),
    )
    .await;
    assert_eq!(
        (r.status_code, error_code(&r).as_str()),
        (400, "invalid_parameter")
    );
    for id in ["nope", "01KBJ6Q2W3X4Y5Z6A7B8C9D0KM"] {
        let r = call(&api, "org-a", "PUT", Some(id), "", Some(json!({"shortcut": "ok", "title": "T", "text": "y", "updated_at": made["updated_at"]}))).await;
        assert_eq!(r.status_code, 404, "{id}");
    }
    assert_eq!(
        call(&api, "org-a", "GET", None, "cursor=!!", None)
            .await
            .status_code,
        400
    );
}
