//! Contact search by terms: what an eligible contact can be found by, and how a search box
//! entry becomes one prefix to look up. Each term is an item of the search index, so a search
//! reads the terms that start with what was typed and nothing else, whatever the size of the
//! organization.
//!
//! - every word of the name: `t#{word}` (lowercase; words split at anything not a letter or
//!   digit);
//! - the email: `t#{email}` (lowercase), found by its beginning;
//! - the phone number's digits: `d#{digits}` for the whole number without `+` and for every
//!   ending of at least four digits. So `+60123456789`, `60123…`, the national `0123…` (its
//!   trunk zero dropped) and the last digits `6789` all find it.

use std::collections::BTreeSet;

use super::{Contact, PhoneNumber};

/// The shortest ending of a number that is a term: "the last four digits".
pub const MIN_DIGITS_ENDING: usize = 4;

/// What a search box entry looks up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SearchQuery {
    /// Terms starting with the first word; every other word must start a word of the name
    /// or the email of what is found.
    Text { first: String, rest: Vec<String> },
    /// Phone digits (spaces, `+`, `-`, `(`, `)`, `.` ignored), without leading zeros (a
    /// national number's trunk `0`): `digits`. An entry that starts with `0` and has at least
    /// four digits is also looked up as typed (`typed`): the last digits of a number may
    /// start with 0 (`0123` of `+14155550123`).
    Digits {
        digits: Option<String>,
        typed: Option<String>,
    },
}

impl SearchQuery {
    /// None for an entry with nothing to search by (blank, or only punctuation).
    pub fn parse(entry: &str) -> Option<Self> {
        let entry = entry.trim();
        let digits: Option<String> = entry
            .chars()
            .filter(|c| !matches!(c, ' ' | '+' | '-' | '(' | ')' | '.'))
            .map(|c| c.is_ascii_digit().then_some(c))
            .collect();
        if let Some(entered) = digits.filter(|d| !d.is_empty()) {
            let stripped = entered.trim_start_matches('0');
            let digits = (!stripped.is_empty()).then(|| stripped.to_owned());
            let typed = (stripped.len() < entered.len() && entered.len() >= MIN_DIGITS_ENDING)
                .then_some(entered.clone());
            return (digits.is_some() || typed.is_some())
                .then_some(SearchQuery::Digits { digits, typed });
        }
        let mut words = entry
            .split_whitespace()
            .map(str::to_lowercase)
            .filter(|w| !w.is_empty());
        let first = words.next()?;
        // The longest word narrows the most: it is the one looked up.
        let mut all: Vec<String> = std::iter::once(first).chain(words).collect();
        let longest = (0..all.len()).max_by_key(|i| all[*i].chars().count())?;
        let first = all.remove(longest);
        Some(SearchQuery::Text { first, rest: all })
    }

    /// The prefixes of the index terms to read, in the index's order (one, or two for
    /// digits also looked up as typed: `d#0…` sorts before any other digits), so their
    /// ranges read one after the other are one ordered list.
    pub fn term_prefixes(&self) -> Vec<String> {
        match self {
            SearchQuery::Text { first, .. } => vec![format!("t#{first}")],
            SearchQuery::Digits { digits, typed } => typed
                .iter()
                .chain(digits)
                .map(|d| format!("d#{d}"))
                .collect(),
        }
    }

    /// Whether a contact found by the prefix matches the rest of the entry too.
    pub fn matches_rest(&self, name: &str, email: Option<&str>) -> bool {
        let SearchQuery::Text { rest, .. } = self else {
            return true;
        };
        let words = name_words(name);
        let email = email.map(str::to_lowercase);
        rest.iter().all(|word| {
            words.iter().any(|w| w.starts_with(word.as_str()))
                || email
                    .as_deref()
                    .is_some_and(|e| e.starts_with(word.as_str()))
        })
    }
}

fn name_words(name: &str) -> Vec<String> {
    name.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect()
}

