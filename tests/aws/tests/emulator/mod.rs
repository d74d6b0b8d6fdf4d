//! The AWS emulator (moto's server) on loopback, and resources named as the SAM template
//! names them for a stack.
#![allow(dead_code)]

use std::net::TcpListener;
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use shared::aws::Resources;
use shared::aws::schema::{self, TableSpec};
use shared::config::Settings;
use shared::runtime::{AwsPorts, aws_ports_from};

/// The emulator's endpoint: `AWS_ENDPOINT_URL` if the test command started one, else a
/// moto server started here from the project's `.venv` (killed when the tests end).
pub fn endpoint() -> &'static str {
    static ENDPOINT: OnceLock<String> = OnceLock::new();
    ENDPOINT.get_or_init(|| {
        if let Some(url) = std::env::var("AWS_ENDPOINT_URL").ok().filter(|u| !u.is_empty()) {
            return url;
        }
        let moto = concat!(env!("CARGO_MANIFEST_DIR"), "/../../.venv/bin/moto_server");
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("a free port");
        // A watchdog shell stops the server once this test process is gone.
        let script = r#""$0" -H 127.0.0.1 -p "$1" >/dev/null 2>&1 & m=$!
while kill -0 "$2" 2>/dev/null; do sleep 1; done
kill $m"#;
        let watchdog = Command::new("sh")
            .args(["-c", script, moto, &port.to_string(), &std::process::id().to_string()])
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
    aws_config::defaults(aws_config::BehaviorVersion::latest())
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

pub fn table_name(stack: &str, spec: &TableSpec) -> String {
    format!(
        "{stack}-{}",
        spec.default_name.trim_start_matches("whatsapp-")
    )
}

impl Stack {
    pub async fn create() -> Stack {
        let name = format!("it{}", ulid::Ulid::new().to_string().to_lowercase());
        let sdk = sdk_config().await;
        let dynamodb = aws_sdk_dynamodb::Client::new(&sdk);
        for spec in [&schema::CONTACTS, &schema::MESSAGES] {
            schema::create_table(&dynamodb, spec, &table_name(&name, spec))
                .await
                .expect("table created");
        }
        let sqs = aws_sdk_sqs::Client::new(&sdk);
        let dlq_url = sqs
            .create_queue()
            .queue_name(format!("{name}-send-dlq"))
            .send()
            .await
            .expect("dlq")
            .queue_url
            .unwrap();
        let dlq_arn = sqs
            .get_queue_attributes()
            .queue_url(&dlq_url)
            .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
            .send()
            .await
            .unwrap()
            .attributes
            .unwrap()[&aws_sdk_sqs::types::QueueAttributeName::QueueArn]
            .clone();
        let queue_url = sqs
            .create_queue()
            .queue_name(format!("{name}-send"))
            .attributes(
                aws_sdk_sqs::types::QueueAttributeName::RedrivePolicy,
                format!(r#"{{"deadLetterTargetArn":"{dlq_arn}","maxReceiveCount":"3"}}"#),
            )
            .attributes(
                aws_sdk_sqs::types::QueueAttributeName::VisibilityTimeout,
                "1",
            )
            .send()
            .await
            .expect("queue")
            .queue_url
            .unwrap();
        let bucket = format!("{name}-media");
        aws_sdk_s3::Client::from_conf(
            aws_sdk_s3::config::Builder::from(&sdk)
                .force_path_style(true)
                .build(),
        )
        .create_bucket()
        .bucket(&bucket)
        .create_bucket_configuration(
            aws_sdk_s3::types::CreateBucketConfiguration::builder()
                .location_constraint(aws_sdk_s3::types::BucketLocationConstraint::EuWest1)
                .build(),
        )
        .send()
        .await
        .expect("bucket");
        let resources = Resources {
            contacts_table: table_name(&name, &schema::CONTACTS),
            messages_table: table_name(&name, &schema::MESSAGES),
            send_queue_url: Some(queue_url),
            media_bucket: Some(bucket),
        };
        Stack {
            name,
            sdk,
            resources,
            dlq_url,
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
        aws_ports_from(&self.settings(), &self.sdk, self.resources.clone())
    }

    pub fn secrets(&self) -> aws_sdk_secretsmanager::Client {
        aws_sdk_secretsmanager::Client::new(&self.sdk)
    }

    pub fn sqs(&self) -> aws_sdk_sqs::Client {
        aws_sdk_sqs::Client::new(&self.sdk)
    }

    pub fn dynamodb(&self) -> aws_sdk_dynamodb::Client {
        aws_sdk_dynamodb::Client::new(&self.sdk)
    }

    /// Provisions an organization's secret as the admin template would.
    pub async fn put_secret(&self, org: &str, json: &str) {
        let name = format!("{}/whatsapp/{org}/twilio", self.name);
        let client = self.secrets();
        if client
            .create_secret()
            .name(&name)
            .secret_string(json)
            .send()
            .await
            .is_err()
        {
            client
                .put_secret_value()
                .secret_id(&name)
                .secret_string(json)
                .send()
                .await
                .expect("secret rotated");
        }
    }
}
