//! cache_policy: cache-key normalisation and freshness by content type, with
//! Stavka's cache extensions (the `stavka` crate).
//!
//! Shows: reading and replacing the cache key in the request-headers phase
//! (`stavka::cache_key` / `set_cache_key`), and overriding the freshness
//! lifetime of origin responses in the response-headers phase
//! (`stavka::cache_status` / `set_ttl`).
//!
//! * Request: tracking parameters are dropped from the key's query, so
//!   `/a?utm_source=x&id=1` and `/a?id=1` share one cached object. Always
//!   dropped: `utm_*`, `fbclid`, `gclid`; add more with `drop NAME` (`NAME*`
//!   drops a prefix). Names compare case-insensitively; the other parameters
//!   keep their order, and the `?` goes when none remain. Only the key changes:
//!   the origin still receives the full URL.
//! * Response: `ttl MEDIA-TYPE-PREFIX DURATION` stores successful origin
//!   responses (200, 203, 206) whose `Content-Type` starts with the prefix for
//!   that long, overriding `Cache-Control` / `Expires`. The longest prefix wins.
//!   Hits are left alone.
//!
//! ```text
//! drop ref
//! drop mc_*
//! ttl text/html 60
//! ttl image/ 1d        # seconds, or ms/s/m/h/d
//! ```

use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{Action, ContextType, LogLevel};
use stavka::config::{directives, parse_duration};
use std::rc::Rc;
use std::time::Duration;

proxy_wasm::main! {{
    proxy_wasm::set_log_level(LogLevel::Info);
    proxy_wasm::set_root_context(|_| -> Box<dyn RootContext> {
        Box::new(Root { policy: Rc::new(Policy::default()) })
    });
}}

/// Query parameters every site drops.
const ALWAYS_DROPPED: &[&str] = &["utm_*", "fbclid", "gclid"];

#[derive(Debug, Default)]
struct Policy {
    /// Extra parameter names (lower case; a trailing `*` is a prefix).
    drop: Vec<String>,
    /// (lower-case media-type prefix, lifetime), longest prefix first.
    ttl: Vec<(String, Duration)>,
}

impl Policy {
    fn parse(text: &str) -> Result<Policy, String> {
        let mut p = Policy::default();
        for d in directives(text) {
            match d.keyword {
                "drop" if !d.value.is_empty() && !d.value.contains(char::is_whitespace) => {
                    p.drop.push(d.value.to_ascii_lowercase())
                }
                "ttl" => {
                    let mut words = d.value.split_whitespace();
                    let (prefix, ttl) = match (
                        words.next(),
                        words.next().and_then(parse_duration),
                        words.next(),
                    ) {
                        (Some(prefix), Some(ttl), None) => (prefix, ttl),
                        _ => {
                            return Err(format!(
                                "line {}: expected `ttl MEDIA-TYPE-PREFIX SECONDS`",
                                d.line
                            ))
                        }
                    };
                    p.ttl.push((prefix.to_ascii_lowercase(), ttl));
                }
                other => {
                    return Err(format!(
                        "line {}: bad directive `{} {}`",
                        d.line, other, d.value
                    ))
                }
            }
        }
        // Longest prefix first, so the first match is the most specific rule.
        p.ttl
            .sort_by_key(|(prefix, _)| std::cmp::Reverse(prefix.len()));
        Ok(p)
    }

    fn drops(&self, name: &str) -> bool {
        let name = name.to_ascii_lowercase();
        let matches = |pattern: &str| match pattern.strip_suffix('*') {
            Some(prefix) => name.starts_with(prefix),
            None => name == pattern,
        };
        ALWAYS_DROPPED.iter().copied().any(matches) || self.drop.iter().any(|p| matches(p))
    }

    /// The normalised cache key, or `None` when it is already normal.
    ///
    /// The key is `scheme://host/path?query`, then optional `\nname=value`
    /// lines (request fields the site keys on), which are kept as they are.
    fn normalize_key(&self, key: &str) -> Option<String> {
        let (url, fields) = match key.find('\n') {
            Some(at) => key.split_at(at),
            None => (key, ""),
        };
        let (base, query) = url.split_once('?')?;
        let kept: Vec<&str> = query
            .split('&')
            .filter(|param| !param.is_empty() && !self.drops(param.split('=').next().unwrap_or("")))
            .collect();
        let mut out = String::with_capacity(key.len());
        out.push_str(base);
        if !kept.is_empty() {
            out.push('?');
            out.push_str(&kept.join("&"));
        }
        out.push_str(fields);
        if out == key {
            None
        } else {
            Some(out)
        }
    }

    /// Lifetime for a `Content-Type` value, from the longest matching prefix.
    fn ttl_for(&self, content_type: &str) -> Option<Duration> {
        let media = content_type
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        self.ttl
            .iter()
            .find(|(prefix, _)| media.starts_with(prefix.as_str()))
            .map(|(_, ttl)| *ttl)
    }
}

struct Root {
    policy: Rc<Policy>,
}

