//! The OpenAPI description lists exactly the routes the handlers serve, each with the
//! authentication the route table gives it.

use std::collections::BTreeSet;

use serde_norway::Value;
use shared::routes::{Auth, ROUTES};

fn spec() -> Value {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../openapi.yaml"))
        .expect("openapi.yaml at the repository root");
    serde_norway::from_str(&text).expect("valid YAML")
}

#[test]
fn documents_exactly_the_served_routes() {
    let spec = spec();
    let mut documented = BTreeSet::new();
    for (path, item) in spec["paths"].as_mapping().expect("paths") {
        for (method, _) in item.as_mapping().expect("path item") {
            let method = method.as_str().unwrap().to_uppercase();
            if ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"].contains(&method.as_str()) {
                documented.insert((method, path.as_str().unwrap().to_owned()));
            }
        }
    }
    let served: BTreeSet<(String, String)> = ROUTES
        .iter()
        .map(|r| (r.method.to_owned(), r.path.to_owned()))
        .collect();
    assert_eq!(documented, served);
}

#[test]
fn webhooks_are_documented_without_jwt_and_the_rest_with_it() {
    let spec = spec();
    assert!(
        spec["security"][0].get("jwt").is_some(),
        "JWT is the default"
    );
    for route in ROUTES {
        let operation = &spec["paths"][route.path][route.method.to_lowercase().as_str()];
        let security = operation.get("security");
        match route.auth {
            Auth::TwilioSignature | Auth::SignedLink => assert_eq!(
                security.and_then(Value::as_sequence).map(Vec::len),
                Some(0),
                "{} has no JWT",
                route.path
            ),
            Auth::Jwt => assert!(security.is_none(), "{} inherits JWT", route.path),
        }
    }
}
