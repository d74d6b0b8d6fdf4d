//! `POST /whatsapp/conversations/{contact_id}/presence` `{"state": "viewing" | "composing" |
//! "left"}`: the calling agent (the token's `sub`; none: 403 `agent_required`) has the
//! conversation open, is writing in it, or left it. Stored with an expiry (`PRESENCE_SECONDS`,
//! 5 minutes unless set) and pushed to the organization's pages as a `presence` event; the
//! conversation's answer lists who is there (`viewers`). The page tells a change once and
//! renews after `renew_in_seconds` (two fifths of the lifetime: 2 minutes of 5), so a presence
//! outlives one lost renewal and still ends soon after a tab dies. This is not the typing
//! indicator (`…/typing`), which tells the contact.

use chrono::Utc;
use serde::{Deserialize, Serialize};
use shared::api::{
    ApiError, ApiGatewayV2httpRequest, ApiGatewayV2httpResponse, agent_ref, json_body,
    json_response,
};
use shared::domain::{OrganizationId, Presence, PresenceState};
use shared::ports::{Ports, PresenceStore};

use crate::InboxApi;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PresenceRequest {
    state: PresenceState,
}

#[derive(Debug, Serialize)]
struct PresenceAnswer {
    state: PresenceState,
    expires_at: chrono::DateTime<Utc>,
    /// When the page should tell it again, if it still holds.
    renew_in_seconds: u64,
}

impl<P: Ports> InboxApi<P> {
    pub(crate) async fn presence(
        &self,
        org: &OrganizationId,
        event: &ApiGatewayV2httpRequest,
    ) -> Result<ApiGatewayV2httpResponse, ApiError> {
        let request: PresenceRequest = json_body(event)?;
        let agent = agent_ref(event)?;
        let contact = self.path_contact(org, event).await?;
        let lifetime =
            chrono::Duration::from_std(self.presence_ttl).unwrap_or(chrono::Duration::minutes(5));
        let presence = Presence {
            agent,
            state: request.state,
            expires_at: Utc::now() + lifetime,
        };
        self.ports
            .messages()
            .set_presence(org, &contact.contact_id, &presence)
            .await?;
        tracing::debug!(contact_id = %contact.contact_id, state = ?presence.state, "presence");
        Ok(json_response(
            200,
            &PresenceAnswer {
                state: presence.state,
                expires_at: presence.expires_at,
                renew_in_seconds: self.presence_ttl.as_secs() * 2 / 5,
            },
        ))
    }
}
