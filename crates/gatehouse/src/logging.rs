//! Log output: JSON for collectors or pretty for terminals, filtered by the configured level
//! (`RUST_LOG` overrides it). Lines are written by a background thread, so a slow or blocked
//! stderr never stalls the request path; under extreme load lines are dropped rather than
//! requests delayed.

use gatehouse_config::{LogFormat, LoggingConfig};
use tracing_appender::non_blocking::{NonBlockingBuilder, WorkerGuard};
use tracing_subscriber::EnvFilter;

/// Lines buffered before new ones are dropped.
const BUFFERED_LINES: usize = 128 * 1024;

/// Keeps the log writer alive; dropping it flushes what is buffered.
#[must_use = "logs stop being written when the guard is dropped"]
pub struct LogGuard(#[allow(dead_code)] WorkerGuard);

/// Installs the global subscriber.
pub fn init(config: &LoggingConfig) -> anyhow::Result<LogGuard> {
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(&config.level))
        .map_err(|e| anyhow::anyhow!("logging.level \"{}\": {e}", config.level))?;
    let (writer, guard) = NonBlockingBuilder::default()
        .buffered_lines_limit(BUFFERED_LINES)
        .lossy(true)
        .finish(std::io::stderr());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer);
    let result = match config.format {
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
        LogFormat::Pretty => builder.compact().try_init(),
    };
    result.map_err(|e| anyhow::anyhow!("cannot install the logger: {e}"))?;
    Ok(LogGuard(guard))
}
