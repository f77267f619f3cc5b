//! Every ```yaml snippet in the documentation loads (issue 18, item 12: a README example was not
//! even YAML). A snippet with `name:` is a whole suite and goes through the suite loader (in a
//! directory holding the files it names); a suite fragment is loaded after a `name:`; the
//! simulator README's snippets deserialise as `SimConfig` and pass its checks. The commented
//! alternatives inside a suite snippet (`# agents: {...}`) deserialise as that suite section.

use std::path::Path;

use aeapi_harness::sim::SimConfig;
use aeapi_harness::suite::{self, Suite};

/// A snippet and the line its fence is on.
struct Snippet {
    file: &'static str,
    line: usize,
    text: String,
}

fn snippets(file: &'static str) -> Vec<Snippet> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(file);
    let doc = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{file}: {e}"));
    let mut out = Vec::new();
    let mut open: Option<Snippet> = None;
    for (i, line) in doc.lines().enumerate() {
        match &mut open {
            None if line.trim_start().starts_with("```yaml") => {
                open = Some(Snippet {
                    file,
                    line: i + 1,
                    text: String::new(),
                });
            }
            Some(_) if line.trim_start().starts_with("```") => out.extend(open.take()),
            Some(s) => {
                s.text.push_str(line);
                s.text.push('\n');
            }
            None => {}
        }
    }
    assert!(open.is_none(), "{file}: a ```yaml block is not closed");
    out
}

fn top_level_keys(text: &str) -> Vec<&str> {
    text.lines()
        .filter(|l| !l.starts_with([' ', '#', '-']) && !l.is_empty())
        .filter_map(|l| l.split_once(':').map(|(k, _)| k))
        .collect()
}

/// Commented-out alternatives of a top-level key: `# key: ...` and its `#   ...` lines.
fn alternatives(text: &str, keys: &[&str]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut current: Option<String> = None;
    for line in text.lines() {
        let body = line.strip_prefix("# ");
        let starts = body.is_some_and(|b| keys.iter().any(|k| b.starts_with(&format!("{k}:"))));
        match (body, &mut current) {
            (Some(b), _) if starts => {
                out.extend(current.take());
                current = Some(format!("{b}\n"));
            }
            (Some(b), Some(c)) if b.starts_with("  ") => {
                c.push_str(b);
                c.push('\n');
            }
            _ => out.extend(current.take()),
        }
    }
    out.extend(current);
    out
}

/// Files the README's full suite names, so the loader can check it whole.
fn with_named_files(dir: &Path) {
    let mut csv = String::from("username\n");
    for i in 1..=100 {
        csv.push_str(&format!("agent{i}\n"));
    }
    for (name, text) in [
        ("agents.csv", csv.as_str()),
        ("certs/staging-ca.pem", "-----BEGIN CERTIFICATE-----\n"),
        ("schemas/summary.json", "{\"type\": \"object\"}"),
    ] {
        let path = dir.join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).unwrap_or_else(|e| panic!("{e}"));
        }
        std::fs::write(&path, text).unwrap_or_else(|e| panic!("{name}: {e}"));
    }
}

fn load_suite(text: &str, at: &str) {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    with_named_files(dir.path());
    let path = dir.path().join("snippet.yaml");
    std::fs::write(&path, text).unwrap_or_else(|e| panic!("{e}"));
    if let Err(e) = suite::load(&path) {
        panic!(
            "{at} does not load as a suite:\n{}\n{text}",
            e.render(false)
        );
    }
}

#[test]
fn readme_yaml_snippets_load() {
    let mut checked = 0;
    let mut alternatives_checked = 0;
    for file in ["README.md", "ci/README.md"] {
        for s in snippets(file) {
            let at = format!("{}:{}", s.file, s.line);
            if let Err(e) = serde_yaml::from_str::<serde_yaml::Value>(&s.text) {
                panic!("{at} is not YAML: {e}\n{}", s.text);
            }
            let keys = top_level_keys(&s.text);
            if keys.contains(&"name") {
                load_suite(&s.text, &at);
                for alt in alternatives(&s.text, &keys) {
                    let section = format!("name: readme\n{alt}");
                    if let Err(e) = serde_yaml::from_str::<Suite>(&section) {
                        panic!("{at}: the commented alternative does not load: {e}\n{alt}");
                    }
                    alternatives_checked += 1;
                }
            } else {
                load_suite(&format!("name: readme\n{}", s.text), &at);
            }
            checked += 1;
        }
    }
    // The suite format and the conformance case format; the two commented pool forms.
    assert!(checked >= 2, "only {checked} snippets found");
    assert!(
        alternatives_checked >= 2,
        "only {alternatives_checked} commented alternatives found"
    );
}

#[test]
fn simulator_readme_yaml_snippets_load() {
    let snippets = snippets("src/sim/README.md");
    assert!(snippets.len() >= 2, "only {} snippets", snippets.len());
    for s in snippets {
        let at = format!("{}:{}", s.file, s.line);
        let config: SimConfig = serde_yaml::from_str(&s.text)
            .unwrap_or_else(|e| panic!("{at} is not a simulator config: {e}\n{}", s.text));
        if let Err(e) = config.validate() {
            panic!("{at}: {e}\n{}", s.text);
        }
    }
}

#[test]
fn commented_alternatives_are_found() {
    let text =
        "name: x\n# agents: {a: 1}   # note\n# agents:\n#   - {b: 2}\n# (a note)\nload: {}\n";
    assert_eq!(
        alternatives(text, &["name", "agents", "load"]),
        ["agents: {a: 1}   # note\n", "agents:\n  - {b: 2}\n"]
    );
}
