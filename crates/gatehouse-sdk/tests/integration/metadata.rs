//! gRPC metadata carries the very same names and encoding as HTTP headers: the contract's
//! vectors, checked through tonic's `MetadataMap`.

use std::collections::BTreeSet;

use gatehouse_sdk::{Identity, testing};

#[path = "../../../gatehouse-context/tests/vectors/format.rs"]
mod format;

#[test]
fn roundtrip_vectors_hold_as_grpc_metadata() {
    let vectors = format::load();
    assert!(!vectors.roundtrip.is_empty());
    for case in vectors.roundtrip {
        let identity = Identity::from(case.identity.unwrap());
        let metadata = testing::metadata(&identity).unwrap();
        let written: BTreeSet<(String, String)> = metadata
            .iter()
            .map(|entry| match entry {
                tonic::metadata::KeyAndValueRef::Ascii(key, value) => {
                    (key.to_string(), value.to_str().unwrap().to_owned())
                }
                tonic::metadata::KeyAndValueRef::Binary(key, _) => {
                    panic!("{}: binary metadata {key}", case.name)
                }
            })
            .collect();
        let expected: BTreeSet<(String, String)> = case.headers.into_iter().collect();
        assert_eq!(written, expected, "{}", case.name);

        let read = gatehouse_sdk::testing::read_metadata(&metadata).unwrap();
        assert_eq!(read, Some(identity), "{}", case.name);
    }
}
