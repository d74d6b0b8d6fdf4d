//! The SAM template declares what the code expects: the route table, the table keys and
//! indexes, the queue settings the worker relies on, and no permission a function does not
//! use.

use std::collections::BTreeSet;

use serde_norway::Value;
use shared::aws::schema::{CONTACT_SEARCH, CONTACTS, MESSAGES, Projected, TableSpec};
use shared::routes::ROUTES;

/// The template with CloudFormation's short tags (`!Ref`, `!Sub`, …) unwrapped.
fn template() -> Value {
    fn untag(v: Value) -> Value {
        match v {
            Value::Tagged(t) => untag(t.value),
            Value::Mapping(m) => {
                Value::Mapping(m.into_iter().map(|(k, v)| (k, untag(v))).collect())
            }
            Value::Sequence(s) => Value::Sequence(s.into_iter().map(untag).collect()),
            other => other,
        }
    }
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../template.yaml"))
        .unwrap();
    untag(serde_norway::from_str(&text).unwrap())
}

fn resources_of_type<'a>(t: &'a Value, kind: &str) -> Vec<(&'a str, &'a Value)> {
    t["Resources"]
        .as_mapping()
        .unwrap()
        .iter()
        .filter(|(_, r)| r["Type"].as_str() == Some(kind))
        .map(|(k, r)| (k.as_str().unwrap(), r))
        .collect()
}

fn keys(schema: &Value) -> (String, Option<String>) {
    let mut hash = String::new();
    let mut range = None;
    for k in schema.as_sequence().unwrap() {
        let name = k["AttributeName"].as_str().unwrap().to_owned();
        match k["KeyType"].as_str().unwrap() {
            "HASH" => hash = name,
            _ => range = Some(name),
        }
    }
    (hash, range)
}

type IndexShape = (String, String, Option<String>, String);

fn assert_table(t: &Value, spec: &TableSpec) {
    let table = &t["Resources"][spec.logical_id]["Properties"];
    assert_eq!(
        keys(&table["KeySchema"]),
        (spec.hash_key.to_owned(), spec.range_key.map(str::to_owned))
    );
    let declared: BTreeSet<IndexShape> = table["GlobalSecondaryIndexes"]
        .as_sequence()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .map(|i| {
            let (h, r) = keys(&i["KeySchema"]);
            let projection = i["Projection"]["ProjectionType"].as_str().unwrap();
            (
                i["IndexName"].as_str().unwrap().to_owned(),
                h,
                r,
                projection.to_owned(),
            )
        })
        .collect();
    let expected: BTreeSet<IndexShape> = spec
        .indexes
        .iter()
        .map(|i| {
            let projection = match i.projected {
                Projected::All => "ALL",
                Projected::KeysOnly => "KEYS_ONLY",
            };
            (
                i.name.to_owned(),
                i.hash_key.to_owned(),
                i.range_key.map(str::to_owned),
                projection.to_owned(),
            )
        })
        .collect();
    assert_eq!(declared, expected, "{}", spec.logical_id);
    assert_eq!(table["BillingMode"], "PAY_PER_REQUEST");
    match spec.ttl_attribute {
        Some(attribute) => {
            assert_eq!(table["TimeToLiveSpecification"]["AttributeName"], attribute);
            assert_eq!(table["TimeToLiveSpecification"]["Enabled"], true);
        }
        None => assert!(
            table["TimeToLiveSpecification"].is_null(),
            "{}",
            spec.logical_id
        ),
    }
    let stream = table["StreamSpecification"]["StreamViewType"].as_str();
    assert_eq!(
        stream,
        spec.stream.then_some("NEW_AND_OLD_IMAGES"),
        "{}",
        spec.logical_id
    );
    assert_eq!(
        table["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"],
        true
    );
    // The name is the stack name plus the suffix the code's default uses.
    let suffix = spec.default_name.trim_start_matches("whatsapp");
    assert_eq!(
        table["TableName"].as_str().unwrap(),
        format!("${{AWS::StackName}}{suffix}")
    );
}

#[test]
fn tables_match_the_code() {
    let t = template();
    assert_table(&t, &CONTACTS);
    assert_table(&t, &MESSAGES);
    assert_table(&t, &CONTACT_SEARCH);
}

#[test]
fn http_api_routes_are_the_route_table() {
    let t = template();
    let mut declared = BTreeSet::new();
    let mut defaults = Vec::new();
    for (_, function) in resources_of_type(&t, "AWS::Serverless::Function") {
        let binary = function["Metadata"]["BuildProperties"]["Binary"]
            .as_str()
            .unwrap()
            .to_owned();
        assert_eq!(function["Metadata"]["BuildMethod"], "rust-cargolambda");
        for (_, event) in function["Properties"]["Events"].as_mapping().unwrap() {
            if event["Type"] != "HttpApi" {
                continue;
            }
            let p = &event["Properties"];
            let public = p["Auth"]["Authorizer"].as_str() == Some("NONE");
            if p["Path"].is_null() && p["Method"].is_null() {
                // The `$default` route: public (it reads nothing), one for the API.
                assert!(public, "the $default route needs no token");
                defaults.push(binary.clone());
                continue;
            }
            declared.insert((
                p["Method"].as_str().unwrap().to_owned(),
                p["Path"].as_str().unwrap().to_owned(),
                binary.clone(),
                public,
            ));
        }
    }
    let expected: BTreeSet<(String, String, String, bool)> = ROUTES
        .iter()
        .map(|r| {
            (
                r.method.to_owned(),
                r.path.to_owned(),
                r.function.to_owned(),
                !r.auth.jwt(),
            )
        })
        .collect();
    assert_eq!(declared, expected);
    assert_eq!(defaults, ["media-url"], "one $default route");
    assert_eq!(t["Globals"]["Function"]["Runtime"], "provided.al2023");
    assert_eq!(
        t["Resources"]["HttpApi"]["Properties"]["Auth"]["DefaultAuthorizer"],
        "JwtAuthorizer"
    );
}

