//! add_header: adds one header to every response, cache hits included.
//!
//! Shows the smallest useful module: configuration parsed once in the root
//! context's `on_configure`, shared with every request through an `Rc`, and a
//! single host call per response. Stavka benchmarks its per-request overhead.
//!
//! Plugin configuration: one line `Name: value`; empty means
//! `X-Stavka-Module: add-header`.

use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{Action, ContextType, LogLevel};
use std::rc::Rc;

const DEFAULT: (&str, &str) = ("x-stavka-module", "add-header");

proxy_wasm::main! {{
    proxy_wasm::set_log_level(LogLevel::Warn);
    proxy_wasm::set_root_context(|_| -> Box<dyn RootContext> {
        Box::new(Root { header: Rc::new((DEFAULT.0.to_owned(), DEFAULT.1.to_owned())) })
    });
}}

struct Root {
    /// (lower-case name, value), shared read-only with the request contexts.
    header: Rc<(String, String)>,
}

impl Context for Root {}

impl RootContext for Root {
    fn on_configure(&mut self, _size: usize) -> bool {
        let config = self.get_plugin_configuration().unwrap_or_default();
        match parse_config(&config) {
            Some((name, value)) => {
                self.header = Rc::new((name, value));
                true
            }
            None => {
                log::error!(
                    "add_header: configuration must be `Name: value`, got {:?}",
                    String::from_utf8_lossy(&config)
                );
                false // the host rejects the configuration
            }
        }
    }

    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }

    fn create_http_context(&self, _context_id: u32) -> Option<Box<dyn HttpContext>> {
        Some(Box::new(AddHeader {
            header: Rc::clone(&self.header),
        }))
    }
}

struct AddHeader {
    header: Rc<(String, String)>,
}

impl Context for AddHeader {}

impl HttpContext for AddHeader {
    fn on_http_response_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Action {
        // One host call: proxy_add_header_map_value(HttpResponseHeaders, name, value).
        self.add_http_response_header(&self.header.0, &self.header.1);
        Action::Continue
    }
}

/// `Name: value` -> (lower-case name, value); an empty configuration gives the
/// default header. `None` when the line is not a valid header.
fn parse_config(config: &[u8]) -> Option<(String, String)> {
    let text = std::str::from_utf8(config).ok()?.trim();
    if text.is_empty() {
        return Some((DEFAULT.0.to_owned(), DEFAULT.1.to_owned()));
    }
    let (name, value) = text.split_once(':')?;
    let (name, value) = (name.trim(), value.trim());
    let token = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c);
    if name.is_empty()
        || !name.chars().all(token)
        || value.contains(|c: char| c.is_control() && c != '\t')
    {
        return None;
    }
    Some((name.to_ascii_lowercase(), value.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::parse_config;

    fn pair(n: &str, v: &str) -> Option<(String, String)> {
        Some((n.to_owned(), v.to_owned()))
    }

    #[test]
    fn configuration() {
        assert_eq!(parse_config(b""), pair("x-stavka-module", "add-header"));
        assert_eq!(parse_config(b" \n"), pair("x-stavka-module", "add-header"));
        assert_eq!(
            parse_config(b"X-Served-By: edge-1\n"),
            pair("x-served-by", "edge-1")
        );
        assert_eq!(parse_config(b"x-a:b:c"), pair("x-a", "b:c"));
        assert_eq!(parse_config(b"x-empty:"), pair("x-empty", ""));
        assert_eq!(parse_config(b"no colon"), None);
        assert_eq!(parse_config(b"bad name: v"), None);
        assert_eq!(parse_config(b": v"), None);
        assert_eq!(parse_config(b"x-a: one\nx-b: two"), None);
        assert_eq!(parse_config(b"\xff: v"), None);
    }
}
