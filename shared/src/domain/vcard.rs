//! Contact cards a WhatsApp contact shares (vCard 3.0/4.0, `text/vcard`): the name and phone
//! numbers the conversation shows. Only `FN`, `N` and `TEL` are read; anything else, and any
//! malformed line, is skipped — the card itself stays downloadable as it was sent.

use serde::{Deserialize, Serialize};

/// What the conversation shows of a shared contact card.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContactCard {
    pub name: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub phones: Vec<String>,
}

/// Cards larger than this are not read (a shared contact is a few hundred bytes).
pub const MAX_CARD_BYTES: usize = 64 * 1024;
const MAX_PHONES: usize = 20;
const MAX_FIELD_CHARS: usize = 200;

fn unescape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let mut chars = value.chars();
    while let Some(c) = chars.next() {
        match (c, c == '\\') {
            (_, true) => match chars.next() {
                Some('n') | Some('N') => out.push(' '),
                Some(other) => out.push(other),
                None => {}
            },
            (c, false) => out.push(c),
        }
    }
    out.chars()
        .filter(|c| !c.is_control())
        .take(MAX_FIELD_CHARS)
        .collect::<String>()
        .trim()
        .to_owned()
}

/// The first card in `bytes`, if it is a vCard with a name or a phone number.
pub fn parse_vcard(bytes: &[u8]) -> Option<ContactCard> {
    if bytes.len() > MAX_CARD_BYTES {
        return None;
    }
    let text = String::from_utf8_lossy(bytes);
    // Unfold: a line starting with a space or tab continues the one before.
    let mut lines: Vec<String> = vec![];
    for raw in text.split(['\n']) {
        let raw = raw.trim_end_matches('\r');
        match raw.chars().next() {
            Some(' ' | '\t') if !lines.is_empty() => {
                if let Some(last) = lines.last_mut() {
                    last.push_str(&raw[1..]);
                }
            }
            _ => lines.push(raw.to_owned()),
        }
    }
    let mut started = false;
    let (mut full_name, mut structured, mut phones) = (None, None, vec![]);
    for line in &lines {
        let Some((property, value)) = line.split_once(':') else {
            continue;
        };
        // `item1.TEL;type=CELL` → `TEL`
        let name = property
            .split(';')
            .next()
            .unwrap_or_default()
            .rsplit('.')
            .next()
            .unwrap_or_default()
            .to_ascii_uppercase();
        match name.as_str() {
            "BEGIN" if value.trim().eq_ignore_ascii_case("VCARD") => started = true,
            "END" if started => break,
            "FN" if started => full_name = Some(unescape(value)).filter(|n| !n.is_empty()),
            "N" if started => {
                // N:family;given;additional;prefix;suffix → "given family"
                let parts: Vec<String> = value.split(';').map(unescape).collect();
                let given = parts.get(1).cloned().unwrap_or_default();
                let family = parts.first().cloned().unwrap_or_default();
                let joined = format!("{given} {family}").trim().to_owned();
                structured = Some(joined).filter(|n| !n.is_empty());
            }
            "TEL" if started && phones.len() < MAX_PHONES => {
                let number = unescape(value.trim_start_matches("tel:"));
                if !number.is_empty() && number.chars().any(|c| c.is_ascii_digit()) {
                    phones.push(number);
                }
            }
            _ => {}
        }
    }
    if !started {
        return None;
    }
    let name = full_name
        .or(structured)
        .or_else(|| phones.first().cloned())?;
    Some(ContactCard { name, phones })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_name_and_numbers_of_a_shared_contact() {
        let card = b"BEGIN:VCARD\r\nVERSION:3.0\r\nN:Rahman;Aisha;;;\r\nFN:Aisha Rahman\r\nitem1.TEL;type=CELL;waid=60123456789:+60 12-345 6789\r\nTEL;TYPE=WORK:+60 3 1234 5678\r\nEMAIL:aisha@example.com\r\nEND:VCARD\r\n";
        assert_eq!(
            parse_vcard(card),
            Some(ContactCard {
                name: "Aisha Rahman".into(),
                phones: vec!["+60 12-345 6789".into(), "+60 3 1234 5678".into()],
            })
        );
    }

    #[test]
    fn folded_lines_escapes_and_fallbacks() {
        let folded = b"BEGIN:VCARD\nVERSION:4.0\nN:Ong;Ben;;;\nTEL;VALUE=uri:tel:+6591\n 234567\nEND:VCARD\n";
        let card = parse_vcard(folded).unwrap();
        assert_eq!(card.name, "Ben Ong", "N when there is no FN");
        assert_eq!(card.phones, ["+6591234567"]);
        let escaped = parse_vcard(b"BEGIN:VCARD\nFN:Lim\\, Grace\\nHR\nEND:VCARD").unwrap();
        assert_eq!(escaped.name, "Lim, Grace HR");
        let only_phone = parse_vcard(b"BEGIN:VCARD\nTEL:+14155550123\nEND:VCARD").unwrap();
        assert_eq!(only_phone.name, "+14155550123");
    }

    #[test]
    fn malformed_cards_show_nothing() {
        for bad in [
            &b"not a card"[..],
            b"FN:No begin\nTEL:+1",
            b"BEGIN:VCARD\nEMAIL:x@example.com\nEND:VCARD",
            b"BEGIN:VCARD\nTEL:no digits\nEND:VCARD",
            &[0xff, 0xfe, 0x00],
        ] {
            assert_eq!(parse_vcard(bad), None, "{bad:?}");
        }
        assert_eq!(parse_vcard(&vec![b'a'; MAX_CARD_BYTES + 1]), None);
        let long = format!("BEGIN:VCARD\nFN:{}\nEND:VCARD", "x".repeat(1000));
        assert_eq!(
            parse_vcard(long.as_bytes()).unwrap().name.len(),
            MAX_FIELD_CHARS
        );
    }
}
