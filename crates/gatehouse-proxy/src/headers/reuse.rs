//! Header maps and names kept by the thread that used them, for the next request.
//!
//! Every proxied request needs two header maps (the request's and the response's), and nearly
//! every name that is not a standard one (`x-request-id`, an application's own headers) arrives
//! again on the next request. Made fresh, they cost five to seven allocations per request; kept,
//! none. Both stores are per thread, so they need no lock, and bounded, so an unusual request
//! costs what it always did and is not remembered.

use std::cell::RefCell;

use http::header::{HeaderMap, HeaderName, InvalidHeaderName};

/// Maps kept per thread; a worker with more requests in flight than this makes the rest fresh.
/// A kept map holds room for at most 48 names and, since only bounded heads come here, for at
/// most 129 values from our HTTP/1 client (5–15 KB) or about 500 from hyper's h2c client, whose
/// header list is bounded at 16 KiB (under 40 KB): about 1 MB a thread, 2.5 MB with h2c
/// upstreams.
const KEPT_MAPS: usize = 64;

/// Maps with room for more names than this (a usable capacity, three quarters of a power of two)
/// are dropped rather than kept, so one head with many fields does not leave a large map behind.
const MAX_KEPT_CAPACITY: usize = 48;

/// Name slots per thread (a direct-mapped cache: a name that meets another in its slot replaces
/// it).
const NAME_SLOTS: usize = 64;

/// Longer names are made fresh each time.
const MAX_KEPT_NAME: usize = 64;

thread_local! {
    static MAPS: RefCell<Vec<HeaderMap>> = const { RefCell::new(Vec::new()) };
    static NAMES: RefCell<Vec<Option<KeptName>>> = const { RefCell::new(Vec::new()) };
}

/// An empty map with room for `capacity` fields: one this thread recycled, if it has one.
pub fn map(capacity: usize) -> HeaderMap {
    let kept = MAPS
        .try_with(|maps| maps.try_borrow_mut().ok()?.pop())
        .ok()
        .flatten();
    // A head larger than the kept map grows it once, as a fresh map would have been sized.
    if let Some(mut map) = kept
        && map.try_reserve(capacity).is_ok()
    {
        return map;
    }
    HeaderMap::with_capacity(capacity)
}

/// Gives a map back once its request or response has been written out. Its fields are dropped
/// here: a kept map never carries a value from one request into the next.
///
/// Only a map whose field count our code bounded may come here: clearing a map keeps the storage
/// of repeated values, which `capacity` does not show (an HTTP/2 client can repeat one field
/// thousands of times; see `service::HeadSource`).
pub fn recycle(mut map: HeaderMap) {
    if map.capacity() > MAX_KEPT_CAPACITY {
        return;
    }
    map.clear();
    // During thread teardown, or if the store is somehow in use, the map is just dropped.
    let _ = MAPS.try_with(|maps| {
        if let Ok(mut maps) = maps.try_borrow_mut()
            && maps.len() < KEPT_MAPS
        {
            maps.push(map);
        }
    });
}

/// The header name `bytes` spells, as `HeaderName::from_bytes` would make it; a name this thread
/// made before from the same bytes is shared instead of made (and, unless standard, allocated)
/// again.
pub fn name(bytes: &[u8]) -> Result<HeaderName, InvalidHeaderName> {
    let len = bytes.len();
    if len == 0 || len > MAX_KEPT_NAME {
        return HeaderName::from_bytes(bytes);
    }
    let slot = slot(bytes);
    // Matched on the exact bytes: the same bytes always make the same name, so no check of the
    // name's syntax is skipped. Peers spell their names the same way every time.
    let kept = NAMES
        .try_with(|names| {
            let names = names.try_borrow().ok()?;
            let kept = names.get(slot)?.as_ref()?;
            (usize::from(kept.len) == len && kept.spelling.get(..len) == Some(bytes))
                .then(|| kept.name.clone())
        })
        .ok()
        .flatten();
    if let Some(name) = kept {
        return Ok(name);
    }
    let name = HeaderName::from_bytes(bytes)?;
    let mut spelling = [0; MAX_KEPT_NAME];
    if let (Some(into), Ok(len)) = (spelling.get_mut(..len), u8::try_from(len)) {
        into.copy_from_slice(bytes);
        let _ = NAMES.try_with(|names| {
            if let Ok(mut names) = names.try_borrow_mut() {
                if names.is_empty() {
                    names.resize_with(NAME_SLOTS, || None);
                }
                if let Some(entry) = names.get_mut(slot) {
                    *entry = Some(KeptName {
                        spelling,
                        len,
                        name: name.clone(),
                    });
                }
            }
        });
    }
    Ok(name)
}

