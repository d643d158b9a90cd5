//! Fuzzes request paths against `gatehouse_fuzzing::path`, the property the
//! default suite also checks on seeded inputs (`crates/gatehouse-fuzzing/tests/smoke.rs`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| gatehouse_fuzzing::path(data));
