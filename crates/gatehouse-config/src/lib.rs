//! The gateway's configuration: a YAML file parsed into raw serde structs, then validated into a
//! typed model. Validation reports every problem with its location and never panics, so a bad
//! file on reload leaves the running configuration untouched.

mod error;
mod model;
mod raw;
mod validate;

pub use error::{ConfigError, Issue};
pub use gatehouse_units::{parse_duration, parse_size};
pub use model::*;

/// Largest configuration file read; a larger one is refused rather than parsed.
pub const MAX_CONFIG_BYTES: u64 = 4 << 20;

/// Parses and validates configuration text.
pub fn parse(text: &str) -> Result<Config, ConfigError> {
    if text.len() as u64 > MAX_CONFIG_BYTES {
        return Err(ConfigError::Syntax(format!(
            "the configuration is larger than {MAX_CONFIG_BYTES} bytes"
        )));
    }
    let raw: raw::RawConfig = if text.trim().is_empty() {
        raw::RawConfig::default()
    } else {
        serde_saphyr::from_str(text).map_err(|e| ConfigError::Syntax(e.to_string()))?
    };
    validate::validate(raw)
}

/// Reads, parses and validates a configuration file.
pub fn load(path: &std::path::Path) -> Result<Config, ConfigError> {
    let read_error = |source| ConfigError::Read {
        path: path.display().to_string(),
        source,
    };
    let size = std::fs::metadata(path).map_err(read_error)?.len();
    if size > MAX_CONFIG_BYTES {
        return Err(ConfigError::Syntax(format!(
            "{} is larger than {MAX_CONFIG_BYTES} bytes",
            path.display()
        )));
    }
    let text = std::fs::read_to_string(path).map_err(read_error)?;
    parse(&text).map_err(|e| match e {
        ConfigError::Syntax(msg) => ConfigError::Syntax(format!("{}: {msg}", path.display())),
        other => other,
    })
}
