//! `gatehouse lint`: reads Kubernetes manifests and gatehouse configuration and reports the
//! mistakes that make services reachable without passing the gateway: exposed backend Services,
//! missing NetworkPolicies, host networking, Ingresses that skip the gateway, upstreams that are
//! not ClusterIP Services, and routes that forward the raw token.
//!
//! Gateway-only authentication is safe only while services are unreachable except through the
//! gateway; each rule here checks one way that stops being true.

mod error;
mod finding;
mod gateway_config;
mod load;
mod manifests;
mod object;
mod rules;
mod selector;

pub use error::LintError;
pub use finding::{Finding, Report, Rule};
pub use load::{Document, load_paths, parse_text};

/// Lints loaded documents; findings come sorted by file, object and rule.
pub fn lint(documents: &[Document]) -> Report {
    let manifests = manifests::Manifests::new(documents);
    let mut findings = rules::run(&manifests);
    findings.sort();
    findings.dedup();
    Report {
        findings,
        objects: manifests.object_count(),
        configs: manifests.configs.len(),
    }
}
