//! The sentences a CRM user reads, each defined once. API errors, failure reasons stored on
//! messages and the page (through `web/rules.js`, checked equal by a test) use these.

use std::fmt::Display;

pub const NOT_CONFIGURED: &str = "WhatsApp is not configured for this organization.";
pub const INVALID_CONFIGURATION: &str =
    "Invalid WhatsApp configuration for your organization. Please contact admin.";
pub const NO_CONTENT: &str = "No content to send.";
pub const NO_VALID_PHONE: &str = "Contact has no valid phone number.";
pub const NOT_OPTED_IN: &str = "Contact has not opted in to WhatsApp.";
pub const BLOCKED: &str = "Contact is blocked for WhatsApp.";
pub const UNSUBSCRIBED: &str = "Contact has unsubscribed from WhatsApp.";
/// A contact known only by a WhatsApp username (its user id): Twilio documents no way to send
/// to one, so a reply needs a phone number.
pub const USERNAME_ONLY: &str = "This contact uses a WhatsApp username and the CRM has no phone number for them; WhatsApp replies through Twilio need one.";
pub const OUTSIDE_WINDOW: &str = "This contact hasn't messaged you for more than 24 hours; WhatsApp may require a template message.";
/// The page, when the contact it shows no longer exists (its conversation is erased).
pub const CONTACT_DELETED: &str =
    "This contact was deleted in the CRM, and its WhatsApp conversation with it.";
/// An inbound file that could not be copied from Twilio.
pub const MEDIA_UNAVAILABLE: &str = "The media could not be downloaded from WhatsApp.";
pub const UNAVAILABLE: &str = "The service is temporarily unavailable. Please try again.";

/// The prefix of every outbound failure a person reads.
pub const SEND_FAILED_PREFIX: &str = "Failed to send via WhatsApp:";

/// "Failed to send via WhatsApp: <reason>".
pub fn send_failed(reason: impl Display) -> String {
    format!("{SEND_FAILED_PREFIX} {reason}")
}

/// The prefix of an outbound message whose outcome Twilio could not confirm.
pub const UNCONFIRMED_PREFIX: &str = "Not confirmed by Twilio yet:";

/// Why a message is UNCONFIRMED: it is not sent again, and its status follows Twilio's.
pub fn unconfirmed(reason: impl Display) -> String {
    format!(
        "{UNCONFIRMED_PREFIX} {reason}. It will not be sent again; its status updates when Twilio reports it."
    )
}

/// Why Twilio failed a message, as a person reads it. WhatsApp's 63016 (free-form outside
/// the 24-hour window) is the same sentence the send route answers, with the template hint;
/// a code the product explains (`failure_advice`) reads in plain words with its next step;
/// any other code keeps Twilio's words (`reason`) and says honestly that it was not sent
/// again and where Twilio explains it.
pub fn twilio_failure(code: Option<u32>, reason: impl Display) -> String {
    match code {
        Some(63016) => OUTSIDE_WINDOW.to_owned(),
        Some(code) => match super::failure_advice::advice(code) {
            Some(advice) => send_failed(format!(
                "{} (Twilio error {code}). {}",
                advice.what, advice.next
            )),
            None => send_failed(format!(
                "{reason}. It was not sent again; Twilio explains error {code} at {}.",
                super::failure_advice::twilio_page(code)
            )),
        },
        None => send_failed(reason),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn twilio_failures_read_in_plain_words_with_the_next_step() {
        let held = twilio_failure(
            Some(63049),
            "Meta chose not to deliver (Twilio error 63049)",
        );
        assert!(
            held.starts_with("Failed to send via WhatsApp: Meta held back this marketing message")
        );
        assert!(
            held.contains("(Twilio error 63049). Do not send it again now."),
            "{held}"
        );
        assert!(
            !held.contains("Meta chose not to deliver"),
            "Twilio's words are replaced"
        );
        assert_eq!(twilio_failure(Some(63016), "x"), OUTSIDE_WINDOW);
        assert_eq!(
            twilio_failure(Some(63999), "Something new (Twilio error 63999)"),
            "Failed to send via WhatsApp: Something new (Twilio error 63999). It was not sent again; Twilio explains error 63999 at https://www.twilio.com/docs/api/errors/63999."
        );
        assert_eq!(
            twilio_failure(None, "the contact no longer exists."),
            "Failed to send via WhatsApp: the contact no longer exists."
        );
    }

    #[test]
    fn failures_read_as_one_sentence_with_the_reason() {
        assert_eq!(
            send_failed("the contact no longer exists."),
            "Failed to send via WhatsApp: the contact no longer exists."
        );
    }
}
