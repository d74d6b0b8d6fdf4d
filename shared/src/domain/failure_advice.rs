//! What an agent reads when Twilio fails a message with one of the codes a WhatsApp sender
//! meets in 2025–2026: the failure in plain words, then the next step. The product never
//! sends a failed message again by itself, so the next step says whether, and when, a new
//! send may work. Each text follows the code's Twilio page,
//! `https://www.twilio.com/docs/api/errors/<code>` (docs/api.md lists them).

/// A failure in plain words and what to do about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Advice {
    /// What happened, as the agent reads it (no trailing period).
    pub what: &'static str,
    /// Whether and when a new send may work.
    pub next: &'static str,
}

/// The advice for a Twilio error code, for the codes this product explains. 63016 (outside
/// the 24-hour window) has its own sentence (`sentences::OUTSIDE_WINDOW`), which the page
/// answers with the template picker.
pub fn advice(code: u32) -> Option<Advice> {
    let (what, next) = match code {
        // Meta's per-person cap on marketing templates; none to U.S. numbers since April 2025.
        63049 => (
            "Meta held back this marketing message: WhatsApp limits how many marketing messages each person receives, and delivers none to U.S. numbers since April 2025",
            "Do not send it again now. To a U.S. number, use another channel; elsewhere, try again in a day or more, or send a utility template if the message is not marketing.",
        ),
        63062 => (
            "Your business has not accepted WhatsApp's Marketing Messages API terms",
            "An admin must accept them in WhatsApp Manager (Overview > Alerts); until then every marketing template fails the same way, while replies and utility templates still go out.",
        ),
        // Twilio's page: the sender's throughput, the business portfolio's messaging limit,
        // or too many messages to one person.
        63018 => (
            "WhatsApp's rate limit was reached: too many messages from your sender or to this contact, or more new conversations than your business's messaging limit allows",
            "Wait a few minutes before sending it again; if the business's limit was reached, new conversations can start again as active ones end.",
        ),
        63017 => (
            "Twilio's rate limit for your account was reached (more than 2,000 messages a second across the account)",
            "Send it again in a minute.",
        ),
        // Meta's account-level refusals, as Twilio's code mapping names them: 1005 (access
        // denied), 402 (business eligibility), 1008/1009 (policy).
        63001 => (
            "WhatsApp refused your sender: Meta did not authenticate it, which happens when the sender or its business account is restricted or disabled",
            "Nothing goes out from this sender until an admin resolves it in WhatsApp Manager or with Twilio; the sender's status in the header shows what Meta reports.",
        ),
        63020 => (
            "Meta refused your business account: it is not eligible to send (a payment problem or a restriction on the WhatsApp Business Account)",
            "An admin must resolve it in Meta Business Manager; sending again before then fails the same way.",
        ),
        63013 => (
            "WhatsApp refused the message under its policies",
            "Do not send the same content again: check it against WhatsApp's Business Messaging Policy, and in WhatsApp Manager whether Meta restricted your account.",
        ),
        63059 => (
            "Your sender's number was moved to another WhatsApp Business Account",
            "An admin must update the sender in Twilio; sending again before then fails the same way.",
        ),
        63003 => (
            "This number has no WhatsApp account",
            "Reach the contact another way, or correct the number in the CRM; sending to this number again fails the same way.",
        ),
        21610 => (
            "The contact opted out by replying STOP",
            "Nothing reaches them until they write to you again (or reply START).",
        ),
        130472 => (
            "Meta held back this marketing message: the contact is part of a WhatsApp marketing experiment",
            "Do not send it again now; a reply or a utility template reaches them.",
        ),
        _ => return None,
    };
    Some(Advice { what, next })
}

/// Where Twilio explains a code the product does not.
pub fn twilio_page(code: u32) -> String {
    format!("https://www.twilio.com/docs/api/errors/{code}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_explained_code_says_what_happened_and_what_next() {
        for code in [
            63049, 63062, 63018, 63017, 63001, 63020, 63013, 63059, 63003, 21610, 130472,
        ] {
            let advice = advice(code).unwrap_or_else(|| panic!("{code}"));
            assert!(!advice.what.ends_with('.'), "{code}");
            assert!(advice.next.ends_with('.'), "{code}");
        }
        assert_eq!(advice(63016), None, "63016 has its own sentence");
        assert_eq!(advice(63999), None);
    }
}
