//! Sender health end to end: the channel status reads the sandbox's Senders API as Twilio's
//! (`GET /v2/Channels/Senders?Channel=whatsapp`), each status class and Twilio unreadable.

use reqwest::Method;
use serde_json::{Value, json};

use crate::common::start_with;

const ACME: &str = "AC00000000000000000000000000000001";
const ACME_TOKEN: &str = "sandbox-token-acme-0001";
const SENDER: &str = "+14155238886";

#[tokio::test]
async fn the_channel_shows_each_senders_health_as_the_senders_api_lists_it() {
    // No cache, so each change at "Twilio" shows at the next request.
    let local = start_with(&[("TEMPLATE_CACHE_SECONDS", "0")]).await;
    let r = local.get("acme", "/whatsapp/channel").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["sender_health"][0]["sender"], SENDER);
    assert_eq!(r.body["sender_health"][0]["status"], "ONLINE");
    assert_eq!(r.body["sender_health"][0]["quality_rating"], "HIGH");
    assert_eq!(
        r.body["sender_health"][0]["messaging_limit"],
        "10K Customers/24hr"
    );
    assert_eq!(r.body["sender_health"][0]["level"], "green");

    let cases = [
        (
            json!({"sender": SENDER, "status": "ONLINE", "quality_rating": "LOW"}),
            "amber",
        ),
        (
            json!({"sender": SENDER, "status": "TWILIO_REVIEW", "quality_rating": "HIGH"}),
            "amber",
        ),
        (
            json!({"sender": SENDER, "status": "OFFLINE", "quality_rating": "HIGH",
                   "offline_reasons": [{"code": "30008", "message": "No delivery",
                                        "more_info": "https://www.twilio.com/docs/api/errors/30008"}]}),
            "red",
        ),
    ];
    for (setting, level) in cases {
        let set = local
            .sandbox(Method::POST, "/senders", Some(setting.clone()))
            .await;
        assert_eq!(set.status, 200, "{}", set.body);
        let r = local.get("acme", "/whatsapp/channel").await;
        assert_eq!(r.body["sender_health"][0]["level"], level, "{setting}");
        assert_eq!(r.body["sender_health"][0]["status"], setting["status"]);
    }
    let r = local.get("acme", "/whatsapp/channel").await;
    assert_eq!(
        r.body["sender_health"][0]["offline_reasons"][0]["message"],
        "No delivery"
    );

    // Twilio cannot be read: the channel still answers, the health is null.
    let down = local
        .sandbox(
            Method::POST,
            "/senders/unavailable",
            Some(json!({"unavailable": true})),
        )
        .await;
    assert_eq!(down.status, 200);
    let r = local.get("acme", "/whatsapp/channel").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["enabled"], true);
    assert_eq!(r.body["sender_health"], Value::Null);
    // Not asked: left out.
    let r = local
        .get("acme", "/whatsapp/channel?sender_health=false")
        .await;
    assert!(r.body.get("sender_health").is_none(), "{}", r.body);

    // Back to normal.
    assert_eq!(
        local.sandbox(Method::DELETE, "/senders", None).await.status,
        204
    );
    assert_eq!(
        local.get("acme", "/whatsapp/channel").await.body["sender_health"][0]["level"],
        "green"
    );

    // The control refuses what it cannot list.
    let bad = local
        .sandbox(
            Method::POST,
            "/senders",
            Some(json!({"sender": "not a number", "status": "ONLINE"})),
        )
        .await;
    assert_eq!(bad.status, 400);
    assert_eq!(bad.body["error"]["code"], "invalid_sender_health");
}

#[tokio::test]
async fn the_sandboxs_senders_api_answers_as_twilios() {
    let local = start_with(&[]).await;
    let get = |query: &'static str, password: &'static str| {
        let request = local
            .http
            .get(local.url(&format!("/sandbox/v2/Channels/Senders{query}")))
            .basic_auth(ACME, Some(password));
        async move {
            let response = request.send().await.unwrap();
            let status = response.status().as_u16();
            let body: Value =
                serde_json::from_slice(&response.bytes().await.unwrap()).unwrap_or(Value::Null);
            (status, body)
        }
    };
    let (status, page) = get("?Channel=whatsapp", ACME_TOKEN).await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(
        page["senders"][0]["sender_id"],
        format!("whatsapp:{SENDER}")
    );
    assert!(
        page["senders"][0]["sid"]
            .as_str()
            .unwrap()
            .starts_with("XE")
    );
    assert_eq!(page["senders"][0]["properties"]["quality_rating"], "HIGH");
    assert_eq!(page["senders"][0]["offline_reasons"], Value::Null);
    assert_eq!(page["meta"]["key"], "senders");
    assert_eq!(page["meta"]["page_size"], 20, "WhatsApp's default page");
    assert_eq!(page["meta"]["next_page_url"], Value::Null);
    let (status, missing) = get("", ACME_TOKEN).await;
    assert_eq!((status, missing["code"].as_u64()), (400, Some(20001)));
    let (status, rcs) = get("?Channel=rcs", ACME_TOKEN).await;
    assert_eq!(status, 200);
    assert_eq!(rcs["senders"], json!([]));
    let (status, wrong) = get("?Channel=whatsapp", "wrong-token").await;
    assert_eq!((status, wrong["code"].as_u64()), (401, Some(20003)));
    let (status, _) = get("?Channel=whatsapp&PageSize=0", ACME_TOKEN).await;
    assert_eq!(status, 400);
}
