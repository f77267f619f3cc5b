//! The user-facing CI files under `ci/`: the Kubernetes manifests here; the GitHub Actions
//! workflow, the GitLab CI pipeline and the Dockerfile in `ci_github`, `ci_gitlab` and
//! `ci_dockerfile`, with what they share in `ci_common`.
//!
//! Every `aeapi-harness` command line of the pipelines is cut out of its script with a small
//! shell tokenizer, its variables are filled in from the file's own `env:`/`variables:` and from
//! plausible values of what the CI provides, and the result is parsed with the harness's real
//! clap definition: a renamed flag fails here. The Kubernetes container scripts are run for real
//! with `sh` and a stand-in `aeapi-harness` that records its arguments. The manifests are
//! checked for the structure a sharded run needs and, where the tools are installed, built with
//! `kubectl kustomize` and validated against Kubernetes 1.32's schemas (`kubernetes-validate`).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command as Process;

use aeapi_harness::cli::{Cli, Command};
use clap::Parser;
use serde_yaml::Value;

use crate::ci_common::*;

// ------------------------------------------------------------------------------------------------
// Kubernetes

const K8S: &str = "ci/kubernetes";
/// The capacity search's Job, in a kustomization of its own (so applying the run never starts
/// a search, nor the other way round).
pub const CAPACITY_JOB: &str = "capacity/capacity-job.yaml";

pub fn k8s(file: &str) -> Value {
    yaml(&format!("{K8S}/{file}"))
}

/// Every container of a Job's pod template, init containers first.
fn containers(job: &Value) -> Vec<&Value> {
    let spec = &job["spec"]["template"]["spec"];
    seq(&spec["initContainers"])
        .iter()
        .chain(seq(&spec["containers"]))
        .collect()
}

fn env_entry<'a>(container: &'a Value, name: &str) -> Option<&'a Value> {
    seq(&container["env"])
        .iter()
        .find(|e| e["name"].as_str() == Some(name))
}

fn env_value(container: &Value, name: &str) -> Option<String> {
    env_entry(container, name).and_then(|e| scalar(&e["value"]))
}

fn script_of(container: &Value) -> String {
    let cmd: Vec<&str> = seq(&container["command"])
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(
        cmd.get(..2),
        Some(&["/bin/sh", "-c"][..]),
        "{}: command must be /bin/sh -c SCRIPT",
        str_at(container, &["name"])
    );
    cmd[2].to_string()
}

/// The volume name mounted at `path` in `container`, and the claim behind it.
fn claim_at(job: &Value, container: &Value, path: &str) -> Option<String> {
    let mount = seq(&container["volumeMounts"])
        .iter()
        .find(|m| m["mountPath"].as_str() == Some(path))?;
    let volume = seq(&job["spec"]["template"]["spec"]["volumes"])
        .iter()
        .find(|v| v["name"] == mount["name"])?;
    volume["persistentVolumeClaim"]["claimName"]
        .as_str()
        .map(String::from)
}

/// The kustomization in `K8S/sub` lists every manifest beside it.
fn assert_lists_every_manifest(kustomization: &Value, sub: &str) {
    let resources: BTreeSet<String> = seq(&kustomization["resources"])
        .iter()
        .filter_map(|r| r.as_str().map(String::from))
        .collect();
    let on_disk: BTreeSet<String> = std::fs::read_dir(root().join(K8S).join(sub))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".yaml") && n != "kustomization.yaml")
        .collect();
    assert_eq!(
        resources, on_disk,
        "{K8S}/{sub}: kustomization.yaml must list every manifest"
    );
}

