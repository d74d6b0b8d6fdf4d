//! Presence: the calling agent's state in a conversation, stored with its expiry and told on
//! the organization's feed; refused whole when it cannot be taken.

use chrono::Utc;
use serde_json::{Value, json};
use shared::api::ApiGatewayV2httpResponse;
use shared::domain::{ContactId, PresenceState};
use shared::live::Change;
use shared::ports::PresenceStore;
use shared::runtime::Handler;
use shared::testing::{as_agent, error_code, json_body, jwt_event, org};

use super::api;

async fn presence(
    api: &inbox::InboxApi<shared::memory::MemoryPorts>,
    agent: Option<(&str, &str)>,
    (org_claim, contact): (&str, &str),
    body: Value,
) -> ApiGatewayV2httpResponse {
    let path = format!("/whatsapp/conversations/{contact}/presence");
    let mut event = jwt_event("POST", &path, "", Some(org_claim), Some(&body.to_string()));
    event.route_key = Some("POST /whatsapp/conversations/{contact_id}/presence".into());
    event
        .path_parameters
        .insert("contact_id".into(), contact.into());
    api.handle(as_agent(event, agent)).await
}

const ANA: Option<(&str, &str)> = Some(("u-ana", "Ana Lima"));
const BEN: Option<(&str, &str)> = Some(("u-ben", "Ben Ong"));

#[tokio::test]
async fn an_agents_presence_is_kept_until_it_expires_or_they_leave_and_each_change_is_told() {
    let api = api().await;
    let mut feed = api.ports.messages.changes.subscribe();
    let c1 = ContactId::parse("c1").unwrap();
    let r = presence(&api, ANA, ("org-a", "c1"), json!({"state": "viewing"})).await;
    assert_eq!(r.status_code, 200, "{:?}", r.body);
    let answer = json_body(&r);
    assert_eq!(answer["state"], "viewing");
    assert_eq!(answer["renew_in_seconds"], 120, "two fifths of 5 minutes");
    let expires: chrono::DateTime<Utc> = answer["expires_at"].as_str().unwrap().parse().unwrap();
    let lifetime = expires - Utc::now();
    assert!(
        lifetime > chrono::Duration::seconds(295) && lifetime <= chrono::Duration::seconds(300)
    );

    presence(&api, BEN, ("org-a", "c1"), json!({"state": "composing"})).await;
    let now = Utc::now();
    let mut shown: Vec<_> = api
        .ports
        .messages
        .presences(&org("org-a"), &c1, now)
        .await
        .unwrap()
        .into_iter()
        .map(|p| (p.agent.name, p.state))
        .collect();
    shown.sort();
    assert_eq!(
        shown,
        [
            ("Ana Lima".into(), PresenceState::Viewing),
            ("Ben Ong".into(), PresenceState::Composing)
        ]
    );
    // Expired: not there, whoever asks.
    let later = now + chrono::Duration::seconds(301);
    assert!(
        api.ports
            .messages
            .presences(&org("org-a"), &c1, later)
            .await
            .unwrap()
            .is_empty()
    );

    presence(&api, ANA, ("org-a", "c1"), json!({"state": "left"})).await;
    let told: Vec<_> = std::iter::from_fn(|| feed.try_recv().ok())
        .map(|change| match change {
            Change::Presence {
                organization_id,
                contact_id,
                presence,
            } => {
                assert_eq!(
                    (organization_id.as_str(), contact_id.as_str()),
                    ("org-a", "c1")
                );
                (presence.agent.sub.to_string(), presence.state)
            }
            other => panic!("only presence is told: {other:?}"),
        })
        .collect();
    assert_eq!(
        told,
        [
            ("u-ana".into(), PresenceState::Viewing),
            ("u-ben".into(), PresenceState::Composing),
            ("u-ana".into(), PresenceState::Left),
        ]
    );
    let left: Vec<_> = api
        .ports
        .messages
        .presences(&org("org-a"), &c1, now)
        .await
        .unwrap();
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].agent.name, "Ben Ong");
}

#[tokio::test]
async fn presence_that_cannot_be_taken_is_refused_and_stores_nothing() {
    let api = api().await;
    let cases = [
        (
            ANA,
            ("org-a", "c1"),
            json!({"state": "typing"}),
            400,
            "invalid_json",
        ),
        (ANA, ("org-a", "c1"), json!({}), 400, "invalid_json"),
        (
            ANA,
            ("org-a", "c1"),
            json!({"state": "viewing", "sub": "u-ben"}),
            400,
            "invalid_json",
        ),
        (
            None,
            ("org-a", "c1"),
            json!({"state": "viewing"}),
            403,
            "agent_required",
        ),
        // Another organization's contact is no contact of this one.
        (
            ANA,
            ("org-a", "b1"),
            json!({"state": "viewing"}),
            404,
            "not_found",
        ),
        (
            ANA,
            ("org-b", "c1"),
            json!({"state": "viewing"}),
            404,
            "not_found",
        ),
    ];
    for (agent, at, body, status, code) in cases {
        let r = presence(&api, agent, at, body.clone()).await;
        assert_eq!(
            (r.status_code, error_code(&r).as_str()),
            (status, code),
            "{body}"
        );
    }
    for (o, c) in [
        ("org-a", "c1"),
        ("org-a", "b1"),
        ("org-b", "b1"),
        ("org-b", "c1"),
    ] {
        let stored = api
            .ports
            .messages
            .presences(&org(o), &ContactId::parse(c).unwrap(), Utc::now())
            .await
            .unwrap();
        assert!(stored.is_empty(), "{o}/{c}");
    }
}
