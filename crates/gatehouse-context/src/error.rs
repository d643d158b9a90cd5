//! Why a context could not be read or written.

/// A context that is malformed, partial, duplicated or oversize, on reading or on writing.
///
/// Messages name only contract header names and limits, never the offending value, so they are
/// safe to return to a caller and to log.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ContextError {
    /// A required header is absent while other context headers are present.
    #[error("identity context header `{header}` is missing")]
    MissingHeader {
        /// The missing header.
        header: &'static str,
    },
    /// A header appears more than once.
    #[error("identity context header `{header}` appears more than once")]
    DuplicateHeader {
        /// The repeated header.
        header: &'static str,
    },
    /// A header in the reserved namespace that the contract does not define.
    #[error("header `{name}` is in the reserved identity-context namespace but not part of it")]
    UnknownHeader {
        /// The header name, cut to 64 bytes.
        name: String,
    },
    /// The version header names a version this reader does not speak.
    #[error("unsupported identity context version (this reader speaks version 1)")]
    UnsupportedVersion,
    /// A value is not in the contract's percent-encoding, or does not decode to UTF-8.
    #[error("identity context header `{header}` is not validly encoded: {reason}")]
    InvalidEncoding {
        /// The header.
        header: &'static str,
        /// What is wrong.
        reason: &'static str,
    },
    /// A value or list item is empty where the contract forbids it.
    #[error("identity context header `{header}` holds an empty value or list item")]
    EmptyValue {
        /// The header.
        header: &'static str,
    },
    /// The encoded context is larger than [`crate::limits::MAX_CONTEXT_BYTES`].
    #[error("identity context exceeds {limit} encoded bytes")]
    TooLarge {
        /// The limit.
        limit: usize,
    },
    /// A list has more items than allowed.
    #[error("identity context header `{header}` has more than {limit} items")]
    TooManyItems {
        /// The header.
        header: &'static str,
        /// The limit.
        limit: usize,
    },
    /// One value or item is longer than allowed.
    #[error("a value in identity context header `{header}` exceeds {limit} bytes")]
    ValueTooLong {
        /// The header.
        header: &'static str,
        /// The limit, in decoded bytes.
        limit: usize,
    },
    /// An attribute key appears twice.
    #[error("identity context header `x-user-attributes` repeats a key")]
    DuplicateAttribute,
}

impl ContextError {
    /// A stable, machine-readable code for this kind of error (it never changes with wording).
    pub fn code(&self) -> &'static str {
        match self {
            ContextError::MissingHeader { .. } => "missing_header",
            ContextError::DuplicateHeader { .. } => "duplicate_header",
            ContextError::UnknownHeader { .. } => "unknown_header",
            ContextError::UnsupportedVersion => "unsupported_version",
            ContextError::InvalidEncoding { .. } => "invalid_encoding",
            ContextError::EmptyValue { .. } => "empty_value",
            ContextError::TooLarge { .. } => "too_large",
            ContextError::TooManyItems { .. } => "too_many_items",
            ContextError::ValueTooLong { .. } => "value_too_long",
            ContextError::DuplicateAttribute => "duplicate_attribute",
        }
    }
}
