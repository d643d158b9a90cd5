//! `gatehouse check`: validate a configuration file and report every problem.

use std::path::Path;
use std::process::ExitCode;

/// Prints `ok` and exits 0 for a valid file; prints each problem on its own line and exits 1
/// otherwise.
pub fn run(path: &Path) -> ExitCode {
    match gatehouse_config::load(path) {
        Ok(config) => {
            println!(
                "{}: ok ({} routes, {} upstreams)",
                path.display(),
                config.routes.len(),
                config.upstreams.len()
            );
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("{}: invalid configuration", path.display());
            for issue in error.issues() {
                eprintln!("  {issue}");
            }
            ExitCode::FAILURE
        }
    }
}
