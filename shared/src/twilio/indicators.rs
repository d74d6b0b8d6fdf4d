//! Twilio's typing indicator (Messaging v2, public beta): `POST /v2/Indicators/Typing.json`
//! with `messageId` (an inbound message's `SM…`/`MM…` sid) and `channel=whatsapp`. WhatsApp
//! then shows "typing…" to the contact for up to 25 s (or until a reply is delivered) and
//! marks that message, and every earlier one, read: the blue ticks.

use serde::Deserialize;

use super::TwilioClient;
use super::client::json_answer;
use super::error::TwilioError;
use crate::domain::OrgConfig;

/// Twilio's answer: `{"success": true}`.
#[derive(Debug, Deserialize)]
struct TypingIndicatorAnswer {
    success: bool,
}

impl TwilioClient {
    /// Shows "typing…" to the contact of `message_sid` and marks it read.
    pub async fn typing_indicator(
        &self,
        config: &OrgConfig,
        message_sid: &str,
    ) -> Result<(), TwilioError> {
        let invalid = |what: &str| TwilioError::InvalidResponse(what.to_owned());
        let url = url::Url::parse(&format!(
            "{}/v2/Indicators/Typing.json",
            self.messaging_base_url
        ))
        .map_err(|_| invalid("Messaging API base URL"))?;
        let body =
            serde_urlencoded::to_string([("messageId", message_sid), ("channel", "whatsapp")])
                .map_err(|e| TwilioError::InvalidResponse(e.to_string()))?;
        let request = self
            .api(reqwest::Method::POST, url)?
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .body(body);
        let answer: TypingIndicatorAnswer = json_answer(request, config).await?;
        if answer.success {
            Ok(())
        } else {
            Err(invalid("Twilio answered success: false"))
        }
    }
}
