//! The Lambda Runtime API in miniature, on loopback: the function process long-polls
//! `GET /2018-06-01/runtime/invocation/next`, gets one event, and posts its answer to
//! `…/{request_id}/response` (or `/error`). Each measured time is taken here, on the harness
//! side: when the first `/next` arrives (the end of init), when an event is handed out and when
//! its answer comes back.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use tokio::sync::{Notify, mpsc, oneshot};

/// How an invocation ended, as the runtime reported it.
#[derive(Debug)]
pub struct Outcome {
    /// From handing out the event to receiving the answer.
    pub latency: std::time::Duration,
    pub body: Bytes,
    pub error: bool,
}

struct Invocation {
    event: Vec<u8>,
    done: oneshot::Sender<Outcome>,
}

struct Shared {
    first_next: Mutex<Option<Instant>>,
    first_next_seen: Notify,
    queue: tokio::sync::Mutex<mpsc::Receiver<Invocation>>,
    in_flight: Mutex<HashMap<String, (Instant, oneshot::Sender<Outcome>)>>,
    counter: Mutex<u64>,
    init_error: Mutex<Option<String>>,
}

/// One Runtime API endpoint for one function process.
pub struct RuntimeApi {
    pub address: std::net::SocketAddr,
    shared: Arc<Shared>,
    send: mpsc::Sender<Invocation>,
    server: tokio::task::JoinHandle<()>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl RuntimeApi {
    pub async fn start() -> std::io::Result<Self> {
        let (send, receive) = mpsc::channel(1);
        let shared = Arc::new(Shared {
            first_next: Mutex::new(None),
            first_next_seen: Notify::new(),
            queue: tokio::sync::Mutex::new(receive),
            in_flight: Mutex::new(HashMap::new()),
            counter: Mutex::new(0),
            init_error: Mutex::new(None),
        });
        let app = Router::new()
            .route("/2018-06-01/runtime/invocation/next", get(next))
            .route(
                "/2018-06-01/runtime/invocation/{id}/response",
                post(response),
            )
            .route("/2018-06-01/runtime/invocation/{id}/error", post(error))
            .route("/2018-06-01/runtime/init/error", post(init_error))
            .with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let address = listener.local_addr()?;
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(Self {
            address,
            shared,
            send,
            server,
        })
    }

    /// When the function first asked for work: init is over.
    pub async fn wait_for_first_next(&self) -> Instant {
        loop {
            let notified = self.shared.first_next_seen.notified();
            if let Some(at) = *lock(&self.shared.first_next) {
                return at;
            }
            notified.await;
        }
    }

    pub fn init_error(&self) -> Option<String> {
        lock(&self.shared.init_error).clone()
    }

    /// Hands one event to the function and waits for its answer.
    pub async fn invoke(&self, event: Vec<u8>) -> Option<Outcome> {
        let (done, answer) = oneshot::channel();
        self.send.send(Invocation { event, done }).await.ok()?;
        answer.await.ok()
    }
}

impl Drop for RuntimeApi {
    fn drop(&mut self) {
        self.server.abort();
    }
}

async fn next(State(shared): State<Arc<Shared>>) -> Response {
    {
        let mut first = lock(&shared.first_next);
        if first.is_none() {
            *first = Some(Instant::now());
            shared.first_next_seen.notify_waiters();
        }
    }
    let Some(invocation) = shared.queue.lock().await.recv().await else {
        return StatusCode::GONE.into_response();
    };
    let id = {
        let mut counter = lock(&shared.counter);
        *counter += 1;
        format!("bench-{:08}", *counter)
    };
    let deadline = chrono::Utc::now().timestamp_millis() + 30_000;
    let mut headers = HeaderMap::new();
    let header = |v: &str| HeaderValue::from_str(v).unwrap_or(HeaderValue::from_static(""));
    headers.insert("lambda-runtime-aws-request-id", header(&id));
    headers.insert("lambda-runtime-deadline-ms", header(&deadline.to_string()));
    headers.insert(
        "lambda-runtime-invoked-function-arn",
        HeaderValue::from_static("arn:aws:lambda:eu-west-1:123456789012:function:bench"),
    );
    headers.insert(
        "lambda-runtime-trace-id",
        HeaderValue::from_static("Root=1-00000000-000000000000000000000000;Sampled=0"),
    );
    headers.insert("content-type", HeaderValue::from_static("application/json"));
    lock(&shared.in_flight).insert(id, (Instant::now(), invocation.done));
    (headers, invocation.event).into_response()
}

fn finish(shared: &Shared, id: &str, body: Bytes, error: bool) -> StatusCode {
    match lock(&shared.in_flight).remove(id) {
        Some((handed_out, done)) => {
            let _ = done.send(Outcome {
                latency: handed_out.elapsed(),
                body,
                error,
            });
            StatusCode::ACCEPTED
        }
        None => StatusCode::BAD_REQUEST,
    }
}

async fn response(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    body: Bytes,
) -> StatusCode {
    finish(&shared, &id, body, false)
}

async fn error(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    body: Bytes,
) -> StatusCode {
    finish(&shared, &id, body, true)
}

async fn init_error(State(shared): State<Arc<Shared>>, body: Bytes) -> StatusCode {
    *lock(&shared.init_error) = Some(String::from_utf8_lossy(&body).into_owned());
    shared.first_next_seen.notify_waiters();
    StatusCode::ACCEPTED
}
