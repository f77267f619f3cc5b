//! Parser errors name the file and the entry; bodies decode; nothing panics.

use std::path::Path;

use super::*;

const ENTRY: &str = r#"{"startedDateTime":"2026-12-01T03:24:37.908Z","time":4.5,
 "request":{"method":"get","url":"http://h/x?a=1","httpVersion":"HTTP/1.1","cookies":[{"name":"c","value":"v"}],
   "headers":[{"name":"Accept","value":"*/*"}],"queryString":[{"name":"a","value":"1"}],"headersSize":-1,"bodySize":0},
 "response":{"status":200,"statusText":"OK","httpVersion":"HTTP/1.1","cookies":[],"headers":[],
   "content":{"size":2,"mimeType":"application/json","text":"e30=","encoding":"base64"},"redirectURL":"","headersSize":-1,"bodySize":2},
 "cache":{},"timings":{"send":0,"wait":4,"receive":0.5}}"#;

fn doc(entries: &str) -> String {
    format!(
        r#"{{"log":{{"version":"1.2","creator":{{"name":"t","version":"1"}},"entries":[{entries}]}}}}"#
    )
}

fn kind(bytes: &str) -> String {
    match parse(Path::new("s.har"), bytes.as_bytes()) {
        Ok(r) => match r.entry(0) {
            Ok(_) => "ok".into(),
            Err(e) => e.to_string(),
        },
        Err(e) => e.to_string(),
    }
}

/// [`kind`] of a one-entry HAR whose [`ENTRY`] has `from` replaced by `to`.
fn entry_kind(from: &str, to: &str) -> String {
    kind(&doc(&ENTRY.replace(from, to)))
}

#[test]
fn an_entry_parses_and_its_base64_body_decodes() {
    let text = doc(ENTRY);
    let r = parse(Path::new("s.har"), text.as_bytes()).expect("parses");
    assert_eq!(r.creator, "t 1");
    assert_eq!(r.len(), 1);
    let x = r.entry(0).expect("entry");
    assert_eq!(x.method, "GET");
    assert_eq!(x.status, 200);
    assert_eq!(x.query, vec![("a".to_string(), "1".to_string())]);
    assert_eq!(x.request_cookies, vec![("c".to_string(), "v".to_string())]);
    assert_eq!(x.response_body, Some(Body::Text("{}".into())));
    assert_eq!(x.started_ms, 1_796_095_477_908.0);
    assert_eq!(x.ended_ms(), 1_796_095_477_912.5);
}

#[test]
fn malformed_documents_name_the_file_and_what_is_wrong() {
    for (text, want) in [
        ("hello", "not JSON (expected value at line 1 column 1)"),
        (
            r#"{"log":{"entries":[]}}"#,
            "not a HAR: `log.version` is missing",
        ),
        (
            r#"{"log":{"version":"1.2","entries":[{"a":"#,
            "truncated: the JSON ends early (EOF while parsing a value at line 1 column 40)",
        ),
        ("[1,2]", "not a HAR: the top level is not a JSON object"),
        ("{}", "not a HAR: no top-level `log` object"),
        (
            r#"{"log":{"version":"1.1","entries":[]}}"#,
            "unsupported HAR version `1.1` (import reads 1.2 and 1.3)",
        ),
    ] {
        assert_eq!(kind(text), format!("s.har: {want}"), "{text}");
    }
}

#[test]
fn an_entry_without_a_response_is_named() {
    assert_eq!(
        entry_kind("\"response\"", "\"responseX\""),
        "s.har: entries[0]: missing field `response`"
    );
}

#[test]
fn bad_status_time_and_encoding_are_entry_errors() {
    assert_eq!(
        entry_kind("\"status\":200", "\"status\":1000"),
        "s.har: entries[0]: response status 1000 is not an HTTP status"
    );
    // 0 and -1: no answer received (aborted, or a long-poll pending when the HAR was saved).
    for s in ["0", "-1"] {
        let e = ENTRY.replace("\"status\":200", &format!("\"status\":{s}"));
        let text = doc(&e);
        let r = parse(Path::new("s.har"), text.as_bytes()).expect("parses");
        assert_eq!(r.entry(0).expect("entry").status, 0);
    }
    assert!(
        entry_kind("2026-12-01T03:24:37.908Z", "yesterday")
            .starts_with("s.har: entries[0]: startedDateTime `yesterday`: ")
    );
    assert_eq!(
        entry_kind("\"base64\"", "\"rot13\""),
        "s.har: entries[0]: response body has unknown encoding `rot13`"
    );
    assert!(
        entry_kind("e30=", "!!!")
            .starts_with("s.har: entries[0]: response body is not valid base64")
    );
}

#[test]
fn a_binary_body_is_kept_as_its_length_only() {
    // 0xff 0xfe 0x00: not UTF-8.
    let e = ENTRY.replace("e30=", "//4A");
    let text = doc(&e);
    let r = parse(Path::new("s.har"), text.as_bytes()).expect("parses");
    assert_eq!(
        r.entry(0).expect("entry").response_body,
        Some(Body::Binary { len: 3 })
    );
}

#[test]
fn files_above_the_limit_are_refused_before_reading() {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = dir.path().join("big.har");
    std::fs::write(&p, vec![b' '; 100]).expect("write");
    let e = read_limited(&p, 10).expect_err("too large");
    assert_eq!(
        e.kind.to_string(),
        "it is 100 bytes; import reads at most 10 bytes"
    );
    assert_eq!(read_limited(&p, 100).expect("fits").len(), 100);
    let missing = read_limited(&dir.path().join("nope.har"), 10).expect_err("missing");
    assert!(matches!(missing.kind, HarErrorKind::Io(_)));
}
