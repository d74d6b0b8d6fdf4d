//! Starts a local runner on a free port with fast timings, and talks to it over HTTP.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use local::seed::Seed;
use local::{Options, Running};
use serde_json::Value;

pub struct Local {
    pub running: Running,
    pub http: reqwest::Client,
}

pub async fn start() -> Local {
    start_with(&[]).await
}

pub async fn start_with(env: &[(&str, &str)]) -> Local {
    start_with_seed(Seed::default_demo().expect("bundled seed"), env).await
}

/// A runner on this seed (the bundled one changed by a test).
pub async fn start_with_seed(seed: Seed, env: &[(&str, &str)]) -> Local {
    let mut vars: HashMap<String, String> = HashMap::from([
        ("SEND_RETRY_BASE_MS".into(), "50".into()),
        ("TWILIO_TIMEOUT_SECONDS".into(), "1".into()),
        ("SEND_MAX_ATTEMPTS".into(), "4".into()),
    ]);
    for (k, v) in env {
        vars.insert(k.to_string(), v.to_string());
    }
    let running = local::start(Options {
        port: 0,
        seed,
        web_dir: std::path::PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../web")),
        env: Arc::new(move |name| vars.get(name).cloned()),
        callback_delay: Duration::from_millis(80),
        backend: local::Backend::Memory,
    })
    .await
    .expect("local runner starts");
    Local {
        running,
        http: reqwest::Client::new(),
    }
}

impl Drop for Local {
    fn drop(&mut self) {
        self.running.stop();
    }
}

pub struct Reply {
    pub status: u16,
    pub body: Value,
}

impl Local {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.running.base_url)
    }

    pub fn token(&self, org: &str) -> String {
        self.running
            .organizations
            .iter()
            .find(|o| o.organization_id == org)
            .map(|o| o.token.clone())
            .expect("demo organization")
    }

    async fn send(&self, request: reqwest::RequestBuilder) -> Reply {
        let response = request.send().await.expect("request");
        let status = response.status().as_u16();
        let bytes = response.bytes().await.expect("body");
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Reply { status, body }
    }

    pub async fn get(&self, org: &str, path: &str) -> Reply {
        self.send(self.http.get(self.url(path)).bearer_auth(self.token(org)))
            .await
    }

    pub async fn post(&self, org: &str, path: &str, body: Value) -> Reply {
        self.send(
            self.http
                .post(self.url(path))
                .bearer_auth(self.token(org))
                .json_body(&body),
        )
        .await
    }

    /// A contact written whole as the CRM does (`PUT /local/contacts/{id}`).
    pub async fn put_contact(&self, org: &str, contact_id: &str, body: Value) -> Reply {
        self.send(
            self.http
                .put(self.url(&format!("/local/contacts/{contact_id}")))
                .bearer_auth(self.token(org))
                .json_body(&body),
        )
        .await
    }

    /// A contact deleted as the CRM does (`DELETE /local/contacts/{id}`).
    pub async fn delete_contact(&self, org: &str, contact_id: &str) -> Reply {
        self.send(
            self.http
                .delete(self.url(&format!("/local/contacts/{contact_id}")))
                .bearer_auth(self.token(org)),
        )
        .await
    }

    /// A call to the sandbox (no JWT).
    pub async fn sandbox(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Reply {
        let mut request = self
            .http
            .request(method, self.url(&format!("/sandbox{path}")));
        if let Some(body) = body {
            request = request.json_body(&body);
        }
        self.send(request).await
    }

    pub async fn send_text(&self, org: &str, contact_id: &str, text: &str) -> Reply {
        self.post(
            org,
            "/whatsapp/messages",
            serde_json::json!({"contact_id": contact_id, "text": text}),
        )
        .await
    }

    pub async fn conversation(&self, org: &str, contact_id: &str, after: Option<&str>) -> Value {
        let mut path = format!("/whatsapp/messages?contact_id={contact_id}");
        if let Some(after) = after {
            path.push_str(&format!("&after={after}"));
        }
        let reply = self.get(org, &path).await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        reply.body
    }

    /// Polls the conversation until the message has `status`; returns every status seen.
    pub async fn wait_for_status(
        &self,
        org: &str,
        contact_id: &str,
        id: &str,
        status: &str,
    ) -> Vec<String> {
        let deadline = Instant::now() + Duration::from_secs(15);
        let mut seen: Vec<String> = vec![];
        loop {
            let body = self.conversation(org, contact_id, None).await;
            let message = body["messages"]
                .as_array()
                .and_then(|ms| ms.iter().find(|m| m["id"] == id))
                .cloned()
                .expect("message in conversation");
            let current = message["status"].as_str().unwrap_or_default().to_owned();
            if seen.last() != Some(&current) {
                seen.push(current.clone());
            }
            if current == status {
                return seen;
            }
            assert!(
                Instant::now() < deadline,
                "message {id} never reached {status}; saw {seen:?}; last {message}"
            );
            tokio::time::sleep(Duration::from_millis(15)).await;
        }
    }
}

trait JsonBody {
    fn json_body(self, body: &Value) -> Self;
}

impl JsonBody for reqwest::RequestBuilder {
    fn json_body(self, body: &Value) -> Self {
        self.header("content-type", "application/json")
            .body(body.to_string())
    }
}

pub fn message_id(reply: &Reply) -> String {
    assert_eq!(reply.status, 202, "{}", reply.body);
    reply.body["messages"][0]["id"].as_str().unwrap().to_owned()
}
