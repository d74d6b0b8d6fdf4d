//! The bundled seed's history, played as `cargo run -p local` plays it: through the sandbox
//! and the API, leaving exactly one unread message.

use std::time::Duration;

use local::seed::Seed;

use crate::common::start;

#[tokio::test]
async fn the_bundled_history_shows_the_inbox_at_work_with_one_unread_message() {
    let local = start().await;
    let seed = Seed::default_demo().unwrap();
    let acme = seed
        .organizations
        .iter()
        .find(|o| o.organization_id.to_string() == "acme")
        .unwrap();
    assert!(!acme.history.is_empty(), "the bundled seed has a history");
    let played = local::history::play(&local.running.base_url, acme, &local.token("acme"))
        .await
        .expect("the history plays");
    assert_eq!(played, acme.history.len());

    let inbox = local.get("acme", "/whatsapp/conversations").await;
    assert_eq!(inbox.status, 200);
    let rows: Vec<(String, u64)> = inbox.body["conversations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["contact"]["name"].as_str().unwrap().to_owned(),
                c["unread_count"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        rows,
        [
            ("Ben Ong".to_owned(), 1),
            ("Carla Mendes".to_owned(), 0),
            ("Aisha Rahman".to_owned(), 0)
        ]
    );
    assert_eq!(inbox.body["unread_total"], 1);

    // Media arrived and were copied; the agent's messages went out and were read.
    let mut aisha = serde_json::Value::Null;
    for _ in 0..100 {
        aisha = local.conversation("acme", "c-aisha", None).await;
        let done = aisha["messages"].as_array().unwrap().iter().all(|m| {
            m["attachments"]
                .as_array()
                .unwrap()
                .iter()
                .all(|a| !a["url"].is_null())
                && (m["direction"] == "INBOUND" || m["status"] == "READ")
        });
        if done {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let kinds: Vec<(String, String, String)> = aisha["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["direction"].as_str().unwrap().to_owned(),
                m["message_type"].as_str().unwrap().to_owned(),
                m["status"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let expected = [
        ("INBOUND", "TEXT", "RECEIVED"),
        ("OUTBOUND", "TEXT", "READ"),
        ("INBOUND", "IMAGE", "RECEIVED"),
        ("OUTBOUND", "TEXT", "READ"),
    ]
    .map(|(a, b, c)| (a.to_owned(), b.to_owned(), c.to_owned()));
    assert_eq!(kinds, expected);
    assert_eq!(aisha["messages"][1]["agent"]["name"], "Alex Rivera");
}
