#![cfg_attr(test, allow(clippy::too_many_lines))]
use std::path::PathBuf;

use local::seed::Seed;

const USAGE: &str = "usage: local [--port N] [--seed FILE] [--web DIR] [--aws]
       local reindex ORGANIZATION_ID...
       local erase ORGANIZATION_ID CONTACT_ID...
       local backfill-inbox ORGANIZATION_ID...
  --port N     port on 127.0.0.1 (default: $PORT or 8080; 0 picks a free one)
  --seed FILE  demo data to load (default: $SEED_FILE or the bundled local/seed.json)
  --web DIR    static files of the Send Message page (default: $WEB_DIR or ./web)
  --aws        keep data in DynamoDB / Secrets Manager / SQS through the AWS adapters, at
               $AWS_ENDPOINT_URL (an emulator: tables, queue and secrets are created) or AWS
               (default: $LOCAL_BACKEND=aws, else in process)
  reindex      rebuild the contact search index of these organizations from their contacts
               in DynamoDB ($CONTACTS_TABLE, $CONTACT_SEARCH_TABLE, AWS credentials and region
               from the environment): after an upgrade, or a change the indexer gave up on
  erase        erase what is stored of contacts the CRM deleted: queues their erasure for the
               worker ($SEND_QUEUE_URL, $MEDIA_QUEUE_URL, $CONTACTS_TABLE): for a removal the
               indexer gave up on, or contacts deleted before erasure existed
  backfill-inbox  start the inbox rows of conversations from before the inbox ($CONTACTS_TABLE,
               $MESSAGES_TABLE): each contact's conversation without a row gets one from its
               newest message, nothing unread; rows kept since are never touched";

struct Args {
    port: u16,
    seed: Option<PathBuf>,
    web: PathBuf,
    aws: bool,
}

fn args() -> Result<Args, String> {
    let mut port = std::env::var("PORT").ok();
    let mut seed = std::env::var("SEED_FILE").ok().map(PathBuf::from);
    let mut web = std::env::var("WEB_DIR")
        .ok()
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../web")));
    let mut aws = std::env::var("LOCAL_BACKEND").is_ok_and(|b| b.eq_ignore_ascii_case("aws"));
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--port" => port = it.next(),
            "--seed" => seed = it.next().map(PathBuf::from),
            "--web" => web = it.next().map(PathBuf::from).ok_or(USAGE)?,
            "--aws" => aws = true,
            "-h" | "--help" => return Err(USAGE.into()),
            other => return Err(format!("unknown argument {other}\n{USAGE}")),
        }
    }
    let port = match port {
        None => 8080,
        Some(p) => p
            .parse()
            .map_err(|_| format!("--port {p} is not a port\n{USAGE}"))?,
    };
    Ok(Args {
        port,
        seed,
        web,
        aws,
    })
}

/// `local reindex ORG…`: rebuilds each organization's search terms from its stored contacts.
/// The organizations named on the command line; None (the usage printed) if one is not an
/// organization id or none is named.
fn organization_ids(organizations: &[String]) -> Option<Vec<shared::domain::OrganizationId>> {
    let mut orgs = Vec::new();
    for id in organizations {
        match shared::domain::OrganizationId::parse(id) {
            Ok(org) => orgs.push(org),
            Err(e) => {
                eprintln!("{id}: {e}\n{USAGE}");
                return None;
            }
        }
    }
    if orgs.is_empty() {
        eprintln!("{USAGE}");
        return None;
    }
    Some(orgs)
}

async fn reindex(organizations: &[String]) -> std::process::ExitCode {
    let Some(orgs) = organization_ids(organizations) else {
        return std::process::ExitCode::from(2);
    };
    let resources = shared::aws::Resources::from_lookup(|n| std::env::var(n).ok());
    let sdk = shared::aws::sdk_config().await;
    let contacts = shared::aws::DynamoContacts::new(
        aws_sdk_dynamodb::Client::new(&sdk),
        resources.contacts_table,
    )
    .with_search_index(resources.contact_search_table);
    let mut code = std::process::ExitCode::SUCCESS;
    for org in &orgs {
        match contacts.reindex(org).await {
            Ok((read, terms)) => println!("{org}: {read} contacts read, {terms} search terms"),
            Err(e) => {
                eprintln!("{org}: {e}");
                code = std::process::ExitCode::FAILURE;
            }
        }
    }
    code
}

/// `local backfill-inbox ORG…`: starts the inbox rows of conversations from before the
/// inbox (`DynamoMessages::backfill_summaries`).
async fn backfill_inbox(organizations: &[String]) -> std::process::ExitCode {
    let Some(orgs) = organization_ids(organizations) else {
        return std::process::ExitCode::from(2);
    };
    let resources = shared::aws::Resources::from_lookup(|n| std::env::var(n).ok());
    let client = aws_sdk_dynamodb::Client::new(&shared::aws::sdk_config().await);
    let contacts = shared::aws::DynamoContacts::new(client.clone(), resources.contacts_table);
    let messages = shared::aws::DynamoMessages::new(client, resources.messages_table);
    let mut code = std::process::ExitCode::SUCCESS;
    for org in &orgs {
        let done = match contacts.contact_ids(org).await {
            Ok(ids) => messages
                .backfill_summaries(org, &ids)
                .await
                .map(|started| (ids.len(), started)),
            Err(e) => Err(e),
        };
        match done {
            Ok((read, started)) => {
                println!("{org}: {read} contacts read, {started} inbox rows started")
            }
            Err(e) => {
                eprintln!("{org}: {e}");
                code = std::process::ExitCode::FAILURE;
            }
        }
    }
    code
}

