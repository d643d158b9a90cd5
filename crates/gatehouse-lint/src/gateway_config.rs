//! Finding gatehouse configurations: plain documents (a file given to the linter) and entries of
//! ConfigMaps, each loaded with the gateway's own parser.

use serde_json::Value;

use crate::Document;
use crate::object::Object;

/// Top-level keys only a gatehouse configuration has; a mapping with one of them and no `kind`
/// is taken for one.
const CONFIG_KEYS: [&str; 4] = ["routes", "upstreams", "providers", "listen"];

/// A gatehouse configuration and where it was found.
#[derive(Debug)]
pub struct GatewayConfig<'a> {
    /// The file it came from.
    pub file: &'a str,
    /// The ConfigMap holding it, or `None` for a plain configuration document.
    pub config_map: Option<Object<'a>>,
    /// The ConfigMap key (`gatehouse.yaml`), when in a ConfigMap.
    pub key: Option<&'a str>,
    /// The loaded configuration, or every problem the gateway would report.
    pub loaded: Result<gatehouse_config::Config, Vec<String>>,
}

impl GatewayConfig<'_> {
    /// Namespace whose Services short upstream names resolve in; `None` for a plain file,
    /// where any namespace will do.
    pub fn namespace(&self) -> Option<&str> {
        self.config_map.map(|c| c.namespace)
    }
}

/// Whether a value looks like a gatehouse configuration.
fn is_gateway_config(value: &Value) -> bool {
    value.as_object().is_some_and(|map| {
        !map.contains_key("kind") && CONFIG_KEYS.iter().any(|key| map.contains_key(*key))
    })
}

/// Loads a configuration from its JSON form through the gateway's own parser (JSON is YAML), so
/// the linter accepts exactly what the gateway accepts.
fn load(value: &Value) -> Result<gatehouse_config::Config, Vec<String>> {
    let text = value.to_string();
    gatehouse_config::parse(&text).map_err(|e| e.issues())
}

/// The configuration a plain document holds, if it is one.
pub fn from_document(document: &Document) -> Option<GatewayConfig<'_>> {
    is_gateway_config(&document.value).then(|| GatewayConfig {
        file: &document.file,
        config_map: None,
        key: None,
        loaded: load(&document.value),
    })
}

/// The configurations a ConfigMap holds: entries named `*.yaml` / `*.yml` whose content is a
/// gatehouse configuration.
pub fn from_config_map<'a>(object: Object<'a>) -> Vec<GatewayConfig<'a>> {
    let Some(data) = object.at("/data").and_then(Value::as_object) else {
        return Vec::new();
    };
    let mut configs = Vec::new();
    for (key, text) in data {
        let Some(text) = text.as_str() else { continue };
        if !(key.ends_with(".yaml") || key.ends_with(".yml")) {
            continue;
        }
        // An entry that is not YAML at all is some other file, not a broken gateway config.
        let Ok(value) = serde_saphyr::from_str::<Value>(text) else {
            continue;
        };
        if is_gateway_config(&value) {
            configs.push(GatewayConfig {
                file: object.file,
                config_map: Some(object),
                key: Some(key),
                loaded: load(&value),
            });
        }
    }
    configs
}
