//! The runner serves the Send Message page from `web/`, with no secrets in it.

mod common;

use common::start;

#[tokio::test]
async fn the_page_and_its_assets_are_served() {
    let local = start().await;
    for (path, kind, marker) in [
        ("/", "text/html", "Send Message"),
        ("/app.js", "javascript", "/whatsapp/messages"),
        ("/config.js", "javascript", "WHATSAPP_CONFIG"),
        ("/styles.css", "text/css", ".message"),
    ] {
        let response = local.http.get(local.url(path)).send().await.unwrap();
        assert_eq!(response.status(), 200, "{path}");
        let content_type = response.headers()["content-type"]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(content_type.contains(kind), "{path}: {content_type}");
        let body = response.text().await.unwrap();
        assert!(body.contains(marker), "{path}");
        assert!(
            !body.contains("sandbox-token"),
            "{path} carries no credentials"
        );
    }
}

#[test]
fn the_page_never_renders_message_text_as_html() {
    let app =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../web/app.js")).unwrap();
    assert!(
        !app.contains("innerHTML"),
        "text is always set with textContent"
    );
    assert!(!app.contains("insertAdjacentHTML"));
}
