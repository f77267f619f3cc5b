//! A panic while loading is a bug: mangle the shipped suite in many small ways and check that
//! loading and rendering always return (an error or a suite), never panic.

use std::path::Path;

#[test]
fn mangled_suites_never_panic() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let path = root.join("suites/smoke.yaml");
    let src = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{e}"));
    let inserts = [
        ":", " ", "[", "\"", "x", "\t", "%", "#", "é", "\n", "- ", "{", "&a ", "*a",
    ];
    let bounds: Vec<usize> = src.char_indices().map(|(i, _)| i).step_by(9).collect();
    let mut errors = 0usize;
    for (n, &at) in bounds.iter().enumerate() {
        let insert = inserts[n % inserts.len()];
        for replace in [false, true] {
            let end = if replace {
                src[at..].chars().next().map_or(at, |c| at + c.len_utf8())
            } else {
                at
            };
            let text = format!("{}{insert}{}", &src[..at], &src[end..]);
            if let Err(e) = aeapi_harness::suite::load_str(&path, text) {
                errors += 1;
                let rendered = e.render(false);
                assert!(rendered.starts_with("error"), "{rendered}");
                let _ = e.render(true);
            }
        }
    }
    assert!(errors > 0);
}

#[test]
fn truncated_suites_never_panic() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("suites/example-remote.yaml");
    let src = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{e}"));
    let mut errors = 0usize;
    for (at, _) in src.char_indices().step_by(7) {
        if let Err(e) = aeapi_harness::suite::load_str(&path, src[..at].to_string()) {
            errors += 1;
            let rendered = e.render(false);
            assert!(rendered.starts_with("error"), "cut at {at}: {rendered}");
        }
    }
    // Cutting the file short is what fails, not the file itself.
    assert!(errors > 0);
    if let Err(e) = aeapi_harness::suite::load_str(&path, src) {
        panic!("the whole file: {}", e.render(false));
    }
}
