//! The AWS emulator (moto's server) on loopback, and resources named as the SAM template
//! names them for a stack.

use std::net::TcpListener;
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use shared::aws::provision::{self, StackSpec};
use shared::aws::{AwsPorts, Resources};
use shared::config::Settings;
use shared::runtime::aws_ports_from;

/// The emulator's endpoint: `AWS_ENDPOINT_URL` if the test command started one, else a
/// moto server started here from the project's `.venv` (killed when the tests end).
pub fn endpoint() -> &'static str {
    static ENDPOINT: OnceLock<String> = OnceLock::new();
    ENDPOINT.get_or_init(|| {
        if let Some(url) = std::env::var("AWS_ENDPOINT_URL").ok().filter(|u| !u.is_empty()) {
            return url;
        }
        // moto with DynamoDB's isolation (scripts/emulator.py says why).
        let moto = concat!(env!("CARGO_MANIFEST_DIR"), "/../../.venv/bin/python");
        let emulator = concat!(env!("CARGO_MANIFEST_DIR"), "/../../scripts/emulator.py");
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("a free port");
        // A watchdog shell stops the server once this test process is gone.
        let script = r#""$0" "$3" -H 127.0.0.1 -p "$1" >/dev/null 2>&1 & m=$!
while kill -0 "$2" 2>/dev/null; do sleep 1; done
kill $m"#;
        let watchdog = Command::new("sh")
            .args([
                "-c",
                script,
                moto,
                &port.to_string(),
                &std::process::id().to_string(),
                emulator,
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start moto ({e})"));
        // Kept for the life of the process; the shell ends itself.
        static WATCHDOG: OnceLock<std::sync::Mutex<std::process::Child>> = OnceLock::new();
        let _ = WATCHDOG.set(std::sync::Mutex::new(watchdog));
        assert!(
            std::path::Path::new(moto).exists(),
            "no AWS emulator: set AWS_ENDPOINT_URL or run ./scripts/test.sh once to install moto into .venv"
        );
        let url = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "moto did not start on {url}");
            std::thread::sleep(Duration::from_millis(100));
        }
        url
    })
}

pub async fn sdk_config() -> aws_config::SdkConfig {
    let endpoint = endpoint().to_owned();
    shared::aws::sdk_loader()
        .endpoint_url(endpoint)
        .region(aws_config::Region::new("eu-west-1"))
        .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
            "testing", "testing", None, None, "emulator",
        ))
        .load()
        .await
}

/// One deployed "stack": tables, queues and bucket named like the template names them.
pub struct Stack {
    pub name: String,
    pub sdk: aws_config::SdkConfig,
    pub resources: Resources,
    pub dlq_url: String,
}

impl Stack {
    pub async fn create() -> Stack {
        Self::create_with_streams(false).await
    }

    /// A stack whose tables have the template's streams (only for a test that reads one).
    pub async fn create_with_streams(streams: bool) -> Stack {
        let name = format!("it{}", ulid::Ulid::new().to_string().to_lowercase());
        let sdk = sdk_config().await;
        // A failed job is visible again after a second, so redelivery is quick to observe.
        let spec = StackSpec {
            visibility_timeout: 1,
            max_receive_count: 3,
            streams,
            ..StackSpec::named(&name)
        };
        let provisioned = provision::provision(&sdk, &spec)
            .await
            .expect("stack provisioned");
        Stack {
            name,
            sdk,
            resources: provisioned.resources,
            dlq_url: provisioned.dlq_url,
        }
    }

    pub fn settings(&self) -> Settings {
        let prefix = format!("{}/whatsapp/", self.name);
        Settings::from_lookup(|k| match k {
            "SECRET_PREFIX" => Some(prefix.clone()),
            "PUBLIC_BASE_URL" => Some("https://api.example.com".into()),
            _ => None,
        })
        .unwrap()
    }

    pub fn ports(&self) -> AwsPorts {
        let mut ports =
            aws_ports_from(&self.settings(), &self.sdk, self.resources.clone()).expect("ports");
        // The emulator has no stream feeding an indexer: the store indexes its own writes.
        ports.contacts = ports.contacts.indexing_own_writes();
        ports
    }

    pub fn sqs(&self) -> aws_sdk_sqs::Client {
        aws_sdk_sqs::Client::new(&self.sdk)
    }

    /// Keeps every transaction on the messages table in flight for `ms` before it applies,
    /// refusing writes that meet it as DynamoDB does (`scripts/emulator.py`).
    pub async fn transactions_in_flight(&self, ms: u32) {
        transactions_in_flight(&self.sdk, &self.resources.messages_table, ms).await;
    }

    /// Provisions an organization's secret as the admin template would.
    pub async fn put_secret(&self, org: &str, json: &str) {
        let name = format!("{}/whatsapp/{org}/twilio", self.name);
        provision::put_secret(&self.sdk, &name, json)
            .await
            .expect("secret stored");
    }
}

/// Runs a script of `tests/aws/sdk/` with the test venv's python (the official SDKs the test
/// command installs there): `request` as JSON on stdin, its JSON answer from stdout.
pub fn venv_script(script: &str, request: &serde_json::Value) -> serde_json::Value {
    use std::io::Write;
    let python = concat!(env!("CARGO_MANIFEST_DIR"), "/../../.venv/bin/python");
    let path = format!("{}/sdk/{script}", env!("CARGO_MANIFEST_DIR"));
    let mut child = Command::new(python)
        .arg(&path)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("the test venv's python (./scripts/test.sh installs it into .venv)");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(request.to_string().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{script} failed");
    serde_json::from_slice(&out.stdout).expect("a JSON answer")
}

/// Keeps every transaction on `table` in flight for `ms` before it applies, refusing the
/// writes that meet it as DynamoDB does (`scripts/emulator.py`).
pub async fn transactions_in_flight(sdk: &aws_config::SdkConfig, table: &str, ms: u32) {
    let dynamodb = aws_sdk_dynamodb::Client::new(sdk);
    let described = dynamodb
        .describe_table()
        .table_name(table)
        .send()
        .await
        .expect("table described");
    let arn = described
        .table
        .and_then(|t| t.table_arn)
        .expect("a table ARN");
    dynamodb
        .tag_resource()
        .resource_arn(arn)
        .tags(
            aws_sdk_dynamodb::types::Tag::builder()
                .key("emulator:transaction-in-flight-ms")
                .value(ms.to_string())
                .build()
                .expect("a tag"),
        )
        .send()
        .await
        .expect("table tagged");
}