#[test]
fn kubernetes_manifests_form_a_sharded_run_and_a_merge() {
    let kustomization = k8s("kustomization.yaml");
    assert_lists_every_manifest(&kustomization, "");

    let pvc = k8s("reports-pvc.yaml");
    assert_eq!(pvc["kind"], "PersistentVolumeClaim");
    let claim = str_at(&pvc, &["metadata", "name"]);
    assert!(
        seq(&pvc["spec"]["accessModes"])
            .iter()
            .any(|m| m == "ReadWriteMany"),
        "shards on several nodes share the volume: ReadWriteMany"
    );

    let shards = k8s("shards-job.yaml");
    let merge = k8s("merge-job.yaml");
    for job in [&shards, &merge] {
        assert_eq!(job["kind"], "Job");
        assert_eq!(str_at(job, &["apiVersion"]), "batch/v1");
        assert_eq!(
            str_at(job, &["spec", "template", "spec", "restartPolicy"]),
            "Never"
        );
        assert_eq!(
            job["spec"]["backoffLimit"].as_u64(),
            Some(0),
            "{}: no retries: a retried shard loads at another time, a merge verdict is final",
            str_at(job, &["metadata", "name"])
        );
    }
    let spec = &shards["spec"];
    assert_eq!(str_at(spec, &["completionMode"]), "Indexed");
    let completions = all_shards_at_once(spec, "every shard runs at once");

    let image = str_at(&kustomization, &["images", "0", "name"]);
    let image = if image.is_empty() {
        seq(&kustomization["images"])
            .first()
            .and_then(|i| i["name"].as_str())
            .unwrap_or("")
    } else {
        image
    };
    let run_ref =
        |c: &Value| env_entry(c, "RUN_ID").map(|e| e["valueFrom"]["configMapKeyRef"].clone());
    let shard_container = containers(&shards)[0];
    let run_id_source = run_ref(shard_container).expect("RUN_ID from a ConfigMap");
    assert!(
        run_id_source.is_mapping(),
        "RUN_ID comes from a ConfigMap key"
    );
    for (job, c) in containers(&shards)
        .into_iter()
        .map(|c| (&shards, c))
        .chain(containers(&merge).into_iter().map(|c| (&merge, c)))
    {
        let who = format!(
            "{} / {}",
            str_at(job, &["metadata", "name"]),
            str_at(c, &["name"])
        );
        assert_eq!(
            str_at(c, &["image"]),
            image,
            "{who}: the kustomization's image"
        );
        assert_eq!(
            env_value(c, "SHARDS").and_then(|s| s.parse::<u64>().ok()),
            Some(completions),
            "{who}: SHARDS must equal the Indexed Job's completions"
        );
        let reports = env_value(c, "REPORTS_DIR").expect("REPORTS_DIR");
        assert_eq!(
            claim_at(job, c, &reports).as_deref(),
            Some(claim),
            "{who}: REPORTS_DIR must be the shared claim {claim}"
        );
        assert_eq!(
            run_ref(c).as_ref(),
            Some(&run_id_source),
            "{who}: one RUN_ID for the shards and the merge"
        );
        assert_eq!(
            c["securityContext"]["allowPrivilegeEscalation"].as_bool(),
            Some(false),
            "{who}"
        );
    }
    // The suite comes from the ConfigMap of suites mounted at its directory.
    let suite = env_value(shard_container, "SUITE").expect("SUITE");
    let dir = Path::new(&suite).parent().unwrap().to_str().unwrap();
    let mount = seq(&shard_container["volumeMounts"])
        .iter()
        .find(|m| m["mountPath"].as_str() == Some(dir))
        .unwrap_or_else(|| panic!("nothing mounted at {dir}"));
    let volume = seq(&spec["template"]["spec"]["volumes"])
        .iter()
        .find(|v| v["name"] == mount["name"])
        .unwrap();
    assert!(
        volume["configMap"]["name"].is_string(),
        "suites from a ConfigMap"
    );
}

#[test]
fn kubernetes_secrets_come_from_a_secret() {
    let mut errors = Vec::new();
    for file in [
        "shards-job.yaml",
        "merge-job.yaml",
        "reports-pvc.yaml",
        CAPACITY_JOB,
    ] {
        let doc = k8s(file);
        if doc["kind"] == "Secret" {
            errors.push(format!("{file}: no Secret with values in the repository"));
        }
        if doc["kind"] != "Job" {
            continue;
        }
        for c in containers(&doc) {
            let who = format!("{file} / {}", str_at(c, &["name"]));
            for e in seq(&c["env"]) {
                let name = str_at(e, &["name"]);
                let from_secret = e["valueFrom"]["secretKeyRef"].is_mapping();
                if SECRETS.contains(&name) && (!from_secret || !e["value"].is_null()) {
                    errors.push(format!("{who}: {name} must come from a secretKeyRef"));
                }
                if from_secret && e["valueFrom"]["secretKeyRef"]["key"].as_str() != Some(name) {
                    errors.push(format!("{who}: {name} must read the Secret's key {name}"));
                }
            }
            for e in seq(&c["envFrom"]) {
                if !(e["secretRef"].is_mapping() || e["configMapRef"].is_mapping()) {
                    errors.push(format!("{who}: envFrom only from a Secret or ConfigMap"));
                }
            }
        }
    }
    // The shard reads every secret its suite names, from the Secret.
    let shards = k8s("shards-job.yaml");
    let c = containers(&shards)[0];
    let suite = env_value(c, "SUITE").unwrap();
    let file = root()
        .join("suites")
        .join(Path::new(&suite).file_name().unwrap());
    for name in suite_env_refs(&file) {
        if !env_entry(c, &name).is_some_and(|e| e["valueFrom"]["secretKeyRef"].is_mapping()) {
            errors.push(format!(
                "shards-job.yaml: {suite} reads ${{{name}}}: take it from the Secret"
            ));
        }
    }
    let text = [
        read(&format!("{K8S}/shards-job.yaml")),
        read(&format!("{K8S}/merge-job.yaml")),
        read(&format!("{K8S}/{CAPACITY_JOB}")),
    ]
    .join("\n");
    if text.contains("set -x") {
        errors.push("a container script runs `set -x`".into());
    }
    assert_no_errors(K8S, &errors);
}

