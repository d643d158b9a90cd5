//! Fuzzes identity-context headers as a service receives them against
//! `gatehouse_fuzzing::context_headers`, the property the default suite also checks on seeded
//! inputs (`crates/gatehouse-fuzzing/tests/smoke.rs`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| gatehouse_fuzzing::context_headers(data));
