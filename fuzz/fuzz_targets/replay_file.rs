//! Any bytes as a replay file: parsed or refused with an error naming the
//! file, never a panic; an accepted replay writes back to text that parses to
//! the same replay.
#![no_main]

use libfuzzer_sys::fuzz_target;
use scenarios::replay::Replay;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match Replay::parse(text, "fuzz.replay") {
        Ok(replay) => {
            let again = Replay::parse(&replay.to_text(), "again.replay")
                .expect("a replay's own text parses");
            assert_eq!(again, replay);
        }
        Err(e) => {
            let message = e.to_string();
            assert!(message.starts_with("fuzz.replay"), "{message}");
        }
    }
});
