//! The live publisher's request to the Event API, checked by an independent SigV4
//! implementation: botocore (the AWS SDK for Python, in the test venv) recomputes the
//! signature of the request exactly as it reached a loopback endpoint
//! (`tests/aws/sdk/sigv4_check.py`), as AppSync would verify it.

use std::collections::HashMap;

use aws_credential_types::Credentials;
use aws_credential_types::provider::SharedCredentialsProvider;
use shared::aws::EventApiPublisher;
use shared::ports::{ChannelPublisher, PublishError};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

struct Captured {
    method: String,
    path: String,
    headers: HashMap<String, String>,
    body: String,
}

/// Serves one HTTP request on loopback with `answer` (status, body) and returns it as sent.
async fn capture_one(answer: (u16, &'static str)) -> (String, tokio::task::JoinHandle<Captured>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/event", listener.local_addr().unwrap());
    let server = tokio::spawn(async move {
        let (mut stream, _) = listener.accept().await.unwrap();
        let mut raw = Vec::new();
        let mut buffer = [0u8; 4096];
        let (head_end, length) = loop {
            let n = stream.read(&mut buffer).await.unwrap();
            raw.extend_from_slice(&buffer[..n]);
            if let Some(end) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&raw[..end]).to_lowercase();
                let length = head
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length:"))
                    .map(|v| v.trim().parse::<usize>().unwrap())
                    .unwrap_or(0);
                break (end + 4, length);
            }
        };
        while raw.len() < head_end + length {
            let n = stream.read(&mut buffer).await.unwrap();
            raw.extend_from_slice(&buffer[..n]);
        }
        let head = String::from_utf8(raw[..head_end].to_vec()).unwrap();
        let mut lines = head.split("\r\n");
        let mut request_line = lines.next().unwrap().split(' ');
        let method = request_line.next().unwrap().to_owned();
        let path = request_line.next().unwrap().to_owned();
        let headers = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.trim().to_lowercase(), v.trim().to_owned()))
            .collect();
        let body = String::from_utf8(raw[head_end..head_end + length].to_vec()).unwrap();
        let response = format!(
            "HTTP/1.1 {} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{}",
            answer.0,
            answer.1.len(),
            answer.1
        );
        stream.write_all(response.as_bytes()).await.unwrap();
        Captured {
            method,
            path,
            headers,
            body,
        }
    });
    (url, server)
}

fn publisher(url: &str, token: Option<&str>) -> EventApiPublisher {
    let credentials = Credentials::new(
        "AKIDEXAMPLE",
        "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
        token.map(str::to_owned),
        None,
        "test",
    );
    EventApiPublisher::new(
        url,
        "eu-west-1",
        SharedCredentialsProvider::new(credentials),
    )
    .unwrap()
}

/// botocore's Authorization for the captured request.
fn botocore_authorization(url: &str, captured: &Captured, token: Option<&str>) -> String {
    let request = serde_json::json!({
        "method": captured.method,
        "url": url.replace("/event", &captured.path),
        "headers": captured.headers,
        "body": captured.body,
        "region": "eu-west-1",
        "access_key": "AKIDEXAMPLE",
        "secret_key": "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
        "token": token,
    });
    let answer = crate::emulator::venv_script("sigv4_check.py", &request);
    answer["expected"].as_str().unwrap().to_owned()
}

#[tokio::test]
#[ignore = "needs the test venv's botocore (./scripts/test.sh installs it)"]
async fn botocore_recomputes_the_publishers_signature() {
    for token in [None, Some("FwoGZXIvYXdzEXAMPLESESSIONTOKEN//+=")] {
        let (url, server) = capture_one((200, r#"{"failed":[],"successful":[{"identifier":"a","index":0},{"identifier":"b","index":1}]}"#)).await;
        let events = vec![
            r#"{"type":"message","message":{"id":"01KBJ6Q2W3X4Y5Z6A7B8C9D0EF","text":"Ünïcode ✓ & spaces"}}"#.to_owned(),
            r#"{"type":"contact_deleted","contact_id":"c-1"}"#.to_owned(),
        ];
        publisher(&url, token)
            .publish("/whatsapp/acme", &events)
            .await
            .expect("published");
        let captured = server.await.unwrap();
        assert_eq!(
            (captured.method.as_str(), captured.path.as_str()),
            ("POST", "/event")
        );
        let body: serde_json::Value = serde_json::from_str(&captured.body).unwrap();
        assert_eq!(body["channel"], "/whatsapp/acme");
        assert_eq!(
            body["events"].as_array().unwrap().len(),
            2,
            "events go as JSON strings"
        );
        let sent = &captured.headers["authorization"];
        assert!(
            sent.starts_with("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/"),
            "{sent}"
        );
        assert!(sent.contains("/eu-west-1/appsync/aws4_request"), "{sent}");
        let signed = sent
            .split("SignedHeaders=")
            .nth(1)
            .unwrap()
            .split(',')
            .next()
            .unwrap();
        for header in ["content-type", "host", "x-amz-date"] {
            assert!(
                signed.split(';').any(|h| h == header),
                "{header} signed: {signed}"
            );
        }
        if token.is_some() {
            assert!(signed.contains("x-amz-security-token"), "{signed}");
        }
        assert_eq!(
            &botocore_authorization(&url, &captured, token),
            sent,
            "botocore computes the same signature"
        );
        // A changed body no longer matches: the check can fail.
        let tampered = Captured {
            body: captured.body.replace("acme", "acmf"),
            ..captured
        };
        assert_ne!(
            &botocore_authorization(&url, &tampered, token),
            &tampered.headers["authorization"]
        );
    }
}

/// What AppSync answers decides: an event refused for good (a 4xx in `failed`) does not fail
/// the publish of the others, one refused for a reason that may pass (429) does; a whole
/// request refused with a 4xx is `Rejected`, one refused for its credentials is retried.
#[tokio::test]
async fn a_refused_event_or_an_http_error_fails_the_publish() {
    let publish = |answer: (u16, &'static str), events: usize| async move {
        let (url, server) = capture_one(answer).await;
        let result = publisher(&url, None)
            .publish("/whatsapp/acme", &vec!["{}".to_owned(); events])
            .await;
        server.await.unwrap();
        result
    };
    // One of two too large: the other was taken, the large one never will be.
    publish((200, r#"{"failed":[{"identifier":"a","index":1,"code":400,"message":"Event too large"}],"successful":[{"identifier":"b","index":0}]}"#), 2)
        .await
        .unwrap();
    let error = publish((200, r#"{"failed":[{"identifier":"a","index":1,"code":429,"message":"Rate exceeded"}],"successful":[{"identifier":"b","index":0}]}"#), 2)
        .await
        .unwrap_err();
    assert!(
        matches!(error, PublishError::Refused { failed: 1, total: 2, ref reason } if reason.contains("Rate exceeded")),
        "{error}"
    );
    let error = publish(
        (
            400,
            r#"{"errors":[{"errorType":"BadRequestException","message":"Invalid channel"}]}"#,
        ),
        1,
    )
    .await
    .unwrap_err();
    assert!(error.is_permanent(), "{error}");
    let error = publish(
        (403, r#"{"errors":[{"errorType":"UnauthorizedException"}]}"#),
        1,
    )
    .await
    .unwrap_err();
    assert!(!error.is_permanent(), "{error}");
    assert!(error.to_string().contains("403"), "{error}");
    assert!(
        !error.to_string().contains("wJalr"),
        "no secret in an error"
    );
}
