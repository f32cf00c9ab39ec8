//! Any bytes as a `--cost-model` file: a cost model or an error naming the
//! file, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Err(e) = scenarios::parse_cost_model(text, "fuzz-cost.toml") {
        let message = e.to_string();
        assert!(message.starts_with("fuzz-cost.toml"), "{message}");
    }
});
