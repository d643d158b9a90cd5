//! `ingress-bypasses-gateway`: an Ingress (or Gateway API route) with a backend other than the
//! gateway's Service.

use serde_json::Value;

use crate::manifests::Manifests;
use crate::object::{Object, array};
use crate::{Finding, Rule};

/// Gateway API route kinds whose `backendRefs` are checked like Ingress backends.
const ROUTE_KINDS: [&str; 5] = ["HTTPRoute", "GRPCRoute", "TLSRoute", "TCPRoute", "UDPRoute"];

/// Flags every Ingress backend and Gateway API backend reference that is not a Service
/// selecting the gateway's pods.
pub fn check(manifests: &Manifests<'_>, findings: &mut Vec<Finding>) {
    for ingress in manifests.of_kind("Ingress") {
        let spec = ingress.at("/spec");
        let mut backends: Vec<&Value> = ["defaultBackend", "backend"]
            .iter()
            .filter_map(|key| spec.and_then(|s| s.get(*key)))
            .collect();
        for rule in array(spec, "rules") {
            for path in array(rule.get("http"), "paths") {
                backends.extend(path.get("backend"));
            }
        }
        for backend in backends {
            let service = backend
                .pointer("/service/name")
                .or_else(|| backend.get("serviceName"))
                .and_then(Value::as_str);
            match service {
                Some(name) => check_service(manifests, ingress, ingress.namespace, name, findings),
                None => findings.push(
                    ingress.finding(
                        Rule::IngressBypassesGateway,
                        "a backend that is not a Service (a resource backend) receives traffic \
                     without passing the gateway"
                            .to_owned(),
                    ),
                ),
            }
        }
    }
    for kind in ROUTE_KINDS {
        for route in manifests.of_kind(kind) {
            for rule in array(route.at("/spec"), "rules") {
                for reference in array(Some(rule), "backendRefs") {
                    let kind = reference.get("kind").and_then(Value::as_str);
                    let group = reference.get("group").and_then(Value::as_str).unwrap_or("");
                    let name = reference.get("name").and_then(Value::as_str).unwrap_or("");
                    let namespace = reference
                        .get("namespace")
                        .and_then(Value::as_str)
                        .unwrap_or(route.namespace);
                    if kind.unwrap_or("Service") == "Service" && group.is_empty() {
                        check_service(manifests, route, namespace, name, findings);
                    } else {
                        findings.push(route.finding(
                            Rule::IngressBypassesGateway,
                            format!(
                                "backendRef {name} is not a Service; only the gateway's Service \
                                 may receive outside traffic"
                            ),
                        ));
                    }
                }
            }
        }
    }
}

fn check_service(
    manifests: &Manifests<'_>,
    entry: &Object<'_>,
    namespace: &str,
    name: &str,
    findings: &mut Vec<Finding>,
) {
    let message = match manifests.service(Some(namespace), name) {
        None => format!(
            "routes to Service {name}, which is not in the manifests, so it cannot be shown to \
             be the gateway; route only to the gateway's Service"
        ),
        Some(service) if !manifests.is_gateway_service(service) => format!(
            "routes to Service {name}, which does not select the gateway's pods: its traffic \
             skips authentication; route only to the gateway's Service"
        ),
        Some(_) => return,
    };
    findings.push(entry.finding(Rule::IngressBypassesGateway, message));
}
