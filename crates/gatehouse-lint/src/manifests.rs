//! Everything read, indexed for the rules: objects, gateway configurations, and which workloads
//! are the gateway.

use std::collections::HashSet;

use serde_json::Value;

use crate::Document;
use crate::gateway_config::{self, GatewayConfig};
use crate::object::{Object, array};
use crate::selector::service_selector_matches;

/// Image name (last path segment, without tag or digest) that marks a gateway container.
const GATEWAY_IMAGE: &str = "gatehouse";

/// The linted manifests.
pub struct Manifests<'a> {
    /// Every Kubernetes object, in input order.
    pub objects: Vec<Object<'a>>,
    /// Every gateway configuration, from files and ConfigMaps.
    pub configs: Vec<GatewayConfig<'a>>,
    /// Indices into `objects` of the workloads that run the gateway.
    gateway: HashSet<usize>,
}

impl<'a> Manifests<'a> {
    /// Indexes documents.
    pub fn new(documents: &'a [Document]) -> Self {
        let mut objects = Vec::new();
        let mut configs = Vec::new();
        for document in documents {
            match Object::from_document(document) {
                Some(object) => {
                    if object.kind == "ConfigMap" {
                        configs.extend(gateway_config::from_config_map(object));
                    }
                    objects.push(object);
                }
                None => configs.extend(gateway_config::from_document(document)),
            }
        }
        let config_maps: HashSet<(&str, &str)> = configs
            .iter()
            .filter_map(|c| c.config_map.map(|m| (m.namespace, m.name)))
            .collect();
        let gateway = objects
            .iter()
            .enumerate()
            .filter(|(_, o)| o.pod().is_some() && runs_gateway(o, &config_maps))
            .map(|(i, _)| i)
            .collect();
        Self {
            objects,
            configs,
            gateway,
        }
    }

    /// How many Kubernetes objects were read.
    pub fn object_count(&self) -> usize {
        self.objects.len()
    }

    /// Objects of one kind.
    pub fn of_kind(&self, kind: &'a str) -> impl Iterator<Item = &Object<'a>> {
        self.objects.iter().filter(move |o| o.kind == kind)
    }

    /// Objects that run pods, each with whether it is the gateway.
    pub fn workloads(&self) -> impl Iterator<Item = (&Object<'a>, bool)> {
        self.objects
            .iter()
            .enumerate()
            .filter(|(_, o)| o.pod().is_some())
            .map(|(i, o)| (o, self.gateway.contains(&i)))
    }

    /// Whether a Service selects gateway pods (and so is the gateway's Service).
    pub fn is_gateway_service(&self, service: &Object<'_>) -> bool {
        let selector = service.at("/spec/selector");
        self.workloads().any(|(w, gateway)| {
            gateway
                && w.namespace == service.namespace
                && service_selector_matches(selector, w.pod_labels())
        })
    }

    /// The Service with this name, in this namespace or (for `None`) in any namespace.
    pub fn service(&self, namespace: Option<&str>, name: &str) -> Option<&Object<'a>> {
        self.of_kind("Service")
            .find(|s| s.name == name && namespace.is_none_or(|ns| s.namespace == ns))
    }
}

/// Whether a workload runs the gateway: a container from a `gatehouse` image, or a volume from a
/// ConfigMap that holds a gateway configuration.
fn runs_gateway(workload: &Object<'_>, config_maps: &HashSet<(&str, &str)>) -> bool {
    let gateway_image = workload.containers().any(|c| {
        c.get("image")
            .and_then(Value::as_str)
            .is_some_and(|image| image_name(image) == GATEWAY_IMAGE)
    });
    let spec = workload.pod_spec();
    let mounts_config = array(spec, "volumes").iter().any(|volume| {
        let direct = volume.pointer("/configMap/name").into_iter();
        let projected = volume
            .pointer("/projected/sources")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|source| source.pointer("/configMap/name"));
        direct
            .chain(projected)
            .filter_map(Value::as_str)
            .any(|name| config_maps.contains(&(workload.namespace, name)))
    });
    gateway_image || mounts_config
}

/// The last path segment of an image reference, without tag or digest
/// (`ghcr.io/x/gatehouse:1.2@sha256:..` → `gatehouse`).
fn image_name(image: &str) -> &str {
    let without_digest = image.split('@').next().unwrap_or(image);
    let last = without_digest.rsplit('/').next().unwrap_or(without_digest);
    last.split(':').next().unwrap_or(last)
}

#[cfg(test)]
mod tests {
    use super::image_name;

    #[test]
    fn image_names_drop_registry_tag_and_digest() {
        assert_eq!(image_name("gatehouse"), "gatehouse");
        assert_eq!(image_name("ghcr.io/acme/gatehouse:1.2.3"), "gatehouse");
        assert_eq!(
            image_name("localhost:5000/gatehouse@sha256:abc"),
            "gatehouse"
        );
        assert_eq!(
            image_name("ghcr.io/acme/gatehouse-proxy:1"),
            "gatehouse-proxy"
        );
    }
}
