//! Splits libphonenumber's metadata (`assets/PhoneNumberMetadata.xml`, the copy the
//! `phonenumber` crate of the same version ships) into one small database per country calling
//! code, so a process validating its first number loads the regions of that code only, not
//! all of them (the crate's whole database costs ~80 ms on first use). Only what
//! `src/domain/phone_rules.rs` reads is kept.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs::File;
use std::io::BufReader;
use std::path::PathBuf;

fn main() {
    let source = "assets/PhoneNumberMetadata.xml";
    println!("cargo:rerun-if-changed={source}");
    println!("cargo:rerun-if-changed=build.rs");
    let file = File::open(source).expect("phone metadata");
    let metadata =
        phonenumber::metadata::loader::load(BufReader::new(file)).expect("phone metadata parses");
    let mut by_code: BTreeMap<u16, Vec<phonenumber::metadata::loader::Metadata>> = BTreeMap::new();
    for mut territory in metadata {
        // Display formats are read only by the crate's formatter, which the product does not
        // use (E.164 is written directly).
        territory.formats.clear();
        territory.international_formats.clear();
        // Nor are these read when validating (short numbers, dialling restrictions).
        territory.emergency = None;
        territory.short_code = None;
        territory.standard_rate = None;
        territory.carrier = None;
        territory.no_international = None;
        territory.international_prefix = None;
        let code = territory
            .country_code
            .expect("every territory has a country code");
        by_code.entry(code).or_default().push(territory);
    }
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("OUT_DIR"));
    let mut table =
        String::from("/// Country calling codes, ascending, and their metadata (postcard).\n");
    writeln!(
        table,
        "pub(crate) static COUNTRY_CODES: [(u16, &[u8]); {}] = [",
        by_code.len()
    )
    .expect("write");
    for (code, territories) in &by_code {
        let name = format!("phone-{code}.bin");
        let bytes = postcard::to_stdvec(territories).expect("postcard");
        std::fs::write(out.join(&name), bytes).expect("write metadata");
        writeln!(
            table,
            "    ({code}, include_bytes!(concat!(env!(\"OUT_DIR\"), \"/{name}\"))),"
        )
        .expect("write");
    }
    table.push_str("];\n");
    std::fs::write(out.join("phone_metadata.rs"), table).expect("write table");
}
