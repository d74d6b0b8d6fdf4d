//! One HTTPS client per process, for everything: every AWS SDK client (through the
//! `HttpClient` adapter below) and Twilio's API. Its TLS roots are compiled in (Mozilla's, the
//! `webpki-roots` crate), so building it reads no certificate store from disk and parses
//! nothing: a cold start pays for one TLS configuration and one connection pool, once.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use aws_smithy_runtime_api::client::connector_metadata::ConnectorMetadata;
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient,
    SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse};
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::body::SdkBody;

/// How long a connection may take to open (the AWS SDK's own default).
pub const CONNECT_TIMEOUT: Duration = Duration::from_millis(3100);

static TLS: OnceLock<Result<Arc<rustls::ClientConfig>, String>> = OnceLock::new();
static CLIENT: OnceLock<Result<reqwest::Client, String>> = OnceLock::new();

/// The process's TLS configuration: compiled-in roots, aws-lc-rs, TLS 1.2 and 1.3.
pub fn tls_config() -> Result<Arc<rustls::ClientConfig>, String> {
    TLS.get_or_init(|| {
        let roots = rustls::RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        };
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map(|builder| Arc::new(builder.with_root_certificates(roots).with_no_client_auth()))
            .map_err(|e| format!("TLS configuration: {e}"))
    })
    .clone()
}

/// A client builder on the process's TLS configuration, for a client with settings of its
/// own (the media downloads: their own resolver, no redirects).
pub fn builder() -> Result<reqwest::ClientBuilder, String> {
    let tls = tls_config()?;
    Ok(reqwest::Client::builder()
        .tls_backend_preconfigured((*tls).clone())
        .connect_timeout(CONNECT_TIMEOUT)
        .user_agent(concat!("whatsapp-channel/", env!("CARGO_PKG_VERSION"))))
}

/// The process's HTTPS client (a cheap clone of one connection pool). Redirects are not
/// followed: neither the AWS APIs nor Twilio's REST API answer with one the caller should
/// follow blindly.
pub fn client() -> Result<reqwest::Client, String> {
    CLIENT
        .get_or_init(|| {
            builder()?
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .map_err(|e| format!("HTTPS client: {e}"))
        })
        .clone()
}

/// The AWS SDK's HTTP client: the process's HTTPS client behind the SDK's connector traits.
/// Every SDK client built from one `SdkConfig` shares it.
pub fn aws_http_client() -> SharedHttpClient {
    SharedHttpClient::new(SdkHttps)
}

#[derive(Debug, Clone, Copy)]
struct SdkHttps;

impl HttpClient for SdkHttps {
    fn http_connector(
        &self,
        _settings: &HttpConnectorSettings,
        _components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        // Timeouts: the connect timeout is the client's; operation and attempt timeouts are
        // the SDK's own, around this call.
        SharedHttpConnector::new(SdkConnector)
    }

    fn connector_metadata(&self) -> Option<ConnectorMetadata> {
        Some(ConnectorMetadata::new("reqwest", None))
    }
}

#[derive(Debug, Clone, Copy)]
struct SdkConnector;

impl HttpConnector for SdkConnector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        HttpConnectorFuture::new(async move {
            let client = client().map_err(|e| ConnectorError::other(e.into(), None))?;
            let request = request
                .try_into_http1x()
                .map_err(|e| ConnectorError::other(e.into(), None))?;
            let (parts, body) = request.into_parts();
            // Always the SDK's own body, polled as it is sent: the SDK watches its upload
            // throughput through it (stalled-stream protection), and a body read around it
            // would look stalled to the SDK while the service takes its time to answer. The
            // length goes in the Content-Length header the SDK set.
            let body = reqwest::Body::wrap(body);
            let request = reqwest::Request::try_from(http::Request::from_parts(parts, body))
                .map_err(|e| ConnectorError::other(e.into(), None))?;
            let response = client.execute(request).await.map_err(connector_error)?;
            let (parts, body) = http::Response::<reqwest::Body>::from(response).into_parts();
            HttpResponse::try_from(http::Response::from_parts(
                parts,
                SdkBody::from_body_1_x(body),
            ))
            .map_err(|e| ConnectorError::other(e.into(), None))
        })
    }
}

/// What the SDK's retry strategy needs to know: a timeout, an I/O failure (both retried), or
/// anything else.
fn connector_error(e: reqwest::Error) -> ConnectorError {
    if e.is_timeout() {
        ConnectorError::timeout(e.into())
    } else if e.is_connect() || e.is_request() || e.is_body() {
        ConnectorError::io(e.into())
    } else {
        ConnectorError::other(e.into(), None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// A service that takes its time to answer is not a stalled upload: the SDK's
    /// stalled-stream protection (here with a 300 ms grace period) must see the request body
    /// go out, then wait for the answer.
    #[tokio::test]
    async fn a_slow_answer_is_not_taken_for_a_stalled_upload() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let mut request = vec![0u8; 64 * 1024];
                    let _ = socket.read(&mut request).await;
                    tokio::time::sleep(Duration::from_millis(1500)).await;
                    let body = r#"{"Item":{"organization_id":{"S":"acme"}}}"#;
                    let answer = format!(
                        "HTTP/1.1 200 OK\r\nContent-Type: application/x-amz-json-1.0\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                        body.len()
                    );
                    let _ = socket.write_all(answer.as_bytes()).await;
                });
            }
        });
        let config =
            aws_sdk_dynamodb::config::Builder::from(&crate::aws::loopback_sdk_config(&endpoint))
                .stalled_stream_protection(
                    aws_sdk_dynamodb::config::StalledStreamProtectionConfig::enabled()
                        .grace_period(Duration::from_millis(300))
                        .build(),
                )
                .build();
        let out = aws_sdk_dynamodb::Client::from_conf(config)
            .get_item()
            .table_name("t")
            .key(
                "organization_id",
                aws_sdk_dynamodb::types::AttributeValue::S("acme".into()),
            )
            .send()
            .await;
        assert!(out.is_ok(), "{out:?}");
    }

    #[test]
    fn the_roots_are_compiled_in_and_built_once() {
        let first = tls_config().unwrap();
        let again = tls_config().unwrap();
        assert!(Arc::ptr_eq(&first, &again), "one configuration per process");
        // Mozilla's store: well over a hundred roots, none read from the machine.
        assert!(webpki_roots::TLS_SERVER_ROOTS.len() > 100);
        client().unwrap();
    }
}
