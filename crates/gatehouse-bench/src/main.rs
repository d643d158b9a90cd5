//! `gatehouse-bench`: the Rust helpers of `bench/run.sh`. Each subcommand lives in its own module.

mod check;
mod http1;
mod idle;
mod keys;
mod relay;
mod report;
mod serve;
mod upstream;
mod verify;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Helpers of the gatehouse benchmark (`bench/run.sh`); loopback only.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve a fixed 200 on keep-alive, reflecting the `x-user-id` it received.
    Upstream(upstream::Args),
    /// Generate RS256, ES256 and EdDSA keys (PEM, JWKS) and tokens into a directory.
    Keys(keys::Args),
    /// Functional check of one target: a valid token passes with the right identity, bad ones are refused.
    Check(check::Target),
    /// Open idle keep-alive connections (one request each) and hold them until killed.
    Idle(idle::Args),
    /// Relay bytes to the upstream with no HTTP handling: the floor of any proxy's socket work.
    Relay(relay::Args),
    /// Print the thread CPU microseconds one signature check of the bench's tokens costs.
    VerifyCost(verify::Args),
    /// Turn the raw measurements of a run into the Markdown results.
    Report(report::Args),
}

fn main() -> ExitCode {
    let result = match Cli::parse().command {
        Command::Upstream(args) => upstream::run(&args),
        Command::Keys(args) => keys::run(&args),
        Command::Check(target) => check::run(&target),
        Command::Idle(args) => idle::run(&args),
        Command::Relay(args) => relay::run(&args),
        Command::VerifyCost(args) => verify::run(&args),
        Command::Report(args) => report::run(&args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("gatehouse-bench: {error:#}");
            ExitCode::FAILURE
        }
    }
}
