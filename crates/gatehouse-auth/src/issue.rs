//! A configuration problem with the location it was found at.

use std::fmt;

/// One configuration problem: where (`providers[1].algorithms[0]`) and what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigIssue {
    /// Location in the configuration document, e.g. `providers[1].keys.jwks_url`.
    pub path: String,
    /// What is wrong and, where possible, how to fix it.
    pub message: String,
}

impl ConfigIssue {
    /// Builds an issue at `path`.
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for ConfigIssue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}
