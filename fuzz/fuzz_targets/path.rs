//! Request paths: normalisation must never panic, must be idempotent, and its output must never
//! contain a dot segment, a doubled slash, or an encoded separator.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(path) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(normal) = gatehouse_proxy::normalize::normalize_path(path) {
        assert_eq!(
            gatehouse_proxy::normalize::normalize_path(&normal).as_deref(),
            Ok(&*normal)
        );
        assert!(!normal.contains("//"));
        assert!(!normal.split('/').any(|s| s == "." || s == ".."));
        let upper = normal.to_ascii_uppercase();
        assert!(!upper.contains("%2F") && !upper.contains("%5C") && !upper.contains("%00"));
    }
});
