#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Each broken fixture, linted together with the clean `good.yaml`, produces exactly the
//! findings listed here: every rule fires where it should and nowhere else.

use std::collections::BTreeSet;
use std::path::PathBuf;

use gatehouse_lint::{Report, Rule, lint, load_paths};

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn lint_fixtures(names: &[&str]) -> Report {
    let paths: Vec<PathBuf> = names.iter().map(|n| fixture(n)).collect();
    lint(&load_paths(&paths).unwrap())
}

/// (rule, kind, name) of every finding.
fn found(report: &Report) -> BTreeSet<(String, String, String)> {
    report
        .findings
        .iter()
        .map(|f| (f.rule.id().to_owned(), f.kind.clone(), f.name.clone()))
        .collect()
}

#[track_caller]
fn expect(name: &str, expected: &[(&str, &str, &str)]) {
    let report = lint_fixtures(&["good.yaml", name]);
    let expected: BTreeSet<(String, String, String)> = expected
        .iter()
        .map(|(r, k, n)| ((*r).to_owned(), (*k).to_owned(), (*n).to_owned()))
        .collect();
    let messages: Vec<String> = report.findings.iter().map(ToString::to_string).collect();
    assert_eq!(found(&report), expected, "{name}:\n{}", messages.join("\n"));
    // Findings about the added mistake are filed under the fixture's own file.
    for finding in &report.findings {
        assert!(finding.file.ends_with(name), "{finding}");
        assert!(!finding.message.is_empty());
    }
}

#[test]
fn the_good_fixture_is_clean() {
    let report = lint_fixtures(&["good.yaml"]);
    assert!(report.is_clean(), "{:?}", report.findings);
    assert_eq!(report.objects, 8);
    assert_eq!(report.configs, 1);
}

#[test]
fn exposed_backend_services_are_found_but_not_the_gateways() {
    expect(
        "service-exposed.yaml",
        &[
            ("service-exposed", "Service", "orders-debug"),
            ("service-exposed", "Service", "orders-public"),
            ("service-exposed", "Service", "orders-external-ip"),
        ],
    );
}

#[test]
fn pods_no_policy_selects_are_found() {
    expect(
        "pod-without-network-policy.yaml",
        &[
            ("pod-without-network-policy", "CronJob", "report"),
            ("no-default-deny", "Namespace", "tools"),
        ],
    );
}

#[test]
fn a_namespace_without_default_deny_for_egress_is_found() {
    let report = lint_fixtures(&["good.yaml", "no-default-deny.yaml"]);
    assert_eq!(
        found(&report),
        BTreeSet::from([(
            "no-default-deny".to_owned(),
            "Namespace".to_owned(),
            "billing".to_owned()
        )])
    );
    assert!(
        report.findings[0].message.contains("for egress"),
        "{}",
        report.findings[0]
    );
}

#[test]
fn policies_that_open_a_backend_to_everything_are_found() {
    expect(
        "backend-open-ingress.yaml",
        &[
            ("backend-open-ingress", "NetworkPolicy", "orders-allow-all"),
            (
                "backend-open-ingress",
                "NetworkPolicy",
                "orders-from-any-namespace",
            ),
            (
                "backend-open-ingress",
                "NetworkPolicy",
                "everything-from-the-internet",
            ),
        ],
    );
}

#[test]
fn host_networking_and_host_ports_are_found() {
    expect(
        "host-network.yaml",
        &[("host-network", "DaemonSet", "node-agent")],
    );
    expect("host-port.yaml", &[("host-port", "StatefulSet", "cache")]);
}

#[test]
fn ingress_routes_around_the_gateway_are_found() {
    let report = lint_fixtures(&["good.yaml", "ingress-bypasses-gateway.yaml"]);
    let messages: Vec<String> = report.findings.iter().map(ToString::to_string).collect();
    assert_eq!(
        found(&report),
        BTreeSet::from([
            (
                "ingress-bypasses-gateway".to_owned(),
                "Ingress".to_owned(),
                "shortcut".to_owned()
            ),
            (
                "ingress-bypasses-gateway".to_owned(),
                "HTTPRoute".to_owned(),
                "orders-direct".to_owned()
            ),
        ]),
        "{messages:#?}"
    );
    // Three bad backends in the Ingress (orders, legacy, the resource); the gateway is fine.
    let ingress: Vec<&String> = messages.iter().filter(|m| m.contains("shortcut")).collect();
    assert_eq!(ingress.len(), 3, "{messages:#?}");
    assert!(ingress.iter().any(|m| m.contains("Service orders,")));
    assert!(ingress.iter().any(|m| m.contains("Service legacy,")));
    assert!(ingress.iter().any(|m| m.contains("resource backend")));
    assert!(!messages.iter().any(|m| m.contains("Service edge")));
}

