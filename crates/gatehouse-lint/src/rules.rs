//! The rules, one module per concern; `run` applies them all.

mod exposure;
mod host;
mod ingress;
mod network_policy;
mod open_policy;
mod upstream;

use crate::Finding;
use crate::manifests::Manifests;

/// Every finding of every rule, unsorted.
pub fn run(manifests: &Manifests<'_>) -> Vec<Finding> {
    let mut findings = Vec::new();
    exposure::check(manifests, &mut findings);
    network_policy::check(manifests, &mut findings);
    open_policy::check(manifests, &mut findings);
    host::check(manifests, &mut findings);
    ingress::check(manifests, &mut findings);
    upstream::check(manifests, &mut findings);
    findings
}
