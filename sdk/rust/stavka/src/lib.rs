//! Stavka's cache extensions for Proxy-Wasm modules.
//!
//! Stavka exposes its cache to modules through two standard Proxy-Wasm
//! (ABI 0.2.1) mechanisms, which this crate wraps in a typed API:
//!
//! * **properties** under the path `stavka.cache.<name>` (`proxy_get_property` /
//!   `proxy_set_property`, values are UTF-8 text);
//! * **foreign functions** `stavka.purge_url` and `stavka.purge_tag`
//!   (`proxy_call_foreign_function`).
//!
//! Use it next to the unmodified `proxy-wasm` crate from an `HttpContext`:
//!
//! ```ignore
//! fn on_http_request_headers(&mut self, _: usize, _: bool) -> Action {
//!     if self.get_http_request_header("authorization").is_some() {
//!         let _ = stavka::bypass_cache(); // never share authenticated responses
//!     }
//!     Action::Continue
//! }
//! ```
//!
//! All functions act on the HTTP context the host is currently calling into.
//! Setters return the host's status: `Err(BadArgument)` or `Err(NotFound)` mean
//! the host refused the write (for example in a phase where it has no meaning);
//! nothing panics. Getters return `None` when the value is absent or unreadable.
//!
//! The pure helpers in [`config`] and [`path`] are shared by the example modules.

mod abi;
pub mod config;
pub mod path;

use std::time::Duration;

pub use proxy_wasm::types::Status;

/// Name of the foreign function that purges one URL.
pub const PURGE_URL: &str = "stavka.purge_url";
/// Name of the foreign function that purges every object carrying a tag.
pub const PURGE_TAG: &str = "stavka.purge_tag";

/// The serialised property path `stavka.cache.<name>`: segments separated by NUL,
/// as `proxy-wasm` serialises property paths.
pub fn property_path(name: &str) -> Vec<u8> {
    let mut p = Vec::with_capacity(13 + name.len());
    p.extend_from_slice(b"stavka\0cache\0");
    p.extend_from_slice(name.as_bytes());
    p
}

fn get(name: &str) -> Option<String> {
    match abi::get_property(&property_path(name)) {
        Ok(Some(bytes)) => String::from_utf8(bytes).ok(),
        _ => None,
    }
}

fn set(name: &str, value: &str) -> Result<(), Status> {
    abi::set_property(&property_path(name), value.as_bytes())
}

// ---------------------------------------------------------------------------
// Cache key

/// The cache key of this request.
///
/// Default format: `http://host/path?query` (scheme, lower-case host, path and
/// query), followed by one `\nname=value` line per request field the site keys
/// on. Readable from the request-headers phase on; in the response phases it is
/// the key the response is (or would be) stored under.
pub fn cache_key() -> Option<String> {
    get("key")
}

/// Replaces the cache key of this request.
///
/// Only meaningful in the request-headers phase: the new key is used for the
/// lookup and for storing the response. Requests with equal keys share one
/// cached object, so keep whatever the response varies on in the key.
pub fn set_cache_key(key: &str) -> Result<(), Status> {
    set("key", key)
}

// ---------------------------------------------------------------------------
// Storage policy

/// Keeps this exchange out of the cache.
///
/// * Request-headers phase: the request skips the cache entirely (no lookup, no
///   store); the response reports `fwd=bypass`.
/// * Response-headers phase of an origin response: the response is served but
///   not stored.
pub fn bypass_cache() -> Result<(), Status> {
    set("bypass", "true")
}

/// Whether [`bypass_cache`] (or the host's own policy) marked this exchange as
/// bypassing the cache.
pub fn cache_bypassed() -> bool {
    get("bypass").and_then(|v| parse_bool(&v)).unwrap_or(false)
}

