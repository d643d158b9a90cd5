//! The YAML shape the gateway's configuration embeds.

use std::time::Duration;

use gatehouse_auth::{AuthMode, ClaimPreset, ProviderConfig, RoutePolicy, validate_providers};

const YAML: &str = r#"
providers:
  - name: keycloak
    issuer: https://id.example.com/realms/shop
    audiences: [orders-api]
    keys:
      discovery: true
    leeway: 30s
    max_token_lifetime: 1h
    refresh:
      min_interval: 1m
      max_interval: 15m
      unknown_kid_cooldown: 30s
    fetch_timeout: 2s
    max_response_size: 256KiB
    claims:
      preset: keycloak
      roles: [realm_access.roles, 'resource_access["orders-api"].roles']
      attributes:
        tenant: tenant_id
  - name: auth0
    issuer: https://shop.eu.auth0.com/
    audiences: [https://api.shop.example]
    algorithms: [RS256]
    keys:
      jwks_url: https://shop.eu.auth0.com/.well-known/jwks.json
    claims:
      preset: auth0
      roles: [[https://shop.example/roles]]
routes:
  - mode: required
    providers: [keycloak, auth0]
    require:
      any_of: { permissions: [orders:read], roles: [admin] }
  - mode: public
"#;

#[derive(serde::Deserialize)]
struct Doc {
    providers: Vec<ProviderConfig>,
    routes: Vec<RoutePolicy>,
}

#[test]
fn the_documented_yaml_parses_and_validates() {
    let doc: Doc = serde_saphyr::from_str(YAML).unwrap();
    assert!(validate_providers(&doc.providers, "auth.providers").is_empty());
    let kc = &doc.providers[0];
    assert_eq!(kc.leeway.get(), Duration::from_secs(30));
    assert_eq!(
        kc.max_token_lifetime.map(|d| d.get()),
        Some(Duration::from_secs(3600))
    );
    assert_eq!(kc.max_response_size.0, 256 * 1024);
    assert_eq!(kc.claims.preset, Some(ClaimPreset::Keycloak));
    let roles = kc.claims.roles.as_ref().unwrap();
    assert_eq!(
        roles[1].segments(),
        ["resource_access", "orders-api", "roles"]
    );
    let auth0_roles = doc.providers[1].claims.roles.as_ref().unwrap();
    assert_eq!(auth0_roles[0].segments(), ["https://shop.example/roles"]);
    let names = ["keycloak", "auth0"];
    for (i, route) in doc.routes.iter().enumerate() {
        assert!(
            route
                .validate(&format!("routes[{i}].auth"), &names)
                .is_empty()
        );
    }
    assert_eq!(doc.routes[1].mode, AuthMode::Public);
}

#[test]
fn bad_durations_and_unknown_fields_fail_to_parse() {
    for bad in [
        YAML.replace("leeway: 30s", "leeway: 30"),
        YAML.replace("leeway: 30s", "leeway: 1.5s"),
        YAML.replace(
            "fetch_timeout: 2s",
            "fetch_timeout: 2s\n    fetch_timout: 2s",
        ),
    ] {
        assert!(serde_saphyr::from_str::<Doc>(&bad).is_err());
    }
}
