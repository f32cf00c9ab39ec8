//! Any bytes as a scenario file: the parser either accepts them or returns an
//! error naming a place in the file; an accepted scenario also generates its
//! Go program. Neither may panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match scenarios::parse_scenario(text, "fuzz.toml") {
        Ok(scenario) => {
            let source = scenarios::gosource::generate(&scenario);
            assert!(source.contains("func main()"));
        }
        Err(e) => {
            let message = e.to_string();
            assert!(message.starts_with("fuzz.toml"), "{message}");
        }
    }
});