impl Context for Root {}

impl RootContext for Root {
    fn on_configure(&mut self, _size: usize) -> bool {
        let config = self.get_plugin_configuration().unwrap_or_default();
        match Policy::parse(&String::from_utf8_lossy(&config)) {
            Ok(policy) => {
                self.policy = Rc::new(policy);
                true
            }
            Err(e) => {
                log::error!("cache_policy: {}", e);
                false
            }
        }
    }

    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }

    fn create_http_context(&self, _context_id: u32) -> Option<Box<dyn HttpContext>> {
        Some(Box::new(CachePolicy {
            policy: Rc::clone(&self.policy),
        }))
    }
}

struct CachePolicy {
    policy: Rc<Policy>,
}

impl Context for CachePolicy {}

impl HttpContext for CachePolicy {
    fn on_http_request_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Action {
        // Before the lookup: the key decides which object this request gets.
        if let Some(key) = stavka::cache_key() {
            if let Some(normal) = self.policy.normalize_key(&key) {
                if let Err(status) = stavka::set_cache_key(&normal) {
                    log::warn!("cache_policy: set_cache_key: {:?}", status);
                }
            }
        }
        Action::Continue
    }

    fn on_http_response_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Action {
        if self.policy.ttl.is_empty() {
            return Action::Continue;
        }
        // A hit was stored earlier; only responses coming from the origin get a lifetime.
        if let Some(status) = stavka::cache_status() {
            if stavka::is_hit(&status) {
                return Action::Continue;
            }
        }
        // Errors and redirects keep the origin's own caching headers.
        match self.get_http_response_header(":status").as_deref() {
            Some("200") | Some("203") | Some("206") => {}
            _ => return Action::Continue,
        }
        let ttl = self
            .get_http_response_header("content-type")
            .and_then(|ct| self.policy.ttl_for(&ct));
        if let Some(ttl) = ttl {
            if let Err(status) = stavka::set_ttl(ttl) {
                log::warn!("cache_policy: set_ttl: {:?}", status);
            }
        }
        Action::Continue
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> Policy {
        Policy::parse("drop ref\ndrop MC_*\nttl text/html 60\nttl image/ 1d\nttl text/ 5\nttl image/svg+xml 1h")
            .unwrap()
    }

    #[test]
    fn key_normalisation() {
        let p = policy();
        let n = |k: &str| p.normalize_key(k);
        assert_eq!(
            n("http://a.example/x?utm_source=t&id=1&fbclid=z"),
            Some("http://a.example/x?id=1".into())
        );
        assert_eq!(
            n("http://a.example/x?b=2&gclid=1&a=1"),
            Some("http://a.example/x?b=2&a=1".into())
        );
        assert_eq!(
            n("http://a.example/x?UTM_Medium=m"),
            Some("http://a.example/x".into())
        );
        assert_eq!(
            n("http://a.example/x?ref=home&mc_cid=1&mc_eid=2&refx=3"),
            Some("http://a.example/x?refx=3".into())
        );
        assert_eq!(
            n("http://a.example/x?utm_source"),
            Some("http://a.example/x".into())
        );
        assert_eq!(
            n("http://a.example/x?a=1&&b"),
            Some("http://a.example/x?a=1&b".into())
        );
        assert_eq!(n("http://a.example/x?"), Some("http://a.example/x".into()));
        assert_eq!(
            n("http://a.example/x?fbclid=1&v=2\naccept-encoding=gzip\ncookie=a?b&utm_x"),
            Some("http://a.example/x?v=2\naccept-encoding=gzip\ncookie=a?b&utm_x".into())
        );
        // Already normal: no write.
        assert_eq!(n("http://a.example/x?id=1&utm=2"), None);
        assert_eq!(n("http://a.example/x"), None);
        assert_eq!(n("http://a.example/x\nk=v?utm_a=1"), None);
    }

    #[test]
    fn ttl_by_content_type() {
        let p = policy();
        assert_eq!(
            p.ttl_for("text/html; charset=utf-8"),
            Some(Duration::from_secs(60))
        );
        assert_eq!(p.ttl_for("Text/HTML"), Some(Duration::from_secs(60)));
        assert_eq!(p.ttl_for("text/css"), Some(Duration::from_secs(5)));
        assert_eq!(p.ttl_for("image/png"), Some(Duration::from_secs(86400)));
        assert_eq!(p.ttl_for("image/svg+xml"), Some(Duration::from_secs(3600)));
        assert_eq!(p.ttl_for("application/json"), None);
        assert_eq!(p.ttl_for(""), None);
    }

    #[test]
    fn bad_configuration() {
        assert!(Policy::parse("ttl text/html").is_err());
        assert!(Policy::parse("ttl text/html soon").is_err());
        assert!(Policy::parse("ttl text/html 5 6").is_err());
        assert!(Policy::parse("drop").is_err());
        assert!(Policy::parse("keep id").is_err());
        assert!(Policy::parse("\n# nothing\n").unwrap().ttl.is_empty());
    }
}
