//! The first phone-number validation of a fresh process, as a function's first invocation
//! pays it. `phone-first NUMBER…` validates each number in turn and prints, per number, the
//! microseconds it took and the verdict; the benchmark starts one process per calling code so
//! every first is a cold one. `--before` validates as the product did before per-code
//! metadata (the `phonenumber` crate's whole database and its E.164 formatter), for the
//! comparison.

fn main() -> std::process::ExitCode {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let before = args.first().is_some_and(|a| a == "--before");
    if before {
        args.remove(0);
    }
    for number in args {
        let started = std::time::Instant::now();
        let valid = if before {
            phonenumber::parse(None, &number).is_ok_and(|parsed| {
                phonenumber::is_valid(&parsed)
                    && parsed.format().mode(phonenumber::Mode::E164).to_string() == number
            })
        } else {
            shared::domain::PhoneNumber::parse_e164(&number).is_ok()
        };
        let micros = started.elapsed().as_secs_f64() * 1e6;
        println!("{number} {micros:.1} {valid}");
    }
    std::process::ExitCode::SUCCESS
}
