//! Request-path helpers for modules that match paths (access control, deny lists).

/// Splits a `:path` into the path and the query (without the `?`).
pub fn split_query(path: &str) -> (&str, Option<&str>) {
    match path.find('?') {
        Some(at) => (&path[..at], Some(&path[at + 1..])),
        None => (path, None),
    }
}

/// The form of a path to **match** against rules; never forward it.
///
/// Origins commonly decode percent-escapes, merge repeated slashes and resolve
/// `.` / `..` segments, so a rule on `/private/` must also catch
/// `//private/x`, `/public/../private/x` and `/%70rivate/x`. This function does
/// the same: it percent-decodes every escape (invalid ones are kept as is,
/// invalid UTF-8 becomes U+FFFD), then resolves dot segments and merges
/// slashes. The result always starts with `/`; a trailing slash is kept.
pub fn normalize(path: &str) -> String {
    let decoded = percent_decode(path);
    let mut out: Vec<&str> = Vec::new();
    let mut trailing_slash = false;
    for seg in decoded.split('/') {
        trailing_slash = true;
        match seg {
            "" | "." => {}
            ".." => {
                out.pop();
            }
            s => {
                out.push(s);
                trailing_slash = false;
            }
        }
    }
    let mut n = String::with_capacity(decoded.len() + 1);
    for s in &out {
        n.push('/');
        n.push_str(s);
    }
    if trailing_slash || out.is_empty() {
        n.push('/');
    }
    n
}

/// Decodes `%XX` escapes (invalid escapes are kept verbatim). `+` is not
/// special here: in a path it is a plus sign.
pub fn percent_decode(s: &str) -> String {
    if !s.contains('%') {
        return s.to_owned();
    }
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            if let (Some(h), Some(l)) = (hex(b[i + 1]), hex(b[i + 2])) {
                out.push(h << 4 | l);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_split() {
        assert_eq!(split_query("/a/b?x=1&y"), ("/a/b", Some("x=1&y")));
        assert_eq!(split_query("/a/b?"), ("/a/b", Some("")));
        assert_eq!(split_query("/a/b"), ("/a/b", None));
    }

    #[test]
    fn normalisation() {
        assert_eq!(normalize("/private/x"), "/private/x");
        assert_eq!(normalize("//private//x"), "/private/x");
        assert_eq!(normalize("/public/../private/x"), "/private/x");
        assert_eq!(normalize("/./private/./x"), "/private/x");
        assert_eq!(normalize("/%70rivate/x"), "/private/x");
        assert_eq!(normalize("/%2e%2E/private%2Fx"), "/private/x");
        assert_eq!(normalize("/../../etc"), "/etc");
        assert_eq!(normalize("/private/"), "/private/");
        assert_eq!(normalize("/private/x/.."), "/private/");
        assert_eq!(normalize("/private"), "/private");
        assert_eq!(normalize(""), "/");
        assert_eq!(normalize("/"), "/");
        assert_eq!(normalize("relative/x"), "/relative/x");
        assert_eq!(normalize("/a%zzb/%"), "/a%zzb/%");
        assert_eq!(normalize("/a%4"), "/a%4");
        assert_eq!(normalize("/caf%C3%A9"), "/café");
        assert_eq!(normalize("/a+b"), "/a+b");
    }
}
