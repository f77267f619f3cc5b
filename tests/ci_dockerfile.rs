//! The Dockerfile the Kubernetes Jobs' image is built from (`ci/Dockerfile`).

use crate::ci_common::*;
use crate::ci_files::{CAPACITY_JOB, k8s};
use crate::ci_gitlab::GITLAB;

// ------------------------------------------------------------------------------------------------
// The Dockerfile the Jobs' image is built from.

/// `rust:1.95...` → (1, 95).
fn rust_image_version(image: &str) -> Option<(u32, u32)> {
    let tag = image.strip_prefix("rust:")?;
    let mut parts = tag.split(['.', '-']);
    Some((parts.next()?.parse().ok()?, parts.next()?.parse().ok()?))
}

fn crate_rust_version() -> (u32, u32) {
    let toml = read("Cargo.toml");
    let line = toml
        .lines()
        .find(|l| l.starts_with("rust-version"))
        .expect("rust-version in Cargo.toml");
    let v = line.split('"').nth(1).unwrap();
    let mut parts = v.split('.');
    (
        parts.next().unwrap().parse().unwrap(),
        parts.next().unwrap().parse().unwrap(),
    )
}

#[test]
fn dockerfile_builds_the_binary_the_jobs_run() {
    let text = read("ci/Dockerfile");
    let msrv = crate_rust_version();
    let from: Vec<&str> = text
        .lines()
        .filter_map(|l| l.strip_prefix("FROM "))
        .collect();
    assert_eq!(from.len(), 2, "multi-stage: build, then runtime");
    let builder = from[0].split_whitespace().next().unwrap();
    let v = rust_image_version(builder).expect("the build stage is a rust: image");
    assert!(v >= msrv, "{builder} is older than rust-version {msrv:?}");
    let gitlab_image = str_at(&yaml(GITLAB), &["default", "image"]).to_string();
    let v = rust_image_version(&gitlab_image).expect("GitLab builds in a rust: image");
    assert!(
        v >= msrv,
        "{gitlab_image} is older than rust-version {msrv:?}"
    );
    // What it copies from the repository exists; the binary is the crate's.
    for line in text
        .lines()
        .filter(|l| l.starts_with("COPY ") && !l.contains("--from"))
    {
        let words: Vec<&str> = line.split_whitespace().collect();
        for src in &words[1..words.len() - 1] {
            assert!(
                root().join(src).exists(),
                "COPY {src}: not in the repository"
            );
        }
    }
    let toml = read("Cargo.toml");
    assert!(toml.contains("[[bin]]\nname = \"aeapi-harness\""));
    assert!(text.contains("cargo build --release --locked"));
    assert!(text.contains("ENTRYPOINT [\"aeapi-harness\"]"));
    // The user the image runs as is the one the Jobs run as (and own the volume as).
    let user = text
        .lines()
        .find_map(|l| l.strip_prefix("USER "))
        .expect("USER");
    let uid = user.split(':').next().unwrap();
    for file in ["shards-job.yaml", "merge-job.yaml", CAPACITY_JOB] {
        let sc = &k8s(file)["spec"]["template"]["spec"]["securityContext"];
        assert_eq!(scalar(&sc["runAsUser"]).as_deref(), Some(uid), "{file}");
        assert_eq!(scalar(&sc["fsGroup"]).as_deref(), Some(uid), "{file}");
    }
    // The build context leaves target/ out (it can be many GiB).
    let ignore = read("ci/Dockerfile.dockerignore");
    assert!(ignore.lines().any(|l| l.trim() == "target"));
}