#[test]
fn the_worker_and_its_queues_fit_together() {
    let t = template();
    let worker = &t["Resources"]["SendWorkerFunction"]["Properties"];
    let timeout = worker["Timeout"].as_u64().unwrap();
    for (queue, event) in [("SendQueue", "Jobs"), ("MediaCopyQueue", "MediaJobs")] {
        let properties = &t["Resources"][queue]["Properties"];
        assert!(properties["VisibilityTimeout"].as_u64().unwrap() >= 6 * timeout);
        assert!(properties["RedrivePolicy"]["deadLetterTargetArn"].is_string());
        let jobs = &worker["Events"][event]["Properties"];
        assert_eq!(jobs["FunctionResponseTypes"][0], "ReportBatchItemFailures");
        assert!(
            serde_norway::to_string(&jobs["Queue"])
                .unwrap()
                .contains(queue),
            "{event} reads {queue}"
        );
    }
    // A media copy is its own invocation: it never holds up a batch of sends.
    assert_eq!(worker["Events"]["MediaJobs"]["Properties"]["BatchSize"], 1);
    let variables = &worker["Environment"]["Variables"];
    assert!(!variables["SEND_QUEUE_URL"].is_null() && !variables["MEDIA_QUEUE_URL"].is_null());
    // The webhook queues media copies and nothing else.
    let webhook = &t["Resources"]["TwilioWebhookFunction"]["Properties"];
    assert!(!webhook["Environment"]["Variables"]["MEDIA_QUEUE_URL"].is_null());
    assert!(webhook["Environment"]["Variables"]["SEND_QUEUE_URL"].is_null());
    let policies = serde_norway::to_string(&webhook["Policies"]).unwrap();
    assert!(policies.contains("MediaCopyQueue") && !policies.contains("SendQueue"));
}

/// The worker's settings as deployed are valid (a send claim outlasts a Twilio request, a
/// copy job leaves room for one download), and a media copy job's downloads end well within
/// the function's timeout, its store writes included.
#[test]
fn the_worker_settings_fit_its_timeout() {
    let t = template();
    let worker = &t["Resources"]["SendWorkerFunction"]["Properties"];
    let timeout = worker["Timeout"].as_u64().unwrap();
    let variables = worker["Environment"]["Variables"].clone();
    // A `!Ref` to a parameter reads as the parameter's name: its default is what deploys.
    let settings = shared::config::Settings::from_lookup(|name| {
        let value = variables[name].as_str()?;
        match &t["Parameters"][value]["Default"] {
            Value::Null => Some(value.to_owned()),
            default => Some(serde_norway::to_string(default).ok()?.trim().to_owned()),
        }
    })
    .expect("the worker's environment is valid");
    assert!(settings.send_claim_lease > settings.twilio_timeout + shared::config::CLAIM_MARGIN);
    assert!(
        settings.media_copy_deadline.as_secs() + 15 <= timeout,
        "copies started within {:?} end before the {timeout} s timeout",
        settings.media_copy_deadline
    );
    assert!(settings.media_copy_deadline >= settings.media_fetch_timeout);
}

/// What the code calls, the roles allow: the webhook and the worker change contacts with a
/// conditional UpdateItem (the window, STOP/START, 21610's unsubscribe), never a PutItem that
/// would overwrite the CRM's item; the webhook finds senders by number and by WhatsApp user id.
#[test]
fn contact_changes_and_sender_lookups_are_allowed() {
    let t = template();
    for function in ["TwilioWebhookFunction", "SendWorkerFunction"] {
        let grants = grants(&t, function);
        let on_contacts = |action: &str| {
            grants.iter().any(|(a, resource)| {
                a == action && resource.contains("ContactsTable") && !resource.contains("index")
            })
        };
        assert!(on_contacts("dynamodb:UpdateItem"), "{function}");
        assert!(
            !on_contacts("dynamodb:PutItem"),
            "{function} never replaces a contact"
        );
    }
    let webhook = grants(&t, "TwilioWebhookFunction");
    for index in ["index/phone", "index/whatsapp_user"] {
        assert!(
            webhook
                .iter()
                .any(|(a, resource)| a == "dynamodb:Query" && resource.contains(index)),
            "{index}"
        );
    }
}

/// Every retention period an organization may choose has its bucket rule, deleting files
/// tagged with it after that many days, and nothing else is expired by such a tag. The
/// functions that tag files may.
#[test]
fn each_retention_period_has_its_lifecycle_rule() {
    let t = template();
    let rules = t["Resources"]["MediaBucket"]["Properties"]["LifecycleConfiguration"]["Rules"]
        .as_sequence()
        .unwrap()
        .clone();
    let mut by_tag: Vec<(String, u64)> = rules
        .iter()
        .filter_map(|rule| {
            let filter = &rule["TagFilters"][0];
            (filter["Key"].as_str()? == shared::domain::RETENTION_TAG).then(|| {
                assert_eq!(rule["Status"], "Enabled");
                (
                    filter["Value"].as_str().unwrap().to_owned(),
                    rule["ExpirationInDays"].as_u64().unwrap(),
                )
            })
        })
        .collect();
    by_tag.sort_by_key(|(_, days)| *days);
    let expected: Vec<(String, u64)> = shared::domain::RETENTION_DAYS
        .iter()
        .map(|d| (d.to_string(), u64::from(*d)))
        .collect();
    assert_eq!(by_tag, expected);
    for function in ["SendMessageFunction", "SendWorkerFunction"] {
        assert!(
            grants(&t, function)
                .iter()
                .any(|(action, _)| action == "s3:PutObjectTagging"),
            "{function} tags the files it stores"
        );
    }
}

