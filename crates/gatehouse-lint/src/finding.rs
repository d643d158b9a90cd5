//! What the linter reports: one finding per mistake, each with a stable rule id.

use std::fmt;

use serde::Serialize;

/// A kind of mistake. The id (`Rule::id`) is stable: scripts and suppressions may depend on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Rule {
    /// A Service in front of a backend (not the gateway) is `NodePort` or `LoadBalancer`, or has
    /// `externalIPs`: the backend is reachable from outside the cluster without the gateway.
    ServiceExposed,
    /// A pod that no NetworkPolicy selects: every pod in the cluster may connect to it.
    PodWithoutNetworkPolicy,
    /// A namespace with workloads but no default-deny policy for ingress and egress.
    NoDefaultDeny,
    /// A NetworkPolicy that admits every pod, namespace or address to a backend.
    BackendOpenIngress,
    /// A pod on the node's network namespace: it bypasses every NetworkPolicy.
    HostNetwork,
    /// A container port bound on the node's address.
    HostPort,
    /// An Ingress (or Gateway API route) that sends traffic to something other than the gateway.
    IngressBypassesGateway,
    /// A gateway upstream endpoint that is not a ClusterIP Service in the manifests.
    UpstreamNotClusterIp,
    /// A gateway route with `forward_authorization: true`: the raw token reaches the service.
    ForwardsToken,
    /// A gateway configuration (in a ConfigMap or a file) that does not load.
    GatewayConfigInvalid,
}

impl Rule {
    /// Every rule, in report order.
    pub const ALL: [Rule; 10] = [
        Rule::ServiceExposed,
        Rule::PodWithoutNetworkPolicy,
        Rule::NoDefaultDeny,
        Rule::BackendOpenIngress,
        Rule::HostNetwork,
        Rule::HostPort,
        Rule::IngressBypassesGateway,
        Rule::UpstreamNotClusterIp,
        Rule::ForwardsToken,
        Rule::GatewayConfigInvalid,
    ];

    /// The stable identifier, as printed and in JSON.
    pub fn id(self) -> &'static str {
        match self {
            Rule::ServiceExposed => "service-exposed",
            Rule::PodWithoutNetworkPolicy => "pod-without-network-policy",
            Rule::NoDefaultDeny => "no-default-deny",
            Rule::BackendOpenIngress => "backend-open-ingress",
            Rule::HostNetwork => "host-network",
            Rule::HostPort => "host-port",
            Rule::IngressBypassesGateway => "ingress-bypasses-gateway",
            Rule::UpstreamNotClusterIp => "upstream-not-cluster-ip",
            Rule::ForwardsToken => "forwards-token",
            Rule::GatewayConfigInvalid => "gateway-config-invalid",
        }
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}

/// One mistake, located by file and object.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Finding {
    /// The file the object came from (`<stdin>` for standard input).
    pub file: String,
    /// The object's namespace; empty for a gateway configuration given as a plain file.
    pub namespace: String,
    /// The object's kind (`Service`, `Deployment`, `ConfigMap`, ...; `GatehouseConfig` for a
    /// configuration file, `Namespace` for namespace-wide findings).
    pub kind: String,
    /// The object's name.
    pub name: String,
    /// The rule that fired.
    pub rule: Rule,
    /// What is wrong and what to do about it.
    pub message: String,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.file, self.kind)?;
        if self.namespace.is_empty() {
            write!(f, " {}", self.name)?;
        } else {
            write!(f, " {}/{}", self.namespace, self.name)?;
        }
        write!(f, ": [{}] {}", self.rule, self.message)
    }
}

/// The result of a lint run.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Report {
    /// Every finding, sorted.
    pub findings: Vec<Finding>,
    /// How many Kubernetes objects were read.
    pub objects: usize,
    /// How many gateway configurations were found (in ConfigMaps or files).
    pub configs: usize,
}

impl Report {
    /// Whether nothing was found.
    pub fn is_clean(&self) -> bool {
        self.findings.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::Rule;

    #[test]
    fn json_names_are_the_stable_ids() {
        for rule in Rule::ALL {
            let json = serde_json::to_value(rule).unwrap();
            assert_eq!(json.as_str(), Some(rule.id()));
        }
    }
}
