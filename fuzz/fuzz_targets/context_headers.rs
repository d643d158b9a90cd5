//! Identity-context headers as a service receives them: decoding must never panic, and whatever
//! it accepts must re-encode to exactly the same identity.
#![no_main]

use gatehouse_context::names;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut headers = http::HeaderMap::new();
    // Split the input into values for the contract's headers, in order, separated by 0xFF.
    for (name, value) in names::ALL.iter().zip(data.split(|b| *b == 0xFF)) {
        if let Ok(value) = http::HeaderValue::from_bytes(value) {
            headers.append(*name, value);
        }
    }
    if let Ok(Some(identity)) = gatehouse_context::read_headers(&headers) {
        let mut again = http::HeaderMap::new();
        gatehouse_context::write_headers(&identity, &mut again).expect("a decoded identity encodes");
        let decoded = gatehouse_context::read_headers(&again).expect("re-decodes");
        assert_eq!(decoded, Some(identity));
    }
});