/// A name as a peer spelled it, and the name it made.
struct KeptName {
    spelling: [u8; MAX_KEPT_NAME],
    len: u8,
    name: HeaderName,
}

/// A slot for a name. Length and a few bytes suffice to spread the handful of names a deployment
/// uses; a collision only costs a fresh name.
fn slot(bytes: &[u8]) -> usize {
    let len = bytes.len();
    let at = |i: usize| usize::from(bytes.get(i).copied().unwrap_or(0));
    let mixed = len
        .wrapping_mul(31)
        .wrapping_add(at(0))
        .wrapping_mul(31)
        .wrapping_add(at(len / 2))
        .wrapping_mul(31)
        .wrapping_add(at(len.saturating_sub(2)))
        .wrapping_mul(31)
        .wrapping_add(at(len.saturating_sub(1)));
    mixed % NAME_SLOTS
}

#[cfg(test)]
mod tests {
    use http::HeaderValue;

    use super::*;

    #[test]
    fn a_recycled_map_comes_back_empty_with_its_room() {
        let mut used = HeaderMap::with_capacity(16);
        used.insert(
            "x-secret",
            HeaderValue::from_static("from the last request"),
        );
        used.append(http::header::AUTHORIZATION, HeaderValue::from_static("t"));
        let room = used.capacity();
        recycle(used);
        let reused = map(4);
        assert!(reused.is_empty());
        assert!(reused.get("x-secret").is_none());
        assert_eq!(reused.capacity(), room);
    }

    #[test]
    fn large_maps_are_not_kept_and_the_store_is_bounded() {
        std::thread::spawn(|| {
            let large = HeaderMap::with_capacity(MAX_KEPT_CAPACITY * 4);
            assert!(large.capacity() > MAX_KEPT_CAPACITY);
            recycle(large);
            assert_eq!(MAPS.with_borrow(Vec::len), 0);
            for _ in 0..KEPT_MAPS + 10 {
                recycle(HeaderMap::with_capacity(8));
            }
            assert_eq!(MAPS.with_borrow(Vec::len), KEPT_MAPS);
            // A kept map still grows to what is asked of it.
            assert!(map(MAX_KEPT_CAPACITY * 2).capacity() >= MAX_KEPT_CAPACITY * 2);
        })
        .join()
        .unwrap();
    }

    #[test]
    fn names_match_what_from_bytes_makes_in_any_case() {
        for spelling in [
            &b"X-Bench-User-Id"[..],
            b"x-bench-user-id",
            b"X-BENCH-USER-ID",
            b"content-type",
            b"Content-Type",
            b"x-a",
        ] {
            let expected = HeaderName::from_bytes(spelling).unwrap();
            assert_eq!(name(spelling).unwrap(), expected);
            // The second time it comes from the store.
            assert_eq!(name(spelling).unwrap(), expected);
        }
        let long = vec![b'x'; MAX_KEPT_NAME + 1];
        assert_eq!(name(&long).unwrap().as_str().len(), MAX_KEPT_NAME + 1);
    }

    #[test]
    fn invalid_names_are_refused_even_beside_a_kept_one() {
        name(b"x-ok").unwrap();
        for bad in [&b""[..], b"x ok", b"x-\xffk", b"x:ok", b"x\rok", b"x-o\x00"] {
            assert!(name(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn names_sharing_a_slot_replace_each_other_without_mixing_up() {
        // Find two different names that fall in one slot.
        let first = b"x-collide-0".to_vec();
        let other = (1..10_000)
            .map(|i| format!("x-collide-{i}").into_bytes())
            .find(|candidate| slot(candidate) == slot(&first))
            .unwrap();
        for _ in 0..3 {
            assert_eq!(name(&first).unwrap().as_str().as_bytes(), &first[..]);
            assert_eq!(name(&other).unwrap().as_str().as_bytes(), &other[..]);
        }
    }
}
