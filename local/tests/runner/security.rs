//! Abuse the runner and the Twilio client must refuse: media downloads aimed elsewhere
//! (against a fake Twilio API that answers over raw HTTP exactly as each case needs), a
//! runner with real Twilio that would be an open relay, and DNS-rebound Host names.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use secrecy::SecretString;
use shared::domain::{OrgConfig, PhoneNumber};
use shared::twilio::{MediaPolicy, MediaRefusal, TwilioClient, TwilioError};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use crate::common::{start, start_with};

const ACCOUNT: &str = "AC0123456789abcdef0123456789abcdef";
const MM: &str = "MM0123456789abcdef0123456789abcdef";

fn config() -> OrgConfig {
    OrgConfig {
        account_sid: ACCOUNT.into(),
        auth_token: SecretString::from("token-of-acme"),
        auth_token_secondary: None,
        api_key: None,
        whatsapp_from: Some(PhoneNumber::parse_e164("+14155238886").unwrap()),
        messaging_service_sid: None,
        message_retention_days: None,
        send_read_receipts: true,
    }
}

/// A fake Twilio API on loopback. Each media sid answers one way; `requests` counts every
/// request it received, `authorized` those that carried credentials.
struct FakeTwilio {
    base: String,
    requests: Arc<AtomicUsize>,
    authorized: Arc<AtomicUsize>,
}

fn media_sid(n: u8) -> String {
    format!("ME{n:032x}")
}

