//! Handler tests: in-memory media store, API Gateway events shaped like the real ones.
#![allow(
    clippy::too_many_lines,
    reason = "a test states its scenario whole (docs/design.md, \"Long functions\")"
)]

use presign_upload::*;
use shared::api::ApiGatewayV2httpRequest;
use shared::domain::MAX_MEDIA_BYTES;
use shared::memory::{MediaGrant, MemoryMedia, MemoryPorts};
use shared::runtime::Handler;
use shared::testing::{error_code, json_body, jwt_event};

fn api() -> PresignApi<MemoryPorts> {
    PresignApi {
        ports: MemoryPorts::new("http://127.0.0.1:8080"),
        org_claim: "custom:organization_id".into(),
    }
}

async fn post(
    api: &PresignApi<MemoryPorts>,
    org: Option<&str>,
    body: &str,
) -> shared::api::ApiGatewayV2httpResponse {
    api.handle(jwt_event(
        "POST",
        "/whatsapp/attachments",
        "",
        org,
        Some(body),
    ))
    .await
}

#[tokio::test]
async fn presigns_a_put_under_the_organizations_prefix() {
    let api = api();
    let r = post(
        &api,
        Some("acme"),
        r#"{"filename":"Invoice March.pdf","content_type":"application/pdf","size":52000}"#,
    )
    .await;
    assert_eq!(r.status_code, 200);
    let body = json_body(&r);
    let key = body["attachment"]["key"].as_str().unwrap();
    assert!(
        key.starts_with("acme/uploads/") && key.ends_with("/Invoice_March.pdf"),
        "{key}"
    );
    assert_eq!(body["attachment"]["filename"], "Invoice March.pdf");
    assert_eq!(body["attachment"]["size"], 52000);
    assert_eq!(body["upload"]["method"], "PUT");
    assert_eq!(body["upload"]["headers"]["content-type"], "application/pdf");
    assert_eq!(body["upload"]["key"], key);
    // The URL is bound to what was declared.
    let url = body["upload"]["url"].as_str().unwrap();
    let grant: MediaGrant = MemoryMedia::grant(url.split_once('?').unwrap().1).unwrap();
    assert!(
        api.ports
            .media
            .verify("PUT", key, &grant, Some("application/pdf"), Some(52000))
    );
    assert!(
        !api.ports
            .media
            .verify("PUT", key, &grant, Some("application/pdf"), Some(52001))
    );
}

#[tokio::test]
async fn the_whatsapp_type_and_size_matrix() {
    let api = api();
    let big = MAX_MEDIA_BYTES + 1;
    for (body, ok) in [
        (r#"{"filename":"a.jpg","content_type":"image/jpeg","size":5242880}"#.to_owned(), true),
        (r#"{"filename":"a.png","content_type":"image/png","size":5242881}"#.to_owned(), false),
        (r#"{"filename":"a.gif","content_type":"image/gif","size":10}"#.to_owned(), false),
        (r#"{"filename":"note.ogg","content_type":"audio/ogg","size":10}"#.to_owned(), true),
        (r#"{"filename":"a.amr","content_type":"audio/amr","size":10}"#.to_owned(), true),
        (r#"{"filename":"a.mp4","content_type":"video/mp4","size":16777216}"#.to_owned(), true),
        (format!(r#"{{"filename":"a.mp4","content_type":"video/mp4","size":{big}}}"#), false),
        (r#"{"filename":"a.xlsx","content_type":"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet","size":10}"#.to_owned(), true),
        (r#"{"filename":"card.vcf","content_type":"text/vcard","size":10}"#.to_owned(), true),
        (r#"{"filename":"setup.exe","content_type":"application/x-msdownload","size":10}"#.to_owned(), false),
        (r#"{"filename":"setup.exe","content_type":"application/pdf","size":10}"#.to_owned(), false),
        (r#"{"filename":"a.pdf","content_type":"application/pdf","size":0}"#.to_owned(), false),
    ] {
        let r = post(&api, Some("acme"), &body).await;
        if ok {
            assert_eq!(r.status_code, 200, "{body}");
        } else {
            assert_eq!(r.status_code, 422, "{body}");
            assert_eq!(error_code(&r), "attachment_rejected", "{body}");
        }
    }
    let r = post(
        &api,
        Some("acme"),
        r#"{"filename":"a.png","content_type":"image/png","size":5242881}"#,
    )
    .await;
    assert_eq!(
        json_body(&r)["error"]["message"],
        "The file is too large: at most 5 MB for this type."
    );
}

#[tokio::test]
async fn bad_requests_are_refused() {
    let api = api();
    for (body, status) in [
        (
            r#"{"filename":"a.pdf","content_type":"application/pdf"}"#,
            400,
        ),
        (
            r#"{"filename":"a.pdf","content_type":"application/pdf","size":-1}"#,
            400,
        ),
        (
            r#"{"filename":"a.pdf","content_type":"application/pdf","size":1,"key":"globex/x.pdf"}"#,
            400,
        ),
        (
            r#"{"filename":"","content_type":"application/pdf","size":1}"#,
            400,
        ),
        (
            r#"{"filename":"a\u0000.pdf","content_type":"application/pdf","size":1}"#,
            400,
        ),
        ("not json", 400),
    ] {
        assert_eq!(
            post(&api, Some("acme"), body).await.status_code,
            status,
            "{body}"
        );
    }
    assert_eq!(
        post(
            &api,
            None,
            r#"{"filename":"a.pdf","content_type":"application/pdf","size":1}"#
        )
        .await
        .status_code,
        401
    );
}

#[test]
fn storage_names_are_safe() {
    assert_eq!(storage_name("Invoice March.pdf"), "Invoice_March.pdf");
    assert_eq!(storage_name("../../etc/passwd"), "etc_passwd");
    assert_eq!(storage_name("日本.pdf"), "pdf");
    assert_eq!(storage_name("..."), "file");
}

#[tokio::test]
async fn a_recorded_api_gateway_event_is_understood() {
    let event: ApiGatewayV2httpRequest =
        serde_json::from_str(include_str!("../../../events/presign-upload.json")).unwrap();
    let r = api().handle(event).await;
    assert_eq!(r.status_code, 200, "{:?}", r.body);
    assert!(
        json_body(&r)["attachment"]["key"]
            .as_str()
            .unwrap()
            .starts_with("org-a/uploads/")
    );
}
