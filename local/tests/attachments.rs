//! Uploads through the local runner: presign over the API, PUT to the presigned URL like a
//! browser would, and the store refuses anything but what was declared.

mod common;

use common::start;
use serde_json::json;

#[tokio::test]
async fn a_presigned_upload_accepts_exactly_the_declared_file() {
    let local = start().await;
    let png =
        b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89".to_vec();
    let presigned = local
        .post(
            "acme",
            "/whatsapp/attachments",
            json!({"filename": "dot.png", "content_type": "image/png", "size": png.len()}),
        )
        .await;
    assert_eq!(presigned.status, 200, "{}", presigned.body);
    let upload = &presigned.body["upload"];
    let url = upload["url"].as_str().unwrap();
    let put = |body: Vec<u8>, content_type: &'static str| {
        local
            .http
            .put(url)
            .header("content-type", content_type)
            .body(body)
            .send()
    };
    // Another length or type than declared: refused, as S3 refuses a mismatched signature.
    assert_eq!(
        put(png[..10].to_vec(), "image/png").await.unwrap().status(),
        403
    );
    assert_eq!(put(png.clone(), "image/jpeg").await.unwrap().status(), 403);
    assert_eq!(put(png.clone(), "image/png").await.unwrap().status(), 200);

    // A tampered key or signature is refused too.
    let other = url.replace("/acme/uploads/", "/globex/uploads/");
    let r = local
        .http
        .put(&other)
        .header("content-type", "image/png")
        .body(png.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);

    let refused = local
        .post(
            "acme",
            "/whatsapp/attachments",
            json!({"filename": "a.gif", "content_type": "image/gif", "size": 10}),
        )
        .await;
    assert_eq!(refused.status, 422);
    assert_eq!(
        refused.body["error"]["message"],
        "WhatsApp does not accept image/gif files."
    );
}
