//! A bounded mutation loop over the shipped suites (issue 18): each mutant goes through
//! `validate` and `run --dry-run` (the real binary), which must never panic or die of a signal,
//! exit 0 or 2, finish within 5 s and stay under 1 GiB of peak RSS (measured by `wait4`).
//!
//! Seeded, so a failure reproduces: the failing input is saved under the temp directory and
//! named in the message. `AEAPI_FUZZ_CASES=N` and `AEAPI_FUZZ_SEED=S` run more or other cases.

use std::path::Path;
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::input_common::harness;

const LIMIT: Duration = Duration::from_secs(5);
const MAX_KIB: u64 = 1024 * 1024;
const DEFAULT_CASES: usize = 200;

/// Fragments that reach the parsers' and checks' corners: nesting, anchors, documents, numbers
/// at and beyond every limit, durations, secrets, control characters and broken UTF-8.
const TOKENS: &[&[u8]] = &[
    b"{a: ",
    b"[",
    b"]",
    b"}",
    b"- ",
    b"\n- ",
    b"\n  ",
    b": ",
    b" #",
    b"'",
    b"\"",
    b"|\n",
    b">-\n",
    b"&a ",
    b"*a",
    b"<<: *a\n",
    b"? ",
    b"---\n",
    b"...\n",
    b"%YAML 1.2\n",
    b"!!str ",
    b"0",
    b"1000000",
    b"1000001",
    b"1000000000",
    b"4294967296",
    b"18446744073709551616",
    b"-1",
    b"0s",
    b"720h",
    b"99999h",
    b"1e308s",
    b"${X}",
    b"${",
    b"\x01",
    b"\x7f",
    b"\xff",
    b"\xc3",
    b"\t",
    b"\r",
    b"\xef\xbb\xbf",
    b"~",
    b"agents: ",
    b"duration: ",
    b"\nagents: {prefix: a, count: 1000001, password: \"${P}\"}\n",
    b"\n  steps: [{agents: 5, duration: 0s}, {agents: 999999999, duration: 1s}]\n",
];

fn mutate(rng: &mut StdRng, text: &mut Vec<u8>) -> String {
    let len = text.len();
    let at = rng.random_range(0..=len);
    let token = TOKENS[rng.random_range(0..TOKENS.len())];
    match rng.random_range(0..7) {
        0 if len > 0 => {
            let i = at.min(len - 1);
            text[i] = rng.random();
            format!("byte {i} = 0x{:02X}", text[i])
        }
        1 => {
            text.splice(at..at, token.iter().copied());
            format!("insert {:?} at {at}", String::from_utf8_lossy(token))
        }
        2 => {
            let end = (at + rng.random_range(1..200)).min(len);
            text.drain(at..end);
            format!("delete {at}..{end}")
        }
        3 => {
            let end = (at + rng.random_range(1..64)).min(len);
            let times = rng.random_range(2..200);
            let part = text[at..end].repeat(times);
            text.splice(at..at, part);
            format!("repeat {at}..{end} x{times}")
        }
        4 => {
            // Many of one token: deep nesting, long runs of anchors or control characters.
            let times = rng.random_range(1..4000);
            let part = token.repeat(times);
            text.splice(at..at, part);
            format!(
                "insert {:?} x{times} at {at}",
                String::from_utf8_lossy(token)
            )
        }
        5 => {
            text.truncate(at);
            format!("truncate at {at}")
        }
        _ => {
            // The first number (a count, a duration, a weight) becomes the token.
            let digits = text.iter().position(|c| c.is_ascii_digit());
            match digits {
                Some(i) => {
                    let end = i + text[i..].iter().take_while(|c| c.is_ascii_digit()).count();
                    text.splice(i..end, token.iter().copied());
                    format!("number at {i} -> {:?}", String::from_utf8_lossy(token))
                }
                None => "no number".into(),
            }
        }
    }
}

#[test]
fn mutated_suites_never_panic_hang_or_bloat() {
    let cases = std::env::var("AEAPI_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(DEFAULT_CASES);
    let seed = std::env::var("AEAPI_FUZZ_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(18);
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let bases: Vec<Vec<u8>> = ["smoke.yaml", "example-remote.yaml", "conformance.yaml"]
        .iter()
        .map(|f| std::fs::read(repo.join("suites").join(f)).unwrap_or_else(|e| panic!("{f}: {e}")))
        .collect();
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    std::fs::copy(
        repo.join("suites/agents.example.csv"),
        dir.path().join("agents.example.csv"),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let mut rng = StdRng::seed_from_u64(seed);
    let mut failures = Vec::new();
    let (mut slowest, mut largest) = (Duration::ZERO, 0);
    let mut exits = [0usize; 3];
    for case in 0..cases {
        let mut text = bases[case % bases.len()].clone();
        let steps: Vec<String> = (0..rng.random_range(1..4))
            .map(|_| mutate(&mut rng, &mut text))
            .collect();
        let name = format!("case{case}.yaml");
        std::fs::write(dir.path().join(&name), &text).unwrap_or_else(|e| panic!("{e}"));
        for args in [&["validate", &name][..], &["run", &name, "--dry-run"]] {
            let r = harness(args, dir.path(), LIMIT);
            slowest = slowest.max(r.elapsed);
            largest = largest.max(r.peak_kib);
            exits[match r.code {
                Some(0) => 0,
                Some(2) => 1,
                _ => 2,
            }] += 1;
            let ok = matches!(r.code, Some(0 | 2))
                && !r.timed_out
                && r.elapsed < LIMIT
                && r.peak_kib < MAX_KIB
                && !r.stderr.contains("panicked");
            if !ok {
                let saved = std::env::temp_dir().join(format!("aeapi-fuzz-{seed}-{case}.yaml"));
                let _ = std::fs::write(&saved, &text);
                failures.push(format!(
                    "case {case} ({}) {args:?}: exit {:?}, {:?}, {} KiB, timed out {}; input saved \
                     as {}\n{}",
                    steps.join("; "),
                    r.code,
                    r.elapsed,
                    r.peak_kib,
                    r.timed_out,
                    saved.display(),
                    r.stderr.chars().take(600).collect::<String>()
                ));
            }
        }
    }
    eprintln!(
        "{cases} mutants (seed {seed}), {} runs: {} exit 0, {} exit 2, {} other; slowest {:?}, \
         largest peak RSS {} KiB",
        cases * 2,
        exits[0],
        exits[1],
        exits[2],
        slowest,
        largest
    );
    assert!(
        failures.is_empty(),
        "{} of {} runs failed:\n{}",
        failures.len(),
        cases * 2,
        failures.join("\n\n")
    );
}