/// A contact removed from the table starts its erasure: the indexer may queue the job on the
/// long jobs' queue (which the worker consumes), and the worker may read the conversation
/// and delete its messages and files. Nothing else deletes messages.
#[test]
fn a_removed_contact_can_be_erased() {
    let t = template();
    let indexer = &t["Resources"]["ContactIndexerFunction"]["Properties"];
    assert_eq!(
        indexer["Environment"]["Variables"]["MEDIA_QUEUE_URL"],
        "MediaCopyQueue"
    );
    assert!(
        grants(&t, "ContactIndexerFunction")
            .iter()
            .any(|(a, r)| a == "sqs:SendMessage" && r.contains("MediaCopyQueue"))
    );
    let worker = &t["Resources"]["SendWorkerFunction"]["Properties"];
    let consumed = serde_norway::to_string(&worker["Events"]).unwrap();
    assert!(consumed.contains("MediaCopyQueue"), "{consumed}");
    let worker_grants = grants(&t, "SendWorkerFunction");
    let allowed = |action: &str, on: &str| {
        worker_grants
            .iter()
            .any(|(a, r)| a == action && r.contains(on))
    };
    assert!(allowed("dynamodb:Query", "index/conversation"));
    assert!(allowed("dynamodb:DeleteItem", "MessagesTable"));
    assert!(allowed("s3:DeleteObject", "MediaBucket"));
    let deleters: Vec<&str> = resources_of_type(&t, "AWS::Serverless::Function")
        .into_iter()
        .filter(|(name, _)| {
            grants(&t, name)
                .iter()
                .any(|(a, r)| a == "dynamodb:DeleteItem" && r.contains("MessagesTable"))
        })
        .map(|(name, _)| name)
        .collect();
    assert_eq!(deleters, ["CannedResponsesFunction", "SendWorkerFunction"]);
    // The canned responses' deletes are held to their own items: never a message.
    let canned: Vec<Value> = t["Resources"]["CannedResponsesFunction"]["Properties"]["Policies"]
        .as_sequence()
        .unwrap()
        .iter()
        .filter_map(|p| p["Statement"].as_sequence().cloned())
        .flatten()
        .filter(|s| strings(&s["Action"]).contains(&"dynamodb:DeleteItem"))
        .collect();
    assert_eq!(canned.len(), 1);
    assert_eq!(
        strings(&canned[0]["Condition"]["ForAllValues:StringLike"]["dynamodb:LeadingKeys"]),
        ["*#CANNED#*", "*#SHORTCUT#*", "*#CANNED_COUNT"]
    );
}

#[test]
fn policies_are_least_privilege() {
    let t = template();
    let text = serde_norway::to_string(&t).unwrap();
    assert!(!text.contains("dynamodb:Scan"), "no Scan anywhere");
    assert!(!text.contains("dynamodb:*") && !text.contains("secretsmanager:*"));
    for (name, function) in resources_of_type(&t, "AWS::Serverless::Function") {
        for policy in function["Properties"]["Policies"].as_sequence().unwrap() {
            // The customer managed key's policy (`!If [UseKms, …]`) is checked below.
            let Some(statements) = policy["Statement"].as_sequence() else {
                continue;
            };
            for statement in statements {
                let actions = statement["Action"].as_sequence().unwrap();
                if actions
                    .iter()
                    .any(|a| a.as_str().unwrap().starts_with("secretsmanager:"))
                {
                    let resource = statement["Resource"].as_str().unwrap();
                    assert!(
                        resource.ends_with(":secret:whatsapp/*"),
                        "{name}: {resource}"
                    );
                }
                assert_ne!(statement["Resource"], "*", "{name}");
            }
        }
    }
    let key_policy = &t["Resources"]["KmsUsePolicy"]["Properties"]["PolicyDocument"];
    for statement in key_policy["Statement"].as_sequence().unwrap() {
        assert_eq!(
            statement["Resource"].as_str(),
            Some("KmsKeyArn"),
            "the key alone"
        );
        assert!(
            strings(&statement["Action"])
                .iter()
                .all(|a| a.starts_with("kms:"))
        );
    }
}

