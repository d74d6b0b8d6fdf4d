//! Handler tests: the signed media link as Twilio fetches it, HEAD and GET, with in-memory
//! ports and API Gateway v2 events shaped like the real ones.
#![allow(
    clippy::too_many_lines,
    reason = "a test states its scenario whole (docs/design.md, \"Long functions\")"
)]

use std::collections::HashMap;

use chrono::Utc;
use media_url::MediaLinkApi;
use shared::api::{ApiGatewayV2httpRequest, GatewayRequest, gateway_event};
use shared::memory::MemoryPorts;
use shared::runtime::Handler;
use shared::testing::{ACCOUNT_SID, AUTH_TOKEN, SENDER, org, secret_json};

const KEY: &str = "org-a/sent/01J0/invoice.pdf";
const PDF: &[u8] = b"%PDF-1.4\n%%EOF\n";

fn api() -> MediaLinkApi<MemoryPorts> {
    let ports = MemoryPorts::new("https://files.example.com");
    ports.credentials.put_secret(
        &org("org-a"),
        secret_json(ACCOUNT_SID, AUTH_TOKEN, SENDER, true),
    );
    ports.credentials.put_secret(
        &org("org-b"),
        secret_json(ACCOUNT_SID, "another-token", SENDER, true),
    );
    ports
        .media
        .store(KEY, PDF.to_vec(), "application/pdf")
        .unwrap();
    MediaLinkApi::new(ports)
}

/// The event API Gateway sends for `{method} /media/{org}/{token}/{filename}`: no JWT.
fn event(method: &str, path: &str) -> ApiGatewayV2httpRequest {
    let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    gateway_event(GatewayRequest {
        method: method.into(),
        raw_path: path.into(),
        route_key: format!("{method} /media/{{organization_id}}/{{token}}/{{filename}}"),
        raw_query: String::new(),
        headers: vec![("user-agent".into(), "TwilioProxy/1.1".into())],
        body: None,
        path_parameters: HashMap::from([
            ("organization_id".to_owned(), parts[1].to_owned()),
            ("token".to_owned(), parts[2].to_owned()),
            ("filename".to_owned(), parts[3].to_owned()),
        ]),
        claims: None,
        domain_name: "api.example.com".into(),
        source_ip: "54.172.60.1".into(),
    })
    .expect("valid event")
}

fn link(token: &str, org_id: &str, key: &str, expires_in: i64) -> String {
    shared::media_link::path(
        token,
        &org(org_id),
        key,
        Utc::now().timestamp() + expires_in,
    )
    .unwrap()
}

#[tokio::test]
async fn head_answers_the_objects_type_and_length_and_get_redirects_to_it() {
    let api = api();
    let path = link(AUTH_TOKEN, "org-a", KEY, 900);
    let head = api.handle(event("HEAD", &path)).await;
    assert_eq!(head.status_code, 200);
    assert_eq!(head.headers["content-type"], "application/pdf");
    assert_eq!(
        head.headers["content-length"],
        PDF.len().to_string().as_str()
    );
    assert!(head.body.is_none(), "HEAD has no body");

    let get = api.handle(event("GET", &path)).await;
    assert_eq!(get.status_code, 302);
    let location = get.headers["location"].to_str().unwrap();
    assert!(
        location.starts_with("https://files.example.com/local/media/org-a/sent/01J0/invoice.pdf?"),
        "{location}"
    );
    assert_eq!(get.headers["cache-control"], "no-store");
}

