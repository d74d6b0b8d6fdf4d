//! Messaging Services as Twilio runs them, for the sandbox's accounts: the service an
//! organization's secret names, with a sender pool (`twilio_whatsapp_from` and the seed's
//! `messaging_service_senders`). A send names the service (`MessagingServiceSid`) or a
//! number (`From`); through the service the sandbox picks the sender as Twilio's sticky
//! sender does (the one the contact last talked with, else the first of the pool). Its
//! WhatsApp senders are listed at `GET /v1/Services/{MessagingServiceSid}/ChannelSenders`.

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use shared::domain::{PhoneNumber, is_messaging_service_sid};

use super::answers::{twilio_error, whatsapp_number};
use super::{Account, Sandbox, lock};

/// A Messaging Service of an account and the WhatsApp senders in its pool.
pub(super) struct MessagingService {
    pub sid: String,
    pub senders: Vec<PhoneNumber>,
}

/// Who a send goes out as: the sender, and the service that picked it.
pub(super) struct ResolvedSender {
    pub from: PhoneNumber,
    pub messaging_service_sid: Option<String>,
}

/// Why Twilio refuses a send's sender, with the error it answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum SenderRefused {
    /// Neither `From` nor `MessagingServiceSid`: 21603.
    Missing,
    /// A `MessagingServiceSid` that is not an `MG…` sid: 21705.
    InvalidService,
    /// A service that is not the account's: 21701.
    UnknownService,
    /// No WhatsApp channel for the `From`, or none in the service's pool: 63007.
    NoChannel,
}

impl IntoResponse for SenderRefused {
    fn into_response(self) -> Response {
        let (code, message) = match self {
            SenderRefused::Missing => (
                21603,
                "A 'From' or 'MessagingServiceSid' parameter is required to send a message",
            ),
            SenderRefused::InvalidService => (21705, "The Messaging Service is invalid"),
            SenderRefused::UnknownService => (21701, "The Messaging Service does not exist"),
            SenderRefused::NoChannel => (
                63007,
                "Twilio could not find a Channel with the specified From address",
            ),
        };
        twilio_error(StatusCode::BAD_REQUEST, code, message)
    }
}

impl Account {
    /// Every WhatsApp number of the account: its own and its service's pool.
    pub(super) fn owns(&self, number: &PhoneNumber) -> bool {
        self.number.as_ref() == Some(number)
            || self
                .service
                .as_ref()
                .is_some_and(|s| s.senders.contains(number))
    }

    /// The service whose pool holds `number`, if any.
    pub(super) fn service_of(&self, number: &PhoneNumber) -> Option<&str> {
        self.service
            .as_ref()
            .filter(|s| s.senders.contains(number))
            .map(|s| s.sid.as_str())
    }
}

impl Sandbox {
    /// The sender of a send, from its `From` and `MessagingServiceSid` as Twilio reads them:
    /// either or both (21603 with neither); a service sid of the wrong shape (21705) or not
    /// the account's (21701); a `From` that is none of the account's WhatsApp senders, or a
    /// service with no WhatsApp sender in its pool (63007).
    pub(super) fn resolve_sender(
        &self,
        account_sid: &str,
        account: &Account,
        from: Option<&str>,
        service: Option<&str>,
        to: &PhoneNumber,
    ) -> Result<ResolvedSender, SenderRefused> {
        let from = match from {
            None => None,
            Some(from) => match whatsapp_number(from) {
                Some(number) if account.owns(&number) => Some(number),
                _ => return Err(SenderRefused::NoChannel),
            },
        };
        let Some(service) = service else {
            return match from {
                Some(from) => Ok(ResolvedSender {
                    messaging_service_sid: account.service_of(&from).map(str::to_owned),
                    from,
                }),
                None => Err(SenderRefused::Missing),
            };
        };
        if !is_messaging_service_sid(service) {
            return Err(SenderRefused::InvalidService);
        }
        let Some(owned) = account.service.as_ref().filter(|s| s.sid == service) else {
            return Err(SenderRefused::UnknownService);
        };
        let from = match from {
            // Beside the service, From names which of its senders.
            Some(from) if owned.senders.contains(&from) => from,
            Some(_) => return Err(SenderRefused::NoChannel),
            None => match self.sticky_sender(account_sid, to, &owned.senders) {
                Some(from) => from,
                None => return Err(SenderRefused::NoChannel),
            },
        };
        Ok(ResolvedSender {
            from,
            messaging_service_sid: Some(owned.sid.clone()),
        })
    }

