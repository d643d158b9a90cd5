//! Fuzzes upstream HTTP/1.1 responses against `gatehouse_fuzzing::upstream_response`, the
//! property the default suite also checks on seeded inputs
//! (`crates/gatehouse-fuzzing/tests/smoke.rs`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| gatehouse_fuzzing::upstream_response(data));
