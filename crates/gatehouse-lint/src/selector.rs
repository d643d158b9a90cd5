//! Kubernetes label selectors: the `matchLabels` / `matchExpressions` kind (NetworkPolicy) and
//! the plain map kind (Service).

use serde_json::{Map, Value};

/// Whether a `LabelSelector` selects these labels. A missing or empty selector selects
/// everything; an unknown operator or malformed expression selects nothing, as the API server
/// would refuse it.
pub fn label_selector_matches(selector: Option<&Value>, labels: &Map<String, Value>) -> bool {
    let Some(selector) = selector else {
        return true;
    };
    if let Some(match_labels) = selector.get("matchLabels") {
        let Some(match_labels) = match_labels.as_object() else {
            return false;
        };
        if !map_matches(match_labels, labels) {
            return false;
        }
    }
    let expressions = selector
        .get("matchExpressions")
        .and_then(Value::as_array)
        .map_or(&[][..], Vec::as_slice);
    expressions.iter().all(|e| expression_matches(e, labels))
}

fn expression_matches(expression: &Value, labels: &Map<String, Value>) -> bool {
    let Some(key) = expression.get("key").and_then(Value::as_str) else {
        return false;
    };
    let values: Vec<&str> = expression
        .get("values")
        .and_then(Value::as_array)
        .map(|v| v.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let label = labels.get(key).and_then(Value::as_str);
    match expression.get("operator").and_then(Value::as_str) {
        Some("In") => label.is_some_and(|l| values.contains(&l)),
        Some("NotIn") => label.is_none_or(|l| !values.contains(&l)),
        Some("Exists") => label.is_some(),
        Some("DoesNotExist") => label.is_none(),
        _ => false,
    }
}

/// Whether a plain selector map (a Service's `spec.selector`) selects these labels. An empty
/// map selects nothing here: a Service without a selector has hand-made endpoints, not pods.
pub fn service_selector_matches(selector: Option<&Value>, labels: &Map<String, Value>) -> bool {
    match selector.and_then(Value::as_object) {
        Some(selector) if !selector.is_empty() => map_matches(selector, labels),
        _ => false,
    }
}

fn map_matches(required: &Map<String, Value>, labels: &Map<String, Value>) -> bool {
    required
        .iter()
        .all(|(key, value)| labels.get(key).is_some_and(|l| l == value))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn labels(value: Value) -> Map<String, Value> {
        value.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn empty_label_selector_selects_everything() {
        assert!(label_selector_matches(
            Some(&json!({})),
            &labels(json!({"a": "b"}))
        ));
        assert!(label_selector_matches(None, &labels(json!({}))));
    }

    #[test]
    fn expressions_follow_kubernetes_semantics() {
        let l = labels(json!({"app": "web", "tier": "front"}));
        let sel = |e: Value| json!({"matchExpressions": [e]});
        let check = |e: Value| label_selector_matches(Some(&sel(e)), &l);
        assert!(check(
            json!({"key": "app", "operator": "In", "values": ["web", "x"]})
        ));
        assert!(!check(
            json!({"key": "app", "operator": "NotIn", "values": ["web"]})
        ));
        assert!(check(
            json!({"key": "zone", "operator": "NotIn", "values": ["a"]})
        ));
        assert!(check(json!({"key": "tier", "operator": "Exists"})));
        assert!(check(json!({"key": "zone", "operator": "DoesNotExist"})));
        assert!(!check(json!({"key": "app", "operator": "Bogus"})));
    }

    #[test]
    fn match_labels_need_every_pair() {
        let l = labels(json!({"app": "web"}));
        let sel = json!({"matchLabels": {"app": "web", "tier": "front"}});
        assert!(!label_selector_matches(Some(&sel), &l));
    }

    #[test]
    fn empty_service_selector_selects_nothing() {
        assert!(!service_selector_matches(
            Some(&json!({})),
            &labels(json!({"a": "b"}))
        ));
        assert!(service_selector_matches(
            Some(&json!({"a": "b"})),
            &labels(json!({"a": "b", "c": "d"}))
        ));
    }
}
