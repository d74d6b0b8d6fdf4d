//! The runner serves the Send Message page from `web/`, with no secrets in it.

use crate::common::start;

#[tokio::test]
async fn the_page_and_its_assets_are_served() {
    let local = start().await;
    for (path, kind, marker) in [
        ("/", "text/html", "Send Message"),
        ("/app.js", "javascript", "./views/conversation.js"),
        (
            "/actions/conversation.js",
            "javascript",
            "/whatsapp/messages",
        ),
        ("/live.js", "javascript", "aws-appsync-event-ws"),
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
    scripts.extend(web_modules());
    assert!(scripts.len() >= 8, "the page's modules are found");
    scripts
}

/// Every module of `web/` by its path there (`app.js`, `actions/session.js`, …).
fn web_modules() -> Vec<(String, String)> {
    let web = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../web"));
    let mut modules = Vec::new();
    for dir in ["", "actions", "views"] {
        for entry in std::fs::read_dir(web.join(dir)).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "js") {
                let name = path.strip_prefix(web).unwrap().display().to_string();
                modules.push((name, std::fs::read_to_string(&path).unwrap()));
            }
        }
    }
    modules.sort();
    modules
}

/// The layer of a module: dom (0) → api/rules/live (1) → state (2) → actions (3) → views (4)
/// → app (5).
fn layer(module: &str) -> u8 {
    match module {
        "app.js" => 5,
        "state.js" => 2,
        "dom.js" => 0,
        m if m.starts_with("views/") => 4,
        m if m.starts_with("actions/") => 3,
        _ => 1,
    }
}

/// The modules a module imports, as paths inside `web/`.
fn imports(module: &str, text: &str) -> Vec<String> {
    let base = std::path::Path::new(module).parent().unwrap().to_path_buf();
    text.lines()
        .filter(|l| l.starts_with("import ") || l.starts_with("} from "))
        .filter_map(|l| {
            l.split(" from \"")
                .nth(1)
                .or_else(|| l.strip_prefix("import \""))
        })
        .filter_map(|rest| rest.split('"').next())
        .filter(|target| target.starts_with('.'))
        .map(|target| {
            let mut path = base.clone();
            for part in target.split('/') {
                match part {
                    "." => {}
                    ".." => {
                        path.pop();
                    }
                    part => path.push(part),
                }
            }
            path.display().to_string()
        })
        .collect()
}

#[test]
fn the_pages_imports_go_one_way_and_views_never_import_each_other() {
    let modules = web_modules();
    let names: Vec<&str> = modules.iter().map(|(n, _)| n.as_str()).collect();
    for wanted in [
        "state.js",
        "api.js",
        "live.js",
        "actions/conversation.js",
        "views/conversation.js",
        "app.js",
    ] {
        assert!(names.contains(&wanted), "{wanted} in {names:?}");
    }
    let mut edges = 0;
    for (module, text) in &modules {
        for target in imports(module, text) {
            edges += 1;
            assert!(
                names.contains(&target.as_str()),
                "{module} imports {target}, which is not a module"
            );
            let (from, to) = (layer(module), layer(&target));
            assert!(
                to < from || (to == from && from == 3),
                "{module} (layer {from}) imports {target} (layer {to}): imports go dom/api/rules → state → actions → views → app"
            );
            // Only the API client and the push transport talk to the network.
            if target == "api.js" {
                assert!(
                    module.starts_with("actions/") || module == "app.js",
                    "{module} calls the API"
                );
            }
        }
    }
    assert!(edges > 20, "imports were found ({edges})");
    // Within the actions, no cycle: each may import only actions it does not lead back to.
    let action_imports = |m: &str| -> Vec<String> {
        let text = &modules.iter().find(|(n, _)| n == m).unwrap().1;
        imports(m, text)
            .into_iter()
            .filter(|t| t.starts_with("actions/"))
            .collect()
    };
    for (module, _) in modules.iter().filter(|(n, _)| n.starts_with("actions/")) {
        let mut stack = action_imports(module);
        let mut seen = std::collections::BTreeSet::new();
        while let Some(next) = stack.pop() {
            assert_ne!(&next, module, "{module} imports itself back");
            if seen.insert(next.clone()) {
                stack.extend(action_imports(&next));
            }
        }
    }
    // Only actions fetch: views and the store never call the API themselves.
    for (module, text) in &modules {
        if module.starts_with("views/") || module == "state.js" {
            assert!(
                !text.contains("fetch(") && !text.contains("call("),
                "{module} calls the network"
            );
        }
    }
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

/// index.html preloads every module of the page, so the browser fetches them at once rather
/// than one level of imports after another.
#[test]
fn the_page_preloads_every_module() {
    let web = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../web"));
    let html = std::fs::read_to_string(web.join("index.html")).expect("web/index.html");
    let mut missing = Vec::new();
    for dir in ["", "actions", "views"] {
        for entry in std::fs::read_dir(web.join(dir)).expect("web folder") {
            let name = entry
                .expect("entry")
                .file_name()
                .into_string()
                .expect("utf-8");
            let module = if dir.is_empty() {
                name.clone()
            } else {
                format!("{dir}/{name}")
            };
            let preloaded = format!("<link rel=\"modulepreload\" href=\"{module}\">");
            if name.ends_with(".js")
                && !["app.js", "config.js"].contains(&module.as_str())
                && !html.contains(&preloaded)
            {
                missing.push(module);
            }
        }
    }
    assert!(
        missing.is_empty(),
        "not preloaded in web/index.html: {missing:?}"
    );
}

/// The page counts a text against the server's limits: the message's and the caption's.
#[test]
fn the_pages_text_limits_are_the_servers() {
    let app = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../web/rules.js"))
        .expect("web/rules.js");
    let expected = format!(
        "export const TEXT_LIMITS = {{ text: {}, caption: {} }};",
        shared::domain::MAX_TEXT_CHARS,
        shared::domain::MAX_CAPTION_CHARS
    );
    assert!(app.contains(&expected), "web/rules.js lacks {expected}");
    use shared::domain as limits;
    let expected = format!(
        "export const INTERACTIVE_LIMITS = {{ body: {}, buttons: {}, buttonTitle: {}, items: {}, listButton: {}, itemTitle: {}, itemDescription: {} }};",
        limits::MAX_INTERACTIVE_BODY_CHARS,
        limits::MAX_BUTTONS,
        limits::MAX_BUTTON_TITLE_CHARS,
        limits::MAX_LIST_ITEMS,
        limits::MAX_LIST_BUTTON_CHARS,
        limits::MAX_ITEM_TITLE_CHARS,
        limits::MAX_ITEM_DESCRIPTION_CHARS,
    );
    assert!(app.contains(&expected), "web/rules.js lacks {expected}");
    // What takes a caption on the page is what takes one on the server.
    for rule in shared::domain::MEDIA_RULES {
        let page =
            rule.content_type.starts_with("image/") || rule.content_type.starts_with("video/");
        assert_eq!(page, rule.takes_caption, "{}", rule.content_type);
    }
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
