//! Keys and tokens for every peer: an RSA-2048, a P-256 and an Ed25519 key, each written as an
//! SPKI PEM and a JWKS, with valid, distinct, invalid and mixed token files.
//!
//! Files, for each `ALG` in `rs256`, `es256`, `eddsa`:
//! `ALG.pub.pem`, `ALG.jwks.json`, `ALG.token` (one valid token, `sub` = `user-1`),
//! `ALG.tokens` (distinct valid tokens, one a line), `ALG.bad-signature.token`,
//! `ALG.expired.token`, `ALG.alg-none.token`, and `ALG.flood` (valid and invalid tokens
//! alternating, one a line), and with `--many`, `ALG.many` (more distinct valid tokens). Every token of `ALG` has `iss` = [`issuer`]`(ALG)` and `aud` = [`AUDIENCE`].

use std::fmt::Write as _;
use std::fs;
use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::Context as _;
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use gatehouse_testkit::idp::{TestKey, b64_json, signed};
use serde_json::{Value, json};

/// The audience of every benchmark token.
pub const AUDIENCE: &str = "bench-api";

/// The issuer of the tokens of one algorithm (each algorithm is its own provider).
pub fn issuer(alg: &str) -> String {
    format!("https://bench.invalid/{alg}")
}

fn claims(alg: &str, user: usize, now: i64, exp: i64) -> Value {
    json!({
        "iss": issuer(alg), "aud": AUDIENCE, "sub": format!("user-{user}"),
        "email": format!("user-{user}@bench.example"), "roles": ["buyer", "viewer"],
        "iat": now, "nbf": now, "exp": exp,
    })
}

/// Replaces the signature of `token` with random bytes of the same length.
fn with_random_signature(token: &str, rng: &SystemRandom) -> anyhow::Result<String> {
    let (input, signature) = token
        .rsplit_once('.')
        .context("a token has three segments")?;
    let mut bytes = URL_SAFE_NO_PAD.decode(signature)?;
    rng.fill(&mut bytes)
        .map_err(|_| anyhow::anyhow!("no randomness"))?;
    Ok(format!("{input}.{}", URL_SAFE_NO_PAD.encode(bytes)))
}

/// `count` distinct valid tokens, one a line, signed on two threads (RSA signing is slow).
fn many_tokens(
    key: &TestKey,
    header: &Value,
    alg: &str,
    count: usize,
    now: i64,
    exp: i64,
) -> anyhow::Result<String> {
    let sign_range = |range: std::ops::Range<usize>| {
        let mut lines = String::new();
        for i in range {
            lines.push_str(&signed(key, header, &claims(alg, 100_000 + i, now, exp)));
            lines.push('\n');
        }
        lines
    };
    let half = count / 2;
    let (first, second) = std::thread::scope(|scope| {
        let first = scope.spawn(|| sign_range(0..half));
        let second = sign_range(half..count);
        (first.join(), second)
    });
    let first = first.map_err(|_| anyhow::anyhow!("a signing thread panicked"))?;
    Ok(first + &second)
}

/// Options of `keys`.
#[derive(clap::Args)]
pub struct Args {
    /// Output directory.
    #[arg(long)]
    out: PathBuf,
    /// Distinct valid tokens per algorithm.
    #[arg(long, default_value_t = 1000)]
    count: usize,
    /// Further distinct tokens per algorithm, written to `ALG.many` (0: none).
    #[arg(long, default_value_t = 0)]
    many: usize,
    /// Lifetime of the valid tokens, in seconds.
    #[arg(long, default_value_t = 7200)]
    lifetime: i64,
}

/// Writes keys and tokens of every algorithm into `out`.
pub fn run(args: &Args) -> anyhow::Result<()> {
    let Args {
        out,
        count,
        many,
        lifetime,
    } = args;
    let (out, count, many, lifetime) = (out.as_path(), *count, *many, *lifetime);
    fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    let now = i64::try_from(SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs())?;
    let rng = SystemRandom::new();
    // The testkit's keys: RSA 2048, EC P-256 and Ed25519, generated now.
    let keys = [
        ("rs256", TestKey::rsa()),
        ("es256", TestKey::ec()),
        ("eddsa", TestKey::ed()),
    ];
    for (alg, key) in &keys {
        let kid = format!("bench-{alg}");
        let header = json!({ "alg": key.alg(), "typ": "JWT", "kid": kid });
        let write = |suffix: &str, content: &str| {
            let path = out.join(format!("{alg}.{suffix}"));
            fs::write(&path, content).with_context(|| format!("cannot write {}", path.display()))
        };
        write("pub.pem", &key.public_pem())?;
        write("jwks.json", &json!({ "keys": [key.jwk(&kid)] }).to_string())?;
        let exp = now + lifetime;
        write("token", &signed(key, &header, &claims(alg, 1, now, exp)))?;
        let valid: Vec<String> = (0..count.max(1))
            .map(|i| signed(key, &header, &claims(alg, 1000 + i, now, exp)))
            .collect();
        write("tokens", &(valid.join("\n") + "\n"))?;
        let bad_signature = with_random_signature(&valid[0], &rng)?;
        write("bad-signature.token", &bad_signature)?;
        let expired = signed(key, &header, &claims(alg, 1, now - 7200, now - 3600));
        write("expired.token", &expired)?;
        let none_header = json!({ "alg": "none", "typ": "JWT" });
        let alg_none = format!(
            "{}.{}.",
            b64_json(&none_header),
            b64_json(&claims(alg, 1, now, exp))
        );
        write("alg-none.token", &alg_none)?;
        // The flood: each valid token followed by an invalid one; bad signatures are distinct so
        // that no cache of refusals can answer them.
        let mut flood = String::new();
        for (i, token) in valid.iter().enumerate() {
            let invalid = match i % 4 {
                0 | 1 => with_random_signature(token, &rng)?,
                2 => expired.clone(),
                _ => alg_none.clone(),
            };
            writeln!(flood, "{token}\n{invalid}")?;
        }
        write("flood", &flood)?;
        if many > 0 {
            write("many", &many_tokens(key, &header, alg, many, now, exp)?)?;
        }
    }
    println!("keys and tokens written to {}", out.display());
    Ok(())
}
