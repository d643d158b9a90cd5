//! Configuration files: parsing and validation must report problems, never panic (a panic on
//! reload would take the gateway down).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = gatehouse_config::parse(text);
    }
});
