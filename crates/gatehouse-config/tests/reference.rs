//! The example in docs/configuration.md must always load.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[test]
fn reference_example_is_valid() {
    let doc = include_str!("../../../docs/configuration.md");
    let start = doc.find("```yaml\n").expect("a yaml example") + "```yaml\n".len();
    let end = start + doc[start..].find("```").expect("end of the example");
    let config = gatehouse_config::parse(&doc[start..end]).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(config.routes.len(), 3);
    assert_eq!(config.upstreams.len(), 2);
    assert_eq!(config.routes[0].rewrite_prefix.as_deref(), Some("/orders"));
    assert_eq!(config.providers.len(), 2);
    assert_eq!(config.routes[0].auth.providers, ["keycloak", "partners"]);
}

#[test]
fn every_problem_is_reported_at_once() {
    let err = gatehouse_config::parse(
        "upstreams:\n  a:\n    endpoints: []\nroutes:\n  - match: { prefix: x }\n    upstream: b\n  - match: { prefix: /y }\n",
    )
    .unwrap_err();
    let issues = err.issues();
    assert_eq!(issues.len(), 4, "{issues:#?}");
    assert!(issues[0].starts_with("upstreams.a.endpoints:"));
    assert!(issues[1].starts_with("routes[0].match.prefix:"));
    assert!(issues[2].starts_with("routes[0].upstream:"));
    assert!(issues[3].starts_with("routes[1].upstream:"));
}

#[test]
fn syntax_errors_name_the_place() {
    let err = gatehouse_config::parse("routes:\n  - match: { prefix: /a }\n    upstreem: x\n")
        .unwrap_err();
    assert!(err.to_string().contains("upstreem"), "{err}");
}

#[test]
fn routes_must_state_their_policy_once_providers_exist() {
    let err = gatehouse_config::parse(
        "providers:\n  - name: idp\n    issuer: https://id.example\n    audiences: [api]\n    keys: { discovery: true }\nupstreams:\n  a:\n    endpoints: [\"127.0.0.1:1\"]\nroutes:\n  - match: { prefix: /x }\n    upstream: a\n  - match: { prefix: /y }\n    upstream: a\n    auth: { mode: required, providers: [other] }\n",
    )
    .unwrap_err();
    let issues = err.issues();
    assert!(issues[0].starts_with("routes[0].auth:"), "{issues:#?}");
    assert!(issues[1].starts_with("routes[1].auth"), "{issues:#?}");
    assert!(issues[1].contains("other"), "{issues:#?}");
}
