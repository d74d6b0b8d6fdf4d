//! E.164 phone numbers, validated with libphonenumber's metadata and rules (the `phonenumber`
//! crate's data; see `phone_rules`).

use std::fmt;

use serde::{Deserialize, Serialize};

const WHATSAPP_PREFIX: &str = "whatsapp:";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a valid E.164 phone number")]
pub struct InvalidPhoneNumber;

/// A phone number in E.164 form (`+` country code subscriber number), known to be a
/// possible and valid number for its country.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PhoneNumber(String);

impl PhoneNumber {
    /// Accepts only the strict E.164 spelling: no spaces, letters, punctuation or national
    /// prefixes. Letters are refused up front: libphonenumber would read them as a vanity
    /// keypad number, and the rules (`phone_rules`) read digits only.
    pub fn parse_e164(value: &str) -> Result<Self, InvalidPhoneNumber> {
        let digits = value.strip_prefix('+').ok_or(InvalidPhoneNumber)?;
        if !(2..=15).contains(&digits.len())
            || !digits.bytes().all(|b| b.is_ascii_digit())
            || digits.starts_with('0')
        {
            return Err(InvalidPhoneNumber);
        }
        // Only the metadata of this number's calling code (see `phone_metadata`).
        let (calling_code, national) =
            super::phone_metadata::calling_code_for(digits).ok_or(InvalidPhoneNumber)?;
        if !calling_code.is_valid_e164(national) {
            return Err(InvalidPhoneNumber);
        }
        Ok(Self(value.to_owned()))
    }

    /// Reads a Twilio WhatsApp address (`whatsapp:+14155238886`) or a bare E.164 number.
    pub fn parse_address(value: &str) -> Result<Self, InvalidPhoneNumber> {
        let value = value.trim();
        Self::parse_e164(value.strip_prefix(WHATSAPP_PREFIX).unwrap_or(value))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The address Twilio expects for the WhatsApp channel.
    pub fn whatsapp_address(&self) -> String {
        format!("{WHATSAPP_PREFIX}{}", self.0)
    }

    /// WhatsApp's id for a user: the number without the `+`, as Twilio's `WaId` carries it.
    pub fn wa_id(&self) -> &str {
        &self.0[1..]
    }
}

impl TryFrom<String> for PhoneNumber {
    type Error = InvalidPhoneNumber;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse_e164(&value)
    }
}

impl From<PhoneNumber> for String {
    fn from(p: PhoneNumber) -> String {
        p.0
    }
}

impl fmt::Display for PhoneNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_valid_e164_numbers() {
        for n in [
            "+60123456789",
            "+14155238886",
            "+447911123456",
            "+6591234567",
        ] {
            assert_eq!(PhoneNumber::parse_e164(n).unwrap().as_str(), n, "{n}");
        }
    }

    #[test]
    fn rejects_national_format_letters_and_bad_country_codes() {
        for n in [
            "0123456789",
            "+0123456789",
            "+1800FLOWERS",
            "+60abc456789",
            "60123456789",
            "+60 12 345 6789",
            "+1",
            "+1234567890123456",
            "",
            "+",
            "+999123456789",
            "+1415555",
        ] {
            assert!(PhoneNumber::parse_e164(n).is_err(), "{n} should be invalid");
        }
    }

    #[test]
    fn reads_twilio_whatsapp_addresses() {
        let p = PhoneNumber::parse_address("whatsapp:+14155238886").unwrap();
        assert_eq!(p.as_str(), "+14155238886");
        assert_eq!(p.whatsapp_address(), "whatsapp:+14155238886");
        assert_eq!(p.wa_id(), "14155238886");
        assert!(PhoneNumber::parse_address("sms:+14155238886").is_err());
    }
}
