//! deny_list: refuses requests for paths on a list that an HTTP endpoint serves
//! (for example videos made private), refreshed on a timer.
//!
//! Shows: the root context's timer (`set_tick_period` / `on_tick`), HTTP calls
//! from the root context (`dispatch_http_call` / `on_http_call_response`),
//! shared data with compare-and-swap (the list is shared by every VM of the
//! plugin, and the CAS makes exactly one of them see each change), state shared
//! between the root and its HTTP contexts through an `Rc`, and purging with
//! `stavka::purge_url`.
//!
//! Plugin configuration (every line optional):
//!
//! ```text
//! upstream denylist        # upstream (cluster) name for proxy_http_call
//! path /denylist.txt       # what to GET from it
//! period 5s                # refresh period (seconds, or ms/s/m/h/d)
//! status 403               # answer for a listed path (403 "private", 404 "not found")
//! purge_host example.com   # also purge newly listed paths from the cache
//! ```
//!
//! The list is one path per line; blank lines and `#` comments are ignored, and
//! the query string of a request is not part of the match. Paths are compared
//! in normalised form (`stavka::path::normalize`). Until the first successful
//! fetch the list is empty and every request passes (fail open): the origin
//! stays the authority.
//!
//! Purging needs an absolute URL, and the module only knows paths: set
//! `purge_host` (a host name, giving `http://HOST/path`, or a `scheme://host`
//! prefix) to purge each newly listed path; without it nothing is purged.

use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{Action, ContextType, LogLevel, Status};
use stavka::config::{directives, parse_duration};
use stavka::path::{normalize, split_query};
use std::cell::RefCell;
use std::collections::HashSet;
use std::rc::Rc;
use std::time::{Duration, SystemTime};

proxy_wasm::main! {{
    proxy_wasm::set_log_level(LogLevel::Info);
    proxy_wasm::set_root_context(|_| -> Box<dyn RootContext> {
        Box::new(Root {
            config: Rc::new(Config::default()),
            list: Rc::new(RefCell::new(Cached::default())),
            started: false,
            in_flight: None,
        })
    });
}}

/// Shared-data key holding the list: normalised paths, sorted, one per line.
const KEY: &str = "stavka.deny_list";
/// The first fetch happens this soon after configuration.
const FIRST_TICK: Duration = Duration::from_millis(10);
const CALL_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Debug, PartialEq)]
struct Config {
    upstream: String,
    path: String,
    period: Duration,
    status: u32,
    /// `scheme://host` to prefix paths with when purging.
    purge_origin: Option<String>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            upstream: "denylist".into(),
            path: "/denylist.txt".into(),
            period: Duration::from_secs(5),
            status: 403,
            purge_origin: None,
        }
    }
}

impl Config {
    fn parse(text: &str) -> Result<Config, String> {
        let mut c = Config::default();
        for d in directives(text) {
            let bad = || format!("line {}: bad `{} {}`", d.line, d.keyword, d.value);
            if d.value.is_empty() || d.value.contains(char::is_whitespace) {
                return Err(bad());
            }
            match d.keyword {
                "upstream" => c.upstream = d.value.to_owned(),
                "path" if d.value.starts_with('/') => c.path = d.value.to_owned(),
                "period" => {
                    c.period = parse_duration(d.value)
                        .filter(|p| !p.is_zero())
                        .ok_or_else(bad)?
                }
                "status" => {
                    c.status = d
                        .value
                        .parse()
                        .ok()
                        .filter(|s| (400..500).contains(s))
                        .ok_or_else(bad)?
                }
                "purge_host" => {
                    let origin = if d.value.contains("://") {
                        d.value.to_owned()
                    } else {
                        format!("http://{}", d.value.to_ascii_lowercase())
                    };
                    c.purge_origin = Some(origin.trim_end_matches('/').to_owned());
                }
                _ => return Err(bad()),
            }
        }
        Ok(c)
    }

    fn body(&self) -> &'static [u8] {
        if self.status == 404 {
            b"not found\n"
        } else {
            b"private\n"
        }
    }
}

/// Parses a fetched list into its canonical form: normalised, sorted, unique.
fn parse_list(body: &str) -> Vec<String> {
    let mut paths: Vec<String> = body
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| normalize(split_query(l).0))
        .collect();
    paths.sort();
    paths.dedup();
    paths
}

