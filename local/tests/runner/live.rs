//! Live updates over the Event API protocol the runner serves at `/event/realtime`: a
//! WebSocket client (tokio-tungstenite) connects and subscribes as the page does, and sees
//! replies, status ticks and contact changes as `data` frames; other organizations'
//! channels, browser publishes and malformed frames are refused with the protocol's frames.

use std::time::Duration;

use base64::Engine;
use reqwest::Method;
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::common::{Local, start};

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Connects as the page does: the protocol, and the token in a `header-` subprotocol.
async fn connect(local: &Local, authorization: &str) -> Socket {
    let header = json!({"host": local.running.addr.to_string(), "Authorization": authorization});
    let encoded = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(header.to_string());
    let url = local.url("/event/realtime").replace("http://", "ws://");
    let mut request = url.into_client_request().unwrap();
    request.headers_mut().insert(
        "sec-websocket-protocol",
        format!("aws-appsync-event-ws, header-{encoded}")
            .parse()
            .unwrap(),
    );
    let (socket, response) = tokio_tungstenite::connect_async(request)
        .await
        .expect("connects");
    assert_eq!(
        response.headers()["sec-websocket-protocol"],
        "aws-appsync-event-ws"
    );
    socket
}

async fn send(socket: &mut Socket, frame: Value) {
    use futures_util::SinkExt;
    socket
        .send(Message::Text(frame.to_string().into()))
        .await
        .unwrap();
}

/// The next text frame other than `ka`, or None within `wait`.
async fn next(socket: &mut Socket, wait: Duration) -> Option<Value> {
    use futures_util::StreamExt;
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        let frame = tokio::time::timeout_at(deadline, socket.next())
            .await
            .ok()??;
        match frame.ok()? {
            Message::Text(text) => {
                let value: Value = serde_json::from_str(&text).unwrap();
                if value["type"] != "ka" {
                    return Some(value);
                }
            }
            Message::Close(_) => return None,
            _ => {}
        }
    }
}

async fn expect(socket: &mut Socket) -> Value {
    next(socket, Duration::from_secs(5)).await.expect("a frame")
}

async fn subscribed(local: &Local, org: &str, channel: &str) -> Socket {
    let token = local.token(org);
    let mut socket = connect(local, &token).await;
    send(&mut socket, json!({"type": "connection_init"})).await;
    let ack = expect(&mut socket).await;
    assert_eq!(ack["type"], "connection_ack");
    assert!(ack["connectionTimeoutMs"].as_u64().unwrap() > 0);
    send(
        &mut socket,
        json!({"type": "subscribe", "id": "s1", "channel": channel,
               "authorization": {"Authorization": token, "host": local.running.addr.to_string()}}),
    )
    .await;
    assert_eq!(
        expect(&mut socket).await,
        json!({"type": "subscribe_success", "id": "s1"})
    );
    socket
}

/// The event a data frame carries (a JSON string).
fn event(frame: &Value) -> Value {
    assert_eq!(frame["type"], "data", "{frame}");
    serde_json::from_str(frame["event"].as_str().expect("event is a JSON string")).unwrap()
}