// ------------------------------------------------------------------------------------------------
// The Kubernetes container scripts, run for real with a stand-in `aeapi-harness`.

/// A stand-in `aeapi-harness` in `dir/bin`: writes its arguments one per line to
/// `$STUB_ARGS` (and to `$STUB_ARGS.<subcommand>`), creates `rundata.json` and `summary.json`
/// (and `capacity.json` for `capacity`) in its `--out` directory, and exits with `$STUB_EXIT`.
#[cfg(unix)]
fn stub_harness(dir: &Path) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let stub = bin.join("aeapi-harness");
    std::fs::write(
        &stub,
        r#"#!/bin/sh
printf '%s\n' "$@" > "$STUB_ARGS"
printf '%s\n' "$@" > "$STUB_ARGS.$1"
out=""
prev=""
for a in "$@"; do
  if [ "$prev" = --out ]; then out="$a"; fi
  prev="$a"
done
if [ -n "$out" ]; then
  mkdir -p "$out"
  echo '{}' > "$out/rundata.json"
  echo '{}' > "$out/summary.json"
  if [ "$1" = capacity ]; then echo '{}' > "$out/capacity.json"; fi
fi
if [ -n "${STUB_WAIT_FOR_TERM:-}" ]; then
  trap 'echo TERM > "$STUB_ARGS.term"; exit 3' TERM
  : > "$STUB_ARGS.started"
  i=0
  while [ "$i" -lt 300 ]; do sleep 0.1; i=$((i + 1)); done
  exit 9
fi
exit "${STUB_EXIT:-0}"
"#,
    )
    .unwrap();
    std::fs::set_permissions(&stub, std::fs::Permissions::from_mode(0o755)).unwrap();
    bin
}

