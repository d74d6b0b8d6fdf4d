//! libphonenumber's metadata, one country calling code at a time: the first number of a
//! process loads the regions of its own code (a few of the 250), each code at most once.
//! The data is the `phonenumber` crate's own, split by `build.rs`, so verdicts are the same.

use std::sync::OnceLock;

use phonenumber::metadata::Database;

include!(concat!(env!("OUT_DIR"), "/phone_metadata.rs"));

static DATABASES: [OnceLock<Option<Database>>; COUNTRY_CODES.len()] =
    [const { OnceLock::new() }; COUNTRY_CODES.len()];

/// The metadata of the calling code `digits` (a number without its `+`) starts with. Calling
/// codes are prefix-free, so the first of one, two or three digits that is a code is it.
pub(crate) fn database_for(digits: &str) -> Option<&'static Database> {
    (1..=3.min(digits.len())).find_map(|len| {
        let code: u16 = digits.get(..len)?.parse().ok()?;
        let index = COUNTRY_CODES
            .binary_search_by_key(&code, |(code, _)| *code)
            .ok()?;
        DATABASES[index]
            .get_or_init(|| load(COUNTRY_CODES[index].1))
            .as_ref()
    })
}

fn load(bytes: &[u8]) -> Option<Database> {
    let territories: Vec<phonenumber::metadata::loader::Metadata> =
        postcard::from_bytes(bytes).ok()?;
    Database::from(territories).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_loads_and_codes_are_prefix_free() {
        for (index, (code, _)) in COUNTRY_CODES.iter().enumerate() {
            assert!(load(COUNTRY_CODES[index].1).is_some(), "{code}");
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
}