#[test]
fn the_admin_secret_template_writes_a_secret_the_functions_accept() {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../infra/org-secret.yaml"
    ))
    .unwrap();
    let infra: Value = serde_norway::from_str(&text).unwrap();
    let secret = &infra["Resources"]["TwilioSecret"]["Properties"];
    let Value::Tagged(sub) = &secret["SecretString"] else {
        panic!("SecretString is a !Sub")
    };
    let Value::Tagged(name) = &secret["Name"] else {
        panic!("Name is a !Sub")
    };
    assert_eq!(
        name.value, "whatsapp/${OrganizationId}/twilio",
        "the name the functions read"
    );
    // The secret the stack writes for these parameters (the rest at their defaults).
    let written = |overrides: &[(&str, &str)]| {
        let mut json = sub.value.as_str().unwrap().to_owned();
        let defaults = [
            ("TwilioAccountSid", "AC0123456789abcdef0123456789abcdef"),
            ("TwilioAuthToken", "0123456789abcdef0123456789abcdef"),
            ("TwilioAuthTokenSecondary", ""),
            ("TwilioWhatsAppFrom", "whatsapp:+14155238886"),
            ("TwilioMessagingServiceSid", ""),
            ("WhatsAppEnabled", "true"),
            ("SendReadReceipts", "true"),
            ("MessageRetentionDays", ""),
            ("TwilioApiKeySid", ""),
            ("TwilioApiKeySecret", ""),
        ];
        for (k, default) in defaults {
            let v = overrides
                .iter()
                .find(|(name, _)| *name == k)
                .map_or(default, |(_, v)| *v);
            json = json.replace(&format!("${{{k}}}"), v);
        }
        assert!(
            !json.contains("${"),
            "every placeholder is a parameter: {json}"
        );
        json
    };
    let configured =
        |overrides: &[(&str, &str)]| match shared::domain::parse_org_secret(&written(overrides)) {
            shared::domain::ChannelConfig::Configured(config) => Some(config),
            shared::domain::ChannelConfig::NotConfigured { .. } => None,
        };
    assert!(configured(&[]).is_some());
    assert!(configured(&[("WhatsAppEnabled", "false")]).is_none());
    // Read receipts: on by default, off when the parameter says so.
    assert!(configured(&[]).unwrap().send_read_receipts);
    assert!(
        !configured(&[("SendReadReceipts", "false")])
            .unwrap()
            .send_read_receipts
    );
    // Every retention the parameter allows is one the functions accept, and the only ones.
    let allowed: Vec<String> = infra["Parameters"]["MessageRetentionDays"]["AllowedValues"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect();
    let mut expected = vec![String::new()];
    expected.extend(shared::domain::RETENTION_DAYS.iter().map(|d| d.to_string()));
    assert_eq!(allowed, expected);
    for days in &allowed {
        let config = configured(&[("MessageRetentionDays", days.as_str())]).expect(days);
        assert_eq!(config.message_retention_days, days.parse().ok(), "{days:?}");
    }
    assert_eq!(infra["Parameters"]["TwilioAuthToken"]["NoEcho"], true);
    assert_eq!(infra["Parameters"]["TwilioApiKeySecret"]["NoEcho"], true);
    assert_eq!(
        infra["Parameters"]["TwilioAuthTokenSecondary"]["NoEcho"],
        true
    );
    // A rotation's second token: none by default, accepted beside the primary when given.
    assert_eq!(configured(&[]).unwrap().signing_tokens().count(), 1);
    let rotating = configured(&[(
        "TwilioAuthTokenSecondary",
        "fedcba9876543210fedcba9876543210",
    )])
    .unwrap();
    let tokens: Vec<_> = rotating
        .signing_tokens()
        .map(|t| secrecy::ExposeSecret::expose_secret(t).to_owned())
        .collect();
    assert_eq!(
        tokens,
        [
            "0123456789abcdef0123456789abcdef",
            "fedcba9876543210fedcba9876543210"
        ]
    );
    // With an API key: REST authenticates with it, the auth token stays for webhooks.
    let config = configured(&[
        ("TwilioApiKeySid", "SK0123456789abcdef0123456789abcdef"),
        ("TwilioApiKeySecret", "keysecret0123456789abcdef"),
    ])
    .unwrap();
    assert_eq!(
        config.rest_credentials().0,
        "SK0123456789abcdef0123456789abcdef"
    );
    // A Messaging Service instead of the number, or beside it: sends name the service.
    for from in ["", "whatsapp:+14155238886"] {
        let config = configured(&[
            ("TwilioWhatsAppFrom", from),
            (
                "TwilioMessagingServiceSid",
                "MG0123456789abcdef0123456789abcdef",
            ),
        ])
        .expect(from);
        assert_eq!(
            config.messaging_service_sid.as_deref(),
            Some("MG0123456789abcdef0123456789abcdef")
        );
    }
    // Neither is what the stack's rule refuses, and the functions would not use.
    assert!(configured(&[("TwilioWhatsAppFrom", "")]).is_none());
    assert!(infra["Rules"]["HasASender"].is_mapping());
}

/// The worker claims with UpdateItem, reads back with GetItem, and, reconciling a send whose
/// outcome is unknown, asks the `sid` index whether a Twilio sid is already another message's.
#[test]
fn the_worker_may_do_what_exactly_once_sending_needs() {
    let t = template();
    let grants = grants(&t, "SendWorkerFunction");
    let granted = |action: &str, resource: &str| {
        grants
            .iter()
            .any(|(a, r)| a == action && r.contains(resource))
    };
    assert!(granted("dynamodb:UpdateItem", "MessagesTable"));
    assert!(granted("dynamodb:GetItem", "MessagesTable"));
    assert!(
        granted("dynamodb:Query", "MessagesTable.Arn}/index/sid"),
        "{grants:?}"
    );
    // The conversation index is for erasure (`a_removed_contact_can_be_erased`); the poll
    // index is none of the worker's business.
    assert!(!granted("dynamodb:Query", "index/changes"), "nothing more");
}

/// Sending seals attachments: send-message copies uploads into `{org}/sent/…` and may write
/// nowhere else in the bucket, so nothing it wrote can be reached by a presigned upload.
#[test]
fn send_message_writes_media_only_where_sealed_copies_live() {
    let t = template();
    let policies = &t["Resources"]["SendMessageFunction"]["Properties"]["Policies"];
    let mut writes = Vec::new();
    for statement in policies
        .as_sequence()
        .unwrap()
        .iter()
        .filter_map(|p| p["Statement"].as_sequence().cloned())
        .flatten()
    {
        let actions: Vec<&str> = statement["Action"]
            .as_sequence()
            .unwrap()
            .iter()
            .map(|a| a.as_str().unwrap())
            .collect();
        if actions
            .iter()
            .any(|a| *a == "s3:PutObject" || *a == "s3:DeleteObject")
        {
            writes.push(serde_norway::to_string(&statement["Resource"]).unwrap());
        }
    }
    assert_eq!(writes.len(), 1, "{writes:?}");
    assert!(writes[0].contains("/*/sent/*"), "{}", writes[0]);
}

