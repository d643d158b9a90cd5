//! Writing an identity into headers: clear the namespace, validate, encode, insert.

use std::sync::OnceLock;

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
#[derive(Debug, Clone)]
pub struct EncodedContext {
    /// The headers as HTTP/1.1 header lines, for writers that serialise a head themselves.
    lines: Bytes,
    /// `(name, start, end)` of each header's value in `lines`.
    values: Vec<(&'static str, usize, usize)>,
    /// The same headers for a header map, each value a slice of `lines`. Built on first use:
    /// only a writer that serialises a map (hyper's, towards an h2c upstream) needs them, and a
    /// cached context that is never written that way does not hold them.
    headers: OnceLock<Vec<(HeaderName, HeaderValue)>>,
}

/// Equal when the lines are: they determine everything else.
impl PartialEq for EncodedContext {
    fn eq(&self, other: &Self) -> bool {
        self.lines == other.lines
    }
}

impl Eq for EncodedContext {}

impl EncodedContext {
    /// Encodes `identity`, checked against every limit of the contract.
    pub fn new(identity: &Identity) -> Result<Self, ContextError> {
        // Encoded straight into the lines: one buffer instead of a string per header, and the
        // header-map values, when built, share it.
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
        // Checked here, once, so that building the header map later cannot fail: visible ASCII
        // is a valid header value, and all the encoder ever writes.
        for &(name, start, end) in &out.values {
            let visible = out
                .buf
                .get(start..end)
                .is_some_and(|value| value.iter().all(|b| (0x21..=0x7e).contains(b)));
            if !visible {
                return Err(ContextError::InvalidEncoding {
                    header: name,
                    reason: "encoder produced an invalid header value",
                });
            }
        }
        // Kept with the token in the cache: no spare capacity (a value with escapes grew it).
        out.buf.shrink_to_fit();
        Ok(EncodedContext {
            lines: Bytes::from(out.buf),
            values: out.values,
            headers: OnceLock::new(),
        })
    }

    /// Replaces the whole reserved namespace of `headers` with this context.
    pub fn write(&self, headers: &mut HeaderMap) {
        strip_reserved(headers);
        for (name, value) in self.headers() {
            headers.insert(name.clone(), value.clone());
        }
    }

    /// The header-map form, built on the first call.
    fn headers(&self) -> &[(HeaderName, HeaderValue)] {
        self.headers.get_or_init(|| {
            self.values
                .iter()
                .filter_map(|&(name, start, end)| {
                    // `new` checked every range and that every value is visible ASCII, so none
                    // is left out here.
                    let range = (start <= end && end <= self.lines.len()).then_some(start..end)?;
                    let value = HeaderValue::from_maybe_shared(self.lines.slice(range)).ok()?;
                    Some((HeaderName::from_static(name), value))
                })
                .collect()
        })
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

/// The length of the lines when no value needs escaping, so the usual identity takes one
/// allocation and leaves no slack in the cache. It is computed before the limits are checked,
/// so it is capped at what the contract allows: the values' limit plus the seven names and
/// separators, which take under 256 bytes.
fn estimate(identity: &Identity) -> usize {
    fn line(name: &str, value: usize) -> usize {
        name.len() + ": \r\n".len() + value
    }
    /// Items and the commas between them.
    fn joined(lengths: impl Iterator<Item = usize>) -> usize {
        let (sum, count) =
            lengths.fold((0usize, 0usize), |(sum, count), len| (sum + len, count + 1));
        sum + count.saturating_sub(1)
    }
    let mut total = line(names::VERSION, CONTRACT_VERSION.len())
        + line(names::ID, identity.subject.len())
        + line(names::ISSUER, identity.issuer.len());
    if let Some(email) = &identity.email {
        total += line(names::EMAIL, email.len());
    }
    if !identity.roles.is_empty() {
        total += line(names::ROLES, joined(identity.roles.iter().map(String::len)));
    }
    if !identity.permissions.is_empty() {
        let lengths = identity.permissions.iter().map(String::len);
        total += line(names::PERMISSIONS, joined(lengths));
    }
    if !identity.attributes.is_empty() {
        let lengths = identity
            .attributes
            .iter()
            .map(|(k, v)| k.len() + 1 + v.len());
        total += line(names::ATTRIBUTES, joined(lengths));
    }
    total.min(MAX_CONTEXT_BYTES + 256)
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

#[cfg(test)]
mod tests {
    use super::*;

    fn identity() -> Identity {
        Identity {
            subject: "user 42".into(),
            issuer: "https://idp.example/realms/x".into(),
            email: Some("a@b.example".into()),
            roles: vec!["admin".into(), "r,w".into()],
            permissions: vec!["orders:*".into()],
            attributes: [("team".to_owned(), "é=1".to_owned())].into(),
        }
    }

    #[test]
    fn lines_are_exact() {
        let encoded = EncodedContext::new(&identity()).unwrap();
        assert_eq!(
            std::str::from_utf8(encoded.lines()).unwrap(),
            "x-user-context-version: 1\r\n\
             x-user-id: user%2042\r\n\
             x-user-issuer: https://idp.example/realms/x\r\n\
             x-user-email: a@b.example\r\n\
             x-user-roles: admin,r%2Cw\r\n\
             x-user-permissions: orders:*\r\n\
             x-user-attributes: team=%C3%A9%3D1\r\n"
        );
    }

    #[test]
    fn the_header_map_form_is_built_once_on_first_use_and_matches_the_lines() {
        let encoded = EncodedContext::new(&identity()).unwrap();
        let fresh = encoded.clone();
        assert!(encoded.headers.get().is_none(), "built before any use");
        let mut written = HeaderMap::new();
        written.insert("x-user-id", HeaderValue::from_static("mallory"));
        encoded.write(&mut written);
        let first = encoded.headers.get().map(|h| h.as_ptr());
        encoded.write(&mut HeaderMap::new());
        assert_eq!(
            encoded.headers.get().map(|h| h.as_ptr()),
            first,
            "built twice"
        );
        // Every line is in the map, value for value.
        let text = std::str::from_utf8(encoded.lines()).unwrap();
        let lines: Vec<_> = text.trim_end().split("\r\n").collect();
        assert_eq!(lines.len(), written.len());
        for line in lines {
            let (name, value) = line.split_once(": ").unwrap();
            assert_eq!(written.get_all(name).iter().collect::<Vec<_>>(), [value]);
        }
        assert_eq!(encoded, fresh, "equality does not depend on what was built");
    }

    #[test]
    fn the_estimate_is_exact_without_escapes_and_capped() {
        let mut plain = identity();
        plain.subject = "user-42".into();
        plain.roles = vec!["admin".into(), "rw".into()];
        plain.attributes = [("team".to_owned(), "blue".to_owned())].into();
        let encoded = EncodedContext::new(&plain).unwrap();
        assert_eq!(estimate(&plain), encoded.lines().len());
        plain.email = None;
        plain.permissions.clear();
        let encoded = EncodedContext::new(&plain).unwrap();
        assert_eq!(estimate(&plain), encoded.lines().len());
        // Sized before the limits are checked, so a refused identity allocates no more than this.
        plain.subject = "x".repeat(1 << 20);
        assert_eq!(estimate(&plain), MAX_CONTEXT_BYTES + 256);
        assert!(EncodedContext::new(&plain).is_err());
    }
}
