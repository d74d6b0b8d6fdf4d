//! The local runner: every Lambda handler behind one HTTP server on the template's routes,
//! the send worker in process, the Twilio sandbox, demo data, and the web page.
#![cfg_attr(test, allow(clippy::too_many_lines))]

mod backend;
pub mod chaos;
mod crm;
pub mod erase;
mod faults;
pub mod gateway;
pub mod history;
pub mod live;
mod media_store;
pub mod sandbox;
pub mod seed;
mod server;
pub mod tokens;
mod worker;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::serve::ListenerExt;
use serde::Serialize;
use shared::config::{ConfigError, Settings};
use shared::domain::{ChannelConfig, parse_org_secret};
use shared::memory::MemoryMedia;
use shared::ports::PortError;
use shared::twilio::{TwilioClient, TwilioError};
use tokio::net::TcpListener;

use crate::seed::Seed;
use crate::server::{AppState, own_host_names, own_host_only, router};

#[derive(Debug, thiserror::Error)]
pub enum LocalError {
    #[error("cannot listen on 127.0.0.1:{port}: {source}")]
    Bind { port: u16, source: std::io::Error },
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("seed: {0}")]
    Seed(String),
    #[error("twilio client: {0}")]
    Twilio(#[from] TwilioError),
    #[error("store: {0}")]
    Store(#[from] PortError),
}

/// Reads a setting by name (the process environment, or a map in tests).
pub type EnvLookup = Arc<dyn Fn(&str) -> Option<String> + Send + Sync>;

pub struct Options {
    /// 0 picks a free port.
    pub port: u16,
    pub seed: Seed,
    /// The Send Message page's static files.
    pub web_dir: PathBuf,
    /// Environment lookups (settings are read as the Lambdas read them, with local
    /// defaults for what points at this process).
    pub env: EnvLookup,
    /// Pause between the sandbox's status callbacks.
    pub callback_delay: Duration,
    pub backend: Backend,
}

/// Where data lives while the runner runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// In-process stores and queue (nothing to install, gone on exit).
    Memory,
    /// DynamoDB, Secrets Manager and SQS through the AWS adapters, at `AWS_ENDPOINT_URL`
    /// (an emulator) or real AWS.
    Aws,
}

impl Options {
    pub fn from_process_env(port: u16, seed: Seed, web_dir: PathBuf) -> Self {
        Self {
            port,
            seed,
            web_dir,
            env: Arc::new(|name| std::env::var(name).ok()),
            callback_delay: Duration::from_millis(700),
            backend: Backend::Memory,
        }
    }
}