/// Every (action, resource) a function's policies grant.
fn grants(t: &Value, function: &str) -> Vec<(String, String)> {
    t["Resources"][function]["Properties"]["Policies"]
        .as_sequence()
        .unwrap()
        .iter()
        .filter_map(|p| p["Statement"].as_sequence().cloned())
        .flatten()
        .flat_map(|s| {
            let resource = serde_norway::to_string(&s["Resource"]).unwrap();
            s["Action"]
                .as_sequence()
                .unwrap()
                .iter()
                .map(|a| (a.as_str().unwrap().to_owned(), resource.clone()))
                .collect::<Vec<_>>()
        })
        .collect()
}

/// A YAML list of strings, as its strings (none when it is not a list).
fn strings(v: &Value) -> Vec<&str> {
    v.as_sequence()
        .map(|seq| seq.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

/// The inbox writes read markers and typing indicator turns, never a message, a `SID#`
/// marker or an idempotency record: its only write is a PutItem limited to those keys.
#[test]
fn the_inbox_writes_only_summaries_indicator_turns_drafts_and_presence() {
    let t = template();
    let statements: Vec<Value> = t["Resources"]["InboxFunction"]["Properties"]["Policies"]
        .as_sequence()
        .unwrap()
        .iter()
        .filter_map(|p| p["Statement"].as_sequence().cloned())
        .flatten()
        .collect();
    let writes: Vec<(Vec<&str>, Vec<&str>)> = statements
        .iter()
        .filter(|s| {
            s["Action"].as_sequence().unwrap().iter().any(|a| {
                let a = a.as_str().unwrap();
                a.starts_with("dynamodb:")
                    && ["Put", "Update", "Delete", "Write"]
                        .iter()
                        .any(|w| a.contains(w))
            })
        })
        .map(|s| {
            (
                strings(&s["Action"]),
                strings(&s["Condition"]["ForAllValues:StringLike"]["dynamodb:LeadingKeys"]),
            )
        })
        .collect();
    // Each write is held to its items' keys: never a message, a `SID#` marker or a record.
    assert_eq!(
        writes,
        [
            (vec!["dynamodb:PutItem"], vec!["*#CONV#*", "*#IND#*"]),
            (
                vec!["dynamodb:UpdateItem"],
                vec!["*#DRAFT#*", "*#PRESENCE#*"]
            ),
        ]
    );
}

/// On real S3 a HeadObject or GetObject of a missing key answers 404 only with
/// s3:ListBucket; send-message needs that to say "The attachment was not uploaded.".
#[test]
fn send_message_can_tell_a_missing_upload_from_a_refusal() {
    let t = template();
    let grants = grants(&t, "SendMessageFunction");
    let list: Vec<&(String, String)> = grants
        .iter()
        .filter(|(a, _)| a == "s3:ListBucket")
        .collect();
    assert_eq!(list.len(), 1, "{grants:?}");
    assert!(
        list[0].1.contains("MediaBucket.Arn") && !list[0].1.contains('/'),
        "on the bucket itself: {}",
        list[0].1
    );
}

/// Only the functions that use an organization's auth token may read the secrets:
/// list-contacts, list-messages and presign-upload never see one.
#[test]
fn only_functions_that_use_the_auth_token_read_secrets() {
    let t = template();
    let readers: BTreeSet<&str> = resources_of_type(&t, "AWS::Serverless::Function")
        .into_iter()
        .filter(|(name, _)| {
            grants(&t, name)
                .iter()
                .any(|(a, _)| a == "secretsmanager:GetSecretValue")
        })
        .map(|(name, _)| name)
        .collect();
    assert_eq!(
        readers,
        BTreeSet::from([
            "ChannelFunction",
            "InboxFunction",
            "MediaUrlFunction",
            "SendMessageFunction",
            "SendWorkerFunction",
            "TwilioWebhookFunction",
        ])
    );
}

#[test]
fn dead_letters_raise_an_alarm_that_notifies_someone() {
    let t = template();
    let alarms = resources_of_type(&t, "AWS::CloudWatch::Alarm");
    for dlq in ["SendDeadLetterQueue", "MediaCopyDeadLetterQueue"] {
        let (name, alarm) = alarms
            .iter()
            .find(|(_, a)| {
                serde_norway::to_string(&a["Properties"]["Dimensions"])
                    .unwrap()
                    .contains(dlq)
            })
            .unwrap_or_else(|| panic!("no alarm on {dlq}"));
        let p = &alarm["Properties"];
        assert_eq!(p["Namespace"], "AWS/SQS", "{name}");
        assert_eq!(
            p["MetricName"], "ApproximateNumberOfMessagesVisible",
            "{name}"
        );
        assert_eq!(p["ComparisonOperator"], "GreaterThanThreshold", "{name}");
        assert_eq!(p["Threshold"].as_u64(), Some(0), "{name}");
        let actions = serde_norway::to_string(&p["AlarmActions"]).unwrap();
        assert!(actions.contains("AlarmTopic"), "{name}: {actions}");
    }
    assert_eq!(t["Parameters"]["AlarmTopicArn"]["Default"], "");
    assert_eq!(
        t["Resources"]["AlarmTopic"]["Condition"],
        "CreateAlarmTopic"
    );
}

#[test]
fn every_function_logs_into_a_group_with_retention() {
    let t = template();
    let groups = resources_of_type(&t, "AWS::Logs::LogGroup");
    for (function, _) in resources_of_type(&t, "AWS::Serverless::Function") {
        let group = groups
            .iter()
            .find(|(_, g)| {
                g["Properties"]["LogGroupName"].as_str()
                    == Some(format!("/aws/lambda/${{{function}}}").as_str())
            })
            .unwrap_or_else(|| panic!("no log group for {function}"));
        assert_eq!(group.1["Properties"]["RetentionInDays"], "LogRetentionDays");
    }
}

#[test]
fn queue_triggers_have_a_concurrency_ceiling() {
    let t = template();
    let events = &t["Resources"]["SendWorkerFunction"]["Properties"]["Events"];
    for event in ["Jobs", "MediaJobs"] {
        assert_eq!(
            events[event]["Properties"]["ScalingConfig"]["MaximumConcurrency"],
            "WorkerMaxConcurrency",
            "{event}"
        );
    }
    assert!(t["Parameters"]["WorkerMaxConcurrency"]["MinValue"].as_u64() >= Some(2));
}

/// Twilio's webhooks do not support rate limiting (a 429 is not retried), so the default
/// throttle of the status callback route stays above what the workers can send at their
/// default concurrency: up to three callbacks (sent, delivered, read) per message, and a
/// worker sends at most about 4 messages/s (one Twilio call after another). And the workers
/// together reach Twilio's 80 messages/s per sender.
#[test]
fn the_default_limits_let_one_sender_run_at_twilios_rate() {
    let t = template();
    let default = |name: &str| t["Parameters"][name]["Default"].as_u64().unwrap();
    let workers = default("WorkerMaxConcurrency");
    const MESSAGES_PER_WORKER_SECOND: u64 = 4;
    const CALLBACKS_PER_MESSAGE: u64 = 3;
    const TWILIO_SENDER_RATE: u64 = 80;
    // Even at 2 messages/s per worker (slow Twilio answers) the stack reaches one sender's rate.
    assert!(workers * 2 >= TWILIO_SENDER_RATE, "{workers} workers");
    assert!(
        default("WebhookRateLimit") >= workers * MESSAGES_PER_WORKER_SECOND * CALLBACKS_PER_MESSAGE,
        "the status callbacks of {workers} workers would be throttled"
    );
    assert!(default("WebhookBurstLimit") >= default("WebhookRateLimit"));
}

/// Twilio-facing routes are throttled on their own, apart from the user API's default.
#[test]
fn twilio_facing_routes_are_throttled_apart() {
    let t = template();
    let api = &t["Resources"]["HttpApi"]["Properties"];
    assert!(api["DefaultRouteSettings"]["ThrottlingRateLimit"].is_number());
    let twilio_facing: Vec<String> = ROUTES
        .iter()
        .filter(|r| !r.auth.jwt())
        .map(|r| format!("{} {}", r.method, r.path))
        .collect();
    assert!(twilio_facing.len() >= 4);
    for route in &twilio_facing {
        let settings = &api["RouteSettings"][route.as_str()];
        assert_eq!(
            settings["ThrottlingRateLimit"], "WebhookRateLimit",
            "{route}"
        );
        assert_eq!(
            settings["ThrottlingBurstLimit"], "WebhookBurstLimit",
            "{route}"
        );
    }
    assert_eq!(
        api["RouteSettings"].as_mapping().unwrap().len(),
        twilio_facing.len(),
        "no user route is throttled with Twilio's"
    );
}

#[test]
fn the_worker_downloads_media_only_from_the_configured_hosts() {
    let t = template();
    let variables = &t["Resources"]["SendWorkerFunction"]["Properties"]["Environment"]["Variables"];
    assert_eq!(variables["TWILIO_MEDIA_HOSTS"], "TwilioMediaHosts");
    assert_eq!(
        t["Parameters"]["TwilioMediaHosts"]["Default"],
        shared::twilio::DEFAULT_MEDIA_HOSTS
    );
}

/// Every contact write, the CRM's included, reaches the indexer: the contacts table streams
/// both images, the indexer reports partial failures and sends what keeps failing to a
/// dead-letter queue with an alarm; list-contacts may read the index and nothing writes it
/// but the indexer.
#[test]
fn the_search_index_is_fed_by_the_contacts_stream() {
    let t = template();
    assert_eq!(
        t["Resources"]["ContactsTable"]["Properties"]["StreamSpecification"]["StreamViewType"],
        "NEW_AND_OLD_IMAGES"
    );
    let indexer = &t["Resources"]["ContactIndexerFunction"]["Properties"];
    let stream = &indexer["Events"]["ContactChanges"]["Properties"];
    assert_eq!(indexer["Events"]["ContactChanges"]["Type"], "DynamoDB");
    assert!(
        serde_norway::to_string(&stream["Stream"])
            .unwrap()
            .contains("ContactsTable")
    );
    assert_eq!(
        stream["FunctionResponseTypes"][0],
        "ReportBatchItemFailures"
    );
    assert_eq!(stream["BisectBatchOnFunctionError"], true);
    let dlq = serde_norway::to_string(&stream["DestinationConfig"]).unwrap();
    assert!(dlq.contains("ContactIndexDeadLetterQueue"), "{dlq}");
    let alarms = serde_norway::to_string(&resources_of_type(&t, "AWS::CloudWatch::Alarm")).unwrap();
    assert!(alarms.contains("ContactIndexDeadLetterQueue"));

    let writers: Vec<&str> = resources_of_type(&t, "AWS::Serverless::Function")
        .into_iter()
        .filter(|(name, _)| {
            grants(&t, name)
                .iter()
                .any(|(a, r)| r.contains("ContactSearchTable") && a != "dynamodb:Query")
        })
        .map(|(name, _)| name)
        .collect();
    assert_eq!(writers, ["ContactIndexerFunction"]);
    assert!(
        grants(&t, "ListContactsFunction")
            .iter()
            .any(|(a, r)| a == "dynamodb:Query" && r.contains("ContactSearchTable"))
    );
}

#[test]
fn live_updates_are_subscribed_with_the_crm_jwt_and_published_only_by_the_publisher() {
    let t = template();
    let api = &t["Resources"]["EventApi"]["Properties"]["EventConfig"];
    let providers = serde_norway::to_string(&api["AuthProviders"]).unwrap();
    // The HTTP API's issuer and audiences: the same JWT on both.
    assert!(
        providers.contains("OPENID_CONNECT") && providers.contains("JwtIssuer"),
        "{providers}"
    );
    assert!(providers.contains("JwtAudience"), "{providers}");
    assert_eq!(api["ConnectionAuthModes"][0]["AuthType"], "OPENID_CONNECT");
    assert_eq!(api["DefaultPublishAuthModes"][0]["AuthType"], "AWS_IAM");
    let namespace = &t["Resources"]["EventApiNamespace"]["Properties"];
    assert_eq!(namespace["Name"], shared::live::NAMESPACE);
    // Browsers (OIDC) may subscribe, never publish.
    assert_eq!(
        namespace["PublishAuthModes"].as_sequence().unwrap().len(),
        1
    );
    assert_eq!(namespace["PublishAuthModes"][0]["AuthType"], "AWS_IAM");
    assert_eq!(
        namespace["SubscribeAuthModes"][0]["AuthType"],
        "OPENID_CONNECT"
    );
    let code = namespace["CodeHandlers"].as_str().unwrap();
    assert!(code.contains("claims['${OrganizationClaim}']"), "{code}");
    assert!(code.contains("util.unauthorized()"), "{code}");

    // Both tables' streams feed the publisher, with partial batch failures and a DLQ.
    assert_eq!(
        t["Resources"]["MessagesTable"]["Properties"]["StreamSpecification"]["StreamViewType"],
        "NEW_AND_OLD_IMAGES"
    );
    let publisher = &t["Resources"]["LivePublisherFunction"]["Properties"];
    for (source, table) in [
        ("MessageChanges", "MessagesTable"),
        ("ContactChanges", "ContactsTable"),
    ] {
        let stream = &publisher["Events"][source]["Properties"];
        assert!(
            serde_norway::to_string(&stream["Stream"])
                .unwrap()
                .contains(table)
        );
        assert_eq!(
            stream["FunctionResponseTypes"][0],
            "ReportBatchItemFailures"
        );
        let dlq = serde_norway::to_string(&stream["DestinationConfig"]).unwrap();
        assert!(dlq.contains("LivePublishDeadLetterQueue"), "{dlq}");
    }
    let alarms = serde_norway::to_string(&resources_of_type(&t, "AWS::CloudWatch::Alarm")).unwrap();
    assert!(alarms.contains("LivePublishDeadLetterQueue"));
    let publishers: Vec<&str> = resources_of_type(&t, "AWS::Serverless::Function")
        .into_iter()
        .filter(|(name, _)| {
            grants(&t, name)
                .iter()
                .any(|(a, _)| a.starts_with("appsync:"))
        })
        .map(|(name, _)| name)
        .collect();
    assert_eq!(publishers, ["LivePublisherFunction"]);
    let grants = grants(&t, "LivePublisherFunction");
    assert!(
        grants.iter().any(|(a, r)| a == "appsync:EventPublish"
            && r.trim_end().ends_with("/channelNamespace/whatsapp")),
        "{grants:?}"
    );
    // The page learns where to connect from the channel route.
    let env =
        serde_norway::to_string(&t["Resources"]["ChannelFunction"]["Properties"]["Environment"])
            .unwrap();
    assert!(
        env.contains("LIVE_HTTP_HOST") && env.contains("LIVE_REALTIME_URL"),
        "{env}"
    );
}

/// What an intrinsic function yields: a string or a list of strings.
#[derive(Debug, Clone, PartialEq)]
enum Evaluated {
    Text(String),
    List(Vec<String>),
}

/// Evaluates `Ref` (of a list parameter), `Join`, `Split` and `Sub` (with its variables)
/// as CloudFormation does, for the given parameters.
fn evaluate(v: &Value, parameters: &std::collections::HashMap<&str, Vec<String>>) -> Evaluated {
    let text = |v: &Value| match evaluate(v, parameters) {
        Evaluated::Text(t) => t,
        other => panic!("a string, not {other:?}"),
    };
    let list = |v: &Value| match evaluate(v, parameters) {
        Evaluated::List(l) => l,
        other => panic!("a list, not {other:?}"),
    };
    match v {
        Value::String(s) => Evaluated::Text(s.clone()),
        Value::Tagged(t) => {
            let args = &t.value;
            match t.tag.to_string().trim_start_matches('!') {
                "Ref" => Evaluated::List(parameters[args.as_str().unwrap()].clone()),
                "Join" => Evaluated::Text(list(&args[1]).join(&text(&args[0]))),
                "Split" => Evaluated::List(
                    text(&args[1])
                        .split(text(&args[0]).as_str())
                        .map(str::to_owned)
                        .collect(),
                ),
                "Sub" => {
                    let mut out = text(&args[0]);
                    for (name, value) in args[1].as_mapping().unwrap() {
                        let name = name.as_str().unwrap();
                        out = out.replace(&format!("${{{name}}}"), &text(value));
                    }
                    Evaluated::Text(out)
                }
                other => panic!("!{other} is not evaluated here"),
            }
        }
        other => panic!("not an intrinsic: {other:?}"),
    }
}

#[test]
fn the_event_apis_audience_pattern_is_anchored_and_escaped() {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../template.yaml"))
        .unwrap();
    let raw: Value = serde_norway::from_str(&text).unwrap();
    let client_id = &raw["Resources"]["EventApi"]["Properties"]["EventConfig"]["AuthProviders"][0]
        ["OpenIDConnectConfig"]["ClientId"];
    let audiences = vec!["api.example.com".to_owned(), "1a2b3c4d".to_owned()];
    let parameters = std::collections::HashMap::from([("JwtAudience", audiences.clone())]);
    let Evaluated::Text(pattern) = evaluate(client_id, &parameters) else {
        panic!("a pattern")
    };
    let pattern = regex_lite::Regex::new(&pattern).unwrap();
    for aud in &audiences {
        assert!(pattern.is_match(aud), "{aud} is accepted");
    }
    for other in [
        "apiXexample.com",
        "api.example.com.evil",
        "x1a2b3c4d",
        "1a2b3c4d|",
        "",
    ] {
        assert!(!pattern.is_match(other), "{other:?} is refused");
    }
    // An audience the pattern could misread is refused by the parameter itself.
    let allowed = regex_lite::Regex::new(
        template()["Parameters"]["JwtAudience"]["AllowedPattern"]
            .as_str()
            .unwrap(),
    )
    .unwrap();
    assert!(audiences.iter().all(|a| allowed.is_match(a)));
    assert!(allowed.is_match("https://api.example.com/whatsapp"));
    for bad in ["a|b", "a*", "(a)", "a$", "a\\b", "[a]", "a+", "a?"] {
        assert!(!allowed.is_match(bad), "{bad}");
    }
}

/// With a customer managed key (`KmsKeyArn`), everything at rest is encrypted under it and
/// every function may use it: each one's policies attach the stack's key policy, which
/// grants `kms:Decrypt` (and data keys, for writers) on that key alone.
#[test]
fn every_store_uses_the_customer_key_and_every_function_may() {
    let t = template();
    let under_key = |v: &Value| {
        let seq = v.as_sequence();
        seq.is_some_and(|s| s.first().and_then(Value::as_str) == Some("UseKms"))
    };
    let functions = resources_of_type(&t, "AWS::Serverless::Function");
    assert!(functions.len() >= 11, "{}", functions.len());
    for (name, f) in functions {
        let attached = f["Properties"]["Policies"]
            .as_sequence()
            .unwrap()
            .iter()
            .any(|p| under_key(p) && p[1].as_str() == Some("KmsUsePolicy"));
        assert!(attached, "{name} may not use the customer managed key");
    }
    let policy = &t["Resources"]["KmsUsePolicy"]["Properties"]["PolicyDocument"]["Statement"][0];
    let actions = strings(&policy["Action"]);
    assert!(actions.contains(&"kms:Decrypt") && actions.contains(&"kms:GenerateDataKey"));
    assert_eq!(policy["Resource"].as_str(), Some("KmsKeyArn"));
    assert!(
        under_key(&t["Globals"]["Function"]["KmsKeyArn"]),
        "the functions' environment"
    );
    for (kind, property) in [
        ("AWS::SQS::Queue", "KmsMasterKeyId"),
        ("AWS::Logs::LogGroup", "KmsKeyId"),
        ("AWS::DynamoDB::Table", "SSESpecification"),
    ] {
        let resources = resources_of_type(&t, kind);
        assert!(!resources.is_empty(), "{kind}");
        for (name, r) in resources {
            assert!(under_key(&r["Properties"][property]), "{name}'s {property}");
        }
    }
    let bucket = &t["Resources"]["MediaBucket"]["Properties"]["BucketEncryption"]["ServerSideEncryptionConfiguration"]
        [0]["ServerSideEncryptionByDefault"];
    assert!(under_key(bucket), "the media bucket");
}

/// The functions are the folders of `functions/`, the one list the scripts read
/// (`scripts/common.sh`, `lambda_functions`) and the workspace globs: each folder is deployed
/// (a template function building its binary), run by the local runner (linked in, or — the
/// contact indexer — imitated by its in-process stores, as named here), and measured by the
/// benchmark; every route's function is one of them.
#[test]
fn the_functions_are_the_folders_of_functions_everywhere() {
    let workspace = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let read = |path: &str| std::fs::read_to_string(workspace.join(path)).unwrap();
    let folders: BTreeSet<String> = std::fs::read_dir(workspace.join("functions"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("Cargo.toml").is_file())
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert!(folders.len() >= 11, "{folders:?}");
    assert!(
        read("Cargo.toml").contains("\"functions/*\""),
        "the workspace globs them"
    );

    let t = template();
    let deployed: BTreeSet<String> = resources_of_type(&t, "AWS::Serverless::Function")
        .into_iter()
        .map(|(_, f)| {
            f["Metadata"]["BuildProperties"]["Binary"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(deployed, folders, "template.yaml deploys each folder");

    for route in ROUTES {
        assert!(folders.contains(route.function), "{}", route.function);
    }
    // The contact indexer's work (the search index, an erasure's start) is the in-process
    // stores' and local/src/erase.rs's in the runner.
    const IMITATED_BY_THE_RUNNER: [&str; 1] = ["contact-indexer"];
    let runner = read("local/Cargo.toml");
    // The benchmark's steps name each function they run: a plain one in its table, the others
    // in their own step.
    let bench = read("bench/src/script/functions.rs");
    for function in &folders {
        let linked = runner.contains(&format!("\n{function}.workspace = true"));
        assert!(
            linked ^ IMITATED_BY_THE_RUNNER.contains(&function.as_str()),
            "{function}: run by the local runner"
        );
        assert!(
            bench.contains(&format!("self.function(\"{function}\")"))
                || bench.contains(&format!("name: \"{function}\",")),
            "{function}: measured by the benchmark"
        );
    }
}
