//! `pod-without-network-policy` and `no-default-deny`: pods any other pod may reach.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::manifests::Manifests;
use crate::object::{Object, array};
use crate::selector::label_selector_matches;
use crate::{Finding, Rule};

/// Flags each workload no NetworkPolicy selects, and each namespace with workloads but without
/// a policy that denies all ingress and all egress by default.
pub fn check(manifests: &Manifests<'_>, findings: &mut Vec<Finding>) {
    let policies: Vec<&Object<'_>> = manifests.of_kind("NetworkPolicy").collect();
    // The first workload of each namespace: namespace-wide findings are filed under its file.
    let mut namespaces: BTreeMap<&str, &Object<'_>> = BTreeMap::new();
    for (workload, _) in manifests.workloads() {
        namespaces.entry(workload.namespace).or_insert(workload);
        let selected = policies.iter().any(|p| {
            p.namespace == workload.namespace
                && label_selector_matches(p.at("/spec/podSelector"), workload.pod_labels())
        });
        if !selected {
            findings.push(
                workload.finding(
                    Rule::PodWithoutNetworkPolicy,
                    "no NetworkPolicy selects these pods, so every pod in the cluster can connect \
                 to them directly; add a default-deny policy and allow only the gateway"
                        .to_owned(),
                ),
            );
        }
    }
    for (namespace, first) in namespaces {
        let in_namespace = || policies.iter().filter(|p| p.namespace == namespace);
        let ingress = in_namespace().any(|p| denies_all(p, "Ingress", "ingress"));
        let egress = in_namespace().any(|p| denies_all(p, "Egress", "egress"));
        let missing = match (ingress, egress) {
            (true, true) => continue,
            (false, false) => "ingress and egress",
            (false, true) => "ingress",
            (true, false) => "egress",
        };
        findings.push(Finding {
            file: first.file.to_owned(),
            namespace: namespace.to_owned(),
            kind: "Namespace".to_owned(),
            name: namespace.to_owned(),
            rule: Rule::NoDefaultDeny,
            message: format!(
                "no default-deny NetworkPolicy for {missing}: add one with podSelector: {{}}, \
                 policyTypes [Ingress, Egress] and no rules, then allow each needed connection"
            ),
        });
    }
}

/// Whether a policy selects every pod of its namespace and allows nothing in one direction.
fn denies_all(policy: &Object<'_>, policy_type: &str, rules_key: &str) -> bool {
    let spec = policy.at("/spec");
    let selects_all = spec
        .and_then(|s| s.get("podSelector"))
        .is_none_or(is_empty_selector);
    let types = array(spec, "policyTypes");
    // Without policyTypes, Kubernetes infers Ingress always and Egress only with egress rules.
    let applies = if types.is_empty() {
        policy_type == "Ingress"
            || spec
                .and_then(|s| s.get("egress"))
                .is_some_and(|e| !e.is_null())
    } else {
        types.iter().any(|t| t.as_str() == Some(policy_type))
    };
    selects_all && applies && array(spec, rules_key).is_empty()
}

fn is_empty_selector(selector: &Value) -> bool {
    let empty = |key| {
        selector.get(key).is_none_or(|v| {
            v.is_null()
                || v.as_object().is_some_and(|o| o.is_empty())
                || v.as_array().is_some_and(|a| a.is_empty())
        })
    };
    selector.is_null() || (empty("matchLabels") && empty("matchExpressions"))
}
