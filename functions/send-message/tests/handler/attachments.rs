//! Attachments: each its own message, the text as a caption where WhatsApp takes one, every
//! file checked against the stored object, at most ten.

use super::*;

pub(crate) const PNG: &[u8] =
    b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89";
pub(crate) const PDF: &[u8] =
    b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n";
const OGG: &[u8] =
    b"OggS\0\x02\0\0\0\0\0\0\0\0\x01\0\0\0\0\0\0\0\x8a\x9f\x8b\x8a\x01\x13OpusHead\x01\x01";
const EXE: &[u8] = b"MZ\x90\0\x03\0\0\0\x04\0\0\0\xff\xff\0\0\xb8\0\0\0\0\0\0\0@\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\x80\0\0\0\x0e\x1f\xba\x0e\0\xb4\t\xcd!\xb8\x01L\xcd!This program cannot be run in DOS mode.";

pub(crate) async fn upload(api: &Api, key: &str, bytes: &[u8], content_type: &str) {
    api.ports
        .media
        .store(key, bytes.to_vec(), content_type)
        .unwrap();
}

pub(crate) fn reference(
    key: &str,
    content_type: &str,
    filename: &str,
    size: usize,
) -> serde_json::Value {
    serde_json::json!({"key": key, "content_type": content_type, "filename": filename, "size": size})
}

async fn send_with(
    api: &Api,
    text: Option<&str>,
    attachments: Vec<serde_json::Value>,
) -> ApiGatewayV2httpResponse {
    let body = serde_json::json!({"contact_id": "c1", "text": text, "attachments": attachments});
    post(api, Some("org-a"), &body.to_string()).await
}

#[tokio::test]
async fn each_attachment_becomes_its_own_message_with_the_text_as_caption() {
    let api = api().await;
    upload(&api, "org-a/uploads/1/note.ogg", OGG, "audio/ogg").await;
    upload(&api, "org-a/uploads/2/photo.png", PNG, "image/png").await;
    upload(&api, "org-a/uploads/3/invoice.pdf", PDF, "application/pdf").await;
    let r = send_with(
        &api,
        Some("Your documents"),
        vec![
            reference(
                "org-a/uploads/1/note.ogg",
                "audio/ogg",
                "note.ogg",
                OGG.len(),
            ),
            reference(
                "org-a/uploads/2/photo.png",
                "image/png",
                "photo.png",
                PNG.len(),
            ),
            reference(
                "org-a/uploads/3/invoice.pdf",
                "application/pdf",
                "invoice.pdf",
                PDF.len(),
            ),
        ],
    )
    .await;
    assert_eq!(r.status_code, 202, "{:?}", r.body);
    let body = json_body(&r);
    let shape: Vec<(String, serde_json::Value)> = body["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["message_type"].as_str().unwrap().to_owned(),
                m["text"].clone(),
            )
        })
        .collect();
    assert_eq!(
        shape,
        [
            ("AUDIO".to_owned(), serde_json::Value::Null),
            ("IMAGE".to_owned(), serde_json::json!("Your documents")),
            ("DOCUMENT".to_owned(), serde_json::Value::Null),
        ]
    );
    assert_eq!(
        body["messages"][2]["attachments"][0]["filename"],
        "invoice.pdf"
    );
    // The message carries a sealed copy, not the upload: overwriting the upload through its
    // presigned PUT (same length, other bytes) changes nothing that is sent.
    let sealed = body["messages"][2]["attachments"][0]["key"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        sealed.starts_with("org-a/sent/") && sealed.ends_with("/invoice.pdf"),
        "{sealed}"
    );
    let mut other = PDF.to_vec();
    other.reverse();
    api.ports
        .media
        .store("org-a/uploads/3/invoice.pdf", other, "application/pdf")
        .unwrap();
    assert_eq!(api.ports.media.object(&sealed).unwrap().0, PDF);
    assert_eq!(api.ports.queue.jobs().len(), 3, "one job per message");
    assert_eq!(api.ports.messages.all(&org("org-a")).len(), 3);
}

#[tokio::test]
async fn text_without_a_captionable_attachment_is_its_own_message() {
    let api = api().await;
    upload(&api, "org-a/uploads/1/note.ogg", OGG, "audio/ogg").await;
    let r = send_with(
        &api,
        Some("Listen"),
        vec![reference(
            "org-a/uploads/1/note.ogg",
            "audio/ogg",
            "note.ogg",
            OGG.len(),
        )],
    )
    .await;
    let body = json_body(&r);
    assert_eq!(body["messages"][0]["message_type"], "TEXT");
    assert_eq!(body["messages"][0]["text"], "Listen");
    assert_eq!(body["messages"][1]["message_type"], "AUDIO");
}

#[tokio::test]
async fn attachments_are_checked_against_the_stored_object() {
    let api = api().await;
    upload(&api, "org-a/uploads/1/photo.png", PNG, "image/png").await;
    upload(&api, "org-a/uploads/2/invoice.pdf", EXE, "application/pdf").await;
    upload(&api, "org-b/uploads/3/theirs.png", PNG, "image/png").await;
    upload(&api, "org-a/uploads/4/fake.jpg", PNG, "image/jpeg").await;
    for (attachment, message) in [
        (
            reference(
                "org-b/uploads/3/theirs.png",
                "image/png",
                "theirs.png",
                PNG.len(),
            ),
            "The attachment was not uploaded.",
        ),
        (
            reference(
                "org-a/uploads/9/missing.png",
                "image/png",
                "missing.png",
                10,
            ),
            "The attachment was not uploaded.",
        ),
        (
            reference(
                "org-a/uploads/1/photo.png",
                "image/png",
                "photo.png",
                PNG.len() + 1,
            ),
            "The uploaded file is not the one declared (size).",
        ),
        (
            reference(
                "org-a/uploads/1/photo.png",
                "image/jpeg",
                "photo.jpg",
                PNG.len(),
            ),
            "The uploaded file is not the one declared (type).",
        ),
        (
            reference(
                "org-a/uploads/2/invoice.pdf",
                "application/pdf",
                "invoice.pdf",
                EXE.len(),
            ),
            "The file's content is not application/pdf.",
        ),
        (
            reference(
                "org-a/uploads/4/fake.jpg",
                "image/jpeg",
                "fake.jpg",
                PNG.len(),
            ),
            "The file's content is not image/jpeg.",
        ),
        (
            reference(
                "org-a/uploads/1/photo.png",
                "image/gif",
                "photo.gif",
                PNG.len(),
            ),
            "WhatsApp does not accept image/gif files.",
        ),
    ] {
        let r = send_with(&api, None, vec![attachment.clone()]).await;
        assert_eq!(r.status_code, 422, "{attachment}");
        assert_eq!(json_body(&r)["error"]["message"], message, "{attachment}");
    }
    assert_nothing_changed(&api, &org("org-a"));
    assert!(
        !api.ports.media.keys().iter().any(|k| k.contains("/sent/")),
        "refused copies are deleted: {:?}",
        api.ports.media.keys()
    );
}

#[tokio::test]
async fn at_most_ten_attachments() {
    let api = api().await;
    upload(&api, "org-a/uploads/1/photo.png", PNG, "image/png").await;
    let many = vec![
        reference(
            "org-a/uploads/1/photo.png",
            "image/png",
            "photo.png",
            PNG.len()
        );
        11
    ];
    assert_eq!(send_with(&api, None, many).await.status_code, 400);
    assert_nothing_changed(&api, &org("org-a"));
}
