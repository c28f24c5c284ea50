//! Line-based plugin configuration, as the example modules use it:
//!
//! ```text
//! # comment
//! keyword value...
//! ```
//!
//! Blank lines and lines starting with `#` are ignored; the keyword is the first
//! whitespace-separated word and the value is the rest of the line, trimmed.

use std::time::Duration;

/// One `keyword value` line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Directive<'a> {
    /// 1-based line number, for error messages.
    pub line: usize,
    pub keyword: &'a str,
    /// The rest of the line, trimmed; may be empty.
    pub value: &'a str,
}

/// The directives of a configuration text, in order.
pub fn directives(config: &str) -> impl Iterator<Item = Directive<'_>> {
    config.lines().enumerate().filter_map(|(i, line)| {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            return None;
        }
        let (keyword, value) = match line.find(char::is_whitespace) {
            Some(at) => (&line[..at], line[at..].trim()),
            None => (line, ""),
        };
        Some(Directive {
            line: i + 1,
            keyword,
            value,
        })
    })
}

/// Parses a duration: decimal seconds (`5`), or a number with one unit suffix:
/// `ms`, `s`, `m`, `h`, `d` (`1500ms`, `1s`, `2m`, `1h`, `1d`).
pub fn parse_duration(s: &str) -> Option<Duration> {
    let s = s.trim();
    let digits = s.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 {
        return None;
    }
    let n: u64 = s[..digits].parse().ok()?;
    let secs = |mult: u64| n.checked_mul(mult).map(Duration::from_secs);
    match &s[digits..] {
        "ms" => Some(Duration::from_millis(n)),
        "" | "s" => secs(1),
        "m" => secs(60),
        "h" => secs(3600),
        "d" => secs(86400),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directives_skip_comments_and_blank_lines() {
        let cfg = "# policy\n\nprotect /private/\n  token  s3cret  \r\nflag\n";
        let got: Vec<_> = directives(cfg)
            .map(|d| (d.line, d.keyword, d.value))
            .collect();
        assert_eq!(
            got,
            vec![
                (3, "protect", "/private/"),
                (4, "token", "s3cret"),
                (5, "flag", "")
            ]
        );
        assert_eq!(directives("").count(), 0);
        assert_eq!(
            directives("ttl\ttext/html   60").next().map(|d| d.value),
            Some("text/html   60")
        );
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("5"), Some(Duration::from_secs(5)));
        assert_eq!(parse_duration("1s"), Some(Duration::from_secs(1)));
        assert_eq!(parse_duration(" 250ms "), Some(Duration::from_millis(250)));
        assert_eq!(parse_duration("2m"), Some(Duration::from_secs(120)));
        assert_eq!(parse_duration("1h"), Some(Duration::from_secs(3600)));
        assert_eq!(parse_duration("1d"), Some(Duration::from_secs(86400)));
        assert_eq!(parse_duration(""), None);
        assert_eq!(parse_duration("s"), None);
        assert_eq!(parse_duration("1.5s"), None);
        assert_eq!(parse_duration("-1"), None);
        assert_eq!(parse_duration("5 s"), None);
        assert_eq!(parse_duration("99999999999999999999"), None);
        assert_eq!(parse_duration("999999999999999999d"), None);
    }
}
