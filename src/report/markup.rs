//! What every HTML page and SVG chart of the reports shares: escaping and the page's style.
//! Its own module so the page (`html`) and the charts (`chart`) both use it without importing
//! each other, and the capacity search's page looks like a run's.

/// The reports' stylesheet, inlined in every page (no external CSS).
pub const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:2em;color:#222;max-width:1100px}\
table{border-collapse:collapse;margin:1em 0}th,td{border:1px solid #ccc;padding:.25em .6em;text-align:right}\
th:first-child,td:first-child{text-align:left}.pass{color:#1a7f37;font-weight:bold}\
.fail{color:#cf222e;font-weight:bold}pre{background:#f6f8fa;padding:.6em;white-space:pre-wrap;\
word-break:break-all}svg{display:block;margin:.5em 0}h2{border-bottom:1px solid #ddd}";

/// Escapes text for HTML content and attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}
