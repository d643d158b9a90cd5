//! Fuzzes configuration files against `gatehouse_fuzzing::config`, the property the
//! default suite also checks on seeded inputs (`crates/gatehouse-fuzzing/tests/smoke.rs`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| gatehouse_fuzzing::config(data));
