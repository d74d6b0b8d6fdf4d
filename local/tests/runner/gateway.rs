//! The local runner behaves like API Gateway in front of the handlers: every route of the
//! table is served, the JWT authorizer is enforced, nothing else answers.

use crate::common::start;
use shared::routes::{Auth, ROUTES};

#[tokio::test]
async fn every_route_in_the_table_is_served() {
    let local = start().await;
    for route in ROUTES {
        let path = route.path.replace("{organization_id}", "acme");
        let request = local
            .http
            .request(route.method.parse().unwrap(), local.url(&path))
            .bearer_auth(local.token("acme"));
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let body: serde_json::Value =
            serde_json::from_slice(&response.bytes().await.unwrap()).unwrap_or_default();
        assert_ne!(
            body["error"]["message"], "No such route.",
            "{} {}",
            route.method, route.path
        );
        assert_ne!(status, 405, "{} {}", route.method, route.path);
    }
}

#[tokio::test]
async fn jwt_routes_need_a_valid_token() {
    let local = start().await;
    for route in ROUTES.iter().filter(|r| r.auth == Auth::Jwt) {
        for token in [None, Some("not-a-demo-token")] {
            let mut request = local
                .http
                .request(route.method.parse().unwrap(), local.url(route.path));
            if let Some(token) = token {
                request = request.bearer_auth(token);
            }
            let response = request.send().await.unwrap();
            assert_eq!(
                response.status(),
                401,
                "{} {} {token:?}",
                route.method,
                route.path
            );
            let body: serde_json::Value =
                serde_json::from_slice(&response.bytes().await.unwrap()).unwrap();
            assert_eq!(body["error"]["code"], "unauthorized");
        }
    }
}

#[tokio::test]
async fn webhooks_without_a_signature_are_refused() {
    let local = start().await;
    for path in [
        "/webhook/twilio/whatsapp/acme",
        "/webhook/twilio/whatsapp/acme/status",
    ] {
        let response = local
            .http
            .post(local.url(path))
            .header("content-type", "application/x-www-form-urlencoded")
            .body("MessageSid=SM11111111111111111111111111111111&AccountSid=AC00000000000000000000000000000001&From=whatsapp%3A%2B60123456789&To=whatsapp%3A%2B14155238886&Body=hi")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 403, "{path}");
    }
}

#[tokio::test]
async fn unknown_routes_are_json_404s() {
    let local = start().await;
    for (method, path) in [
        ("GET", "/whatsapp/unknown"),
        ("DELETE", "/whatsapp/unknown"),
        ("GET", "/webhook/x"),
    ] {
        let response = local
            .http
            .request(method.parse().unwrap(), local.url(path))
            .bearer_auth(local.token("acme"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 404, "{method} {path}");
        assert_eq!(
            response.headers()["content-type"],
            "application/json",
            "{method} {path}"
        );
    }
}

/// API Gateway's `$default` route (the runner's fallback): a method a known path does not
/// take is 405 with the methods it does, with a token or without.
#[tokio::test]
async fn other_methods_on_known_paths_are_405_with_allow() {
    let local = start().await;
    for (method, path, allow) in [
        ("TRACE", "/whatsapp/contacts", "GET"),
        ("DELETE", "/whatsapp/messages", "GET, POST"),
        ("PUT", "/whatsapp/conversations/c-aisha/read", "POST"),
        ("GET", "/webhook/twilio/whatsapp/acme/status", "POST"),
        ("POST", "/media/acme/token/file.pdf", "GET, HEAD"),
    ] {
        for token in [Some(local.token("acme")), None] {
            let mut request = local.http.request(method.parse().unwrap(), local.url(path));
            if let Some(token) = &token {
                request = request.bearer_auth(token);
            }
            let response = request.send().await.unwrap();
            assert_eq!(response.status(), 405, "{method} {path}");
            assert_eq!(response.headers()["allow"], allow, "{method} {path}");
            let body: serde_json::Value =
                serde_json::from_slice(&response.bytes().await.unwrap()).unwrap();
            assert_eq!(
                body["error"]["code"], "method_not_allowed",
                "{method} {path}"
            );
        }
    }
}

#[tokio::test]
async fn the_demo_listing_never_carries_twilio_credentials() {
    let local = start().await;
    let body = local
        .http
        .get(local.url("/local/demo"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(body.contains("\"whatsapp_configured\":true"));
    assert!(body.contains("\"whatsapp_configured\":false"));
    assert!(!body.contains("sandbox-token-acme-0001"));
    assert!(!body.contains("twilio_auth_token"));
}
