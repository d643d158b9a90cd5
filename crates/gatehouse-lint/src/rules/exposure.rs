//! `service-exposed`: a backend reachable from outside the cluster through its Service.

use serde_json::Value;

use crate::manifests::Manifests;
use crate::object::array;
use crate::{Finding, Rule};

/// Flags `NodePort` / `LoadBalancer` Services and Services with `externalIPs`, unless they front
/// the gateway itself (the gateway is meant to be reachable).
pub fn check(manifests: &Manifests<'_>, findings: &mut Vec<Finding>) {
    for service in manifests.of_kind("Service") {
        let kind = service.str_at("/spec/type").unwrap_or("ClusterIP");
        let exposure = match kind {
            "NodePort" | "LoadBalancer" => format!("type {kind}"),
            _ if !array(service.at("/spec"), "externalIPs").is_empty() => "externalIPs".to_owned(),
            _ => continue,
        };
        if manifests.is_gateway_service(service) {
            continue;
        }
        let target = match service.at("/spec/selector").and_then(Value::as_object) {
            Some(selector) if !selector.is_empty() => "its pods",
            _ => "its endpoints",
        };
        findings.push(service.finding(
            Rule::ServiceExposed,
            format!(
                "{exposure} makes {target} reachable from outside the cluster without passing \
                 the gateway; use type ClusterIP and route through the gateway"
            ),
        ));
    }
}
