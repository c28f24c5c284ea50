//! access_control: answers 403 at the edge, before the cache and the origin.
//!
//! Shows: a policy parsed once in `on_configure` and shared by `Rc`; reading
//! request headers; ending a request with `send_http_response` + `Action::Pause`;
//! rewriting `:path`. The request-headers phase runs before the cache lookup,
//! so cache hits are guarded exactly like misses.
//!
//! Plugin configuration (one directive per line, `#` comments):
//!
//! ```text
//! deny /admin/          # always 403
//! protect /private/     # needs a token
//! token s3cret          # an accepted token (several lines allowed)
//! ```
//!
//! A protected request passes with `Authorization: Bearer <token>` or a
//! `token=<token>` query parameter. When it passed through the query parameter,
//! the module removes `token=` from `:path` before the request goes on, so the
//! secret never reaches the origin's logs and every token holder shares one
//! cached object.
//!
//! Rules match the *normalised* path (see `stavka::path::normalize`: escapes
//! decoded, `.`/`..` resolved, `//` merged), so `/%70rivate/` or
//! `/public/../private/` do not slip past `protect /private/`. Prefixes match
//! as strings: write `/private/`, not `/private` (which also covers `/privateer`).

use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{Action, ContextType, LogLevel};
use stavka::config::directives;
use stavka::path::{normalize, percent_decode, split_query};
use std::rc::Rc;

proxy_wasm::main! {{
    proxy_wasm::set_log_level(LogLevel::Info);
    proxy_wasm::set_root_context(|_| -> Box<dyn RootContext> {
        Box::new(Root { policy: Rc::new(Policy::default()) })
    });
}}

#[derive(Debug, Default, PartialEq)]
struct Policy {
    deny: Vec<String>,
    protect: Vec<String>,
    tokens: Vec<String>,
}

impl Policy {
    fn parse(text: &str) -> Result<Policy, String> {
        let mut p = Policy::default();
        for d in directives(text) {
            let list = match d.keyword {
                "deny" => &mut p.deny,
                "protect" => &mut p.protect,
                "token" => &mut p.tokens,
                other => return Err(format!("line {}: unknown directive `{}`", d.line, other)),
            };
            if d.value.is_empty() || d.value.contains(char::is_whitespace) {
                return Err(format!(
                    "line {}: `{}` takes one argument",
                    d.line, d.keyword
                ));
            }
            if d.keyword == "token" {
                list.push(d.value.to_owned());
            } else if d.value.starts_with('/') {
                list.push(normalize(d.value));
            } else {
                return Err(format!("line {}: a path prefix starts with `/`", d.line));
            }
        }
        Ok(p)
    }
}

/// What to do with a request.
#[derive(Debug, PartialEq)]
enum Verdict {
    Allow,
    /// Allowed by the `token` query parameter: forward this `:path` instead.
    AllowRewrite(String),
    Deny,
}

fn decide(policy: &Policy, raw_path: &str, authorization: Option<&str>) -> Verdict {
    let (path, query) = split_query(raw_path);
    let path = normalize(path);
    if policy.deny.iter().any(|p| path.starts_with(p.as_str())) {
        return Verdict::Deny;
    }
    if !policy.protect.iter().any(|p| path.starts_with(p.as_str())) {
        return Verdict::Allow;
    }
    if let Some(token) = authorization.and_then(bearer_token) {
        if accepted(policy, token) {
            return Verdict::Allow;
        }
    }
    let query = match query {
        Some(q) => q,
        None => return Verdict::Deny,
    };
    let mut ok = false;
    let mut kept: Vec<&str> = Vec::new();
    for param in query.split('&') {
        match param.strip_prefix("token=") {
            Some(value) => ok |= accepted(policy, &percent_decode(value)),
            None => kept.push(param),
        }
    }
    if !ok {
        return Verdict::Deny;
    }
    let (path, _) = split_query(raw_path);
    if kept.iter().all(|p| p.is_empty()) {
        Verdict::AllowRewrite(path.to_owned())
    } else {
        Verdict::AllowRewrite(format!("{}?{}", path, kept.join("&")))
    }
}

/// `Bearer <token>` (scheme case-insensitive) -> `<token>`.
fn bearer_token(authorization: &str) -> Option<&str> {
    let (scheme, token) = authorization.trim().split_once(' ')?;
    if scheme.eq_ignore_ascii_case("bearer") {
        Some(token.trim())
    } else {
        None
    }
}

