//! Handler tests: in-memory ports, API Gateway / SQS events shaped like the real ones.
#![allow(
    clippy::too_many_lines,
    reason = "a test states its scenario whole (docs/design.md, \"Long functions\")"
)]

use shared::memory::MemoryPorts;
use shared::ports::ContactStore;
use shared::runtime::Handler;
use shared::testing::{
    ACCOUNT_SID, AUTH_TOKEN, SENDER, contact, error_code, json_body, jwt_event, org, secret_json,
};

use shared::api::ApiGatewayV2httpRequest;

use list_contacts::*;

async fn api() -> ContactsApi<MemoryPorts> {
    let ports = MemoryPorts::new("http://127.0.0.1:8080");
    let contacts = &ports.contacts;
    let credentials = &ports.credentials;
    credentials.put_secret(
        &org("org-a"),
        secret_json(ACCOUNT_SID, AUTH_TOKEN, SENDER, true),
    );
    for c in [
        contact("org-a", "c1", "Aisha Rahman", "+60123456789"),
        contact("org-a", "c2", "Ben Ong", "+60123456780"),
        contact("org-a", "c3", "Chen Wei", "+6591234567"),
        contact("org-b", "b1", "Other Org Person", "+60123456781"),
    ] {
        contacts.put(&c).await.unwrap();
    }
    let mut not_opted_in = contact("org-a", "c4", "Dana Not Opted", "+60123456782");
    not_opted_in.whatsapp_opt_in = false;
    let mut bad_phone = contact("org-a", "c5", "Eve Bad Phone", "0123456789");
    bad_phone.email = Some("eve@example.com".into());
    let mut unsubscribed = contact("org-a", "c6", "Faye Unsub", "+60123456783");
    unsubscribed.whatsapp_unsubscribed = true;
    for c in [not_opted_in, bad_phone, unsubscribed] {
        contacts.put(&c).await.unwrap();
    }
    ContactsApi {
        ports,
        org_claim: "custom:organization_id".into(),
    }
}

fn names(body: &serde_json::Value) -> Vec<String> {
    body["contacts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn lists_only_eligible_contacts_of_the_callers_organization() {
    let api = api().await;
    let r = api
        .handle(jwt_event(
            "GET",
            "/whatsapp/contacts",
            "",
            Some("org-a"),
            None,
        ))
        .await;
    assert_eq!(r.status_code, 200);
    let body = json_body(&r);
    assert_eq!(names(&body), ["Aisha Rahman", "Ben Ong", "Chen Wei"]);
    assert_eq!(body["next_cursor"], serde_json::Value::Null);
    assert_eq!(body["contacts"][0]["phone_number"], "+60123456789");
}

#[tokio::test]
async fn search_matches_name_email_or_phone() {
    let api = api().await;
    for (q, expected) in [
        ("q=ben", vec!["Ben Ong"]),
        ("q=aisha.rahman%40example", vec!["Aisha Rahman"]),
        ("q=%2B6591", vec!["Chen Wei"]),
        ("q=Other", vec![]),
        ("q=eve", vec![]),
    ] {
        let r = api
            .handle(jwt_event(
                "GET",
                "/whatsapp/contacts",
                q,
                Some("org-a"),
                None,
            ))
            .await;
        assert_eq!(names(&json_body(&r)), expected, "{q}");
    }
}

#[tokio::test]
async fn pages_with_an_opaque_cursor() {
    let api = api().await;
    let first = json_body(
        &api.handle(jwt_event(
            "GET",
            "/whatsapp/contacts",
            "limit=2",
            Some("org-a"),
            None,
        ))
        .await,
    );
    assert_eq!(names(&first), ["Aisha Rahman", "Ben Ong"]);
    let cursor = first["next_cursor"].as_str().unwrap();
    let second = json_body(
        &api.handle(jwt_event(
            "GET",
            "/whatsapp/contacts",
            &format!("limit=2&cursor={cursor}"),
            Some("org-a"),
            None,
        ))
        .await,
    );
    assert_eq!(names(&second), ["Chen Wei"]);
    assert_eq!(second["next_cursor"], serde_json::Value::Null);
}

#[tokio::test]
async fn bad_parameters_are_400() {
    let api = api().await;
    for q in ["limit=0", "limit=1000", "limit=x", "cursor=%25%25garbage"] {
        let r = api
            .handle(jwt_event(
                "GET",
                "/whatsapp/contacts",
                q,
                Some("org-a"),
                None,
            ))
            .await;
        assert_eq!(r.status_code, 400, "{q}");
        assert_eq!(error_code(&r), "invalid_parameter");
    }
    let long = format!("q={}", "a".repeat(101));
    let r = api
        .handle(jwt_event(
            "GET",
            "/whatsapp/contacts",
            &long,
            Some("org-a"),
            None,
        ))
        .await;
    assert_eq!(r.status_code, 400);
}

#[tokio::test]
async fn without_the_organization_claim_it_is_401() {
    let api = api().await;
    for org_claim in [None, Some("../bad")] {
        let r = api
            .handle(jwt_event("GET", "/whatsapp/contacts", "", org_claim, None))
            .await;
        assert_eq!(r.status_code, 401);
        assert_eq!(error_code(&r), "unauthorized");
    }
}

#[tokio::test]
async fn the_organization_never_comes_from_the_query() {
    let api = api().await;
    let r = api
        .handle(jwt_event(
            "GET",
            "/whatsapp/contacts",
            "organization_id=org-b",
            Some("org-a"),
            None,
        ))
        .await;
    assert!(!names(&json_body(&r)).contains(&"Other Org Person".to_owned()));
}

#[tokio::test]
async fn a_recorded_api_gateway_event_is_understood() {
    let api = api().await;
    let event: ApiGatewayV2httpRequest =
        serde_json::from_str(include_str!("../../../events/list-contacts.json")).unwrap();
    let r = api.handle(event).await;
    assert_eq!(r.status_code, 200);
    assert_eq!(names(&json_body(&r)), ["Aisha Rahman"]);
}
