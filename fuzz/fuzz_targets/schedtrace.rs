//! Any text as a process's stderr for the schedtrace reader: lines or an
//! error naming a line that exists, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Err(e) = scenarios::schedtrace::parse_schedtrace(&text) {
        assert!(e.line >= 1 && e.line <= text.lines().count(), "{e}");
    }
});
