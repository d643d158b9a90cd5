//! The `gatehouse` binary: only wiring. Each subcommand lives in `commands/`.

mod commands;
mod logging;
mod reload;
mod signals;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// gatehouse: an API gateway that authenticates once at the edge and forwards only the verified
/// user context to private services.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the gateway.
    Run {
        /// Configuration file (YAML).
        #[arg(short, long, env = "GATEHOUSE_CONFIG")]
        config: PathBuf,
    },
    /// Validate a configuration file without starting; prints every problem with its location.
    Check {
        /// Configuration file (YAML).
        #[arg(short, long)]
        config: PathBuf,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Check { config } => commands::check::run(&config),
        Command::Run { config } => match commands::run::run(&config) {
            Ok(()) => ExitCode::SUCCESS,
            Err(error) => {
                eprintln!("gatehouse: {error:#}");
                ExitCode::FAILURE
            }
        },
    }
}
