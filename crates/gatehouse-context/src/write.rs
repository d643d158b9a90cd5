//! Writing an identity into headers: clear the namespace, validate, encode, insert.

use http::{HeaderMap, HeaderName, HeaderValue};

use crate::encoding::encode_into;
use crate::limits::{
    MAX_ATTRIBUTES, MAX_CONTEXT_BYTES, MAX_ITEM_BYTES, MAX_LIST_ITEMS, MAX_VALUE_BYTES, check,
    check_attribute_value,
};
use crate::{CONTRACT_VERSION, ContextError, Identity, names, strip_reserved};

/// Replaces the whole reserved namespace of `headers` with the encoding of `identity`.
///
/// The namespace is cleared first and stays cleared when the identity cannot be encoded
/// (empty subject, issuer, e-mail or list item; a limit exceeded), so a caller that ignores the
/// error still never forwards a client's own context headers.
pub fn write_headers(identity: &Identity, headers: &mut HeaderMap) -> Result<(), ContextError> {
    strip_reserved(headers);
    EncodedContext::new(identity)?.write(headers);
    Ok(())
}

/// The context headers of one identity, encoded and checked once, to be written on every
/// request that identity makes (a gateway caches it with the verified token).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncodedContext {
    headers: Vec<(HeaderName, HeaderValue)>,
    /// The same headers as HTTP/1.1 header lines, for writers that serialise a head themselves.
    lines: Box<[u8]>,
}

impl EncodedContext {
    /// Encodes `identity`, checked against every limit of the contract.
    pub fn new(identity: &Identity) -> Result<Self, ContextError> {
        let headers = encode(identity)?
            .into_iter()
            .map(|(name, value)| {
                HeaderValue::try_from(value)
                    .map(|value| (HeaderName::from_static(name), value))
                    .map_err(|_| ContextError::InvalidEncoding {
                        header: name,
                        reason: "encoder produced an invalid header value",
                    })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let mut lines = Vec::with_capacity(
            headers
                .iter()
                .map(|(name, value)| name.as_str().len() + value.len() + 4)
                .sum(),
        );
        for (name, value) in &headers {
            lines.extend_from_slice(name.as_str().as_bytes());
            lines.extend_from_slice(b": ");
            lines.extend_from_slice(value.as_bytes());
            lines.extend_from_slice(b"\r\n");
        }
        Ok(EncodedContext {
            headers,
            lines: lines.into_boxed_slice(),
        })
    }

    /// Replaces the whole reserved namespace of `headers` with this context.
    pub fn write(&self, headers: &mut HeaderMap) {
        strip_reserved(headers);
        for (name, value) in &self.headers {
            headers.insert(name.clone(), value.clone());
        }
    }

    /// The context as HTTP/1.1 header lines (`name: value\r\n` each, values already validated),
    /// for a writer that serialises the request head itself. Only sound after
    /// [`strip_reserved`] has cleared the namespace of the headers written beside them.
    pub fn lines(&self) -> &[u8] {
        &self.lines
    }
}

/// The encoded `(name, value)` pairs of an identity, checked against every limit.
fn encode(identity: &Identity) -> Result<Vec<(&'static str, String)>, ContextError> {
    let mut out = Vec::with_capacity(names::ALL.len());
    out.push((names::VERSION, CONTRACT_VERSION.to_owned()));
    out.push((names::ID, single(&identity.subject, names::ID)?));
    out.push((names::ISSUER, single(&identity.issuer, names::ISSUER)?));
    if let Some(email) = &identity.email {
        out.push((names::EMAIL, single(email, names::EMAIL)?));
    }
    if !identity.roles.is_empty() {
        out.push((names::ROLES, list(&identity.roles, names::ROLES)?));
    }
    if !identity.permissions.is_empty() {
        out.push((
            names::PERMISSIONS,
            list(&identity.permissions, names::PERMISSIONS)?,
        ));
    }
    if !identity.attributes.is_empty() {
        out.push((names::ATTRIBUTES, attributes(identity)?));
    }
    let total: usize = out.iter().map(|(_, value)| value.len()).sum();
    if total > MAX_CONTEXT_BYTES {
        return Err(ContextError::TooLarge {
            limit: MAX_CONTEXT_BYTES,
        });
    }
    Ok(out)
}

fn single(value: &str, header: &'static str) -> Result<String, ContextError> {
    check(value, header, MAX_VALUE_BYTES)?;
    let mut out = String::with_capacity(value.len());
    encode_into(value, &mut out);
    Ok(out)
}

fn list(items: &[String], header: &'static str) -> Result<String, ContextError> {
    if items.len() > MAX_LIST_ITEMS {
        return Err(ContextError::TooManyItems {
            header,
            limit: MAX_LIST_ITEMS,
        });
    }
    let mut out = String::new();
    for (i, item) in items.iter().enumerate() {
        check(item, header, MAX_ITEM_BYTES)?;
        if i > 0 {
            out.push(',');
        }
        encode_into(item, &mut out);
    }
    Ok(out)
}

fn attributes(identity: &Identity) -> Result<String, ContextError> {
    let header = names::ATTRIBUTES;
    if identity.attributes.len() > MAX_ATTRIBUTES {
        return Err(ContextError::TooManyItems {
            header,
            limit: MAX_ATTRIBUTES,
        });
    }
    let mut out = String::new();
    // A BTreeMap iterates in ascending byte order of the key: the contract's canonical order.
    for (i, (key, value)) in identity.attributes.iter().enumerate() {
        check(key, header, MAX_ITEM_BYTES)?;
        check_attribute_value(value.len())?;
        if i > 0 {
            out.push(',');
        }
        encode_into(key, &mut out);
        out.push('=');
        encode_into(value, &mut out);
    }
    Ok(out)
}
