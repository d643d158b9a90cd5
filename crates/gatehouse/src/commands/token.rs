//! `gatehouse token --user NAME`: prints a token of the development identity provider, signed
//! with the key a `gatehouse demo` using the same data directory serves.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use gatehouse_devidp::{Minter, SigningKey, demo_users, issuer_for};

/// Arguments of `gatehouse token`.
#[derive(clap::Args)]
pub struct Args {
    /// The demo user: alice (customer), bob (read-only), carol (admin).
    #[arg(long)]
    user: String,
    /// The demo's data directory, holding the signing key.
    #[arg(long, env = "GATEHOUSE_DEMO_DIR", default_value_os_t = super::demo::default_data_dir())]
    data_dir: PathBuf,
    /// The demo identity provider's address; the token's issuer is derived from it.
    #[arg(long, default_value = "127.0.0.1:8090")]
    idp: SocketAddr,
}

/// Prints the token on stdout (and only it, for `$(gatehouse token --user alice)`).
pub fn run(args: &Args) -> ExitCode {
    let minted = SigningKey::load_or_generate(&args.data_dir)
        .and_then(|key| Minter::new(key, issuer_for(args.idp)).mint_for(&args.user));
    match minted {
        Ok(token) => {
            eprintln!("gatehouse token: DEVELOPMENT ONLY, for `gatehouse demo`");
            println!("{token}");
            ExitCode::SUCCESS
        }
        Err(error) => {
            let known: Vec<&str> = demo_users().iter().map(|u| u.name).collect();
            eprintln!(
                "gatehouse token: {error} (demo users: {})",
                known.join(", ")
            );
            ExitCode::FAILURE
        }
    }
}