#[tokio::test]
async fn links_that_are_not_ours_or_not_valid_reveal_nothing() {
    let api = api();
    let good = link(AUTH_TOKEN, "org-a", KEY, 900);
    let expired = link(AUTH_TOKEN, "org-a", KEY, -1);
    let forged = link("guessed-token", "org-a", KEY, 900);
    // org-b signs a link to org-a's object with its own token: refused.
    let other_org = good.replace("/media/org-a/", "/media/org-b/");
    let missing = link(AUTH_TOKEN, "org-a", "org-a/sent/01J0/gone.pdf", 900);
    let renamed = format!("{}/other.pdf", good.rsplit_once('/').unwrap().0);
    let malformed = "/media/org-a/not-a-token/invoice.pdf".to_owned();
    for (path, status) in [
        (&expired, 403),
        (&forged, 404),
        (&other_org, 404),
        (&missing, 404),
        (&renamed, 404),
        (&malformed, 404),
    ] {
        for method in ["HEAD", "GET"] {
            let r = api.handle(event(method, path)).await;
            assert_eq!(r.status_code, status, "{method} {path}");
            assert!(!r.headers.contains_key("location"), "{method} {path}");
        }
    }
    // Unconfigured organization: nothing to verify with.
    let unknown = good.replace("/media/org-a/", "/media/org-z/");
    assert_eq!(api.handle(event("HEAD", &unknown)).await.status_code, 404);
}

/// The API's `$default` route (this function's): a request no route takes, as API Gateway
/// sends it — `routeKey` `$default`, no path parameters, no JWT.
fn unrouted_event(method: &str, path: &str) -> ApiGatewayV2httpRequest {
    gateway_event(GatewayRequest {
        method: method.into(),
        raw_path: path.into(),
        route_key: "$default".into(),
        raw_query: String::new(),
        headers: vec![],
        body: None,
        path_parameters: HashMap::new(),
        claims: None,
        domain_name: "api.example.com".into(),
        source_ip: "203.0.113.7".into(),
    })
    .expect("valid event")
}

#[tokio::test]
async fn a_request_no_route_takes_is_405_with_the_paths_methods_or_404() {
    let api = api();
    let trace = api
        .handle(unrouted_event("TRACE", "/whatsapp/messages"))
        .await;
    assert_eq!(trace.status_code, 405);
    assert_eq!(trace.headers["allow"], "GET, POST");
    let body: serde_json::Value = match trace.body {
        Some(aws_lambda_events::encodings::Body::Text(t)) => serde_json::from_str(&t).unwrap(),
        other => panic!("{other:?}"),
    };
    assert_eq!(body["error"]["code"], "method_not_allowed");
    // A media link's path takes GET and HEAD only.
    let put = api
        .handle(unrouted_event("PUT", &link(AUTH_TOKEN, "org-a", KEY, 60)))
        .await;
    assert_eq!(
        (put.status_code, &put.headers["allow"]),
        (405, &"GET, HEAD".parse().unwrap())
    );
    // A path without routes.
    let nothing = api.handle(unrouted_event("GET", "/whatsapp/nothing")).await;
    assert_eq!(nothing.status_code, 404);
    assert!(nothing.headers.get("allow").is_none());
}

/// A link signed before a token rotation keeps working while the old token is the secret's
/// secondary; one signed with a token this process has not read yet works after one read.
#[tokio::test]
async fn links_signed_with_either_token_of_a_rotation_are_served() {
    let api = api();
    let before = link(AUTH_TOKEN, "org-a", KEY, 900);
    api.ports.credentials.put_secret(
        &org("org-a"),
        format!(
            r#"{{"twilio_account_sid":"{ACCOUNT_SID}","twilio_auth_token":"promoted-token","twilio_auth_token_secondary":"{AUTH_TOKEN}","twilio_whatsapp_from":"{SENDER}","whatsapp_enabled":true}}"#
        ),
    );
    assert_eq!(api.handle(event("HEAD", &before)).await.status_code, 200);
    let after = link("promoted-token", "org-a", KEY, 900);
    assert_eq!(api.handle(event("HEAD", &after)).await.status_code, 200);
    // Neither token: refused, as before.
    let forged = link("some-other-token", "org-a", KEY, 900);
    assert_eq!(api.handle(event("HEAD", &forged)).await.status_code, 404);
}