    /// The pool sender the contact last exchanged a message with; else the pool's first.
    pub(super) fn sticky_sender(
        &self,
        account_sid: &str,
        contact: &PhoneNumber,
        pool: &[PhoneNumber],
    ) -> Option<PhoneNumber> {
        let contact = contact.whatsapp_address();
        let messages = lock(&self.state.messages);
        let last = messages.iter().rev().find_map(|m| {
            if m.account_sid != account_sid {
                return None;
            }
            let ours = match (m.from == contact, m.to == contact) {
                (true, _) => &m.to,
                (_, true) => &m.from,
                _ => return None,
            };
            whatsapp_number(ours).filter(|n| pool.contains(n))
        });
        last.or_else(|| pool.first().cloned())
    }
}

/// `GET /v1/Services/{MessagingServiceSid}/ChannelSenders`: the service's channel senders,
/// one page as Twilio's Messaging API lists them; 404 (20404) for a service the credential's
/// account does not have.
pub async fn channel_senders(
    State(sandbox): State<Sandbox>,
    Path(service_sid): Path<String>,
    headers: HeaderMap,
    Query(query): Query<std::collections::HashMap<String, String>>,
) -> Response {
    // The service is looked up in the credential's own account: another account's service
    // is as unknown as one that does not exist.
    let Some(account_sid) = super::auth::account_of(&sandbox, &headers) else {
        return twilio_error(StatusCode::UNAUTHORIZED, 20003, "Authenticate");
    };
    let pool = sandbox
        .state
        .accounts
        .get(&account_sid)
        .and_then(|a| a.service.as_ref())
        .filter(|s| s.sid == service_sid)
        .map(|s| s.senders.clone());
    let Some(pool) = pool else {
        return twilio_error(
            StatusCode::NOT_FOUND,
            20404,
            &format!("The requested resource /Services/{service_sid}/ChannelSenders was not found"),
        );
    };
    let page_size = match query.get("PageSize").map(|p| p.parse::<usize>()) {
        None => 50,
        Some(Ok(n)) if (1..=1000).contains(&n) => n,
        Some(_) => return twilio_error(StatusCode::BAD_REQUEST, 20001, "Invalid PageSize"),
    };
    let page = match query.get("Page").map(|p| p.parse::<usize>()) {
        None => 0,
        Some(Ok(n)) => n,
        Some(Err(_)) => return twilio_error(StatusCode::BAD_REQUEST, 20001, "Invalid Page"),
    };
    let base = format!(
        "{}/sandbox/v1/Services/{service_sid}/ChannelSenders",
        sandbox.state.public_base_url
    );
    let page_url = |n: usize| format!("{base}?PageSize={page_size}&Page={n}");
    let start = page.saturating_mul(page_size);
    let senders: Vec<serde_json::Value> = pool
        .iter()
        .enumerate()
        .skip(start)
        .take(page_size)
        .map(|(i, number)| {
            let sid = format!("XE{:032x}", i + 1);
            json!({
                "account_sid": account_sid,
                "messaging_service_sid": service_sid,
                "sid": sid,
                "sender": number.whatsapp_address(),
                "sender_type": "WhatsApp",
                "country_code": null,
                "date_created": "2026-01-05T09:00:00Z",
                "date_updated": "2026-01-05T09:00:00Z",
                "url": format!("{base}/{sid}"),
            })
        })
        .collect();
    let more = pool.len() > start + senders.len();
    super::list_page("senders", senders, (page, page_size), more, page_url)
}
