//! Phone numbers validated one calling code at a time give exactly the verdicts of the
//! `phonenumber` crate's whole database, which the product used before: the same valid
//! numbers, in the same canonical form, and the same invalid ones. The table is every example
//! number of every region and number type in libphonenumber's metadata, each also cut short,
//! lengthened, altered and given a national prefix (`0` and the region's own, once and
//! twice), numbers of random digits in every length each region allows, plus hand-picked
//! numbers.
#![allow(
    clippy::too_many_lines,
    reason = "a test states its scenario whole (docs/design.md, \"Long functions\")"
)]

use std::collections::BTreeSet;
use std::fs::File;
use std::io::BufReader;

use shared::domain::PhoneNumber;

/// The product's validation before per-code metadata: the crate's default database.
fn verdict_before(value: &str) -> Option<String> {
    let digits = value.strip_prefix('+')?;
    if !(2..=15).contains(&digits.len())
        || !digits.bytes().all(|b| b.is_ascii_digit())
        || digits.starts_with('0')
    {
        return None;
    }
    let parsed = phonenumber::parse(None, value).ok()?;
    if !phonenumber::is_valid(&parsed) {
        return None;
    }
    let canonical = parsed.format().mode(phonenumber::Mode::E164).to_string();
    (canonical == value).then_some(canonical)
}

fn verdict_now(value: &str) -> Option<String> {
    PhoneNumber::parse_e164(value).ok().map(String::from)
}

fn table() -> BTreeSet<String> {
    let file = File::open(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/assets/PhoneNumberMetadata.xml"
    ))
    .unwrap();
    let territories = phonenumber::metadata::loader::load(BufReader::new(file)).unwrap();
    let mut numbers = BTreeSet::new();
    // A fixed sequence of pseudo-random digits (a linear congruential generator), so a
    // difference found once is found every run.
    let mut state: u64 = 20_261_204;
    let mut digit = move || {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        char::from(b'0' + ((state >> 33) % 10) as u8)
    };
    for territory in &territories {
        let code = territory.country_code.unwrap();
        let lengths = territory
            .general
            .as_ref()
            .map(|g| g.possible_length.clone())
            .unwrap_or_default();
        for length in lengths {
            for _ in 0..6 {
                let national: String = (0..length).map(|_| digit()).collect();
                numbers.insert(format!("+{code}{national}"));
            }
        }
        let examples = [
            &territory.general,
            &territory.fixed_line,
            &territory.mobile,
            &territory.toll_free,
            &territory.premium_rate,
            &territory.shared_cost,
            &territory.personal_number,
            &territory.voip,
            &territory.pager,
            &territory.uan,
            &territory.voicemail,
            &territory.no_international,
        ];
        for example in examples.iter().filter_map(|d| d.as_ref()?.example.clone()) {
            let number = format!("+{code}{example}");
            numbers.insert(number.clone());
            numbers.insert(number[..number.len() - 1].to_owned());
            numbers.insert(format!("{number}5"));
            numbers.insert(format!("{number}00"));
            numbers.insert(format!("+{code}0{example}"));
            if let Some(prefix) = &territory.national_prefix {
                numbers.insert(format!("+{code}{prefix}{example}"));
                numbers.insert(format!("+{code}{prefix}{prefix}{example}"));
            }
            numbers.insert(format!("+{code}{}", &example[1.min(example.len())..]));
            // The example's first half (its area or mobile prefix) with random digits after.
            for _ in 0..3 {
                let kept = &example[..example.len() / 2];
                let rest: String = (kept.len()..example.len()).map(|_| digit()).collect();
                numbers.insert(format!("+{code}{kept}{rest}"));
            }
            let mut altered: Vec<u8> = number.clone().into_bytes();
            for position in [1 + code.to_string().len(), altered.len() - 1] {
                if let Some(digit) = altered.get_mut(position) {
                    *digit = b'0' + (*digit - b'0' + 1) % 10;
                }
            }
            numbers.insert(String::from_utf8(altered).unwrap());
        }
    }
    for hand_picked in [
        "+60123456789",
        "+14155238886",
        "+447911123456",
        "+6591234567",
        "+919876543210",
        "+5511987654321",
        "+8613812345678",
        "+971501234567",
        "+61412345678",
        "+2348031234567",
        "+33612345678",
        "+4915112345678",
        "+819012345678",
        "+18005550100",
        "+12025550123",
        "+79161234567",
        "+77011234567",
        "+390612345678",
        "+3906123456789",
        "+4420123456",
        "+80012345678",
        "+882123456789",
        "+1",
        "+12",
        "+999123456789",
        "+1415555",
        "+0123456789",
        "+123456789012345",
        "+1234567890123456",
        "+60 123456789",
        "+6012345678a",
        "60123456789",
        "+",
        "",
    ] {
        numbers.insert(hand_picked.to_owned());
    }
    numbers
}

#[test]
fn per_code_metadata_gives_the_same_verdicts_as_the_whole_database() {
    let numbers = table();
    let mut valid = 0;
    let mut differences = vec![];
    for number in &numbers {
        let before = verdict_before(number);
        valid += usize::from(before.is_some());
        let now = verdict_now(number);
        if before != now {
            differences.push(format!("{number}: before {before:?}, now {now:?}"));
        }
    }
    assert!(differences.is_empty(), "{differences:#?}");
    // The table really holds both kinds, from many regions.
    assert!(numbers.len() > 10_000, "{}", numbers.len());
    assert!(
        valid > 2_000 && numbers.len() - valid > 5_000,
        "{valid} valid"
    );
}
