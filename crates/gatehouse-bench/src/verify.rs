//! The other half of the floor: the CPU one signature check costs on this machine, in this run.
//!
//! The bench's own tokens are checked against their public key with aws-lc, the library and the
//! prepared-key call gatehouse verifies with: the SHA-256 of the signing input and the public-key
//! operation, and nothing of a JWT library (no base64 of the header and payload, no JSON, no
//! claims). The CPU time is the thread's own, so other processes on the machine do not inflate
//! it, but a busy machine still slows it through shared caches and frequency.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;
use aws_lc_rs::signature::{self, ParsedPublicKey, VerificationAlgorithm};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use rustix::time::{ClockId, clock_gettime};

/// Options of `verify-cost`.
#[derive(clap::Args)]
pub struct Args {
    /// Directory written by `keys` (`ALG.pub.pem`, `ALG.tokens`).
    #[arg(long)]
    keys: PathBuf,
    /// Algorithm of the tokens: rs256, es256 or eddsa.
    #[arg(long, default_value = "rs256")]
    alg: String,
    /// Signature checks to time (the tokens round-robin).
    #[arg(long, default_value_t = 20_000)]
    count: usize,
}

/// One token split for verification: the signing input and the decoded signature.
struct Signed {
    input: Vec<u8>,
    signature: Vec<u8>,
}

fn algorithm(alg: &str) -> anyhow::Result<&'static dyn VerificationAlgorithm> {
    Ok(match alg {
        "rs256" => &signature::RSA_PKCS1_2048_8192_SHA256,
        "es256" => &signature::ECDSA_P256_SHA256_FIXED,
        "eddsa" => &signature::ED25519,
        other => anyhow::bail!("unknown algorithm {other:?} (rs256, es256 or eddsa)"),
    })
}

/// The DER `SubjectPublicKeyInfo` inside a PEM `PUBLIC KEY` block.
fn spki_der(pem: &str) -> anyhow::Result<Vec<u8>> {
    let body: String = pem
        .lines()
        .map(str::trim)
        .skip_while(|l| *l != "-----BEGIN PUBLIC KEY-----")
        .skip(1)
        .take_while(|l| *l != "-----END PUBLIC KEY-----")
        .collect();
    anyhow::ensure!(!body.is_empty(), "no PUBLIC KEY block");
    STANDARD
        .decode(body)
        .context("the PUBLIC KEY block is not base64")
}

/// The key as aws-lc parses it once for gatehouse (it takes an SPKI for every algorithm here).
fn parsed_key(alg: &str, spki: &[u8]) -> anyhow::Result<ParsedPublicKey> {
    ParsedPublicKey::new(algorithm(alg)?, spki)
        .map_err(|e| anyhow::anyhow!("aws-lc refused the {alg} public key: {e}"))
}

fn split(token: &str) -> anyhow::Result<Signed> {
    let (input, signature) = token
        .rsplit_once('.')
        .context("a token has three segments")?;
    Ok(Signed {
        input: input.as_bytes().to_vec(),
        signature: URL_SAFE_NO_PAD.decode(signature)?,
    })
}

fn thread_cpu() -> Duration {
    let t = clock_gettime(ClockId::ThreadCPUTime);
    Duration::new(
        u64::try_from(t.tv_sec).unwrap_or(0),
        u32::try_from(t.tv_nsec).unwrap_or(0),
    )
}

/// Prints the thread CPU microseconds per signature check, after checking every token once.
pub fn run(args: &Args) -> anyhow::Result<()> {
    let read = |suffix: &str| {
        let path = args.keys.join(format!("{}.{suffix}", args.alg));
        std::fs::read_to_string(&path).with_context(|| format!("cannot read {}", path.display()))
    };
    let key = parsed_key(&args.alg, &spki_der(&read("pub.pem")?)?)?;
    let tokens: Vec<Signed> = read("tokens")?
        .lines()
        .filter(|l| !l.is_empty())
        .map(split)
        .collect::<anyhow::Result<_>>()?;
    anyhow::ensure!(!tokens.is_empty(), "no tokens");
    anyhow::ensure!(args.count > 0, "--count must be positive");
    // Every token must verify, or the figure would time refusals; this is also the warm-up.
    for (i, t) in tokens.iter().enumerate() {
        key.verify_sig(&t.input, &t.signature)
            .map_err(|_| anyhow::anyhow!("token {} does not verify", i + 1))?;
    }
    let start = thread_cpu();
    let mut failures = 0usize;
    for t in tokens.iter().cycle().take(args.count) {
        failures += usize::from(key.verify_sig(&t.input, &t.signature).is_err());
    }
    let spent = thread_cpu().saturating_sub(start);
    anyhow::ensure!(failures == 0, "{failures} checks failed while timed");
    #[allow(clippy::cast_precision_loss)] // counts far below 2^52
    let per = spent.as_secs_f64() * 1e6 / args.count as f64;
    println!("{per:.2}");
    Ok(())
}
