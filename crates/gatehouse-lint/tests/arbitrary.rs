#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Whatever the manifests hold, the linter answers with findings, never a panic: every field a
//! rule reads is given the wrong type, a missing value or an odd shape here.

use gatehouse_lint::{Document, lint};
use proptest::prelude::*;
use serde_json::{Value, json};

/// Kinds the rules look at, so generated objects reach every code path.
const KINDS: [&str; 12] = [
    "Deployment",
    "CronJob",
    "Pod",
    "Service",
    "Ingress",
    "HTTPRoute",
    "NetworkPolicy",
    "ConfigMap",
    "DaemonSet",
    "List",
    "Namespace",
    "Job",
];

/// Field names the rules read, so generated maps hit them.
const KEYS: [&str; 24] = [
    "spec",
    "template",
    "jobTemplate",
    "metadata",
    "labels",
    "selector",
    "podSelector",
    "matchLabels",
    "matchExpressions",
    "containers",
    "ports",
    "hostPort",
    "hostNetwork",
    "type",
    "rules",
    "http",
    "paths",
    "backend",
    "service",
    "name",
    "ingress",
    "from",
    "data",
    "items",
];

fn value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        prop_oneof![
            Just("gatehouse".to_owned()),
            Just("NodePort".to_owned()),
            Just("In".to_owned()),
            Just("upstreams: {a: {endpoints: ['x:1']}}\nroutes: []".to_owned()),
            "[a-z.:/0-9]{0,12}",
        ]
        .prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 64, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec((prop::sample::select(&KEYS[..]), inner), 0..6).prop_map(
                |pairs| {
                    Value::Object(pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
                }
            ),
        ]
    })
}

fn object() -> impl Strategy<Value = Value> {
    (prop::sample::select(&KINDS[..]), value(), value(), value()).prop_map(
        |(kind, spec, metadata, extra)| {
            json!({
                "apiVersion": "v1",
                "kind": kind,
                "metadata": metadata,
                "spec": spec,
                "items": extra.clone(),
                "data": extra,
            })
        },
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn lint_never_panics(objects in prop::collection::vec(object(), 0..8)) {
        let documents: Vec<Document> = objects
            .into_iter()
            .map(|value| Document { file: "generated.yaml".into(), value })
            .collect();
        let report = lint(&documents);
        for finding in &report.findings {
            prop_assert!(!finding.message.is_empty());
        }
    }
}
