//! The functional check every target passes before it is measured.

use std::fs;
use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context as _;

use crate::http1;
use crate::upstream::{ECHO, SEEN_AUTHORIZATION, SEEN_PREFIX, SEEN_USER};

/// One target to check.
#[derive(clap::Args)]
pub struct Target {
    /// Target name, for messages.
    #[arg(long)]
    name: String,
    /// Target address.
    #[arg(long)]
    addr: SocketAddr,
    /// Request path (chooses the algorithm's route).
    #[arg(long)]
    path: String,
    /// Directory written by `keys`.
    #[arg(long)]
    keys: PathBuf,
    /// Algorithm file prefix: rs256, es256 or eddsa.
    #[arg(long)]
    alg: String,
    /// Statuses that count as a refusal.
    #[arg(long, value_delimiter = ',', default_value = "401")]
    deny: Vec<u16>,
}

impl Target {
    fn token(&self, kind: &str) -> anyhow::Result<String> {
        let path = self.keys.join(format!("{}.{kind}", self.alg));
        Ok(fs::read_to_string(&path)
            .with_context(|| format!("cannot read {}", path.display()))?
            .trim()
            .to_owned())
    }

    fn send(&self, token: Option<&str>) -> anyhow::Result<http1::Head> {
        let mut extra = vec![
            "Connection: close".to_owned(),
            // A client trying to choose its own identity: must never reach the upstream.
            "X-User-Id: spoofed".to_owned(),
            format!("{ECHO}: 1"),
        ];
        if let Some(token) = token {
            extra.push(format!("Authorization: Bearer {token}"));
        }
        let mut stream = http1::connect(self.addr)?;
        http1::exchange(&mut stream, &http1::get(&self.path, &extra))
    }
}

/// Runs every case; the error names the first one that failed.
pub fn run(target: &Target) -> anyhow::Result<()> {
    let fail = |case: &str, detail: String| {
        anyhow::anyhow!(
            "functional check FAILED for {} ({}{}): {case}: {detail}",
            target.name,
            target.addr,
            target.path
        )
    };
    let valid = target.send(Some(&target.token("token")?))?;
    let seen = valid.header(SEEN_USER).unwrap_or("(no header)");
    if valid.status != 200 || seen != "user-1" {
        return Err(fail(
            "valid token",
            format!(
                "expected 200 with x-user-id user-1 upstream, got {} with {seen:?}",
                valid.status
            ),
        ));
    }
    for (case, token) in [
        ("no token", None),
        ("bad signature", Some(target.token("bad-signature.token")?)),
        ("expired token", Some(target.token("expired.token")?)),
        ("alg none", Some(target.token("alg-none.token")?)),
    ] {
        let head = target.send(token.as_deref())?;
        if !target.deny.contains(&head.status) {
            return Err(fail(
                case,
                format!("expected one of {:?}, got {}", target.deny, head.status),
            ));
        }
    }
    let note = match valid.header(SEEN_AUTHORIZATION) {
        Some("present") => "; note: the raw Authorization header reaches the upstream",
        _ => "",
    };
    let identity: Vec<String> = valid
        .headers
        .iter()
        .filter_map(|(name, value)| Some(format!("{}: {value}", name.strip_prefix(SEEN_PREFIX)?)))
        .collect();
    println!(
        "functional check passed: {} ({}{}); upstream received [{}]{note}",
        target.name,
        target.addr,
        target.path,
        identity.join("; ")
    );
    Ok(())
}
