//! Writing an identity into headers: clear the namespace, validate, encode, insert.

use bytes::Bytes;
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
    /// The headers as HTTP/1.1 header lines, for writers that serialise a head themselves.
    lines: Bytes,
    /// The same headers for a header map; each value is a slice of `lines`, not a copy.
    headers: Vec<(HeaderName, HeaderValue)>,
}

impl EncodedContext {
    /// Encodes `identity`, checked against every limit of the contract.
    pub fn new(identity: &Identity) -> Result<Self, ContextError> {
        // Encoded straight into the lines: one buffer instead of a string per header, and the
        // header-map values then share it.
        let mut out = Lines::with_capacity(estimate(identity));
        out.value(names::VERSION, |buf| {
            buf.extend_from_slice(CONTRACT_VERSION.as_bytes());
            Ok(())
        })?;
        out.value(names::ID, |buf| single(&identity.subject, names::ID, buf))?;
        out.value(names::ISSUER, |buf| {
            single(&identity.issuer, names::ISSUER, buf)
        })?;
        if let Some(email) = &identity.email {
            out.value(names::EMAIL, |buf| single(email, names::EMAIL, buf))?;
        }
        if !identity.roles.is_empty() {
            out.value(names::ROLES, |buf| list(&identity.roles, names::ROLES, buf))?;
        }
        if !identity.permissions.is_empty() {
            out.value(names::PERMISSIONS, |buf| {
                list(&identity.permissions, names::PERMISSIONS, buf)
            })?;
        }
        if !identity.attributes.is_empty() {
            out.value(names::ATTRIBUTES, |buf| attributes(identity, buf))?;
        }
        if out.value_bytes > MAX_CONTEXT_BYTES {
            return Err(ContextError::TooLarge {
                limit: MAX_CONTEXT_BYTES,
            });
        }
        let lines = Bytes::from(out.buf);
        let headers = out
            .values
            .iter()
            .map(|&(name, start, end)| {
                HeaderValue::from_maybe_shared(lines.slice(start..end))
                    .map(|value| (HeaderName::from_static(name), value))
                    .map_err(|_| ContextError::InvalidEncoding {
                        header: name,
                        reason: "encoder produced an invalid header value",
                    })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(EncodedContext { lines, headers })
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

/// The header lines being written, and where each value lies in them.
struct Lines {
    buf: Vec<u8>,
    /// `(name, start, end)` of each value written, in order.
    values: Vec<(&'static str, usize, usize)>,
    /// Encoded bytes of all values together, for the contract's overall limit.
    value_bytes: usize,
}

impl Lines {
    fn with_capacity(capacity: usize) -> Self {
        Lines {
            buf: Vec::with_capacity(capacity),
            values: Vec::with_capacity(names::ALL.len()),
            value_bytes: 0,
        }
    }

    /// Writes the line of header `name`, its value from `encode`.
    fn value(
        &mut self,
        name: &'static str,
        encode: impl FnOnce(&mut Vec<u8>) -> Result<(), ContextError>,
    ) -> Result<(), ContextError> {
        self.buf.extend_from_slice(name.as_bytes());
        self.buf.extend_from_slice(b": ");
        let start = self.buf.len();
        encode(&mut self.buf)?;
        let end = self.buf.len();
        self.buf.extend_from_slice(b"\r\n");
        self.values.push((name, start, end));
        self.value_bytes += end - start;
        Ok(())
    }
}

/// Room for the lines when nothing needs escaping: one allocation in the usual case.
fn estimate(identity: &Identity) -> usize {
    let list = |items: &[String]| items.iter().map(|i| i.len() + 1).sum::<usize>();
    let names: usize = names::ALL.iter().map(|n| n.len() + 4).sum();
    names
        + CONTRACT_VERSION.len()
        + identity.subject.len()
        + identity.issuer.len()
        + identity.email.as_ref().map_or(0, String::len)
        + list(&identity.roles)
        + list(&identity.permissions)
        + identity
            .attributes
            .iter()
            .map(|(k, v)| k.len() + v.len() + 2)
            .sum::<usize>()
}

fn single(value: &str, header: &'static str, out: &mut Vec<u8>) -> Result<(), ContextError> {
    check(value, header, MAX_VALUE_BYTES)?;
    encode_into(value, out);
    Ok(())
}

fn list(items: &[String], header: &'static str, out: &mut Vec<u8>) -> Result<(), ContextError> {
    if items.len() > MAX_LIST_ITEMS {
        return Err(ContextError::TooManyItems {
            header,
            limit: MAX_LIST_ITEMS,
        });
    }
    for (i, item) in items.iter().enumerate() {
        check(item, header, MAX_ITEM_BYTES)?;
        if i > 0 {
            out.push(b',');
        }
        encode_into(item, out);
    }
    Ok(())
}

fn attributes(identity: &Identity, out: &mut Vec<u8>) -> Result<(), ContextError> {
    let header = names::ATTRIBUTES;
    if identity.attributes.len() > MAX_ATTRIBUTES {
        return Err(ContextError::TooManyItems {
            header,
            limit: MAX_ATTRIBUTES,
        });
    }
    // A BTreeMap iterates in ascending byte order of the key: the contract's canonical order.
    for (i, (key, value)) in identity.attributes.iter().enumerate() {
        check(key, header, MAX_ITEM_BYTES)?;
        check_attribute_value(value.len())?;
        if i > 0 {
            out.push(b',');
        }
        encode_into(key, out);
        out.push(b'=');
        encode_into(value, out);
    }
    Ok(())
}
