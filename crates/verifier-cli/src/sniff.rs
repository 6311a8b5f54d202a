//! Telling a file that is not what a subcommand reads (a server's error body saved by
//! `curl -s`, an HTML page, some other JSON document) from a damaged one, so the first is
//! "could not check" (exit 2) with a hint, and only the second is "not verified" (exit 1).

/// Why `bytes` is plainly not a `what` file: `None` when it looks like one (`looks_like` holds
/// for its JSON), so that a parse error is a malformed file of that kind.
pub fn not_a(bytes: &[u8], what: &str, looks_like: impl Fn(&serde_json::Value) -> bool) -> Option<String> {
    let trimmed = bytes.trim_ascii();
    if trimmed.is_empty() {
        return Some(format!("the file is empty, not {what}"));
    }
    if trimmed.first() == Some(&b'<') {
        return Some(format!("this file is an HTML or XML page (perhaps a server's or proxy's error page), not {what}"));
    }
    let v: serde_json::Value = match serde_json::from_slice(trimmed) {
        Ok(v) => v,
        Err(e) => return Some(format!("this file is not JSON ({e}), so it is not {what}; a truncated download looks like this")),
    };
    if looks_like(&v) {
        return None;
    }
    let obj = v.as_object();
    if let Some(err) = obj.and_then(|o| o.get("error")) {
        let detail = match err {
            serde_json::Value::String(s) => s.clone(),
            serde_json::Value::Object(o) => {
                let code = o.get("code").and_then(serde_json::Value::as_str).unwrap_or("error");
                let message = o.get("message").and_then(serde_json::Value::as_str).unwrap_or("");
                format!("{code}: {message}")
            }
            other => other.to_string(),
        };
        return Some(format!(
            "this file is an error response from the server: {detail}. It is not {what}; fetch it again \
             with `curl -f` (--fail-with-body) so an error is not saved as if it were the file"
        ));
    }
    if let Some(format) = obj.and_then(|o| o.get("format")).and_then(serde_json::Value::as_str) {
        return Some(format!("this file is a {format:?} document, not {what}"));
    }
    Some(format!("this file is JSON but not {what}"))
}

/// As [`not_a`] for a text format whose first line is `header`: `None` when the file starts
/// with it.
pub fn not_a_text(bytes: &[u8], what: &str, header: &str) -> Option<String> {
    if bytes.starts_with(header.as_bytes()) {
        return None;
    }
    let trimmed = bytes.trim_ascii();
    if trimmed.first().is_some_and(|b| matches!(b, b'{' | b'[')) || trimmed.is_empty() || trimmed.first() == Some(&b'<') {
        return not_a(bytes, what, |_| false);
    }
    Some(format!("this file does not begin with the line {header:?}, so it is not {what}"))
}

/// True for a JSON object whose `format` is exactly `format`.
pub fn has_format(v: &serde_json::Value, format: &str) -> bool {
    v.get("format").and_then(serde_json::Value::as_str) == Some(format)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bundle(v: &serde_json::Value) -> bool {
        has_format(v, "evidence-bundle/v1")
    }

    #[test]
    fn names_what_the_file_is() {
        let hint = not_a(br#"{"error":{"code":"not_found","message":"no claim 9"}}"#, "an evidence bundle", bundle).unwrap();
        assert!(hint.contains("error response from the server: not_found: no claim 9"), "{hint}");
        assert!(not_a(b"  ", "x", bundle).unwrap().contains("empty"));
        assert!(not_a(b"<html>502</html>", "x", bundle).unwrap().contains("HTML"));
        assert!(not_a(b"{\"format\":", "x", bundle).unwrap().contains("not JSON"));
        assert!(not_a(br#"{"format":"evidence-trust/v1"}"#, "x", bundle).unwrap().contains("evidence-trust/v1"));
        assert!(not_a(b"[1]", "x", bundle).unwrap().contains("JSON but not"));
        assert_eq!(not_a(br#"{"format":"evidence-bundle/v1","claims":7}"#, "x", bundle), None);
        assert!(not_a_text(br#"{"error":"boom"}"#, "x", "h@v1").unwrap().contains("error response from the server: boom"));
        assert!(not_a_text(b"hello", "x", "h@v1").unwrap().contains("does not begin with the line"));
        assert_eq!(not_a_text(b"h@v1\nrest", "x", "h@v1"), None);
    }
}