/// Sets the freshness lifetime of the object this exchange stores, overriding
/// `Cache-Control`, `Expires` and `CDN-Cache-Control` for this cache (the host
/// stores it as `Stavka-Cache-Control: max-age=N`, which clients never see).
/// Whole seconds: the value is rounded down. `Duration::ZERO` (or anything
/// under a second) makes the object stale at once: it is stored only when it
/// has a validator, and revalidated on every use.
///
/// * Response-headers phase of an origin response: the object is stored fresh
///   for `ttl`. No effect on a hit.
/// * Request-headers phase: applies to the response this request fills.
pub fn set_ttl(ttl: Duration) -> Result<(), Status> {
    set("ttl", &ttl.as_secs().to_string())
}

/// The freshness lifetime set for this exchange (by a module or by the host's
/// policy), when there is one.
pub fn ttl() -> Option<Duration> {
    get("ttl")
        .and_then(|v| parse_u64(&v))
        .map(Duration::from_secs)
}

/// Sets how many bytes to read ahead when this request starts a range fill.
/// Meaningful in the request-headers phase.
pub fn set_readahead(bytes: u64) -> Result<(), Status> {
    set("readahead", &bytes.to_string())
}

/// The read-ahead, in bytes, that range fills started by this request use.
pub fn readahead() -> Option<u64> {
    get("readahead").and_then(|v| parse_u64(&v))
}

/// Sets the surrogate keys (tags) stored with the object, for purging by tag
/// with [`purge_tag`]. Replaces any tags already set. Meaningful in the
/// response-headers phase of an origin response (or in the request-headers
/// phase, for the response this request fills).
///
/// `Err(BadArgument)` if a tag is empty or contains whitespace.
pub fn set_surrogate_keys(keys: &[&str]) -> Result<(), Status> {
    let joined = join_surrogate_keys(keys).ok_or(Status::BadArgument)?;
    set("surrogate_keys", &joined)
}

/// The surrogate keys of this exchange: those set by a module, or those stored
/// with the object on a hit. Empty when none.
pub fn surrogate_keys() -> Vec<String> {
    get("surrogate_keys")
        .map(|v| split_surrogate_keys(&v))
        .unwrap_or_default()
}

// ---------------------------------------------------------------------------
// Read-only facts about the response

/// The `Cache-Status` of this response: `hit`, `fwd=uri-miss`, `fwd=stale`,
/// `fwd=bypass`, ... Absent (`None`) in the request-headers phase, where the
/// lookup has not happened yet. See [`is_hit`].
pub fn cache_status() -> Option<String> {
    get("status")
}

/// Size in bytes of the whole object (not of this range), when known.
/// Response phases only.
pub fn object_size() -> Option<u64> {
    get("object_size").and_then(|v| parse_u64(&v))
}

/// Age of the stored object being served (its `Age`). Response phases of a hit.
pub fn object_age() -> Option<Duration> {
    get("age")
        .and_then(|v| parse_u64(&v))
        .map(Duration::from_secs)
}

// ---------------------------------------------------------------------------
// Purge

/// Removes the objects stored for an absolute URL (`http://host/path?q`, the
/// first line of a [`cache_key`]) and returns how many were removed.
/// Callable from any phase, including the root context (ticks, HTTP call
/// responses). `Err(NotFound)` if the host has no such function.
pub fn purge_url(url: &str) -> Result<u64, Status> {
    let out = abi::call_foreign_function(PURGE_URL, url.as_bytes())?;
    parse_count(&out)
}

/// Removes every object tagged `tag` (see [`set_surrogate_keys`]) and returns
/// how many were removed. Callable from any phase.
pub fn purge_tag(tag: &str) -> Result<u64, Status> {
    let out = abi::call_foreign_function(PURGE_TAG, tag.as_bytes())?;
    parse_count(&out)
}

// ---------------------------------------------------------------------------
// Pure helpers (unit-tested on the host)