/// Runs a container's script with the container's plain env, `extra` on top, REPORTS_DIR in
/// `reports`, RUN_ID `run`, and the stub first on PATH. Returns (exit code, stdout+stderr).
#[cfg(unix)]
fn run_script(
    container: &Value,
    bin: &Path,
    reports: &Path,
    run: &str,
    extra: &[(&str, &str)],
) -> (i32, String) {
    let mut cmd = Process::new("/bin/sh");
    cmd.arg("-c").arg(script_of(container)).env_clear();
    for e in seq(&container["env"]) {
        if let Some(v) = scalar(&e["value"]) {
            cmd.env(str_at(e, &["name"]), v);
        } else if e["valueFrom"]["secretKeyRef"].is_mapping() {
            cmd.env(str_at(e, &["name"]), "secret-value");
        }
    }
    cmd.env("PATH", format!("{}:/usr/bin:/bin", bin.display()))
        .env("REPORTS_DIR", reports)
        .env("RUN_ID", run);
    for (k, v) in extra {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("/bin/sh runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().unwrap_or(-1), text)
}

/// Runs a pod's script as pod `index` + 1 of run `r1`, the stub exiting `harness_exit` and
/// writing its arguments to `stub_args`, with `extra` env on top.
#[cfg(unix)]
fn run_pod(
    container: &Value,
    bin: &Path,
    reports: &Path,
    (index, harness_exit): (u32, u32),
    stub_args: &str,
    extra: &[(&str, &str)],
) -> (i32, String) {
    let (index, exit) = (index.to_string(), harness_exit.to_string());
    let mut env = vec![
        ("JOB_COMPLETION_INDEX", index.as_str()),
        ("STUB_ARGS", stub_args),
        ("STUB_EXIT", exit.as_str()),
    ];
    env.extend_from_slice(extra);
    run_script(container, bin, reports, "r1", &env)
}

/// What the stub was called with, parsed with the real CLI.
#[cfg(unix)]
fn stub_invocation(origin: &str, args_file: &Path) -> Invocation {
    let text = std::fs::read_to_string(args_file)
        .unwrap_or_else(|e| panic!("{origin}: the script did not call aeapi-harness: {e}"));
    let argv: Vec<String> = std::iter::once("aeapi-harness".to_string())
        .chain(text.lines().map(String::from))
        .collect();
    let cli = Cli::try_parse_from(&argv)
        .unwrap_or_else(|e| panic!("{origin}: `{}`:\n{e}", argv.join(" ")));
    Invocation {
        origin: origin.to_string(),
        argv,
        cli,
    }
}

#[cfg(unix)]
#[test]
fn kubernetes_shard_script_runs_its_shard_and_maps_exit_codes() {
    let shards = k8s("shards-job.yaml");
    let c = containers(&shards)[0];
    let n: u32 = env_value(c, "SHARDS").unwrap().parse().unwrap();
    let suite = env_value(c, "SUITE").unwrap();
    let target = env_value(c, "AEAPI_TARGET").unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let bin = stub_harness(tmp.path());
    let reports = tmp.path().join("reports");
    let args = tmp.path().join("args");
    let args_s = args.to_str().unwrap();
    let mut errors = Vec::new();
    for index in 0..n {
        for (harness_exit, pod_exit) in [(0, 0), (1, 0), (2, 2), (3, 3)] {
            let _ = std::fs::remove_file(&args);
            let (code, output) = run_pod(c, &bin, &reports, (index, harness_exit), args_s, &[]);
            assert_eq!(
                code, pod_exit,
                "shard index {index}, harness exit {harness_exit}: pod exit\n{output}"
            );
            let inv = stub_invocation("shards-job.yaml", &args);
            assert!(
                matches!(inv.cli.command, Command::Run(_)),
                "not `run`: {:?}",
                inv.argv
            );
            let dir = reports.join("r1").join(format!("shard-{}", index + 1));
            // Every shard meets the others in one directory of this run, fresh per RUN_ID.
            let meet = reports.join("r1").join("rendezvous");
            assert_shard_flags(&inv, (&suite, &target), &dir, (index + 1, n), &meet);
            assert!(
                !dir.starts_with(reports.join("r1").join("rendezvous")),
                "a shard's report directory (wiped at start) is not the rendezvous"
            );
            assert_eq!(
                std::fs::read_to_string(dir.join("exit-code"))
                    .unwrap()
                    .trim(),
                harness_exit.to_string(),
                "the exit-code marker holds the harness's exit code"
            );
            if index == 0 && harness_exit == 0 {
                check_invocation(
                    &inv,
                    &|p| root().join("suites").join(p.file_name().unwrap()),
                    &K8sEnv(c),
                    &mut errors,
                );
            }
        }
    }
    assert_no_errors("shards-job.yaml", &errors);
}

/// Asserts what a pod passed the harness to drive its shard: the suite, `--target`, `--out`,
/// `--shard` (I, N), `--rendezvous DIR` and `--rendezvous-timeout 10m`.
fn assert_shard_flags(
    inv: &Invocation,
    (suite, target): (&str, &str),
    out: &Path,
    shard: (u32, u32),
    meet: &Path,
) {
    let (s, t, sh, r, timeout) = match &inv.cli.command {
        Command::Run(a) => (
            &a.suite,
            &a.target,
            a.shard,
            &a.rendezvous,
            a.rendezvous_timeout,
        ),
        Command::Capacity(a) => (
            &a.suite,
            &a.target,
            a.shard,
            &a.rendezvous,
            a.rendezvous_timeout,
        ),
        other => panic!("{}: not a shard: {other:?}", inv.origin),
    };
    assert_eq!(
        (
            s.as_path(),
            t.target.as_deref(),
            t.out.as_deref(),
            sh.map(|s| (s.index, s.count)),
            r.as_deref(),
            timeout.map(|d| d.0),
        ),
        (
            Path::new(suite),
            Some(target),
            Some(out),
            Some(shard),
            Some(meet),
            Some(std::time::Duration::from_secs(600)),
        ),
        "{:?}",
        inv.argv
    );
}

/// A container's env as the harness sees it.
struct K8sEnv<'a>(&'a Value);

impl Env for K8sEnv<'_> {
    fn provides(&self, name: &str) -> Provided {
        match env_entry(self.0, name) {
            None => Provided::No,
            Some(e) if e["valueFrom"]["secretKeyRef"].is_mapping() => Provided::Secret,
            Some(_) => Provided::Plain,
        }
    }
}

#[cfg(unix)]
#[test]
fn kubernetes_shard_script_passes_sigterm_to_the_harness() {
    for (file, dir) in [
        ("shards-job.yaml", "shard-2"),
        (CAPACITY_JOB, "capacity-shard-2"),
    ] {
        sigterm_reaches_the_harness(file, dir);
    }
}

