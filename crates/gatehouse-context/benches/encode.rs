//! Cost of writing and reading the identity context headers. `cargo bench -p gatehouse-context`.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use gatehouse_context::{EncodedContext, Identity, read_headers, write_headers};

fn identity() -> Identity {
    Identity::new("user-42", "https://id.example.com/realms/shop")
        .with_email("user42@example.com")
        .with_roles(["buyer", "reviewer", "beta"])
        .with_permissions(["orders:read", "orders:create", "users:read"])
        .with_attribute("tenant", "acme")
}

fn context(c: &mut Criterion) {
    let identity = identity();
    c.bench_function("context/write_headers", |b| {
        b.iter(|| {
            let mut headers = http::HeaderMap::new();
            write_headers(black_box(&identity), &mut headers).unwrap();
            headers
        })
    });
    // What the gateway does per request: the context was encoded with the verified token.
    let encoded = EncodedContext::new(&identity).unwrap();
    c.bench_function("context/write_encoded", |b| {
        b.iter(|| {
            let mut headers = http::HeaderMap::new();
            black_box(&encoded).write(&mut headers);
            headers
        })
    });
    let mut headers = http::HeaderMap::new();
    write_headers(&identity, &mut headers).unwrap();
    c.bench_function("context/read_headers", |b| {
        b.iter(|| read_headers(black_box(&headers)))
    });
}

criterion_group!(benches, context);
criterion_main!(benches);
