//! A read-only view of one Kubernetes object, with the accessors the rules need.

use serde_json::{Map, Value};

use crate::{Document, Finding, Rule};

/// Kinds whose objects run pods, and where their pod template is.
const WORKLOAD_KINDS: [&str; 7] = [
    "Deployment",
    "StatefulSet",
    "DaemonSet",
    "ReplicaSet",
    "ReplicationController",
    "Job",
    "CronJob",
];

/// One Kubernetes object (a document with `apiVersion` and `kind`).
#[derive(Debug, Clone, Copy)]
pub struct Object<'a> {
    /// The file it came from.
    pub file: &'a str,
    /// `kind`.
    pub kind: &'a str,
    /// `metadata.name` (empty when missing, which the API server would refuse anyway).
    pub name: &'a str,
    /// `metadata.namespace`, `default` when unset (as `kubectl apply` would place it).
    pub namespace: &'a str,
    /// The whole object.
    pub value: &'a Value,
}

impl<'a> Object<'a> {
    /// The object in a document, if the document is a Kubernetes object.
    pub fn from_document(document: &'a Document) -> Option<Self> {
        let value = &document.value;
        value.get("apiVersion")?.as_str()?;
        let kind = value.get("kind")?.as_str()?;
        let metadata = value.get("metadata");
        let text = |key: &str| metadata.and_then(|m| m.get(key)).and_then(Value::as_str);
        Some(Self {
            file: &document.file,
            kind,
            name: text("name").unwrap_or(""),
            namespace: text("namespace").unwrap_or("default"),
            value,
        })
    }

    /// A value by JSON pointer (`/spec/type`).
    pub fn at(&self, pointer: &str) -> Option<&'a Value> {
        self.value.pointer(pointer)
    }

    /// A string by JSON pointer.
    pub fn str_at(&self, pointer: &str) -> Option<&'a str> {
        self.at(pointer).and_then(Value::as_str)
    }

    /// The pod template of a workload, or the object itself for a `Pod`.
    pub fn pod(&self) -> Option<&'a Value> {
        match self.kind {
            "Pod" => Some(self.value),
            "CronJob" => self.at("/spec/jobTemplate/spec/template"),
            kind if WORKLOAD_KINDS.contains(&kind) => self.at("/spec/template"),
            _ => None,
        }
    }

    /// The pod's labels (empty for objects that run no pods).
    pub fn pod_labels(&self) -> &'a Map<String, Value> {
        static EMPTY: std::sync::OnceLock<Map<String, Value>> = std::sync::OnceLock::new();
        self.pod()
            .and_then(|pod| pod.pointer("/metadata/labels"))
            .and_then(Value::as_object)
            .unwrap_or_else(|| EMPTY.get_or_init(Map::new))
    }

    /// The pod's spec.
    pub fn pod_spec(&self) -> Option<&'a Value> {
        self.pod().and_then(|pod| pod.get("spec"))
    }

    /// Every container of the pod: init, regular and ephemeral.
    pub fn containers(&self) -> impl Iterator<Item = &'a Value> + use<'a> {
        let spec = self.pod_spec();
        ["initContainers", "containers", "ephemeralContainers"]
            .into_iter()
            .filter_map(move |key| spec.and_then(|s| s.get(key)).and_then(Value::as_array))
            .flatten()
    }

    /// A finding about this object.
    pub fn finding(&self, rule: Rule, message: String) -> Finding {
        Finding {
            file: self.file.to_owned(),
            namespace: self.namespace.to_owned(),
            kind: self.kind.to_owned(),
            name: self.name.to_owned(),
            rule,
            message,
        }
    }
}

/// The array at a key of a value, empty when missing or not an array.
pub fn array<'a>(value: Option<&'a Value>, key: &str) -> &'a [Value] {
    value
        .and_then(|v| v.get(key))
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}