/// `local erase ORG CONTACT…`: queues the erasure of deleted contacts (`local::erase`).
async fn erase(argv: &[String]) -> std::process::ExitCode {
    let usage = || {
        eprintln!("{USAGE}");
        std::process::ExitCode::from(2)
    };
    let Some((org, ids)) = argv.split_first() else {
        return usage();
    };
    let Ok(org) = shared::domain::OrganizationId::parse(org) else {
        return usage();
    };
    let Ok(contacts) = ids
        .iter()
        .map(|id| shared::domain::ContactId::parse(id))
        .collect::<Result<Vec<_>, _>>()
    else {
        return usage();
    };
    if contacts.is_empty() {
        return usage();
    }
    let resources = shared::aws::Resources::from_lookup(|n| std::env::var(n).ok());
    let sdk = shared::aws::sdk_config().await;
    match local::erase::queue_erasures(&sdk, &resources, &org, &contacts).await {
        Ok(done) => {
            let mut code = std::process::ExitCode::SUCCESS;
            for (contact, erasure) in done {
                match erasure {
                    local::erase::Erasure::Queued => println!("{org}/{contact}: erasure queued"),
                    local::erase::Erasure::StillAContact => {
                        eprintln!(
                            "{org}/{contact}: still in the contacts table; delete it there first"
                        );
                        code = std::process::ExitCode::FAILURE;
                    }
                }
            }
            code
        }
        Err(e) => {
            eprintln!("{e}");
            std::process::ExitCode::FAILURE
        }
    }
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    shared::telemetry::init_local();
    let argv: Vec<String> = std::env::args().skip(1).collect();
    if argv.first().is_some_and(|a| a == "reindex") {
        return reindex(&argv[1..]).await;
    }
    if argv.first().is_some_and(|a| a == "erase") {
        return erase(&argv[1..]).await;
    }
    if argv.first().is_some_and(|a| a == "backfill-inbox") {
        return backfill_inbox(&argv[1..]).await;
    }
    let args = match args() {
        Ok(a) => a,
        Err(message) => {
            eprintln!("{message}");
            return std::process::ExitCode::from(2);
        }
    };
    let seed = match &args.seed {
        Some(path) => Seed::load(path),
        None => Seed::default_demo(),
    };
    let seed = match seed {
        Ok(seed) => seed,
        Err(e) => {
            eprintln!("{e}");
            return std::process::ExitCode::from(2);
        }
    };
    let seed_for_history = seed.clone();
    let mut options = local::Options::from_process_env(args.port, seed, args.web);
    if args.aws {
        options.backend = local::Backend::Aws;
    }
    let running = match local::start(options).await {
        Ok(r) => r,
        Err(e) => {
            eprintln!("{e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    // One write, so whoever reads the terminal (or a pipe) gets the whole banner at once.
    print!("{}", banner(&running));
    // A little history, so a new user sees the inbox at work (tests turn it off).
    if running.own_sandbox && std::env::var("LOCAL_HISTORY").as_deref() != Ok("off") {
        for org in seed_for_history
            .organizations
            .iter()
            .filter(|o| !o.history.is_empty())
        {
            let Some(demo) = running
                .organizations
                .iter()
                .find(|d| d.organization_id == org.organization_id.to_string())
            else {
                continue;
            };
            let (base, org, token) = (running.base_url.clone(), org.clone(), demo.token.clone());
            tokio::spawn(async move {
                match local::history::play(&base, &org, &token).await {
                    Ok(n) => {
                        tracing::info!(organization_id = %org.organization_id, messages = n, "demo history played")
                    }
                    Err(e) => eprintln!("the demo history of {} stopped: {e}", org.organization_id),
                }
            });
        }
    }
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = running.server_finished() => {}
    }
    std::process::ExitCode::SUCCESS
}

/// What the terminal shows once the runner listens: where, which Twilio, and how to sign in.
fn banner(running: &local::Running) -> String {
    use std::fmt::Write;
    let base = &running.base_url;
    let mut out = format!("WhatsApp channel running at {base}\n");
    let _ = writeln!(out, "  Send Message page: {base}/");
    let _ = writeln!(
        out,
        "  Twilio API used:   {}",
        running.settings.twilio_api_base_url
    );
    if running.own_sandbox {
        let _ = writeln!(out, "  demo users:        {base}/local/demo");
    } else {
        // Real Twilio: no token is served over HTTP; whoever runs the process signs in
        // with a link printed here (the token rides in the fragment, never sent anywhere).
        let _ = writeln!(
            out,
            "  sandbox and /local/demo are off: the Twilio API is not this runner's sandbox"
        );
    }
    for org in &running.organizations {
        let state = if org.whatsapp_configured { "on" } else { "off" };
        let _ = writeln!(
            out,
            "  {:<8} {state:<5} token {}",
            org.organization_id, org.token
        );
        if !running.own_sandbox {
            let _ = writeln!(out, "           sign in: {base}/#token={}", org.token);
        }
    }
    out.push_str("  Ctrl-C stops it.\n");
    out
}
