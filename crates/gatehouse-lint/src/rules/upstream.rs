//! Rules on the gateway configuration: `upstream-not-cluster-ip`, `forwards-token`, and
//! `gateway-config-invalid`.

use std::net::IpAddr;

use serde_json::Value;

use crate::gateway_config::GatewayConfig;
use crate::manifests::Manifests;
use crate::object::array;
use crate::{Finding, Rule};

/// Checks every gateway configuration found.
pub fn check(manifests: &Manifests<'_>, findings: &mut Vec<Finding>) {
    for config in &manifests.configs {
        let config_found = |rule, message: String| finding(config, rule, message);
        let loaded = match &config.loaded {
            Ok(loaded) => loaded,
            Err(issues) => {
                findings.push(config_found(
                    Rule::GatewayConfigInvalid,
                    format!(
                        "the gateway would refuse this configuration: {}",
                        issues.join("; ")
                    ),
                ));
                continue;
            }
        };
        for upstream in &loaded.upstreams {
            for (i, endpoint) in upstream.endpoints.iter().enumerate() {
                let place = format!("upstreams.{}.endpoints[{i}] {endpoint}", upstream.name);
                if let Some(problem) = endpoint_problem(manifests, config, endpoint) {
                    findings.push(config_found(
                        Rule::UpstreamNotClusterIp,
                        format!("{place}: {problem}"),
                    ));
                }
            }
        }
        for route in loaded.routes.iter().filter(|r| r.forward_authorization) {
            findings.push(config_found(
                Rule::ForwardsToken,
                format!(
                    "route {} sets forward_authorization: true, so the raw bearer token reaches \
                     the service, which must then re-verify it and can replay it; forward only \
                     the verified context",
                    route.name
                ),
            ));
        }
    }
}

fn finding(config: &GatewayConfig<'_>, rule: Rule, message: String) -> Finding {
    match (config.config_map, config.key) {
        (Some(map), Some(key)) => map.finding(rule, format!("{key}: {message}")),
        (Some(map), None) => map.finding(rule, message),
        _ => Finding {
            file: config.file.to_owned(),
            namespace: String::new(),
            kind: "GatehouseConfig".to_owned(),
            name: std::path::Path::new(config.file)
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or(config.file)
                .to_owned(),
            rule,
            message,
        },
    }
}

/// What is wrong with an endpoint, if anything. Service names resolve as the cluster DNS does:
/// `NAME` in the configuration's namespace, `NAME.NAMESPACE`, `NAME.NAMESPACE.svc[.DOMAIN]`.
fn endpoint_problem(
    manifests: &Manifests<'_>,
    config: &GatewayConfig<'_>,
    endpoint: &http::uri::Authority,
) -> Option<String> {
    let host = endpoint.host();
    if host.trim_matches(['[', ']']).parse::<IpAddr>().is_ok() {
        return Some(
            "an IP address, not a Service: nothing shows the address is private to the gateway; \
             use a ClusterIP Service name"
                .to_owned(),
        );
    }
    let labels: Vec<&str> = host.trim_end_matches('.').split('.').collect();
    if labels.len() >= 3 && labels[2] != "svc" {
        return Some(
            "not a cluster Service name (NAME, NAME.NAMESPACE or NAME.NAMESPACE.svc...); a host \
             outside the cluster is not protected by its NetworkPolicies"
                .to_owned(),
        );
    }
    let name = labels[0];
    let namespace = labels.get(1).copied().or(config.namespace());
    let Some(service) = manifests.service(namespace, name) else {
        let place = namespace.map_or(String::new(), |ns| format!(" in namespace {ns}"));
        return Some(format!("no Service {name}{place} in the manifests"));
    };
    let kind = service.str_at("/spec/type").unwrap_or("ClusterIP");
    if kind != "ClusterIP" {
        return Some(format!(
            "Service {name} is of type {kind}, not ClusterIP; keep backends ClusterIP-only"
        ));
    }
    let port = endpoint.port_u16()?;
    let served = array(service.at("/spec"), "ports")
        .iter()
        .any(|p| p.get("port").and_then(Value::as_u64) == Some(u64::from(port)));
    (!served).then(|| format!("Service {name} has no port {port}"))
}
