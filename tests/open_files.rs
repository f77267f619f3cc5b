//! The open-file limit, end to end: the binary run under `ulimit -Sn 1024` (a stock login's soft
//! limit) raises its soft limit to the hard one and takes a 2,000-agent fleet; under
//! `ulimit -n 1024` (soft and hard) it refuses the fleet before sending anything, with both
//! numbers and how many shards would fit (exit 2). Never connect errors mid-run.

#![cfg(unix)]

use std::process::{Command, Output};

use aeapi_harness::report::terminal::thousands;

/// The binary under `limits` (a `ulimit` argument list), with `args`.
fn under_ulimit(limits: &str, args: &str) -> Output {
    let bin = env!("CARGO_BIN_EXE_aeapi-harness");
    Command::new("bash")
        .arg("-c")
        .arg(format!("ulimit {limits} || exit 99; exec '{bin}' {args}"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("bash runs")
}

/// The hard limit this test's processes inherit.
fn hard_limit() -> u64 {
    let o = Command::new("bash")
        .args(["-c", "ulimit -Hn"])
        .output()
        .expect("bash runs");
    let s = String::from_utf8_lossy(&o.stdout).trim().to_string();
    if s == "unlimited" {
        u64::MAX
    } else {
        s.parse().expect("a number")
    }
}

#[test]
fn a_soft_limit_of_1024_is_raised_to_the_hard_one() {
    let hard = hard_limit();
    if hard < 4_064 {
        eprintln!("skipped: the hard limit {hard} is too low for this test's fleet");
        return;
    }
    let o = under_ulimit(
        "-Sn 1024",
        "run suites/smoke.yaml --agents 2000 --dry-run --color never",
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(0), "{err}");
    let shown = if hard == u64::MAX {
        String::new()
    } else {
        format!(", this process may open {}", thousands(hard))
    };
    assert!(
        err.contains(&format!("open files: the fleet needs about 4,064{shown}")),
        "{err}"
    );
}

#[test]
fn a_hard_limit_of_1024_refuses_the_fleet_before_any_request() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("reports");
    for extra in ["--dry-run", "--duration 1s"] {
        let o = under_ulimit(
            "-n 1024",
            &format!(
                "run suites/smoke.yaml --agents 2000 {extra} --color never --out '{}'",
                out.display()
            ),
        );
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{extra}: {err}");
        assert_eq!(
            err.trim_end(),
            "error: the fleet needs about 4,064 open files (2,000 agents × 2 (the embedded \
             simulator holds the other end in this process) + 64) but this process may open \
             1,024 (soft limit, hard limit 1,024): split the fleet into 5 shards (`--shard \
             I/5`, one process each, e.g. one per machine or pod), or raise the hard limit \
             (`ulimit -Hn` as root, systemd's LimitNOFILE=, or the container runtime's nofile \
             ulimit)",
            "{extra}"
        );
        assert!(!out.exists(), "{extra}: nothing was started");
    }
}

#[test]
fn each_of_five_shards_fits_where_the_whole_fleet_did_not() {
    let o = under_ulimit(
        "-n 1024",
        "run suites/smoke.yaml --agents 2000 --shard 3/5 --dry-run --color never",
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(0), "{err}");
    assert!(
        err.contains("open files: the fleet needs about 864, this process may open 1,024"),
        "{err}"
    );
}