#[tokio::test]
async fn replies_and_ticks_arrive_as_data_frames_on_the_organizations_channel() {
    let local = start().await;
    let channel = local.get("acme", "/whatsapp/channel").await;
    let live = &channel.body["live"];
    assert_eq!(live["channel"], "/whatsapp/acme");
    assert_eq!(
        live["realtime_url"],
        local.url("/event/realtime").replace("http://", "ws://")
    );
    let mut socket = subscribed(&local, "acme", "/whatsapp/acme").await;

    let reply = local
        .sandbox(
            Method::POST,
            "/reply",
            Some(json!({"from": "+6591234567", "body": "Is it in stock?", "organization_id": "acme"})),
        )
        .await;
    assert_eq!(reply.body["webhook_status"], 200);
    let inbound = event(&expect(&mut socket).await);
    assert_eq!(inbound["type"], "message");
    assert_eq!(inbound["message"]["text"], "Is it in stock?");
    assert_eq!(inbound["message"]["contact_id"], "c-ben");
    assert_eq!(inbound["message"]["status"], "RECEIVED");
    // Its conversation's inbox row: the reply on top, unread.
    let row = event(&expect(&mut socket).await);
    assert_eq!(row["type"], "conversation", "{row}");
    assert_eq!(row["conversation"]["contact_id"], "c-ben");
    assert_eq!(
        row["conversation"]["last_message"]["id"],
        inbound["message"]["id"]
    );
    assert_eq!(
        row["conversation"]["last_message"]["preview"],
        "Is it in stock?"
    );
    assert!(row["conversation"]["unread_count"].as_u64().unwrap() >= 1);
    // The reply also opened the contact's window: its contact event says so.
    let contact = event(&expect(&mut socket).await);
    assert_eq!(contact["type"], "contact");
    assert_eq!(contact["contact"]["contact_id"], "c-ben");
    assert_eq!(contact["window"]["open"], true);

    let sent = local.send_text("acme", "c-ben", "Yes, it is").await;
    assert_eq!(sent.status, 202, "{}", sent.body);
    let id = sent.body["messages"][0]["id"].as_str().unwrap().to_owned();
    // Every status the message passes through, in revision order, until READ.
    let mut statuses = Vec::new();
    let mut revision = String::new();
    while statuses.last().map(String::as_str) != Some("READ") {
        let e = event(&expect(&mut socket).await);
        if e["type"] != "message" || e["message"]["id"] != id {
            continue;
        }
        let r = e["message"]["revision"].as_str().unwrap().to_owned();
        assert!(r > revision, "revisions only move forward");
        revision = r;
        statuses.push(e["message"]["status"].as_str().unwrap().to_owned());
    }
    assert_eq!(statuses.first().map(String::as_str), Some("PENDING"));
    for status in ["SENT", "DELIVERED"] {
        assert!(statuses.iter().any(|s| s == status), "{statuses:?}");
    }
    // What the poll shows is what was pushed.
    let conversation = local.conversation("acme", "c-ben", None).await;
    let polled = conversation["messages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["id"] == id)
        .unwrap()
        .clone();
    assert_eq!(polled["revision"], revision);
}

#[tokio::test]
async fn another_organizations_channel_a_publish_and_bad_frames_are_refused() {
    let local = start().await;
    let acme = local.token("acme");
    let globex = local.token("globex");
    let mut socket = connect(&local, &acme).await;
    send(&mut socket, json!({"type": "connection_init"})).await;
    assert_eq!(expect(&mut socket).await["type"], "connection_ack");
    let auth = json!({"Authorization": acme, "host": "h"});
    for (id, channel, auth, error) in [
        (
            "a",
            json!("/whatsapp/globex"),
            auth.clone(),
            "UnauthorizedException",
        ),
        (
            "b",
            json!("/whatsapp/*"),
            auth.clone(),
            "UnauthorizedException",
        ),
        (
            "c",
            json!("/whatsapp/acme/x"),
            auth.clone(),
            "UnauthorizedException",
        ),
        // Acme's connection, globex's token on the subscription: globex's rule.
        (
            "d",
            json!("/whatsapp/acme"),
            json!({"Authorization": format!("Bearer {globex}")}),
            "UnauthorizedException",
        ),
        (
            "e",
            json!("/whatsapp/acme"),
            json!({"Authorization": "not-a-token"}),
            "UnauthorizedException",
        ),
        ("f", json!("/other/acme"), auth.clone(), "NamespaceNotFound"),
        (
            "g",
            json!("whatsapp acme"),
            auth.clone(),
            "BadRequestException",
        ),
        ("h", json!(42), auth.clone(), "BadRequestException"),
    ] {
        send(
            &mut socket,
            json!({"type": "subscribe", "id": id, "channel": channel, "authorization": auth}),
        )
        .await;
        let frame = expect(&mut socket).await;
        assert_eq!(frame["type"], "subscribe_error", "{channel}: {frame}");
        assert_eq!(frame["id"], id);
        assert_eq!(frame["errors"][0]["errorType"], error, "{channel}: {frame}");
    }
    // Browsers never publish (IAM only).
    send(
        &mut socket,
        json!({"type": "publish", "id": "p", "channel": "/whatsapp/acme",
                              "events": ["{\"type\":\"message\"}"], "authorization": auth}),
    )
    .await;
    let frame = expect(&mut socket).await;
    assert_eq!(frame["type"], "publish_error");
    assert_eq!(frame["errors"][0]["errorType"], "UnauthorizedException");
    // Nor over HTTP: AppSync's `POST /event` answers 401 with the same `errors` list.
    let published = reqwest::Client::new()
        .post(local.url("/event"))
        .header("authorization", acme.as_str())
        .header("content-type", "application/json")
        .body(
            json!({"channel": "/whatsapp/acme", "events": ["{\"type\":\"message\"}"]}).to_string(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(published.status().as_u16(), 401);
    let body: Value = serde_json::from_str(&published.text().await.unwrap()).unwrap();
    assert_eq!(
        body["errors"][0]["errorType"], "UnauthorizedException",
        "{body}"
    );
    assert!(body["errors"][0]["message"].is_string());
    // Malformed frames get an error frame; the connection goes on.
    for bad in [
        Message::Text("{not json".into()),
        Message::Text(json!({"type": "fly"}).to_string().into()),
        Message::Binary(vec![1, 2].into()),
    ] {
        use futures_util::SinkExt;
        socket.send(bad).await.unwrap();
        assert_eq!(expect(&mut socket).await["type"], "error");
    }
    send(&mut socket, json!({"type": "unsubscribe", "id": "nope"})).await;
    assert_eq!(expect(&mut socket).await["type"], "unsubscribe_error");
    send(&mut socket, json!({"type": "subscribe", "id": "ok", "channel": "/whatsapp/acme", "authorization": auth})).await;
    assert_eq!(expect(&mut socket).await["type"], "subscribe_success");
    send(&mut socket, json!({"type": "unsubscribe", "id": "ok"})).await;
    assert_eq!(
        expect(&mut socket).await,
        json!({"type": "unsubscribe_success", "id": "ok"})
    );

    // No valid token on the connection: connection_error, then the server closes.
    let mut stranger = connect(&local, "Bearer forged").await;
    let frame = expect(&mut stranger).await;
    assert_eq!(frame["type"], "connection_error");
    assert_eq!(frame["errors"][0]["errorType"], "UnauthorizedException");
    assert!(next(&mut stranger, Duration::from_secs(2)).await.is_none());
}

#[tokio::test]
async fn an_organization_hears_only_its_own_changes() {
    let local = start().await;
    let mut acme = subscribed(&local, "acme", "/whatsapp/acme").await;
    let mut globex = subscribed(&local, "globex", "/whatsapp/globex").await;
    // The CRM changes a globex contact, then an acme one.
    let wrote = local
        .put_contact(
            "globex",
            "g-hana",
            json!({"name": "Hana Sato", "phone_number": "+60123456782", "whatsapp_opt_in": false}),
        )
        .await;
    assert_eq!(wrote.status, 204, "{}", wrote.body);
    let seen = event(&expect(&mut globex).await);
    assert_eq!(seen["contact"]["contact_id"], "g-hana");
    assert_eq!(seen["contact"]["eligible"], false);
    let wrote = local
        .put_contact("acme", "c-dev", json!({"name": "Dev Patel", "phone_number": "+14155550123", "whatsapp_opt_in": true, "whatsapp_blocked": true}))
        .await;
    assert_eq!(wrote.status, 204, "{}", wrote.body);
    // Acme's first frame is its own change: globex's never reached it.
    let seen = event(&expect(&mut acme).await);
    assert_eq!(seen["contact"]["contact_id"], "c-dev");
    assert_eq!(seen["contact"]["eligible"], false);
    // A contact deleted in the CRM: the page clears the conversation.
    assert_eq!(local.delete_contact("acme", "c-dev").await.status, 204);
    let seen = event(&expect(&mut acme).await);
    assert_eq!(
        seen,
        json!({"type": "contact_deleted", "contact_id": "c-dev"})
    );
    assert!(
        next(&mut globex, Duration::from_millis(300))
            .await
            .is_none()
    );
}
