//! libphonenumber's metadata, one country calling code at a time: the first number of a
//! process loads the regions of its own code (a few of the 250), each code at most once, and
//! compiles a pattern only when a rule first reads it.
//!
//! The data is the `phonenumber` crate's own, split by `build.rs`. Its patterns are compiled
//! with `regex-lite` rather than by the crate: the crate checks the syntax of every pattern of
//! every region as it loads (6 ms for the 25 regions of +1) and compiles with Unicode on,
//! where `\d` is every script's digits (a first +86 number spent 6.8 ms compiling). The
//! product only ever matches ASCII digits, which both engines read the same way.

use std::sync::OnceLock;

use phonenumber::metadata::loader;
use regex_lite::Regex;

include!(concat!(env!("OUT_DIR"), "/phone_metadata.rs"));

static CALLING_CODES: [OnceLock<Option<CallingCode>>; COUNTRY_CODES.len()] =
    [const { OnceLock::new() }; COUNTRY_CODES.len()];

/// The regions that share one country calling code, the code's main country first (the order
/// the crate's database keeps them in).
#[derive(Debug)]
pub(crate) struct CallingCode {
    pub regions: Vec<Region>,
}

/// One region's rules: what its valid numbers look like and how a national prefix is read.
#[derive(Debug)]
pub(crate) struct Region {
    pub general: Descriptor,
    /// Every number type a valid number can have (fixed line and mobile first: the types
    /// most numbers are, so most validations compile only those).
    pub types: Vec<Descriptor>,
    pub leading_digits: Option<Pattern>,
    pub national_prefix: Option<String>,
    pub national_prefix_for_parsing: Option<Pattern>,
    pub national_prefix_transform_rule: Option<String>,
}

/// A number type's national-number pattern and lengths.
#[derive(Debug)]
pub(crate) struct Descriptor {
    pub pattern: Pattern,
    pub possible_lengths: Vec<u16>,
    pub possible_local_lengths: Vec<u16>,
}

/// A metadata pattern, compiled the first time it is matched.
#[derive(Debug)]
pub(crate) struct Pattern {
    source: String,
    compiled: OnceLock<Option<Regex>>,
}

impl Pattern {
    fn new(source: String) -> Self {
        Self {
            source,
            compiled: OnceLock::new(),
        }
    }

    /// The compiled pattern; `None` only for a pattern `regex-lite` cannot read, which
    /// `every_pattern_compiles` below rules out for the metadata shipped.
    pub fn regex(&self) -> Option<&Regex> {
        self.compiled
            .get_or_init(|| {
                // Whitespace in the XML's patterns is layout, as the crate reads them.
                regex_lite::RegexBuilder::new(&self.source)
                    .ignore_whitespace(true)
                    .build()
                    .ok()
            })
            .as_ref()
    }

    /// Whether the pattern's leftmost match starts at the beginning of `value` (not
    /// necessarily ending at its end: libphonenumber's reading, kept as the crate has it).
    pub fn matches_at_start(&self, value: &str) -> bool {
        self.regex()
            .and_then(|regex| regex.find(value))
            .is_some_and(|found| found.start() == 0)
    }
}

/// The regions of the calling code `digits` (a number without its `+`) starts with, and the
/// rest of the digits (the national number). Calling codes are prefix-free, so the first of
/// one, two or three digits that is a code is it.
pub(crate) fn calling_code_for(digits: &str) -> Option<(&'static CallingCode, &str)> {
    (1..=3.min(digits.len())).find_map(|len| {
        let code: u16 = digits.get(..len)?.parse().ok()?;
        let index = COUNTRY_CODES
            .binary_search_by_key(&code, |(code, _)| *code)
            .ok()?;
        let calling_code = CALLING_CODES[index]
            .get_or_init(|| load(COUNTRY_CODES[index].1))
            .as_ref()?;
        Some((calling_code, &digits[len..]))
    })
}

fn load(bytes: &[u8]) -> Option<CallingCode> {
    let territories: Vec<loader::Metadata> = postcard::from_bytes(bytes).ok()?;
    let mut regions = Vec::with_capacity(territories.len());
    for territory in territories {
        // The main country goes first, the others keep their order (as the crate's database).
        let main = territory.main_country_for_code;
        let region = region(territory)?;
        if main {
            regions.insert(0, region);
        } else {
            regions.push(region);
        }
    }
    Some(CallingCode { regions })
}

fn region(territory: loader::Metadata) -> Option<Region> {
    let types = [
        territory.fixed_line,
        territory.mobile,
        territory.premium_rate,
        territory.toll_free,
        territory.shared_cost,
        territory.voip,
        territory.personal_number,
        territory.pager,
        territory.uan,
        territory.voicemail,
    ];
    Some(Region {
        general: descriptor(territory.general?)?,
        types: types
            .into_iter()
            .flatten()
            .map(descriptor)
            .collect::<Option<_>>()?,
        leading_digits: territory.leading_digits.map(Pattern::new),
        national_prefix: territory.national_prefix,
        national_prefix_for_parsing: territory.national_prefix_for_parsing.map(Pattern::new),
        national_prefix_transform_rule: territory.national_prefix_transform_rule,
    })
}

fn descriptor(descriptor: loader::Descriptor) -> Option<Descriptor> {
    Some(Descriptor {
        pattern: Pattern::new(descriptor.national_number?),
        possible_lengths: descriptor.possible_length,
        possible_local_lengths: descriptor.possible_local_length,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_loads_and_codes_are_prefix_free() {
        for (code, bytes) in COUNTRY_CODES {
            let loaded = load(bytes).unwrap_or_else(|| panic!("{code} loads"));
            assert!(!loaded.regions.is_empty(), "{code}");
            let digits = code.to_string();
            for len in 1..digits.len() {
                let prefix: u16 = digits[..len].parse().unwrap();
                assert!(
                    COUNTRY_CODES
                        .binary_search_by_key(&prefix, |(c, _)| *c)
                        .is_err(),
                    "{prefix} is a prefix of {code}"
                );
            }
        }
        assert!(COUNTRY_CODES.len() > 200);
    }

    #[test]
    fn every_pattern_compiles() {
        for (code, bytes) in COUNTRY_CODES {
            let loaded = load(bytes).unwrap();
            for region in &loaded.regions {
                let patterns = std::iter::once(&region.general)
                    .chain(&region.types)
                    .map(|d| &d.pattern)
                    .chain(&region.leading_digits)
                    .chain(&region.national_prefix_for_parsing);
                for pattern in patterns {
                    assert!(pattern.regex().is_some(), "+{code}: {}", pattern.source);
                }
            }
        }
    }

    #[test]
    fn the_main_country_comes_first() {
        let (one, national) = calling_code_for("14155238886").unwrap();
        assert_eq!(national, "4155238886");
        assert!(one.regions.len() > 20);
        // The United States (main) and Canada are told apart by their patterns, the other
        // +1 regions by their leading digits (area codes): the main one has to come first.
        assert!(one.regions[0].leading_digits.is_none());
        let by_pattern = one.regions.iter().filter(|r| r.leading_digits.is_none());
        assert_eq!(by_pattern.count(), 2);
        let (seven, national) = calling_code_for("79161234567").unwrap();
        assert_eq!((seven.regions.len(), national), (2, "9161234567"));
        assert!(calling_code_for("999123").is_none());
    }
}
