//! What an inbound WhatsApp message carries besides text and files: a shared location, a
//! button reply, the message it replies to, the ad it came from — or the fact that this screen
//! cannot show it. And every parameter Twilio posted, kept for versions that show more.

use serde::{Deserialize, Serialize};

use super::MessageId;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct InboundDetails {
    /// Twilio's `MessageType`: `text`, `image`, `location`, `button`, `sticker`, …
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<Location>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub button: Option<ButtonReply>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply_to: Option<ReplyTo>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub referral: Option<Referral>,
    /// The message's type when this screen cannot show it (nothing else to show).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unsupported: Option<String>,
    /// Who wrote, as WhatsApp identifies users since usernames (2026): present when Twilio
    /// passes a business-scoped user id, and the only sender of a message from a user who
    /// hides their number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<WhatsAppUser>,
    /// Every posted parameter, in order (Twilio adds parameters without notice). Stored,
    /// never shown.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub params: Vec<(String, String)>,
}

/// A WhatsApp user as Meta identifies them: the business-scoped user id (BSUID), stable for
/// this business, the parent id shared across a managed business's portfolios, the username
/// and the profile name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WhatsAppUser {
    pub user_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_user_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile_name: Option<String>,
}

/// Meta's shape of a business-scoped user id: a two-letter country code, a period, then up to
/// 128 letters and digits (`US.13491208655302741918`), a parent id with `ENT.` between
/// (`US.ENT.11815799212886844830`).
pub fn is_whatsapp_user_id(value: &str) -> bool {
    let Some((country, rest)) = value.split_once('.') else {
        return false;
    };
    let id = rest.strip_prefix("ENT.").unwrap_or(rest);
    country.len() == 2
        && country.bytes().all(|b| b.is_ascii_uppercase())
        && (1..=128).contains(&id.len())
        && id.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// A shared location. Coordinates are kept as the decimal text Twilio sent, checked to be
/// numbers within range.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Location {
    pub latitude: String,
    pub longitude: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
}

impl Location {
    /// A location from Twilio's parameters; None unless both coordinates are numbers in range.
    pub fn parse(
        latitude: &str,
        longitude: &str,
        address: Option<&str>,
        label: Option<&str>,
    ) -> Option<Self> {
        let number = |text: &str, limit: f64| {
            let value: f64 = text.trim().parse().ok()?;
            (value.is_finite() && value.abs() <= limit).then(|| text.trim().to_owned())
        };
        Some(Self {
            latitude: number(latitude, 90.0)?,
            longitude: number(longitude, 180.0)?,
            address: address.map(str::to_owned),
            label: label.map(str::to_owned),
        })
    }

    /// OpenStreetMap at the location (no API key needed).
    pub fn map_url(&self) -> String {
        format!(
            "https://www.openstreetmap.org/?mlat={lat}&mlon={lon}#map=16/{lat}/{lon}",
            lat = self.latitude,
            lon = self.longitude
        )
    }
}

/// The tap on a button of a message the organization sent (quick reply or template button).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ButtonReply {
    pub text: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payload: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
}

/// The earlier message a reply quotes: Twilio's sid, and ours when it is in the same
/// conversation of the same organization.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplyTo {
    pub twilio_message_sid: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_id: Option<MessageId>,
}

/// The Click-to-WhatsApp ad (or post) the conversation started from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Referral {
    pub source_url: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub headline: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_type: Option<String>,
    // Not Twilio's `ReferralMediaUrl`: it needs the account's credentials, so a browser could
    // not load it, and it must never reach one. It stays among the raw parameters only.
}

impl InboundDetails {
    /// The details as the API shows them: without the raw parameters.
    pub fn for_view(&self) -> Self {
        Self {
            params: vec![],
            ..self.clone()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whatsapp_user_ids_have_metas_shape() {
        for good in [
            "US.13491208655302741918",
            "BR.1502576394655843",
            "US.ENT.11815799212886844830",
            "DE.abcDEF123",
        ] {
            assert!(is_whatsapp_user_id(good), "{good}");
        }
        let too_long = format!("US.{}", "1".repeat(129));
        for bad in [
            "+60123456789",
            "US13491208655302741918",
            "us.1349",
            "USA.1349",
            "US.",
            "US.13-49",
            "US.ENT.",
            too_long.as_str(),
        ] {
            assert!(!is_whatsapp_user_id(bad), "{bad}");
        }
    }

    #[test]
    fn coordinates_must_be_numbers_in_range() {
        let ok =
            Location::parse("3.139003", "101.686855", Some("Jalan Ampang"), Some("KLCC")).unwrap();
        assert_eq!(
            ok.map_url(),
            "https://www.openstreetmap.org/?mlat=3.139003&mlon=101.686855#map=16/3.139003/101.686855"
        );
        for (lat, lon) in [
            ("91", "0"),
            ("0", "-180.5"),
            ("north", "0"),
            ("0", "NaN"),
            ("", "1"),
            ("1e400", "0"),
        ] {
            assert_eq!(Location::parse(lat, lon, None, None), None, "{lat},{lon}");
        }
        assert!(Location::parse("-90", "180", None, None).is_some());
    }
}