#[test]
fn upstreams_that_are_not_cluster_ip_services_are_found() {
    let report = lint_fixtures(&["good.yaml", "upstream-not-cluster-ip.yaml"]);
    let messages: Vec<String> = report
        .findings
        .iter()
        .filter(|f| f.rule == Rule::UpstreamNotClusterIp)
        .map(|f| f.message.clone())
        .collect();
    for upstream in ["by-ip", "outside", "missing", "nodeport", "wrong-port"] {
        let hits = messages
            .iter()
            .filter(|m| m.starts_with(&format!("upstreams.{upstream}.")))
            .count();
        assert_eq!(hits, 1, "{upstream}: {messages:#?}");
    }
    assert_eq!(messages.len(), 5, "{messages:#?}");
    assert_eq!(
        found(&report),
        BTreeSet::from([
            (
                "upstream-not-cluster-ip".to_owned(),
                "GatehouseConfig".to_owned(),
                "upstream-not-cluster-ip.yaml".to_owned()
            ),
            // The NodePort Service is itself an exposed backend.
            (
                "service-exposed".to_owned(),
                "Service".to_owned(),
                "reports".to_owned()
            ),
        ])
    );
}

#[test]
fn routes_forwarding_the_token_are_found() {
    let report = lint_fixtures(&["good.yaml", "forwards-token.yaml"]);
    assert_eq!(report.configs, 2);
    assert_eq!(report.findings.len(), 1, "{:?}", report.findings);
    let finding = &report.findings[0];
    assert_eq!(
        (finding.rule, finding.kind.as_str(), finding.name.as_str()),
        (Rule::ForwardsToken, "ConfigMap", "gatehouse-partner")
    );
    assert!(
        finding
            .message
            .starts_with("partner.yaml: route raw-token "),
        "{finding}"
    );
}

#[test]
fn a_config_the_gateway_would_refuse_is_found() {
    let report = lint_fixtures(&["good.yaml", "gateway-config-invalid.yaml"]);
    assert_eq!(report.findings.len(), 1, "{:?}", report.findings);
    let finding = &report.findings[0];
    assert_eq!(finding.rule, Rule::GatewayConfigInvalid);
    assert_eq!(finding.name, "gatehouse-broken");
    assert!(finding.message.contains("ordrs"), "{finding}");
}

#[test]
fn every_rule_has_a_fixture_that_fires_it() {
    let fixtures = std::fs::read_dir(fixture("")).unwrap();
    let mut fired = BTreeSet::new();
    for entry in fixtures {
        let path = entry.unwrap().path();
        let report = lint(&load_paths(&[fixture("good.yaml"), path]).unwrap());
        fired.extend(report.findings.iter().map(|f| f.rule));
    }
    for rule in Rule::ALL {
        assert!(fired.contains(&rule), "no fixture fires {rule}");
    }
}

#[test]
fn a_directory_is_read_recursively_and_reports_sort_stably() {
    let report = lint(&load_paths(&[fixture("")]).unwrap());
    assert!(report.findings.len() > 10);
    let mut sorted = report.findings.clone();
    sorted.sort();
    assert_eq!(report.findings, sorted);
}

#[test]
fn json_output_names_the_rule_by_its_stable_id() {
    let report = lint_fixtures(&["good.yaml", "host-port.yaml"]);
    let json = serde_json::to_value(&report).unwrap();
    let finding = &json["findings"][0];
    assert_eq!(finding["rule"], "host-port");
    assert_eq!(finding["kind"], "StatefulSet");
    assert_eq!(finding["name"], "cache");
    assert_eq!(finding["namespace"], "shop");
    assert!(
        finding["file"]
            .as_str()
            .unwrap()
            .ends_with("host-port.yaml")
    );
}