/// Paths in `new` that `old` (a stored canonical list) did not have.
fn added<'a>(old: &str, new: &'a [String]) -> Vec<&'a str> {
    let old: HashSet<&str> = old.lines().collect();
    new.iter()
        .map(String::as_str)
        .filter(|p| !old.contains(p))
        .collect()
}

/// The parsed list as of one shared-data version, shared by the root context
/// and its HTTP contexts (one VM is single-threaded).
#[derive(Default)]
struct Cached {
    cas: Option<u32>,
    paths: Rc<HashSet<String>>,
}

impl Cached {
    /// The list for this shared-data version, re-parsed only when it changed.
    fn get(&mut self, data: Option<Vec<u8>>, cas: Option<u32>) -> Rc<HashSet<String>> {
        if cas.is_none() || cas != self.cas {
            let text = data
                .map(|d| String::from_utf8_lossy(&d).into_owned())
                .unwrap_or_default();
            self.paths = Rc::new(text.lines().map(str::to_owned).collect());
            self.cas = cas;
        }
        Rc::clone(&self.paths)
    }
}

struct Root {
    config: Rc<Config>,
    list: Rc<RefCell<Cached>>,
    started: bool,
    /// The HTTP call in flight and when it was sent.
    in_flight: Option<(u32, SystemTime)>,
}

impl Root {
    /// Stores `new` (canonical text) in shared data unless it is already there.
    /// Returns the list it replaced when this call made the change.
    fn store(&self, new: &str) -> Option<String> {
        for _ in 0..2 {
            let (old, cas) = self.get_shared_data(KEY);
            let old = old
                .map(|d| String::from_utf8_lossy(&d).into_owned())
                .unwrap_or_default();
            if old == new && cas.is_some() {
                return None; // unchanged, or another VM stored it first
            }
            match self.set_shared_data(KEY, Some(new.as_bytes()), cas) {
                Ok(()) => return Some(old),
                Err(Status::CasMismatch) => continue, // raced with another VM: look again
                Err(e) => {
                    log::warn!("deny_list: set_shared_data: {:?}", e);
                    return None;
                }
            }
        }
        log::warn!("deny_list: shared data kept changing; retrying next period");
        None
    }
}

impl Context for Root {
    fn on_http_call_response(
        &mut self,
        token: u32,
        _headers: usize,
        body_size: usize,
        _trailers: usize,
    ) {
        if self.in_flight.map(|(t, _)| t) == Some(token) {
            self.in_flight = None;
        }
        // A failed or timed-out call has no :status; keep the current list.
        let status = self.get_http_call_response_header(":status");
        if status.as_deref() != Some("200") {
            log::warn!(
                "deny_list: GET {} from {}: status {:?}",
                self.config.path,
                self.config.upstream,
                status
            );
            return;
        }
        let body = self
            .get_http_call_response_body(0, body_size)
            .unwrap_or_default();
        let paths = parse_list(&String::from_utf8_lossy(&body));
        let previous = match self.store(&paths.join("\n")) {
            Some(previous) => previous,
            None => return,
        };
        let new = added(&previous, &paths);
        log::info!("deny_list: {} paths, {} new", paths.len(), new.len());
        if let Some(origin) = &self.config.purge_origin {
            for path in new {
                match stavka::purge_url(&format!("{}{}", origin, path)) {
                    Ok(n) => log::info!("deny_list: purged {}{} ({} objects)", origin, path, n),
                    Err(e) => log::warn!("deny_list: purge {}{}: {:?}", origin, path, e),
                }
            }
        }
    }
}

impl RootContext for Root {
    fn on_configure(&mut self, _size: usize) -> bool {
        let config = self.get_plugin_configuration().unwrap_or_default();
        match Config::parse(&String::from_utf8_lossy(&config)) {
            Ok(config) => {
                self.config = Rc::new(config);
                // Fetch soon (not from on_configure itself: some hosts refuse
                // HTTP calls there), then every period.
                self.started = false;
                self.set_tick_period(FIRST_TICK);
                true
            }
            Err(e) => {
                log::error!("deny_list: {}", e);
                false
            }
        }
    }

