//! The runner serves the Send Message page from `web/`, with no secrets in it.

use crate::common::start;

#[tokio::test]
async fn the_page_and_its_assets_are_served() {
    let local = start().await;
    for (path, kind, marker) in [
        ("/", "text/html", "Send Message"),
        ("/app.js", "javascript", "./conversation.js"),
        ("/conversation.js", "javascript", "/whatsapp/messages"),
        ("/rules.js", "javascript", "MEDIA_RULES"),
        ("/local/sandbox.js", "javascript", "/sandbox/reply"),
        ("/local/sandbox.css", "text/css", ".sandbox"),
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

/// The page's scripts: every module of `web/` and the runner's sandbox panel.
fn page_scripts() -> Vec<(String, String)> {
    let mut scripts = vec![(
        "local/web/sandbox.js".to_owned(),
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/web/sandbox.js")).unwrap(),
    )];
    let web = concat!(env!("CARGO_MANIFEST_DIR"), "/../web");
    for entry in std::fs::read_dir(web).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "js") {
            let text = std::fs::read_to_string(&path).unwrap();
            scripts.push((path.display().to_string(), text));
        }
    }
    assert!(scripts.len() >= 8, "the page's modules are found");
    scripts
}

#[test]
fn the_page_never_renders_message_text_as_html() {
    for (name, script) in page_scripts() {
        assert!(
            !script.contains("innerHTML") && !script.contains("outerHTML"),
            "{name}: text is always set with textContent"
        );
        assert!(!script.contains("insertAdjacentHTML"), "{name}");
        assert!(!script.contains("document.write"), "{name}");
    }
}

/// The deployable page (`web/`) knows nothing of the sandbox but the one module it loads
/// from the runner in demo mode.
#[test]
fn the_sandbox_panel_is_not_part_of_the_deployable_page() {
    let index =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../web/index.html")).unwrap();
    assert!(!index.contains("sandbox"), "web/index.html");
    for (name, script) in page_scripts() {
        if !name.starts_with("local/") {
            assert!(!script.contains("/sandbox/"), "{name} calls the sandbox");
        }
    }
}

/// The page checks files before uploading them with a copy of the server's media rules (a
/// static page has no build step to generate it): the copy must say exactly what the server
/// says, type by type — the extensions and the size limit.
#[test]
fn the_pages_media_rules_are_the_servers() {
    let app = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../web/rules.js"))
        .expect("web/rules.js");
    let start = app
        .find("const MEDIA_RULES = {")
        .expect("MEDIA_RULES in rules.js");
    let block = &app[start..start + app[start..].find("};").expect("end of MEDIA_RULES")];
    let mut page = std::collections::BTreeMap::new();
    for line in block.lines().skip(1) {
        // `"type": { ext: ["a", "b"], max: N * MB },`
        let (content_type, rest) = line.trim().split_once(": {").expect(line);
        let ext = rest
            .split('[')
            .nth(1)
            .and_then(|r| r.split(']').next())
            .expect(line);
        let extensions: Vec<String> = ext
            .split(',')
            .map(|e| e.trim().trim_matches('"').to_owned())
            .collect();
        let megabytes: u64 = rest
            .split("max:")
            .nth(1)
            .and_then(|m| m.split('*').next())
            .and_then(|m| m.trim().parse().ok())
            .expect(line);
        page.insert(
            content_type.trim_matches('"').to_owned(),
            (extensions, megabytes * 1024 * 1024),
        );
    }
    let server: std::collections::BTreeMap<_, _> = shared::domain::MEDIA_RULES
        .iter()
        .map(|r| {
            (
                r.content_type.to_owned(),
                (
                    r.extensions
                        .iter()
                        .map(|e| (*e).to_owned())
                        .collect::<Vec<_>>(),
                    r.max_bytes,
                ),
            )
        })
        .collect();
    assert_eq!(
        page, server,
        "web/rules.js MEDIA_RULES differ from shared::domain::MEDIA_RULES"
    );
}

/// The sentences the page writes itself (before or without the API's answer) are the
/// server's, to the letter.
#[test]
fn the_pages_sentences_are_the_servers() {
    use shared::domain::sentences;
    let app = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../web/rules.js"))
        .expect("web/rules.js");
    for sentence in [
        sentences::OUTSIDE_WINDOW,
        sentences::NO_CONTENT,
        sentences::CONTACT_DELETED,
    ] {
        assert!(
            app.contains(&format!("\"{sentence}\"")),
            "web/rules.js does not say {sentence:?}"
        );
    }
    let prefix = sentences::SEND_FAILED_PREFIX.trim_end_matches(':');
    assert!(
        app.contains(&format!("\"{prefix}.\"")),
        "web/rules.js's fallback failure toast is not {prefix:?}"
    );
}
