//! The bounds every reader enforces and every writer respects, so decoding is cheap and a
//! context that one side writes is never refused by the other.

/// Encoded bytes of all context header values together (names not counted).
pub const MAX_CONTEXT_BYTES: usize = 8192;
/// Items in one list (`x-user-roles`, `x-user-permissions`).
pub const MAX_LIST_ITEMS: usize = 256;
/// Entries in `x-user-attributes`.
pub const MAX_ATTRIBUTES: usize = 64;
/// Decoded bytes of one role, permission or attribute key.
pub const MAX_ITEM_BYTES: usize = 256;
/// Decoded bytes of the subject, issuer, e-mail or one attribute value.
pub const MAX_VALUE_BYTES: usize = 1024;

use crate::ContextError;

/// Refuses an empty value and one longer than `limit` bytes.
pub(crate) fn check(value: &str, header: &'static str, limit: usize) -> Result<(), ContextError> {
    if value.is_empty() {
        return Err(ContextError::EmptyValue { header });
    }
    if value.len() > limit {
        return Err(ContextError::ValueTooLong { header, limit });
    }
    Ok(())
}

/// Refuses an attribute value longer than [`MAX_VALUE_BYTES`]; empty ones are allowed.
pub(crate) fn check_attribute_value(len: usize) -> Result<(), ContextError> {
    if len > MAX_VALUE_BYTES {
        return Err(ContextError::ValueTooLong {
            header: crate::names::ATTRIBUTES,
            limit: MAX_VALUE_BYTES,
        });
    }
    Ok(())
}
