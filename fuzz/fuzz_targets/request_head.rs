//! Client request heads, as gatehouse's own HTTP/1.1 loop reads them: taking a head must never
//! panic, must consume exactly one head or nothing, and must never take a request whose framing
//! could be read two ways (a body, `Transfer-Encoding`, two lengths) or that asks for an upgrade:
//! those go to hyper's server with every byte intact.
#![no_main]

use bytes::BytesMut;
use gatehouse_proxy::connection::http1::{HeadLimits, Taken, take};
use libfuzzer_sys::fuzz_target;

/// Tight enough that the fuzzer reaches both sides of each limit.
const LIMITS: HeadLimits = HeadLimits {
    max_bytes: 512,
    max_fields: 8,
};

fuzz_target!(|data: &[u8]| {
    let mut buf = BytesMut::from(data);
    match take(&mut buf, LIMITS) {
        Taken::Plain(request, _) => {
            // What is left is exactly the rest of the input, after one head.
            assert!(buf.len() < data.len());
            assert!(data.len() - buf.len() <= LIMITS.max_bytes);
            assert_eq!(&buf[..], &data[data.len() - buf.len()..]);
            assert_eq!(request.version(), http::Version::HTTP_11);
            assert_ne!(request.method(), http::Method::CONNECT);
            let headers = request.headers();
            assert!(headers.len() <= LIMITS.max_fields);
            assert!(!headers.contains_key(http::header::TE));
            assert!(!headers.contains_key(http::header::TRANSFER_ENCODING));
            assert!(!headers.contains_key(http::header::UPGRADE));
            assert!(!headers.contains_key(http::header::EXPECT));
            let lengths: Vec<_> = headers.get_all(http::header::CONTENT_LENGTH).iter().collect();
            assert!(lengths.is_empty() || lengths == ["0"]);
        }
        Taken::Refused(head) => {
            let mut both = head.to_vec();
            both.extend_from_slice(&buf);
            assert_eq!(both, data);
        }
        Taken::Partial | Taken::Other => assert_eq!(&buf[..], data),
    }
});
