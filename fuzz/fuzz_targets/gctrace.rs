//! Any text as a process's stderr for the gctrace reader: lines or an error
//! naming a line that exists, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    match scenarios::gctrace::parse_gctrace(&text) {
        Ok(cycles) => {
            let _ = scenarios::gctrace::heap_goal_median_bytes(&cycles);
        }
        Err(e) => assert!(e.line >= 1 && e.line <= text.lines().count(), "{e}"),
    }
});