async fn fake_twilio(redirects: Vec<(u8, String)>) -> FakeTwilio {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let requests = Arc::new(AtomicUsize::new(0));
    let authorized = Arc::new(AtomicUsize::new(0));
    let (count, auth) = (requests.clone(), authorized.clone());
    tokio::spawn(async move {
        loop {
            let Ok((mut socket, _)) = listener.accept().await else {
                return;
            };
            let (count, auth, redirects) = (count.clone(), auth.clone(), redirects.clone());
            tokio::spawn(async move {
                let mut head = vec![0u8; 8192];
                let n = socket.read(&mut head).await.unwrap_or(0);
                let head = String::from_utf8_lossy(&head[..n]).to_string();
                count.fetch_add(1, Ordering::SeqCst);
                if head.to_ascii_lowercase().contains("\r\nauthorization:") {
                    auth.fetch_add(1, Ordering::SeqCst);
                }
                let path = head
                    .split_whitespace()
                    .nth(1)
                    .unwrap_or_default()
                    .to_owned();
                let redirect = redirects
                    .iter()
                    .find(|(n, _)| path.ends_with(&media_sid(*n)))
                    .map(|(_, to)| to.clone());
                if let Some(location) = redirect {
                    let answer = format!(
                        "HTTP/1.1 307 Temporary Redirect\r\nLocation: {location}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                    );
                    let _ = socket.write_all(answer.as_bytes()).await;
                } else if path.ends_with(&media_sid(2)) {
                    // Chunked, no Content-Length: 64 chunks of 1 KiB, far above the cap.
                    let _ = socket
                        .write_all(b"HTTP/1.1 200 OK\r\nContent-Type: image/jpeg\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n")
                        .await;
                    for _ in 0..64 {
                        let chunk = format!("400\r\n{}\r\n", "x".repeat(1024));
                        if socket.write_all(chunk.as_bytes()).await.is_err() {
                            return;
                        }
                    }
                    let _ = socket.write_all(b"0\r\n\r\n").await;
                } else if path.ends_with(&media_sid(3)) {
                    // Dribbles: one byte every 100 ms, never done within the time cap.
                    let _ = socket
                        .write_all(b"HTTP/1.1 200 OK\r\nContent-Type: image/jpeg\r\nContent-Length: 1000\r\nConnection: close\r\n\r\n")
                        .await;
                    for _ in 0..1000 {
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        if socket.write_all(b"x").await.is_err() {
                            return;
                        }
                    }
                } else {
                    let _ = socket
                        .write_all(b"HTTP/1.1 200 OK\r\nContent-Type: image/jpeg\r\nContent-Length: 4\r\nConnection: close\r\n\r\njpeg")
                        .await;
                }
                let _ = socket.shutdown().await;
            });
        }
    });
    FakeTwilio {
        base,
        requests,
        authorized,
    }
}

impl FakeTwilio {
    fn media_url(&self, account: &str, n: u8) -> String {
        format!(
            "{}/2010-04-01/Accounts/{account}/Messages/{MM}/Media/{}",
            self.base,
            media_sid(n)
        )
    }

    /// A client for this fake as the local runner builds one for its sandbox: the fake's
    /// own host is the one exception to the address rules. 2 KiB cap, 500 ms in all.
    fn client(&self, hosts: &str) -> TwilioClient {
        TwilioClient::new(&self.base, Duration::from_secs(2))
            .unwrap()
            .with_media_policy(
                MediaPolicy::new(hosts, 2048, Duration::from_millis(500))
                    .with_local_sandbox(&self.base),
            )
    }
}

fn refused(result: Result<(Vec<u8>, String), TwilioError>) -> MediaRefusal {
    match result {
        Err(TwilioError::MediaRefused(why)) => why,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[tokio::test]
async fn the_accounts_own_media_is_fetched_with_credentials() {
    let twilio = fake_twilio(vec![]).await;
    let client = twilio.client("");
    let (bytes, content_type) = client
        .fetch_media(&config(), &twilio.media_url(ACCOUNT, 9))
        .await
        .unwrap();
    assert_eq!(
        (bytes.as_slice(), content_type.as_str()),
        (&b"jpeg"[..], "image/jpeg")
    );
    assert_eq!(twilio.authorized.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn another_accounts_media_path_or_another_host_is_not_fetched() {
    let twilio = fake_twilio(vec![]).await;
    let client = twilio.client("");
    let other_account = "AC99999999999999999999999999999999";
    for url in [
        twilio.media_url(other_account, 9),
        format!(
            "{}/2010-04-01/Accounts/{ACCOUNT}/Messages.json",
            twilio.base
        ),
        "http://169.254.169.254/latest/meta-data/iam/security-credentials/".to_owned(),
        "http://127.0.0.1:9001/2018-06-01/runtime/invocation/next".to_owned(),
        "file:///etc/passwd".to_owned(),
    ] {
        assert_eq!(
            refused(client.fetch_media(&config(), &url).await),
            MediaRefusal::NotAccountMedia,
            "{url}"
        );
    }
    assert_eq!(
        twilio.requests.load(Ordering::SeqCst),
        0,
        "nothing was requested"
    );
}

#[tokio::test]
async fn without_the_sandbox_exception_loopback_is_never_connected_to() {
    let twilio = fake_twilio(vec![]).await;
    // The API base itself on loopback, but no exception configured (as on AWS).
    let client = TwilioClient::new(&twilio.base, Duration::from_secs(2))
        .unwrap()
        .with_media_policy(MediaPolicy::new("", 2048, Duration::from_millis(500)));
    assert_eq!(
        refused(
            client
                .fetch_media(&config(), &twilio.media_url(ACCOUNT, 9))
                .await
        ),
        MediaRefusal::PrivateAddress
    );
    assert_eq!(twilio.requests.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn redirects_to_http_loopback_link_local_or_unlisted_hosts_are_not_followed() {
    let target = fake_twilio(vec![]).await;
    let port = target.base.rsplit(':').next().unwrap().to_owned();
    let twilio = fake_twilio(vec![
        (1, "http://media.twiliocdn.com/AC/ME1".into()),
        (4, format!("https://localhost:{port}/ME4")),
        (5, "https://169.254.169.254/latest/meta-data/".into()),
        (6, "https://[::ffff:127.0.0.1]/x".into()),
        (7, "https://attacker.example/collect".into()),
        (8, format!("{}/again", target.base)),
    ])
    .await;
    // The allow-list even names the private hosts: the address rule still refuses them.
    let client = twilio.client("*.twiliocdn.com,localhost,169.254.169.254,::ffff:127.0.0.1");
    for (n, why) in [
        (1, MediaRefusal::NotHttps),
        (4, MediaRefusal::PrivateAddress),
        (5, MediaRefusal::PrivateAddress),
        (6, MediaRefusal::HostNotAllowed),
        (7, MediaRefusal::HostNotAllowed),
        (8, MediaRefusal::NotHttps),
    ] {
        assert_eq!(
            refused(
                client
                    .fetch_media(&config(), &twilio.media_url(ACCOUNT, n))
                    .await
            ),
            why,
            "media {n}"
        );
    }
    assert_eq!(
        twilio.requests.load(Ordering::SeqCst),
        6,
        "one request each, to the API"
    );
    assert_eq!(
        target.requests.load(Ordering::SeqCst),
        0,
        "no redirect reached loopback"
    );
}

#[tokio::test]
async fn an_oversized_chunked_body_stops_at_the_cap_and_a_slow_one_at_the_time_cap() {
    let twilio = fake_twilio(vec![]).await;
    let client = twilio.client("");
    assert_eq!(
        refused(
            client
                .fetch_media(&config(), &twilio.media_url(ACCOUNT, 2))
                .await
        ),
        MediaRefusal::TooLarge
    );
    let started = std::time::Instant::now();
    let slow = client
        .fetch_media(&config(), &twilio.media_url(ACCOUNT, 3))
        .await;
    assert_eq!(slow, Err(TwilioError::Timeout));
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "the total cap ended it"
    );
}

// ---------- the local runner ----------

#[tokio::test]
async fn with_real_twilio_the_runner_serves_no_demo_tokens_and_no_sandbox() {
    let local = start_with(&[("TWILIO_API_BASE_URL", "https://api.twilio.com")]).await;
    assert!(!local.running.own_sandbox);
    for (method, path) in [
        ("GET", "/local/demo"),
        ("POST", "/local/store-faults"),
        ("GET", "/local/sandbox.js"),
        ("GET", "/sandbox/messages"),
        ("POST", "/sandbox/reply"),
        ("GET", "/sandbox/v1/ContentAndApprovals"),
    ] {
        let response = local
            .http
            .request(method.parse().unwrap(), local.url(path))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 404, "{method} {path}");
    }
    // The API itself still works for whoever holds a token (printed to the terminal only).
    let reply = local.get("acme", "/whatsapp/channel").await;
    assert_eq!(reply.status, 200, "{}", reply.body);

    let sandboxed = start().await;
    assert!(sandboxed.running.own_sandbox);
    let demo = sandboxed
        .http
        .get(sandboxed.url("/local/demo"))
        .send()
        .await
        .unwrap();
    assert_eq!(demo.status(), 200);
}

#[tokio::test]
async fn requests_for_another_host_name_are_refused() {
    let local = start_with(&[("PUBLIC_BASE_URL", "https://tunnel.example.net")]).await;
    let port = local.running.addr.port();
    for (host, status) in [
        (format!("127.0.0.1:{port}"), 200),
        (format!("localhost:{port}"), 200),
        ("tunnel.example.net".to_owned(), 200),
        ("TUNNEL.example.net".to_owned(), 200),
        (format!("attacker.example:{port}"), 421),
        ("attacker.example".to_owned(), 421),
        (format!("127.0.0.1:{}", port.wrapping_add(1)), 421),
        ("tunnel.example.net.attacker.example".to_owned(), 421),
    ] {
        for path in ["/local/demo", "/whatsapp/channel", "/"] {
            let response = local
                .http
                .get(local.url(path))
                .header("host", &host)
                .bearer_auth(local.token("acme"))
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), status, "{host} {path}");
            if status == 421 {
                let body: serde_json::Value =
                    serde_json::from_slice(&response.bytes().await.unwrap()).unwrap();
                assert_eq!(body["error"]["code"], "unknown_host");
            }
        }
    }
}

/// Demo tokens lapse as the identity provider's do: refused once expired (401, and no
/// refresh), refreshed while valid into a token of the same user.
#[tokio::test]
async fn a_demo_token_lapses_and_a_valid_one_is_refreshed_for_the_same_user() {
    let local = crate::common::start_with(&[("DEMO_TOKEN_TTL_SECONDS", "2")]).await;
    let first = local.token("acme");
    let refresh = |token: String| {
        let url = local.url("/local/token");
        let http = local.http.clone();
        async move {
            let answer = http.post(url).bearer_auth(token).send().await.unwrap();
            let status = answer.status().as_u16();
            let body: serde_json::Value =
                serde_json::from_slice(&answer.bytes().await.unwrap()).unwrap();
            (status, body)
        }
    };
    let (status, body) = refresh(first.clone()).await;
    assert_eq!(status, 200, "{body}");
    let fresh = body["token"].as_str().unwrap().to_owned();
    assert_ne!(fresh, first);
    assert!(body["expires_at"].as_i64().unwrap() > chrono::Utc::now().timestamp());
    let channel = |token: String| {
        let url = local.url("/whatsapp/channel");
        let http = local.http.clone();
        async move {
            http.get(url)
                .bearer_auth(token)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    assert_eq!(channel(fresh.clone()).await, 200);
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    assert_eq!(channel(first.clone()).await, 401, "lapsed");
    let (status, body) = refresh(first).await;
    assert_eq!(status, 401);
    assert_eq!(body["error"]["code"], "unauthorized");
    assert_eq!(refresh("not-a-token".into()).await.0, 401);
}