/// The pod script of `file`, as pod 2 (its report directory `r1/dir`), is sent SIGTERM.
#[cfg(unix)]
fn sigterm_reaches_the_harness(file: &str, dir: &str) {
    let job = k8s(file);
    let c = containers(&job)[0];
    let tmp = tempfile::tempdir().unwrap();
    let bin = stub_harness(tmp.path());
    let reports = tmp.path().join("reports");
    let args = tmp.path().join("args");
    let mut cmd = Process::new("/bin/sh");
    cmd.arg("-c").arg(script_of(c)).env_clear();
    for e in seq(&c["env"]) {
        if let Some(v) = scalar(&e["value"]) {
            cmd.env(str_at(e, &["name"]), v);
        }
    }
    let mut child = cmd
        .env("PATH", format!("{}:/usr/bin:/bin", bin.display()))
        .env("REPORTS_DIR", &reports)
        .env("RUN_ID", "r1")
        .env("JOB_COMPLETION_INDEX", "1")
        .env("STUB_ARGS", &args)
        .env("STUB_WAIT_FOR_TERM", "1")
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let started = args.with_extension("started");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !started.exists() {
        assert!(
            std::time::Instant::now() < deadline,
            "the stub did not start"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let killed = Process::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = child.wait().unwrap();
    assert!(
        args.with_extension("term").exists(),
        "{file}: SIGTERM must reach the harness"
    );
    assert_eq!(
        status.code(),
        Some(3),
        "{file}: the harness's exit code after SIGTERM"
    );
    assert_eq!(
        std::fs::read_to_string(reports.join("r1").join(dir).join("exit-code"))
            .unwrap()
            .trim(),
        "3",
        "{file}"
    );
}

#[cfg(unix)]
#[test]
fn kubernetes_merge_waits_for_the_shards_and_merges_them() {
    let merge = k8s("merge-job.yaml");
    let all = containers(&merge);
    assert_eq!(all.len(), 2, "an init container that waits, then the merge");
    let (wait, merger) = (all[0], all[1]);
    let n: u32 = env_value(merger, "SHARDS").unwrap().parse().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let bin = stub_harness(tmp.path());
    let reports = tmp.path().join("reports");
    let args = tmp.path().join("args");
    let args_s = args.to_str().unwrap();
    let shard_dir = |run: &str, i: u32| reports.join(run).join(format!("shard-{i}"));
    let finish = |run: &str, i: u32| {
        std::fs::create_dir_all(shard_dir(run, i)).unwrap();
        std::fs::write(shard_dir(run, i).join("rundata.json"), "{}").unwrap();
        std::fs::write(shard_dir(run, i).join("exit-code"), "0\n").unwrap();
    };
    let merged = |extra: &[(&str, &str)], run: &str| {
        let _ = std::fs::remove_file(&args);
        let mut env = vec![("STUB_ARGS", args_s)];
        env.extend_from_slice(extra);
        let (code, output) = run_script(merger, &bin, &reports, run, &env);
        let inv = stub_invocation("merge-job.yaml", &args);
        (code, output, inv)
    };
    let merge_args = |inv: &Invocation| match &inv.cli.command {
        Command::Merge(a) => (
            a.dirs.iter().cloned().collect::<BTreeSet<_>>(),
            a.out.clone(),
            a.baseline.clone(),
        ),
        other => panic!("not a merge: {other:?}"),
    };

    // All but the last shard finished: the wait gives up after SHARD_WAIT_SECONDS and the merge
    // takes the shards there are (merge itself reports the missing one).
    for i in 1..n {
        finish("r1", i);
    }
    let (code, output) = run_script(wait, &bin, &reports, "r1", &[("SHARD_WAIT_SECONDS", "0")]);
    assert_eq!(code, 0, "{output}");
    assert!(output.contains(&format!("shard(s) {n}")), "{output}");
    finish("r1", n);
    let (code, output) = run_script(wait, &bin, &reports, "r1", &[("SHARD_WAIT_SECONDS", "0")]);
    assert_eq!(code, 0, "{output}");
    assert!(output.contains("all"), "{output}");

    // Run r1: every shard, no baseline yet; green, so it becomes the last green run.
    let (code, output, inv) = merged(&[("STUB_EXIT", "0")], "r1");
    assert_eq!(code, 0, "{output}");
    let (dirs, out, baseline) = merge_args(&inv);
    let expected: BTreeSet<PathBuf> = (1..=n).map(|i| shard_dir("r1", i)).collect();
    assert_eq!(dirs, expected);
    assert_eq!(out, reports.join("r1/merged"));
    assert_eq!(baseline, None);
    assert_eq!(
        std::fs::read_to_string(reports.join("last-green"))
            .unwrap()
            .trim(),
        "r1"
    );

    // Run r2, one shard missing: compared with r1; its failure (exit 3) is the Job's, and r1
    // stays the last green run.
    for i in 2..=n {
        finish("r2", i);
    }
    let (code, output, inv) = merged(&[("STUB_EXIT", "3")], "r2");
    assert_eq!(code, 3, "{output}");
    let (dirs, _, baseline) = merge_args(&inv);
    assert_eq!(dirs.len() as u32, n - 1);
    assert_eq!(baseline, Some(reports.join("r1/merged")));
    assert_eq!(
        std::fs::read_to_string(reports.join("r2/merged/exit-code"))
            .unwrap()
            .trim(),
        "3"
    );
    assert_eq!(
        std::fs::read_to_string(reports.join("last-green"))
            .unwrap()
            .trim(),
        "r1"
    );

    // BASELINE chooses: `none` compares with nothing, a path with that run.
    let (_, _, inv) = merged(&[("STUB_EXIT", "1"), ("BASELINE", "none")], "r2");
    assert_eq!(merge_args(&inv).2, None);
    let (code, _, inv) = merged(
        &[("STUB_EXIT", "1"), ("BASELINE", "/reports/x/merged")],
        "r2",
    );
    assert_eq!(code, 1);
    assert_eq!(merge_args(&inv).2, Some(PathBuf::from("/reports/x/merged")));

    // No shard left anything: a harness error, and the harness is not called.
    let _ = std::fs::remove_file(&args);
    let (code, output) = run_script(merger, &bin, &reports, "r3", &[("STUB_ARGS", args_s)]);
    assert_eq!(code, 3, "{output}");
    assert!(!args.exists(), "merge must not run without shards");
}

#[test]
fn kubernetes_capacity_job_is_a_sharded_search_beside_the_run() {
    let kustomization = k8s("capacity/kustomization.yaml");
    assert_lists_every_manifest(&kustomization, "capacity");
    assert_eq!(
        kustomization["images"],
        k8s("kustomization.yaml")["images"],
        "the run's image"
    );

    let job = k8s(CAPACITY_JOB);
    let shards = k8s("shards-job.yaml");
    assert_eq!(job["kind"], "Job");
    assert_eq!(str_at(&job, &["apiVersion"]), "batch/v1");
    assert_ne!(
        str_at(&job, &["metadata", "name"]),
        str_at(&shards, &["metadata", "name"])
    );
    let spec = &job["spec"];
    assert_eq!(str_at(spec, &["completionMode"]), "Indexed");
    assert_eq!(
        spec["backoffLimit"].as_u64(),
        Some(0),
        "a retried shard steps out of lockstep"
    );
    assert_eq!(
        str_at(spec, &["template", "spec", "restartPolicy"]),
        "Never"
    );
    let completions = all_shards_at_once(spec, "every shard at once");
    let all = containers(&job);
    assert_eq!(
        all.len(),
        1,
        "the search and (pod 1) the merge, in one container"
    );
    let c = all[0];
    assert_eq!(
        env_value(c, "SHARDS").and_then(|s| s.parse::<u64>().ok()),
        Some(completions),
        "SHARDS must equal the Indexed Job's completions"
    );
    let claim = str_at(&k8s("reports-pvc.yaml"), &["metadata", "name"]).to_string();
    let reports = env_value(c, "REPORTS_DIR").expect("REPORTS_DIR");
    assert_eq!(
        claim_at(&job, c, &reports),
        Some(claim),
        "the shared volume"
    );
    let run_ref =
        |c: &Value| env_entry(c, "RUN_ID").map(|e| e["valueFrom"]["configMapKeyRef"].clone());
    assert_eq!(
        run_ref(c),
        run_ref(containers(&shards)[0]),
        "RUN_ID from the run's ConfigMap"
    );
    assert_eq!(
        str_at(c, &["image"]),
        str_at(containers(&shards)[0], &["image"])
    );
    assert_eq!(
        c["securityContext"]["allowPrivilegeEscalation"].as_bool(),
        Some(false)
    );
    assert_eq!(
        job["spec"]["template"]["spec"]["securityContext"],
        shards["spec"]["template"]["spec"]["securityContext"],
        "the run's user and volume group"
    );
    // The suite's secrets from the Secret, as the run's.
    for name in SECRETS {
        assert!(
            env_entry(c, name).is_some_and(|e| e["valueFrom"]["secretKeyRef"]["key"] == name),
            "{name} from the Secret"
        );
    }
    assert!(!script_of(c).contains("set -x"));
}

#[cfg(unix)]
#[test]
fn kubernetes_capacity_script_steps_in_lockstep_and_pod_1_merges() {
    let job = k8s(CAPACITY_JOB);
    let c = containers(&job)[0];
    let n: u32 = env_value(c, "SHARDS").unwrap().parse().unwrap();
    let suite = env_value(c, "SUITE").unwrap();
    let target = env_value(c, "AEAPI_TARGET").unwrap();
    let number = |name: &str| -> f64 { env_value(c, name).unwrap().parse().unwrap() };
    let tmp = tempfile::tempdir().unwrap();
    let bin = stub_harness(tmp.path());
    let reports = tmp.path().join("reports");
    let args = tmp.path().join("args");
    let args_s = args.to_str().unwrap();
    let of = |sub: &str| PathBuf::from(format!("{args_s}.{sub}"));
    let shard_dir = |i: u32| reports.join("r1").join(format!("capacity-shard-{i}"));
    let mut errors = Vec::new();
    for index in (0..n).rev() {
        // Pods 2..N exit 0 on 1 (the merge decides); pod 1's exit is its merge's (the stub
        // exits alike for both calls).
        for (harness_exit, pod_exit) in [(0, 0), (1, u32::from(index == 0)), (2, 2), (3, 3)] {
            for sub in ["capacity", "merge"] {
                let _ = std::fs::remove_file(of(sub));
            }
            let (code, output) = run_pod(
                c,
                &bin,
                &reports,
                (index, harness_exit),
                args_s,
                &[("SHARD_WAIT_SECONDS", "0")],
            );
            assert_eq!(
                code as u32,
                pod_exit,
                "pod {}, harness exit {harness_exit}: pod exit\n{output}",
                index + 1
            );
            let inv = stub_invocation(CAPACITY_JOB, &of("capacity"));
            let argv = &inv.argv;
            let Command::Capacity(a) = &inv.cli.command else {
                panic!("not `capacity`: {argv:?}");
            };
            let meet = reports.join("r1").join("capacity-rendezvous");
            let out = shard_dir(index + 1);
            assert_shard_flags(&inv, (&suite, &target), &out, (index + 1, n), &meet);
            assert_eq!(
                (a.from, a.to, a.step),
                (number("FROM"), number("TO"), Some(number("STEP"))),
                "{argv:?}"
            );
            assert_eq!(a.require, None, "REQUIRE is empty: no gate");
            assert_eq!(
                std::fs::read_to_string(shard_dir(index + 1).join("exit-code"))
                    .unwrap()
                    .trim(),
                harness_exit.to_string()
            );
            if harness_exit == 0 {
                // Every shard's share of the lightest step, and the pool for the heaviest.
                check_invocation(
                    &inv,
                    &|p| root().join("suites").join(p.file_name().unwrap()),
                    &K8sEnv(c),
                    &mut errors,
                );
            }
            if index > 0 {
                assert!(!of("merge").exists(), "only pod 1 merges");
                continue;
            }
            // Pod 1 ran last: every shard's search is there, and it merged them all.
            let merged = stub_invocation(CAPACITY_JOB, &of("merge"));
            let Command::Merge(m) = &merged.cli.command else {
                panic!("not `merge`: {:?}", merged.argv);
            };
            let dirs: BTreeSet<PathBuf> = m.dirs.iter().cloned().collect();
            assert_eq!(dirs, (1..=n).map(shard_dir).collect::<BTreeSet<_>>());
            assert_eq!(m.out, reports.join("r1").join("capacity-merged"));
            assert_eq!(m.baseline, None);
        }
    }
    assert_no_errors(CAPACITY_JOB, &errors);

    // REQUIRE gates; a shard that never finished is left out after SHARD_WAIT_SECONDS.
    std::fs::remove_dir_all(shard_dir(n)).unwrap();
    let (code, output) = run_pod(
        c,
        &bin,
        &reports,
        (0, 0),
        args_s,
        &[("SHARD_WAIT_SECONDS", "0"), ("REQUIRE", "12")],
    );
    assert_eq!(code, 0, "{output}");
    assert!(output.contains(&format!("shard(s) {n}")), "{output}");
    let inv = stub_invocation(CAPACITY_JOB, &of("capacity"));
    let Command::Capacity(a) = &inv.cli.command else {
        panic!("not `capacity`");
    };
    assert_eq!(a.require, Some(12.0));
    let merged = stub_invocation(CAPACITY_JOB, &of("merge"));
    let Command::Merge(m) = &merged.cli.command else {
        panic!("not `merge`");
    };
    assert_eq!(m.dirs.len() as u32, n - 1);
}

// ------------------------------------------------------------------------------------------------
// Offline validation with the tools, where they are installed.

fn tool_works(cmd: &str, args: &[&str]) -> bool {
    Process::new(cmd)
        .args(args)
        .output()
        .is_ok_and(|o| o.status.success())
}

/// `kubectl kustomize ci/kubernetes`: kubectl's own build of the kustomization, offline.
fn kustomize_build() -> Option<String> {
    kustomize_build_of(K8S)
}

/// `kubectl kustomize DIR`, offline.
fn kustomize_build_of(dir: &str) -> Option<String> {
    if !tool_works("kubectl", &["version", "--client"]) {
        eprintln!("note: kubectl is not on PATH; `kubectl kustomize {dir}` not checked");
        return None;
    }
    let out = Process::new("kubectl")
        .args(["kustomize", dir])
        .current_dir(root())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "kubectl kustomize {dir}:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some(String::from_utf8(out.stdout).unwrap())
}

#[test]
fn kubectl_kustomize_builds_the_manifests() {
    let Some(built) = kustomize_build() else {
        return;
    };
    use serde::Deserialize;
    let docs: Vec<Value> = serde_yaml::Deserializer::from_str(&built)
        .map(|d| Value::deserialize(d).unwrap())
        .collect();
    let kinds: BTreeSet<String> = docs
        .iter()
        .map(|d| {
            format!(
                "{}/{}",
                str_at(d, &["kind"]),
                str_at(d, &["metadata", "name"])
            )
        })
        .collect();
    assert_eq!(
        kinds,
        [
            "Job/aeapi-harness-merge",
            "Job/aeapi-harness-shards",
            "PersistentVolumeClaim/aeapi-harness-reports"
        ]
        .map(String::from)
        .into(),
    );
    let kustomization = k8s("kustomization.yaml");
    let img = &seq(&kustomization["images"])[0];
    let want = format!(
        "{}:{}",
        str_at(img, &["newName"]),
        scalar(&img["newTag"]).unwrap()
    );
    for d in docs.iter().filter(|d| d["kind"] == "Job") {
        for c in containers(d) {
            assert_eq!(str_at(c, &["image"]), want);
            // The YAML anchors of merge-job.yaml came out as plain values.
            assert!(env_value(c, "SHARDS").is_some());
        }
    }
}

/// `python3 -m kubernetes_validate --strict -k 1.32.0 FILES`: (passed, output).
fn kubernetes_validate(files: &[PathBuf]) -> (bool, String) {
    let out = Process::new("python3")
        .args(["-m", "kubernetes_validate", "--strict", "-k", "1.32.0"])
        .args(files)
        .output()
        .unwrap();
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

#[test]
fn manifests_validate_against_the_kubernetes_1_32_schemas() {
    if !tool_works("python3", &["-c", "import kubernetes_validate"]) {
        eprintln!(
            "note: the PyPI package kubernetes-validate is not installed (.ci/run installs it); \
             schema validation of {K8S} not run"
        );
        return;
    }
    let manifests: Vec<PathBuf> = [
        "reports-pvc.yaml",
        "shards-job.yaml",
        "merge-job.yaml",
        CAPACITY_JOB,
    ]
    .iter()
    .map(|f| root().join(K8S).join(f))
    .collect();
    let (ok, output) = kubernetes_validate(&manifests);
    assert!(ok, "{output}");
    assert_eq!(output.matches("passed").count(), 4, "{output}");

    let tmp = tempfile::tempdir().unwrap();
    for dir in [K8S.to_string(), format!("{K8S}/capacity")] {
        if let Some(built) = kustomize_build_of(&dir) {
            let path = tmp.path().join("built.yaml");
            std::fs::write(&path, built).unwrap();
            let (ok, output) = kubernetes_validate(&[path]);
            assert!(ok, "kubectl kustomize {dir} output:\n{output}");
        }
    }

    // The validator rejects what a cluster would: an unknown field, a wrong type.
    let text = read(&format!("{K8S}/shards-job.yaml"));
    for (from, to) in [
        ("completionMode: Indexed", "completionMod: Indexed"),
        ("parallelism: 4", "parallelism: four"),
    ] {
        assert!(text.contains(from), "{from}");
        let path = tmp.path().join("broken.yaml");
        std::fs::write(&path, text.replacen(from, to, 1)).unwrap();
        let (ok, output) = kubernetes_validate(&[path]);
        assert!(!ok, "`{to}` must fail validation:\n{output}");
    }
}

/// The Indexed Job `spec`'s completions (the shard count, at least 2), checked to run in
/// parallel (`why` names the reason in the failure).
fn all_shards_at_once(spec: &Value, why: &str) -> u64 {
    let completions = spec["completions"].as_u64().expect("completions");
    assert_eq!(spec["parallelism"].as_u64(), Some(completions), "{why}");
    assert!(completions >= 2);
    completions
}
