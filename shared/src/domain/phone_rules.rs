//! libphonenumber's validity rules for a number written in E.164, as the `phonenumber` crate
//! applies them (`parse_with(None, "+…")`, then `is_valid_with`, then the E.164 form compared
//! with the input), over the per-code metadata of `phone_metadata`.
//!
//! For a `+` and digits the crate's parser reduces to these steps; its free-text reading
//! (punctuation, letters, extensions, `tel:` URIs, international dialling prefixes) never
//! applies. `tests/phone_verdicts.rs` holds the two to the same verdict on every example
//! number of the metadata, altered several ways.

use std::borrow::Cow;

use super::phone_metadata::{CallingCode, Descriptor, Pattern, Region};

/// The crate's bounds on a national significant number.
const NATIONAL_LENGTHS: std::ops::RangeInclusive<usize> = 2..=17;

impl CallingCode {
    /// Whether `+{code}{national}` is a valid number, written exactly as its E.164 form.
    pub(crate) fn is_valid_e164(&self, national: &str) -> bool {
        // Parsing reads a national prefix (and carrier code) off the national number, with
        // the rules of the region the number looks like without its leading zeros. A
        // prefix that is read changes the E.164 form, so the input was not it.
        if let Some(region) = self.region_for(national.trim_start_matches('0')) {
            let without_prefix = region.without_national_prefix(national);
            if without_prefix != national && !region.too_short(&without_prefix) {
                return false;
            }
        }
        // The crate keeps the national number as an integer and its leading zeros: all
        // zeros is not a number.
        NATIONAL_LENGTHS.contains(&national.len())
            && national.bytes().any(|b| b != b'0')
            && self
                .region_for(national)
                .is_some_and(|region| region.is_valid(national))
    }

    /// The region whose rules a national number follows: the only one, or the first (main
    /// country first) whose leading digits begin it, or, for a region without leading
    /// digits, whose patterns it is valid for.
    fn region_for(&self, national: &str) -> Option<&Region> {
        if let [only] = self.regions.as_slice() {
            return Some(only);
        }
        self.regions
            .iter()
            .find(|region| match &region.leading_digits {
                Some(leading) => leading.matches_at_start(national),
                None => region.is_valid(national),
            })
    }
}

impl Region {
    /// A number of some known type of this region's: the crate's `number_type` is not
    /// `Unknown`.
    fn is_valid(&self, national: &str) -> bool {
        self.general.matches(national) && self.types.iter().any(|t| t.matches(national))
    }

    /// The crate's parsing of a national prefix: `national_prefix_for_parsing` at the start
    /// (with the transform rule where one is given), else the plain prefix; then the plain
    /// prefix once more.
    fn without_national_prefix<'a>(&self, national: &'a str) -> Cow<'a, str> {
        let number = match &self.national_prefix_for_parsing {
            None => Cow::Borrowed(self.without_plain_prefix(national)),
            Some(parsing) => self
                .read_prefix(parsing, national)
                .unwrap_or(Cow::Borrowed(national)),
        };
        match self.without_plain_prefix(&number) {
            rest if rest.len() == number.len() => number,
            rest => Cow::Owned(rest.to_owned()),
        }
    }

    fn without_plain_prefix<'n>(&self, national: &'n str) -> &'n str {
        self.national_prefix
            .as_deref()
            .and_then(|prefix| national.strip_prefix(prefix))
            .unwrap_or(national)
    }

    /// The number after `national_prefix_for_parsing` read its start (a national prefix,
    /// maybe a carrier code): the rest, or the transform rule's rewrite where the region has
    /// one and it stays as plausible as the number was. `None` where it leaves the number.
    fn read_prefix<'a>(&self, parsing: &Pattern, national: &'a str) -> Option<Cow<'a, str>> {
        let regex = parsing.regex()?;
        let captures = regex.captures(national)?;
        let whole = captures.get(0)?;
        if whole.start() != 0 {
            return None;
        }
        match (
            &self.national_prefix_transform_rule,
            captures.get(captures.len() - 1),
        ) {
            (Some(rule), Some(_)) => {
                let transformed = regex.replace(national, rule.as_str());
                (!self.general.matches(national) || self.general.matches(&transformed))
                    .then(|| Cow::Owned(transformed.into_owned()))
            }
            _ => Some(Cow::Borrowed(&national[whole.end()..])),
        }
    }

    /// Shorter than every length this region's numbers have (and not a local-only length):
    /// a parse that would leave this keeps the number as it was.
    fn too_short(&self, national: &str) -> bool {
        let length = national.len() as u16;
        let general = &self.general;
        general
            .possible_lengths
            .first()
            .is_some_and(|&shortest| length < shortest)
            && !general.possible_local_lengths.contains(&length)
    }
}

impl Descriptor {
    /// The crate's `Descriptor::is_match`: a possible length, and the pattern matching from
    /// the start.
    fn matches(&self, national: &str) -> bool {
        (self.possible_lengths.is_empty()
            || self.possible_lengths.contains(&(national.len() as u16)))
            && self.pattern.matches_at_start(national)
    }
}