    fn on_tick(&mut self) {
        if !self.started {
            self.started = true;
            self.set_tick_period(self.config.period);
        }
        if let Some((_, sent)) = self.in_flight {
            // The host answers every call (on timeout, without headers); this
            // only guards against a call that is never answered.
            let age = self
                .get_current_time()
                .duration_since(sent)
                .unwrap_or_default();
            if age < 2 * CALL_TIMEOUT {
                return;
            }
        }
        let c = Rc::clone(&self.config);
        let headers = vec![
            (":method", "GET"),
            (":path", c.path.as_str()),
            (":authority", c.upstream.as_str()),
        ];
        match self.dispatch_http_call(&c.upstream, headers, None, vec![], CALL_TIMEOUT) {
            Ok(token) => self.in_flight = Some((token, self.get_current_time())),
            Err(e) => log::warn!("deny_list: dispatch_http_call to {}: {:?}", c.upstream, e),
        }
    }

    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }

    fn create_http_context(&self, _context_id: u32) -> Option<Box<dyn HttpContext>> {
        Some(Box::new(DenyList {
            config: Rc::clone(&self.config),
            list: Rc::clone(&self.list),
        }))
    }
}

struct DenyList {
    config: Rc<Config>,
    list: Rc<RefCell<Cached>>,
}

impl Context for DenyList {}

impl HttpContext for DenyList {
    fn on_http_request_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Action {
        // Reading the shared data on each request sees another VM's update at
        // once; the parse happens only when its CAS changed.
        let (data, cas) = self.get_shared_data(KEY);
        let paths = self.list.borrow_mut().get(data, cas);
        if paths.is_empty() {
            return Action::Continue;
        }
        let path = self.get_http_request_header(":path").unwrap_or_default();
        if !paths.contains(&normalize(split_query(&path).0)) {
            return Action::Continue;
        }
        self.send_http_response(
            self.config.status,
            vec![("content-type", "text/plain")],
            Some(self.config.body()),
        );
        Action::Pause
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configuration() {
        assert_eq!(Config::parse("").unwrap(), Config::default());
        let c = Config::parse(
            "upstream lists\npath /private.txt\nperiod 1s\nstatus 404\npurge_host Example.COM\n",
        )
        .unwrap();
        assert_eq!(c.upstream, "lists");
        assert_eq!(c.path, "/private.txt");
        assert_eq!(c.period, Duration::from_secs(1));
        assert_eq!(c.status, 404);
        assert_eq!(c.body(), b"not found\n");
        assert_eq!(c.purge_origin.as_deref(), Some("http://example.com"));
        let c = Config::parse("purge_host https://cdn.example/").unwrap();
        assert_eq!(c.purge_origin.as_deref(), Some("https://cdn.example"));
        assert_eq!(Config::default().body(), b"private\n");
        for bad in [
            "period 0",
            "period soon",
            "status 200",
            "status 600",
            "path x.txt",
            "upstream",
            "colour blue",
        ] {
            assert!(Config::parse(bad).is_err(), "{}", bad);
        }
    }

    #[test]
    fn list_parsing() {
        let l =
            parse_list("# private videos\n/v/2.mp4\n\n  /v/1.mp4  \n/v//1.mp4\n/v/3.mp4?x=1\r\n");
        assert_eq!(l, vec!["/v/1.mp4", "/v/2.mp4", "/v/3.mp4"]);
        assert!(parse_list("").is_empty());
        assert_eq!(added("/v/1.mp4\n/v/2.mp4", &l), vec!["/v/3.mp4"]);
        assert_eq!(added("", &l).len(), 3);
        assert!(added("/v/1.mp4\n/v/2.mp4\n/v/3.mp4\n/v/4.mp4", &l).is_empty());
    }

    #[test]
    fn cached_parse_follows_cas() {
        let mut c = Cached::default();
        let a = c.get(Some(b"/a\n/b".to_vec()), Some(1));
        assert!(a.contains("/a") && a.contains("/b"));
        // Same CAS: the cached copy, whatever the bytes.
        let again = c.get(Some(b"/zzz".to_vec()), Some(1));
        assert!(Rc::ptr_eq(&a, &again));
        let b = c.get(Some(b"/c".to_vec()), Some(2));
        assert!(b.contains("/c") && !b.contains("/a"));
        assert!(c.get(None, None).is_empty());
    }
}
