//! The JWS algorithms a provider may accept, by name.

use jsonwebtoken::Algorithm;

/// Asymmetric algorithms accepted when a provider lists none.
pub const DEFAULT_ALGORITHMS: [&str; 9] = [
    "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "EdDSA",
];

/// Every algorithm name this crate can verify.
pub const KNOWN_ALGORITHMS: [&str; 12] = [
    "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "EdDSA", "HS256",
    "HS384", "HS512",
];

/// Parses an algorithm name exactly as JWA spells it.
pub fn parse_algorithm(name: &str) -> Result<Algorithm, String> {
    if name.eq_ignore_ascii_case("none") {
        return Err("algorithm \"none\" is never accepted".to_owned());
    }
    if !KNOWN_ALGORITHMS.contains(&name) {
        return Err(format!(
            "unknown algorithm \"{name}\"; use one of {}",
            KNOWN_ALGORITHMS.join(", ")
        ));
    }
    name.parse::<Algorithm>()
        .map_err(|_| format!("unknown algorithm \"{name}\""))
}

/// Whether the algorithm is an HMAC (shared-secret) algorithm.
pub fn is_hmac(alg: Algorithm) -> bool {
    matches!(alg, Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512)
}

/// The JWA name of an algorithm.
pub fn algorithm_name(alg: Algorithm) -> &'static str {
    match alg {
        Algorithm::HS256 => "HS256",
        Algorithm::HS384 => "HS384",
        Algorithm::HS512 => "HS512",
        Algorithm::ES256 => "ES256",
        Algorithm::ES384 => "ES384",
        Algorithm::RS256 => "RS256",
        Algorithm::RS384 => "RS384",
        Algorithm::RS512 => "RS512",
        Algorithm::PS256 => "PS256",
        Algorithm::PS384 => "PS384",
        Algorithm::PS512 => "PS512",
        Algorithm::EdDSA => "EdDSA",
        // Algorithm is non-exhaustive; a future variant is simply not one we verify.
        _ => "unsupported",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_known_name_round_trips() {
        for name in KNOWN_ALGORITHMS {
            let alg = parse_algorithm(name).unwrap();
            assert_eq!(algorithm_name(alg), name);
        }
    }

    #[test]
    fn none_and_unknown_names_are_refused() {
        for bad in ["none", "NONE", "nOnE", "RS1", "rs256", "ES512", ""] {
            assert!(parse_algorithm(bad).is_err(), "{bad}");
        }
    }
}