/// The index terms of a contact, without the contact id: none unless it is eligible (only
/// eligible contacts are listed or found).
pub fn contact_terms(contact: &Contact) -> BTreeSet<String> {
    let Ok(phone) = contact.eligibility() else {
        return BTreeSet::new();
    };
    let mut terms: BTreeSet<String> = name_words(&contact.name)
        .into_iter()
        .map(|w| format!("t#{w}"))
        .collect();
    if let Some(email) = contact
        .email
        .as_deref()
        .map(str::trim)
        .filter(|e| !e.is_empty())
    {
        terms.insert(format!("t#{}", email.to_lowercase()));
    }
    terms.extend(digit_terms(&phone));
    // DynamoDB refuses a sort key over 1,024 bytes, and a refused write would stall the
    // indexer's shard (and the removals, which start erasures, behind it): such a term
    // (a CRM's over-long email or name word) is left out, the rest of the contact indexed.
    let id = contact.contact_id.as_str();
    terms.retain(|term| {
        let fits = index_key(term, id).len() <= MAX_SORT_KEY_BYTES;
        if !fits {
            tracing::warn!(
                contact_id = id,
                bytes = term.len(),
                "search term too long for a key: left out"
            );
        }
        fits
    });
    terms
}

/// DynamoDB's limit on a sort key value, in bytes of UTF-8.
pub const MAX_SORT_KEY_BYTES: usize = 1024;

fn digit_terms(phone: &PhoneNumber) -> impl Iterator<Item = String> + '_ {
    let digits = phone.wa_id();
    (0..=digits.len().saturating_sub(MIN_DIGITS_ENDING))
        .map(move |start| format!("d#{}", &digits[start..]))
}

/// The index key a contact is found at by this query: the first of its terms that starts
/// with the looked-up prefix, if it matches the rest of the entry too. A contact found by
/// several terms is returned at this one only.
pub fn found_at(contact: &Contact, query: &SearchQuery) -> Option<String> {
    let prefixes = query.term_prefixes();
    let key = contact_terms(contact)
        .iter()
        .filter(|t| prefixes.iter().any(|p| t.starts_with(p.as_str())))
        .map(|t| index_key(t, contact.contact_id.as_str()))
        .min()?;
    query
        .matches_rest(&contact.name, contact.email.as_deref())
        .then_some(key)
}