/// One demo organization as `/local/demo` shows it (never its Twilio token).
#[derive(Debug, Clone, Serialize)]
pub struct DemoOrganization {
    pub organization_id: String,
    pub name: String,
    pub user: DemoUser,
    pub token: String,
    /// Every agent of the organization with its token, `user` first.
    pub agents: Vec<DemoAgent>,
    pub whatsapp_configured: bool,
    /// The organization's number, or its Messaging Service sid when it has no number.
    pub sender: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct DemoUser {
    pub sub: String,
    pub email: String,
    pub name: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct DemoAgent {
    #[serde(flatten)]
    pub user: DemoUser,
    pub token: String,
    /// The claims its tokens carry (a fresh token is issued from them on every `/local/demo`).
    #[serde(skip)]
    pub identity: tokens::Identity,
}

pub struct Running {
    pub addr: SocketAddr,
    pub base_url: String,
    /// Whether the Twilio API in use is this process's sandbox: only then are demo tokens
    /// served (`/local/demo`) and `/sandbox/*` mounted.
    pub own_sandbox: bool,
    pub organizations: Vec<DemoOrganization>,
    pub settings: Settings,
    server: tokio::task::JoinHandle<()>,
}

impl Running {
    /// Resolves when the server stops.
    pub async fn server_finished(&self) {
        while !self.server.is_finished() {
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    pub fn stop(&self) {
        self.server.abort();
    }
}

/// The settings the handlers get: the environment first, then local defaults pointing the
/// Twilio client and the webhook URLs at this process.
fn local_settings(
    env: &(dyn Fn(&str) -> Option<String> + Send + Sync),
    base_url: &str,
    backend: Backend,
) -> Result<Settings, ConfigError> {
    let base_url = base_url.to_owned();
    let host = base_url.trim_start_matches("http://").to_owned();
    // Push is served here with the in-process stores (their change feed); on the AWS
    // adapters there is no stream to read, and pages poll.
    let live_here = backend == Backend::Memory && env("LIVE_REALTIME_URL").is_none();
    Settings::from_lookup(|name| {
        env(name).or_else(|| match name {
            "LIVE_HTTP_HOST" if live_here => Some(host.clone()),
            "LIVE_REALTIME_URL" if live_here => Some(format!("ws://{host}/event/realtime")),
            "PUBLIC_BASE_URL" => Some(base_url.clone()),
            "TWILIO_API_BASE_URL" => Some(format!("{base_url}/sandbox")),
            // Templates come from wherever messages go: real Twilio's Content API when the
            // API is real Twilio.
            "TWILIO_CONTENT_BASE_URL" | "TWILIO_MESSAGING_BASE_URL"
                if env("TWILIO_API_BASE_URL").is_none() =>
            {
                Some(format!("{base_url}/sandbox"))
            }
            "TWILIO_TIMEOUT_SECONDS" => Some("5".into()),
            "SEND_RETRY_BASE_MS" => Some("1000".into()),
            _ => None,
        })
    })
}

/// Serves the app on the listener until the process ends.
fn serve(listener: TcpListener, app: axum::Router) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let service = app.into_make_service_with_connect_info::<SocketAddr>();
        // Without TCP_NODELAY each response's last segment waits on the browser's delayed
        // ACK (~40 ms a request): the page's 30 modules took 190 ms to arrive instead of 20.
        let listener = listener.tap_io(|stream| {
            if let Err(e) = stream.set_nodelay(true) {
                tracing::warn!(error = %e, "TCP_NODELAY not set");
            }
        });
        if let Err(e) = axum::serve(listener, service).await {
            tracing::error!(error = %e, "server stopped");
        }
    })
}

/// The Twilio client of every handler: the settings' Twilio, whose media may come over plain
/// http from the runner's own sandbox on loopback (the one exception).
fn twilio_client(settings: &Settings, own_sandbox: bool) -> Result<TwilioClient, LocalError> {
    let mut media_policy = settings.media_policy();
    if own_sandbox {
        media_policy = media_policy.with_local_sandbox(&settings.twilio_api_base_url);
    }
    let twilio = TwilioClient::new(&settings.twilio_api_base_url, settings.twilio_timeout)?
        .with_content_base_url(&settings.twilio_content_base_url)?
        .with_messaging_base_url(&settings.twilio_messaging_base_url)?
        .with_media_policy(media_policy);
    Ok(twilio)
}

/// The seed's organizations as the demo's sign-in offers them: each agent with a token of
/// the runner's own, and the sender (or Messaging Service) the organization sends from.
fn demo_organizations(
    seed: &Seed,
    org_claim: &str,
    tokens: &tokens::TokenBook,
) -> Vec<DemoOrganization> {
    let mut demo = Vec::new();
    for org in &seed.organizations {
        // Provisioning tells what AWS would: such an id has no Event API channel.
        if shared::live::channel(&org.organization_id).is_none() {
            tracing::warn!(organization_id = %org.organization_id, "the organization id is no channel segment (1-50 letters, digits and dashes): its pages poll instead of live updates");
        }
        // Its number, or the Messaging Service it sends through.
        let sender =
            org.twilio
                .as_ref()
                .and_then(|secret| match parse_org_secret(&secret.to_string()) {
                    ChannelConfig::Configured(config) => config
                        .whatsapp_from
                        .map(|from| from.to_string())
                        .or(config.messaging_service_sid),
                    ChannelConfig::NotConfigured { .. } => None,
                });
        let mut agents = Vec::new();
        for user in std::iter::once(&org.user).chain(&org.agents) {
            let mut identity = vec![
                ("sub".to_owned(), user.sub.clone()),
                ("email".to_owned(), user.email.clone()),
                (org_claim.to_owned(), org.organization_id.to_string()),
            ];
            if let Some(name) = &user.name {
                identity.push(("name".to_owned(), name.clone()));
            }
            agents.push(DemoAgent {
                user: DemoUser {
                    sub: user.sub.clone(),
                    email: user.email.clone(),
                    name: user.name.clone(),
                },
                token: tokens.issue(&identity),
                identity,
            });
        }
        demo.push(DemoOrganization {
            organization_id: org.organization_id.to_string(),
            name: org.name.clone(),
            user: agents[0].user.clone(),
            token: agents[0].token.clone(),
            agents,
            whatsapp_configured: sender.is_some(),
            sender,
        });
    }
    demo
}

pub async fn start(options: Options) -> Result<Running, LocalError> {
    let listener = TcpListener::bind(("127.0.0.1", options.port))
        .await
        .map_err(|source| LocalError::Bind {
            port: options.port,
            source,
        })?;
    let addr = listener.local_addr().map_err(|source| LocalError::Bind {
        port: options.port,
        source,
    })?;
    let base_url = format!("http://{addr}");
    let settings = local_settings(options.env.as_ref(), &base_url, options.backend)?;

    let own_sandbox = uses_own_sandbox(&settings.twilio_api_base_url, addr);
    let twilio = twilio_client(&settings, own_sandbox)?;
    let media = MemoryMedia::new(base_url.clone());
    let hub = live::Hub::default();
    let (handlers, store_faults, feeds) = match options.backend {
        Backend::Memory => {
            let (handlers, faults, feeds) =
                backend::memory(&options.seed, &settings, twilio, media.clone()).await?;
            (handlers, Some(faults), feeds)
        }
        Backend::Aws => (
            backend::aws(&options.seed, &settings, twilio, &options.env).await?,
            None,
            Vec::new(),
        ),
    };
    let serve_live = !feeds.is_empty()
        && settings
            .live
            .as_ref()
            .is_some_and(|l| l.realtime_url == format!("ws://{}/event/realtime", addr));
    if serve_live {
        live::feed(hub.clone(), media.clone(), feeds);
    }
    let ttl = (options.env)("DEMO_TOKEN_TTL_SECONDS")
        .and_then(|v| v.parse::<i64>().ok())
        .filter(|v| *v > 0)
        .unwrap_or(tokens::DEFAULT_TTL_SECONDS);
    let tokens = tokens::TokenBook::new(ttl);
    let demo = demo_organizations(&options.seed, &settings.org_claim, &tokens);
    let state = AppState {
        handlers,
        org_claim: settings.org_claim.clone(),
        store_faults,
        live: serve_live.then(|| live::socket::Context {
            hub,
            tokens: tokens.clone(),
            org_claim: settings.org_claim.clone(),
        }),
        tokens,
        demo: Arc::new(demo.clone()),
    };
    let sandbox_public = settings
        .public_base_url
        .clone()
        .unwrap_or_else(|| base_url.clone());
    let own_hosts = own_host_names(addr, settings.public_base_url.as_deref());
    let sandbox = own_sandbox
        .then(|| sandbox::Sandbox::new(&options.seed, &sandbox_public, options.callback_delay));
    let app = router(state, sandbox, media, &options.web_dir).layer(
        axum::middleware::from_fn_with_state(Arc::new(own_hosts), own_host_only),
    );
    let server = serve(listener, app);
    Ok(Running {
        addr,
        base_url,
        own_sandbox,
        organizations: demo,
        settings,
        server,
    })
}

/// Whether `api_base_url` is this process's own sandbox (`http://127.0.0.1:{port}/sandbox`):
/// a TWILIO_API_BASE_URL pointing anywhere else means real Twilio (or another Twilio-alike).
fn uses_own_sandbox(api_base_url: &str, addr: SocketAddr) -> bool {
    let Ok(url) = url::Url::parse(api_base_url) else {
        return false;
    };
    let loopback = match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
        None => false,
    };
    loopback
        && url.port_or_known_default() == Some(addr.port())
        && url.path().trim_end_matches('/') == "/sandbox"
}
