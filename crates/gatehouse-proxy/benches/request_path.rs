//! Cost of the request path's own stages: path normalisation and route matching over a table of
//! realistic size. `cargo bench -p gatehouse-proxy`.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use gatehouse_proxy::normalize::normalize_path;
use gatehouse_proxy::routing::Router;

fn router(routes: usize) -> Router {
    let mut yaml = String::from("upstreams:\n  a:\n    endpoints: [\"127.0.0.1:1\"]\nroutes:\n");
    for i in 0..routes {
        yaml.push_str(&format!(
            "  - match: {{ prefix: /api/service{i}/v1 }}\n    upstream: a\n"
        ));
    }
    yaml.push_str("  - match: { prefix: / }\n    upstream: a\n");
    Router::new(&gatehouse_config::parse(&yaml).unwrap().routes)
}

fn stages(c: &mut Criterion) {
    c.bench_function("normalize/plain", |b| {
        b.iter(|| normalize_path(black_box("/api/service17/v1/orders/12345")))
    });
    c.bench_function("normalize/tricky", |b| {
        b.iter(|| normalize_path(black_box("/api//service17/./v1/%6Frders/../orders/12345")))
    });
    for size in [10, 100] {
        let router = router(size);
        let path = format!("/api/service{}/v1/orders/7", size / 2);
        c.bench_function(&format!("route/{size}_routes"), |b| {
            b.iter(|| router.find(None, black_box(&path), &http::Method::GET))
        });
    }
}

criterion_group!(benches, stages);
criterion_main!(benches);
