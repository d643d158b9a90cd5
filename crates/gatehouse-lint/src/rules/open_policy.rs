//! `backend-open-ingress`: a NetworkPolicy that lets any pod, namespace or address reach a
//! backend. The pod is "selected", so `pod-without-network-policy` stays quiet, yet the policy
//! opens it to everything the default-deny closed.

use serde_json::Value;

use crate::manifests::Manifests;
use crate::object::array;
use crate::selector::label_selector_matches;
use crate::{Finding, Rule};

/// Flags each policy with an ingress rule open to every source that selects a non-gateway pod.
pub fn check(manifests: &Manifests<'_>, findings: &mut Vec<Finding>) {
    for policy in manifests.of_kind("NetworkPolicy") {
        let spec = policy.at("/spec");
        let Some(source) = array(spec, "ingress").iter().find_map(open_source) else {
            continue;
        };
        let backends: Vec<String> = manifests
            .workloads()
            .filter(|(w, gateway)| {
                !gateway
                    && w.namespace == policy.namespace
                    && label_selector_matches(policy.at("/spec/podSelector"), w.pod_labels())
            })
            .map(|(w, _)| format!("{} {}", w.kind, w.name))
            .collect();
        if backends.is_empty() {
            continue;
        }
        findings.push(policy.finding(
            Rule::BackendOpenIngress,
            format!(
                "an ingress rule admits {source} to the pods of {}, which are then reachable \
                 without passing the gateway; admit only the gateway's pods (and the services \
                 that really call them)",
                backends.join(", ")
            ),
        ));
    }
}

/// What an ingress rule admits, if that is everything of some kind.
fn open_source(rule: &Value) -> Option<&'static str> {
    let peers = array(Some(rule), "from");
    if peers.is_empty() {
        return Some("every source");
    }
    peers.iter().find_map(|peer| {
        let empty = |key: &str| {
            peer.get(key).is_some_and(|s| {
                s.as_object().is_some_and(|o| {
                    o.values().all(|v| {
                        v.is_null()
                            || v.as_object().is_some_and(|m| m.is_empty())
                            || v.as_array().is_some_and(|a| a.is_empty())
                    })
                })
            })
        };
        let cidr = peer.pointer("/ipBlock/cidr").and_then(Value::as_str);
        if matches!(cidr, Some("0.0.0.0/0" | "::/0")) {
            Some("every address")
        } else if empty("namespaceSelector")
            && (peer.get("podSelector").is_none() || empty("podSelector"))
        {
            Some("every pod of every namespace")
        } else {
            None
        }
    })
}
