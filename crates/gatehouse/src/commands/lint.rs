//! `gatehouse lint`: check Kubernetes manifests and gateway configuration for the mistakes that
//! make services reachable without the gateway. The analysis lives in `gatehouse-lint`.

use std::path::PathBuf;
use std::process::ExitCode;

/// Exit status when the inputs could not be read or parsed (findings exit 1).
const EXIT_INPUT_ERROR: u8 = 2;

/// Arguments of `gatehouse lint`.
#[derive(clap::Args)]
pub struct Args {
    /// Manifest files or directories (searched for .yaml/.yml/.json), gatehouse configuration
    /// files, or `-` for standard input (e.g. `kubectl kustomize DIR | gatehouse lint -`).
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
}

/// How findings are printed.
#[derive(Clone, Copy, clap::ValueEnum)]
enum Format {
    /// One line a finding, then a summary on standard error.
    Text,
    /// One JSON object: `{"findings": [...], "objects": N, "configs": N}`.
    Json,
}

/// Exits 0 when clean, 1 with findings, 2 when an input cannot be read or nothing was found to
/// lint (an empty render must not pass as clean).
pub fn run(args: &Args) -> ExitCode {
    let documents = match gatehouse_lint::load_paths(&args.paths) {
        Ok(documents) => documents,
        Err(error) => {
            eprintln!("gatehouse lint: {error}");
            return ExitCode::from(EXIT_INPUT_ERROR);
        }
    };
    let report = gatehouse_lint::lint(&documents);
    if report.objects == 0 && report.configs == 0 {
        eprintln!("gatehouse lint: no Kubernetes objects or gatehouse configuration in the input");
        return ExitCode::from(EXIT_INPUT_ERROR);
    }
    match args.format {
        Format::Json => match serde_json::to_string_pretty(&report) {
            Ok(json) => println!("{json}"),
            Err(error) => {
                eprintln!("gatehouse lint: {error}");
                return ExitCode::from(EXIT_INPUT_ERROR);
            }
        },
        Format::Text => {
            for finding in &report.findings {
                println!("{finding}");
            }
            eprintln!(
                "gatehouse lint: {} finding(s) in {} object(s) and {} gateway configuration(s)",
                report.findings.len(),
                report.objects,
                report.configs
            );
        }
    }
    if report.is_clean() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
