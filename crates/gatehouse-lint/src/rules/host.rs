//! `host-network` and `host-port`: pods that sit on, or bind ports of, the node's network.

use serde_json::Value;

use crate::manifests::Manifests;
use crate::object::array;
use crate::{Finding, Rule};

/// Flags `hostNetwork: true` and every container port with a `hostPort`.
pub fn check(manifests: &Manifests<'_>, findings: &mut Vec<Finding>) {
    for (workload, _) in manifests.workloads() {
        let spec = workload.pod_spec();
        if spec
            .and_then(|s| s.get("hostNetwork"))
            .and_then(Value::as_bool)
            .unwrap_or(false)
        {
            findings.push(workload.finding(
                Rule::HostNetwork,
                "hostNetwork: true puts the pod on the node's network: it listens on the node's \
                 address and NetworkPolicies do not apply to it"
                    .to_owned(),
            ));
        }
        for container in workload.containers() {
            let name = container.get("name").and_then(Value::as_str).unwrap_or("?");
            for port in array(Some(container), "ports") {
                let Some(host_port) = port.get("hostPort").and_then(Value::as_u64) else {
                    continue;
                };
                if host_port == 0 {
                    continue;
                }
                findings.push(workload.finding(
                    Rule::HostPort,
                    format!(
                        "container {name} binds hostPort {host_port} on the node's address, \
                         reachable without passing the gateway; remove hostPort"
                    ),
                ));
            }
        }
    }
}
