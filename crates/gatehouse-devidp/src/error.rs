//! What can go wrong in the development identity provider.

use std::path::PathBuf;

/// An error of the development identity provider.
#[derive(Debug, thiserror::Error)]
pub enum DevIdpError {
    /// The data directory or the key file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The key file exists but does not hold a usable RSA key.
    #[error("{path}: not an RSA PKCS#8 key; delete it to generate a new one")]
    BadKey {
        /// The key file.
        path: PathBuf,
    },
    /// Key generation or signing failed in the crypto library.
    #[error("crypto failure: {0}")]
    Crypto(&'static str),
    /// No demo user has this name.
    #[error("unknown demo user {0:?}")]
    UnknownUser(String),
}