/// Token check that does not stop at the first differing byte.
fn accepted(policy: &Policy, token: &str) -> bool {
    let eq = |a: &[u8], b: &[u8]| {
        a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
    };
    policy
        .tokens
        .iter()
        .fold(false, |any, t| any | eq(t.as_bytes(), token.as_bytes()))
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
                if !policy.protect.is_empty() && policy.tokens.is_empty() {
                    log::warn!("access_control: `protect` without any `token`: protected paths are always denied");
                }
                log::info!(
                    "access_control: {} deny, {} protect prefixes, {} tokens",
                    policy.deny.len(),
                    policy.protect.len(),
                    policy.tokens.len()
                );
                self.policy = Rc::new(policy);
                true
            }
            Err(e) => {
                log::error!("access_control: {}", e);
                false
            }
        }
    }

    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }

    fn create_http_context(&self, _context_id: u32) -> Option<Box<dyn HttpContext>> {
        Some(Box::new(AccessControl {
            policy: Rc::clone(&self.policy),
        }))
    }
}

struct AccessControl {
    policy: Rc<Policy>,
}

impl Context for AccessControl {}

impl HttpContext for AccessControl {
    fn on_http_request_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Action {
        // No :path means we cannot check anything: fail closed.
        let path = self.get_http_request_header(":path").unwrap_or_default();
        let authorization = self.get_http_request_header("authorization");
        match decide(&self.policy, &path, authorization.as_deref()) {
            Verdict::Allow => Action::Continue,
            Verdict::AllowRewrite(new_path) => {
                self.set_http_request_header(":path", Some(&new_path));
                Action::Continue
            }
            Verdict::Deny => {
                self.send_http_response(
                    403,
                    vec![("content-type", "text/plain")],
                    Some(b"forbidden\n"),
                );
                Action::Pause
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> Policy {
        Policy::parse(
            "# test\ndeny /admin/\nprotect /private/\nprotect /a/./b/\ntoken s3cret\ntoken other\n",
        )
        .unwrap()
    }

    #[test]
    fn parsing() {
        let p = policy();
        assert_eq!(p.deny, vec!["/admin/"]);
        assert_eq!(p.protect, vec!["/private/", "/a/b/"]);
        assert_eq!(p.tokens, vec!["s3cret", "other"]);
        assert!(Policy::parse("").unwrap().protect.is_empty());
        assert!(Policy::parse("allow /x/").is_err());
        assert!(Policy::parse("deny").is_err());
        assert!(Policy::parse("deny admin/").is_err());
        assert!(Policy::parse("token a b").is_err());
    }

    #[test]
    fn deny_and_public() {
        let p = policy();
        assert_eq!(decide(&p, "/admin/x", Some("Bearer s3cret")), Verdict::Deny);
        assert_eq!(decide(&p, "//admin/x", None), Verdict::Deny);
        assert_eq!(decide(&p, "/x/../%61dmin/", None), Verdict::Deny);
        assert_eq!(decide(&p, "/public/x?token=zzz", None), Verdict::Allow);
        assert_eq!(decide(&p, "/admin", None), Verdict::Allow);
        assert_eq!(decide(&p, "", None), Verdict::Allow);
    }

    #[test]
    fn protected() {
        let p = policy();
        assert_eq!(decide(&p, "/private/v.mp4", None), Verdict::Deny);
        assert_eq!(decide(&p, "/public/../private/v.mp4", None), Verdict::Deny);
        assert_eq!(
            decide(&p, "/private/v.mp4", Some("Bearer s3cret")),
            Verdict::Allow
        );
        assert_eq!(
            decide(&p, "/private/v.mp4", Some("bearer  other ")),
            Verdict::Allow
        );
        assert_eq!(
            decide(&p, "/private/v.mp4", Some("Bearer s3cre")),
            Verdict::Deny
        );
        assert_eq!(
            decide(&p, "/private/v.mp4", Some("Basic s3cret")),
            Verdict::Deny
        );
        assert_eq!(decide(&p, "/a/b/c", Some("Bearer other")), Verdict::Allow);
    }

    #[test]
    fn query_tokens_are_stripped() {
        let p = policy();
        let ok = |s: &str| Verdict::AllowRewrite(s.to_owned());
        assert_eq!(
            decide(&p, "/private/v?token=s3cret", None),
            ok("/private/v")
        );
        assert_eq!(
            decide(&p, "/private/v?a=1&token=s3cret&b=2", None),
            ok("/private/v?a=1&b=2")
        );
        assert_eq!(
            decide(&p, "/private/v?token=%73%33cret", None),
            ok("/private/v")
        );
        assert_eq!(
            decide(&p, "/private/v?token=bad&token=s3cret", None),
            ok("/private/v")
        );
        assert_eq!(decide(&p, "/private/v?token=bad", None), Verdict::Deny);
        assert_eq!(decide(&p, "/private/v?xtoken=s3cret", None), Verdict::Deny);
        assert_eq!(decide(&p, "/private/v?", None), Verdict::Deny);
    }

    #[test]
    fn no_tokens_means_always_denied() {
        let p = Policy::parse("protect /p/").unwrap();
        assert_eq!(decide(&p, "/p/x?token=", None), Verdict::Deny);
        assert_eq!(decide(&p, "/p/x", Some("Bearer ")), Verdict::Deny);
    }
}