/// Parses a decimal `u64` as the host writes it (ASCII digits, surrounding
/// whitespace tolerated).
pub fn parse_u64(s: &str) -> Option<u64> {
    let s = s.trim();
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// Parses `true` / `false` (surrounding whitespace tolerated).
pub fn parse_bool(s: &str) -> Option<bool> {
    match s.trim() {
        "true" => Some(true),
        "false" => Some(false),
        _ => None,
    }
}

/// Whether a `Cache-Status` value means the response was served from the cache
/// (`hit`, possibly followed by `;parameters`).
pub fn is_hit(status: &str) -> bool {
    status.split(';').next().map(str::trim) == Some("hit")
}

/// Splits a space-separated `surrogate_keys` value.
pub fn split_surrogate_keys(s: &str) -> Vec<String> {
    s.split_ascii_whitespace().map(str::to_owned).collect()
}

/// Joins tags with single spaces; `None` if a tag is empty or contains whitespace.
pub fn join_surrogate_keys(keys: &[&str]) -> Option<String> {
    if keys
        .iter()
        .any(|k| k.is_empty() || k.chars().any(char::is_whitespace))
    {
        return None;
    }
    Some(keys.join(" "))
}

fn parse_count(out: &[u8]) -> Result<u64, Status> {
    std::str::from_utf8(out)
        .ok()
        .and_then(parse_u64)
        .ok_or(Status::ParseFailure)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn property_paths_are_nul_separated() {
        assert_eq!(property_path("key"), b"stavka\0cache\0key".to_vec());
        assert_eq!(
            property_path("surrogate_keys"),
            b"stavka\0cache\0surrogate_keys".to_vec()
        );
    }

    #[test]
    fn decimal_values() {
        assert_eq!(parse_u64("0"), Some(0));
        assert_eq!(parse_u64(" 86400\n"), Some(86400));
        assert_eq!(parse_u64("18446744073709551615"), Some(u64::MAX));
        assert_eq!(parse_u64("18446744073709551616"), None);
        assert_eq!(parse_u64(""), None);
        assert_eq!(parse_u64("+1"), None);
        assert_eq!(parse_u64("-1"), None);
        assert_eq!(parse_u64("1.5"), None);
        assert_eq!(parse_count(b"3"), Ok(3));
        assert_eq!(parse_count(b""), Err(Status::ParseFailure));
        assert_eq!(parse_count(b"\xff"), Err(Status::ParseFailure));
    }

    #[test]
    fn booleans() {
        assert_eq!(parse_bool("true"), Some(true));
        assert_eq!(parse_bool("false "), Some(false));
        assert_eq!(parse_bool("TRUE"), None);
        assert_eq!(parse_bool("1"), None);
    }

    #[test]
    fn cache_status_hits() {
        assert!(is_hit("hit"));
        assert!(is_hit("hit; ttl=30"));
        assert!(!is_hit("fwd=uri-miss"));
        assert!(!is_hit("fwd=stale"));
        assert!(!is_hit("fwd=bypass"));
        assert!(!is_hit("hitch"));
        assert!(!is_hit(""));
    }

    #[test]
    fn surrogate_key_lists() {
        assert_eq!(split_surrogate_keys("a  b\tc "), vec!["a", "b", "c"]);
        assert!(split_surrogate_keys("").is_empty());
        assert_eq!(
            join_surrogate_keys(&["video:1", "user:7"]).as_deref(),
            Some("video:1 user:7")
        );
        assert_eq!(join_surrogate_keys(&[]).as_deref(), Some(""));
        assert_eq!(join_surrogate_keys(&["a b"]), None);
        assert_eq!(join_surrogate_keys(&["a", ""]), None);
    }

    #[test]
    fn without_a_host_calls_fail_cleanly() {
        assert_eq!(cache_key(), None);
        assert_eq!(
            set_ttl(Duration::from_secs(5)),
            Err(Status::InternalFailure)
        );
        assert_eq!(purge_url("http://a/b"), Err(Status::InternalFailure));
        assert_eq!(set_surrogate_keys(&["bad key"]), Err(Status::BadArgument));
    }
}