/// The key of one index item: the term, then the contact id, so a term shared by many
/// contacts keeps one item each and they come back in a stable order.
pub fn index_key(term: &str, contact_id: &str) -> String {
    format!("{term}#{contact_id}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::contact;

    fn aisha() -> Contact {
        let mut c = contact("org-a", "c1", "Aisha binti Rahman", "+60123456789");
        c.email = Some("Aisha.Rahman@Example.com".into());
        c
    }

    fn found(c: &Contact, entry: &str) -> bool {
        let Some(query) = SearchQuery::parse(entry) else {
            return false;
        };
        found_at(c, &query).is_some()
    }

    #[test]
    fn a_term_too_long_for_a_key_is_left_out_and_the_rest_indexed() {
        let mut c = aisha();
        c.email = Some(format!("{}@example.com", "a".repeat(1100)));
        let terms = contact_terms(&c);
        assert!(
            terms
                .iter()
                .all(|t| index_key(t, c.contact_id.as_str()).len() <= MAX_SORT_KEY_BYTES)
        );
        assert!(
            !terms.iter().any(|t| t.contains('@')),
            "the email is left out"
        );
        assert!(found(&c, "aisha") && found(&c, "0123456789"), "{terms:?}");
        // Just at the limit still fits.
        let id = c.contact_id.as_str();
        let room = MAX_SORT_KEY_BYTES - "t#".len() - "#".len() - id.len();
        c.email = Some("b".repeat(room));
        assert!(contact_terms(&c).contains(&format!("t#{}", "b".repeat(room))));
    }

    #[test]
    fn a_contact_is_found_by_any_name_word_its_email_and_its_number() {
        let c = aisha();
        for entry in [
            "aisha",
            "Ais",
            "rahman",
            "RAH",
            "binti",
            "aisha rahman",
            "rahman ais",
            "aisha.rahman@",
            "aisha.rahman@example.com",
            "+60123456789",
            "60123456789",
            "+60 12-345 6789",
            "0123456789",
            "123456789",
            "6789",
            "56789",
            "(012) 345-6789",
        ] {
            assert!(found(&c, entry), "{entry:?} should find Aisha");
        }
        for entry in [
            "bob",
            "ahman",
            "example.com",
            "rahman bob",
            "6780",
            "789",
            "+61123456789",
            "",
            "  ",
            "---",
        ] {
            assert!(!found(&c, entry), "{entry:?} should not find Aisha");
        }
    }

    #[test]
    fn only_eligible_contacts_have_terms() {
        let mut c = aisha();
        c.whatsapp_unsubscribed = true;
        assert!(contact_terms(&c).is_empty());
        let mut c = aisha();
        c.phone_number = Some("0123".into());
        assert!(contact_terms(&c).is_empty());
    }

    #[test]
    fn a_number_has_its_whole_digits_and_every_ending_of_four_or_more() {
        let terms: Vec<String> = contact_terms(&aisha())
            .into_iter()
            .filter(|t| t.starts_with("d#"))
            .collect();
        // 11 digits: the whole number and the endings of 10 down to 4 digits.
        assert_eq!(terms.len(), 8, "{terms:?}");
        assert!(terms.contains(&"d#60123456789".to_owned()));
        assert!(terms.contains(&"d#6789".to_owned()));
        assert!(!terms.contains(&"d#789".to_owned()));
    }

    #[test]
    fn the_longest_word_is_looked_up() {
        assert_eq!(
            SearchQuery::parse("al rahman").unwrap(),
            SearchQuery::Text {
                first: "rahman".into(),
                rest: vec!["al".into()]
            }
        );
        assert_eq!(
            SearchQuery::parse("+60 12").unwrap().term_prefixes(),
            ["d#6012"]
        );
        assert_eq!(SearchQuery::parse("000"), None);
    }

    #[test]
    fn an_entry_with_a_leading_zero_is_looked_up_as_typed_and_without_it() {
        let prefixes = |entry: &str| SearchQuery::parse(entry).map(|q| q.term_prefixes());
        assert_eq!(
            prefixes("0123"),
            Some(vec!["d#0123".into(), "d#123".into()])
        );
        assert_eq!(
            prefixes("012 3456"),
            Some(vec!["d#0123456".into(), "d#123456".into()])
        );
        assert_eq!(
            prefixes("0060 12"),
            Some(vec!["d#006012".into(), "d#6012".into()])
        );
        // Under four digits as typed: no ending is that short, only the number's start.
        assert_eq!(prefixes("012"), Some(vec!["d#12".into()]));
        assert_eq!(prefixes("0000"), Some(vec!["d#0000".into()]));
        assert_eq!(prefixes("6789"), Some(vec!["d#6789".into()]));
        // The last digits of a number that ends in 0123 find it, and only it.
        let dev = contact("org-a", "c4", "Dev Patel", "+14155550123");
        let query = SearchQuery::parse("0123").unwrap();
        assert_eq!(found_at(&dev, &query), Some("d#0123#c4".into()));
        assert_eq!(found_at(&aisha(), &query), Some("d#0123456789#c1".into()));
        assert_eq!(
            found_at(&aisha(), &SearchQuery::parse("0789").unwrap()),
            None
        );
        // A national number as dialled in the UK, 07911 123456: found without its trunk 0.
        let carla = contact("org-a", "c3", "Carla Mendes", "+447911123456");
        assert_eq!(
            found_at(&carla, &SearchQuery::parse("07911 123").unwrap()),
            Some("d#7911123456#c3".into())
        );
    }
}
