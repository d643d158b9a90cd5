//! Reading an identity from headers: strict and bounded, never a best guess.

use std::collections::BTreeMap;

use http::{HeaderMap, HeaderValue};

use crate::encoding::decode;
use crate::limits::{
    MAX_ATTRIBUTES, MAX_CONTEXT_BYTES, MAX_ITEM_BYTES, MAX_LIST_ITEMS, MAX_VALUE_BYTES, check,
    check_attribute_value,
};
use crate::{CONTRACT_VERSION, ContextError, Identity, is_reserved_header_name, names};

/// Reads the identity context from `headers`.
///
/// `Ok(None)` when no header of the reserved namespace is present at all. An error when any is
/// present but the context is not exactly as the contract writes it: an unknown reserved name
/// (including `_` spellings), a repeated header, a missing version, id or issuer, an unknown
/// version, a bad encoding, an empty value or item, or any limit in [`crate::limits`] exceeded.
pub fn read_headers(headers: &HeaderMap) -> Result<Option<Identity>, ContextError> {
    let mut any = false;
    let mut total = 0usize;
    for name in headers.keys() {
        if !is_reserved_header_name(name.as_str()) {
            continue;
        }
        any = true;
        let Some(&known) = names::ALL.iter().find(|known| **known == name.as_str()) else {
            return Err(ContextError::UnknownHeader {
                name: truncate(name.as_str(), 64),
            });
        };
        let mut values = headers.get_all(name).iter();
        if let (Some(value), None) = (values.next(), values.next()) {
            total = total.saturating_add(value.len());
        } else {
            return Err(ContextError::DuplicateHeader { header: known });
        }
    }
    if !any {
        return Ok(None);
    }
    // Checked before any decoding so the work below is bounded by the limit.
    if total > MAX_CONTEXT_BYTES {
        return Err(ContextError::TooLarge {
            limit: MAX_CONTEXT_BYTES,
        });
    }

    let version = required(headers, names::VERSION)?;
    if version.as_bytes() != CONTRACT_VERSION.as_bytes() {
        return Err(ContextError::UnsupportedVersion);
    }
    let subject = single(required(headers, names::ID)?, names::ID)?;
    let issuer = single(required(headers, names::ISSUER)?, names::ISSUER)?;
    let email = headers
        .get(names::EMAIL)
        .map(|value| single(value, names::EMAIL))
        .transpose()?;
    let roles = optional_list(headers, names::ROLES)?;
    let permissions = optional_list(headers, names::PERMISSIONS)?;
    let attributes = match headers.get(names::ATTRIBUTES) {
        Some(value) => attributes(value)?,
        None => BTreeMap::new(),
    };
    Ok(Some(Identity {
        subject,
        email,
        roles,
        permissions,
        issuer,
        attributes,
    }))
}

fn required<'h>(
    headers: &'h HeaderMap,
    header: &'static str,
) -> Result<&'h HeaderValue, ContextError> {
    headers
        .get(header)
        .ok_or(ContextError::MissingHeader { header })
}

fn single(value: &HeaderValue, header: &'static str) -> Result<String, ContextError> {
    let decoded = decode(value.as_bytes(), header)?;
    check(&decoded, header, MAX_VALUE_BYTES)?;
    Ok(decoded)
}

fn optional_list(headers: &HeaderMap, header: &'static str) -> Result<Vec<String>, ContextError> {
    let Some(value) = headers.get(header) else {
        return Ok(Vec::new());
    };
    let mut items = Vec::new();
    // An empty header value splits into one empty item and is refused: an empty list is written
    // as an absent header, so there is exactly one spelling of each list.
    for encoded in value.as_bytes().split(|&byte| byte == b',') {
        if items.len() == MAX_LIST_ITEMS {
            return Err(ContextError::TooManyItems {
                header,
                limit: MAX_LIST_ITEMS,
            });
        }
        let item = decode(encoded, header)?;
        check(&item, header, MAX_ITEM_BYTES)?;
        items.push(item);
    }
    Ok(items)
}

fn attributes(value: &HeaderValue) -> Result<BTreeMap<String, String>, ContextError> {
    let header = names::ATTRIBUTES;
    let mut out = BTreeMap::new();
    for pair in value.as_bytes().split(|&byte| byte == b',') {
        if out.len() == MAX_ATTRIBUTES {
            return Err(ContextError::TooManyItems {
                header,
                limit: MAX_ATTRIBUTES,
            });
        }
        let Some(eq) = pair.iter().position(|&byte| byte == b'=') else {
            return Err(ContextError::InvalidEncoding {
                header,
                reason: "attribute is not a key=value pair",
            });
        };
        // A second `=` lands in the value, where decoding refuses it as a bare `=`.
        let (key, value) = (&pair[..eq], &pair[eq + 1..]);
        let key = decode(key, header)?;
        check(&key, header, MAX_ITEM_BYTES)?;
        let value = decode(value, header)?;
        check_attribute_value(value.len())?;
        if out.insert(key, value).is_some() {
            return Err(ContextError::DuplicateAttribute);
        }
    }
    Ok(out)
}

fn truncate(name: &str, max: usize) -> String {
    // Header names are ASCII, so any byte index is a char boundary; `get` keeps it panic-free.
    name.get(..max).unwrap_or(name).to_owned()
}
