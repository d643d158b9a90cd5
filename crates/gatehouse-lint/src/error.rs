//! Why inputs could not be linted at all (as opposed to findings in them).

/// An input that could not be read or parsed.
#[derive(Debug, thiserror::Error)]
pub enum LintError {
    /// A file or directory could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The path.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A file is larger than the linter reads.
    #[error("{path} is larger than {limit} bytes")]
    TooLarge {
        /// The path.
        path: String,
        /// The limit.
        limit: u64,
    },
    /// A file is not valid YAML.
    #[error("{path}: invalid YAML: {message}")]
    Yaml {
        /// The path.
        path: String,
        /// The parser's message.
        message: String,
    },
}
