//! Uploads through the local runner: presign over the API, PUT to the presigned URL like a
//! browser would, and the store refuses anything but what was declared.

use crate::common::start;
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

const PDF: &[u8] = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n";

/// Presigns and uploads a file as the browser does; returns the attachment to send.
async fn upload(
    local: &crate::common::Local,
    filename: &str,
    content_type: &str,
    bytes: &[u8],
) -> serde_json::Value {
    let presigned = local
        .post(
            "acme",
            "/whatsapp/attachments",
            json!({"filename": filename, "content_type": content_type, "size": bytes.len()}),
        )
        .await;
    assert_eq!(presigned.status, 200, "{}", presigned.body);
    let upload = &presigned.body["upload"];
    let mut put = local
        .http
        .put(upload["url"].as_str().unwrap())
        .body(bytes.to_vec());
    for (k, v) in upload["headers"].as_object().unwrap() {
        put = put.header(k, v.as_str().unwrap());
    }
    assert_eq!(put.send().await.unwrap().status(), 200);
    presigned.body["attachment"].clone()
}

#[tokio::test]
async fn a_png_and_a_pdf_with_text_reach_delivered_as_two_messages() {
    let local = start().await;
    let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89";
    let image = upload(&local, "dot.png", "image/png", png).await;
    let pdf = upload(&local, "invoice.pdf", "application/pdf", PDF).await;
    let sent = local
        .post("acme", "/whatsapp/messages", json!({"contact_id": "c-aisha", "text": "Your invoice and a photo", "attachments": [pdf, image]}))
        .await;
    assert_eq!(sent.status, 202, "{}", sent.body);
    let messages = sent.body["messages"].as_array().unwrap().clone();
    assert_eq!(messages.len(), 2);
    assert_eq!(messages[0]["message_type"], "DOCUMENT");
    // Twilio sets no caption on a document: the photo after it carries the text.
    assert!(messages[0]["text"].is_null(), "{}", messages[0]);
    assert_eq!(messages[1]["message_type"], "IMAGE");
    assert_eq!(messages[1]["text"], "Your invoice and a photo");
    for m in &messages {
        local
            .wait_for_status("acme", "c-aisha", m["id"].as_str().unwrap(), "DELIVERED")
            .await;
    }
    // What WhatsApp (the sandbox) checked with HEAD and downloaded with GET through our
    // signed MediaUrl.
    let delivered = local
        .sandbox(reqwest::Method::GET, "/messages?to=%2B60123456789", None)
        .await;
    for m in delivered.body.as_array().unwrap() {
        let url = m["media_url"][0].as_str().unwrap();
        assert!(url.starts_with(&local.url("/media/acme/")), "{url}");
        let head = local.http.head(url).send().await.unwrap();
        assert_eq!(head.status(), 200, "{url}");
        assert!(
            ["application/pdf", "image/png"]
                .contains(&head.headers()["content-type"].to_str().unwrap())
        );
        let length: u64 = head.headers()["content-length"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!(length == PDF.len() as u64 || length == png.len() as u64);
        // A link whose signature is changed answers nothing.
        let prefix = local.url("/media/acme/");
        let (token, filename) = url[prefix.len()..].split_once('/').unwrap();
        let (expires, rest) = token.split_once('.').unwrap();
        let flipped = if rest.starts_with('0') { "1" } else { "0" };
        let forged = format!("{prefix}{expires}.{flipped}{}/{filename}", &rest[1..]);
        assert_eq!(local.http.head(&forged).send().await.unwrap().status(), 404);
    }
    let mut seen: Vec<(String, u64)> = delivered
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["media_content_type"].as_str().unwrap().to_owned(),
                m["media_size"].as_u64().unwrap(),
            )
        })
        .collect();
    seen.sort();
    assert_eq!(
        seen,
        [
            ("application/pdf".to_owned(), PDF.len() as u64),
            ("image/png".to_owned(), png.len() as u64)
        ]
    );
    // The conversation offers our own download URL, and its bytes are the upload's.
    let conversation = local.conversation("acme", "c-aisha", None).await;
    let url = conversation["messages"][0]["attachments"][0]["url"]
        .as_str()
        .unwrap()
        .to_owned();
    let bytes = local
        .http
        .get(&url)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(&bytes[..], PDF);
}

#[tokio::test]
async fn a_contacts_photo_voice_note_and_document_arrive_as_our_own_downloads() {
    let local = start().await;
    // What WhatsApp displays is served inline; a document, or a web page a contact sent,
    // only as a download of no particular type.
    for (kind, bytes, message_type, served_type, download) in [
        (
            "image",
            local::sandbox::SAMPLE_PHOTO,
            "IMAGE",
            "image/jpeg",
            false,
        ),
        (
            "voice",
            local::sandbox::SAMPLE_VOICE,
            "AUDIO",
            "audio/ogg",
            false,
        ),
        (
            "document",
            local::sandbox::SAMPLE_DOCUMENT,
            "DOCUMENT",
            "application/octet-stream",
            true,
        ),
        (
            "webpage",
            local::sandbox::SAMPLE_WEBPAGE,
            "OTHER",
            "application/octet-stream",
            true,
        ),
    ] {
        let reply = local
            .sandbox(
                reqwest::Method::POST,
                "/reply",
                Some(json!({"organization_id": "acme", "from": "+6591234567", "media": kind})),
            )
            .await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        assert_eq!(reply.body["webhook_status"], 200);
        // The webhook answered at once; the copy happens in the worker.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        let attachment = loop {
            let conversation = local.conversation("acme", "c-ben", None).await;
            let last = conversation["messages"]
                .as_array()
                .unwrap()
                .last()
                .unwrap()
                .clone();
            assert_eq!(last["message_type"], message_type);
            if last["attachments"][0]["url"].is_string() {
                break last["attachments"][0].clone();
            }
            assert!(
                std::time::Instant::now() < deadline,
                "media never copied: {last}"
            );
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        };
        let url = attachment["url"].as_str().unwrap();
        assert!(url.contains("/local/media/acme/inbound/"), "{url}");
        assert!(!url.contains("sandbox"), "never Twilio's URL");
        let response = local.http.get(url).send().await.unwrap();
        assert_eq!(response.headers()["content-type"], served_type, "{kind}");
        assert_eq!(
            response
                .headers()
                .get("content-disposition")
                .map(|v| v.to_str().unwrap()),
            download.then_some("attachment"),
            "{kind}"
        );
        let downloaded = response.bytes().await.unwrap();
        assert_eq!(&downloaded[..], bytes, "{kind}");
    }
}
