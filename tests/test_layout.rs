//! The integration tests are a few binaries by area (`autotests = false` in Cargo.toml): a test
//! file that no group declares would never run, so this checks every file is declared.

use std::collections::BTreeSet;
use std::path::Path;

#[test]
fn every_test_file_belongs_to_a_declared_group() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let cargo = std::fs::read_to_string(root.join("Cargo.toml")).expect("Cargo.toml");
    let groups: Vec<String> = cargo
        .lines()
        .filter_map(|l| l.strip_prefix("path = \"tests/"))
        .filter_map(|l| l.strip_suffix(".rs\""))
        .map(str::to_owned)
        .collect();
    assert!(
        groups.len() >= 4,
        "test groups declared in Cargo.toml: {groups:?}"
    );
    let mut declared = BTreeSet::new();
    for g in &groups {
        let text = std::fs::read_to_string(root.join(format!("tests/{g}.rs"))).expect("group root");
        for line in text.lines() {
            if let Some(m) = line.strip_prefix("mod ").and_then(|l| l.strip_suffix(';')) {
                declared.insert(m.to_owned());
            }
        }
    }
    let mut missing = Vec::new();
    for entry in std::fs::read_dir(root.join("tests")).expect("tests/") {
        let name = entry
            .expect("entry")
            .file_name()
            .to_string_lossy()
            .into_owned();
        if let Some(stem) = name.strip_suffix(".rs")
            && !groups.iter().any(|g| g == stem)
            && !declared.contains(stem)
        {
            missing.push(name);
        }
    }
    assert!(
        missing.is_empty(),
        "test files no group declares (add `mod x;` to a tests/<group>.rs): {missing:?}"
    );
}
