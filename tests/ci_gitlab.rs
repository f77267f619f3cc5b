//! The GitLab CI pipeline (`ci/gitlab-ci.yml`): every `aeapi-harness` command line parses with
//! the real CLI, stages and needs are in order, conformance is the test report and gates the
//! release, the nightly load run compares with the last green baseline, and no secret is in the
//! file.

use std::collections::BTreeMap;
use std::path::Path;

use serde_yaml::Value;

use crate::ci_common::*;

// ------------------------------------------------------------------------------------------------
// GitLab CI

pub const GITLAB: &str = "ci/gitlab-ci.yml";

/// Keys of a GitLab file that are not jobs.
const GITLAB_GLOBAL: [&str; 7] = [
    "stages",
    "variables",
    "default",
    "workflow",
    "include",
    "image",
    "cache",
];

/// The variables a GitLab job sees: the file's, the job's, the predefined ones and the project's
/// CI/CD settings (plausible values).
struct GitlabEnv {
    file: BTreeMap<String, String>,
}

impl GitlabEnv {
    fn of(gl: &Value, job: &Value) -> GitlabEnv {
        let mut file = env_map(&gl["variables"]);
        file.extend(env_map(&job["variables"]));
        GitlabEnv { file }
    }

    fn var(&self, name: &str) -> Option<String> {
        if let Some(v) = self.file.get(name) {
            return expand(v, &|n| self.var(n)).ok();
        }
        if SECRETS.contains(&name) {
            return Some(format!("secret-{name}"));
        }
        Some(
            match name {
                "CI_PROJECT_DIR" => "/builds/team/aeapi",
                "CI_COMMIT_TAG" => "v1.2.3",
                "CI_COMMIT_REF_SLUG" => "main",
                "CI_PIPELINE_SOURCE" => "schedule",
                "PATH" => "/usr/local/cargo/bin:/usr/bin:/bin",
                "AEAPI_STAGING_URL" => "https://aeapi-staging.example.com",
                "AEAPI_SITE_ID" => "306",
                _ => return None,
            }
            .to_string(),
        )
    }
}

impl Env for GitlabEnv {
    fn provides(&self, name: &str) -> Provided {
        if self.file.contains_key(name) {
            Provided::Plain
        } else if SECRETS.contains(&name) {
            Provided::Secret
        } else if self.var(name).is_some() {
            Provided::Plain
        } else {
            Provided::No
        }
    }
}

fn gitlab_jobs(gl: &Value) -> Vec<(String, &Value)> {
    mapping(gl)
        .into_iter()
        .filter(|(k, _)| !GITLAB_GLOBAL.contains(&k.as_str()) && !k.starts_with('.'))
        .collect()
}

/// A job's script lines (before_script and script), as one script.
fn gitlab_script(job: &Value) -> String {
    ["before_script", "script"]
        .iter()
        .flat_map(|k| seq(&job[*k]).iter().filter_map(Value::as_str))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The `aeapi-harness` command lines of the GitLab pipeline file with their jobs, and what is wrong with
/// the file around them.
fn gitlab_invocations(gl: &Value) -> Found {
    let (mut found, mut errors) = (Vec::new(), Vec::new());
    for (name, job) in gitlab_jobs(gl) {
        let env = GitlabEnv::of(gl, job);
        let script = gitlab_script(job);
        let origin = format!("{GITLAB}: {name}");
        for inv in invocations(&origin, &script, &|n| env.var(n), &mut errors) {
            check_invocation(&inv, &|p| root().join(p), &env, &mut errors);
            found.push((name.clone(), inv));
        }
        if job["allow_failure"].as_bool() == Some(true) && script.contains("aeapi-harness ") {
            errors.push(format!("{origin}: allow_failure hides the exit code"));
        }
        if script.contains("|| true") || script.contains("set +e") {
            errors.push(format!("{origin}: the exit code must fail the job"));
        }
    }
    (found, errors)
}

fn gitlab_rules(job: &Value) -> Vec<String> {
    seq(&job["rules"])
        .iter()
        .filter_map(|r| r["if"].as_str().map(String::from))
        .collect()
}

fn needs_of(job: &Value) -> Vec<String> {
    seq(&job["needs"])
        .iter()
        .filter_map(|n| n.as_str().or_else(|| n["job"].as_str()).map(String::from))
        .collect()
}

#[test]
fn gitlab_pipeline_commands_parse_with_the_real_cli() {
    let gl = assert_conform_and_run(GITLAB, gitlab_invocations);
    // Every stage a job names is declared, in order.
    let stages: Vec<&str> = seq(&gl["stages"])
        .iter()
        .filter_map(Value::as_str)
        .collect();
    for (name, job) in gitlab_jobs(&gl) {
        let stage = str_at(job, &["stage"]);
        assert!(
            stages.contains(&stage),
            "{name}: stage `{stage}` not declared"
        );
        for n in needs_of(job) {
            let theirs = str_at(&gl, &[n.as_str(), "stage"]);
            let idx = |s: &str| stages.iter().position(|x| *x == s);
            assert!(
                idx(theirs) < idx(stage),
                "{name} needs {n}, which must be in an earlier stage"
            );
        }
    }
}

#[test]
fn gitlab_conformance_is_the_test_report_and_gates_the_release() {
    let gl = yaml(GITLAB);
    let (found, _) = gitlab_invocations(&gl);
    for (name, inv) in &found {
        let job = &gl[name.as_str()];
        let out = out_of(inv).expect("--out, so the JUnit path is known");
        assert_eq!(
            Path::new(str_at(job, &["artifacts", "reports", "junit"])),
            out.join("junit.xml"),
            "{name}: artifacts:reports:junit must be its junit.xml"
        );
        assert_eq!(
            str_at(job, &["artifacts", "when"]),
            "always",
            "{name}: the report must be kept when the job fails"
        );
        assert!(
            seq(&job["artifacts"]["paths"])
                .iter()
                .any(|p| p.as_str().map(|p| Path::new(p) == out) == Some(true)),
            "{name}: keeps {} as artifacts",
            out.display()
        );
    }
    let conform = conform_command(&found).0.clone();
    let release: Vec<String> = gitlab_jobs(&gl)
        .into_iter()
        .filter(|(_, j)| needs_of(j).contains(&conform))
        .filter(|(_, j)| gitlab_rules(j).iter().any(|r| r.contains("$CI_COMMIT_TAG")))
        .map(|(n, _)| n)
        .collect();
    assert_eq!(release.len(), 1, "one tag job that needs {conform}");
    let when = |r: &Value| r["when"].as_str().unwrap_or("on_success").to_string();
    assert!(
        seq(&gl[release[0].as_str()]["rules"])
            .iter()
            .all(|r| when(r) == "on_success" || when(r) == "never"),
        "{} must run only when {conform} passed",
        release[0]
    );
    // Conformance runs in tag pipelines (it is what gates them).
    let rules = &gl[conform.as_str()]["rules"];
    let runs_on_tags = seq(rules).iter().any(|r| {
        r["if"]
            .as_str()
            .is_none_or(|c| !c.contains("CI_COMMIT_TAG"))
            && when(r) != "never"
    });
    assert!(runs_on_tags, "{conform} must run in tag pipelines");
}

#[test]
fn gitlab_nightly_load_compares_with_the_last_green_baseline() {
    let gl = yaml(GITLAB);
    let (found, _) = gitlab_invocations(&gl);
    let (name, run) = baseline_run(&found);
    let job = &gl[name.as_str()];
    assert!(
        gitlab_rules(job)
            .iter()
            .any(|r| r.contains("$CI_PIPELINE_SOURCE == \"schedule\"")),
        "{name} must run on the schedule"
    );
    let baseline = baseline_of(run).unwrap();
    let dir = baseline.parent().unwrap();
    let cache = &job["cache"];
    assert!(
        seq(&cache["paths"])
            .iter()
            .any(|p| p.as_str().map(|p| Path::new(p) == dir) == Some(true)),
        "{name}: the cache must hold {}",
        dir.display()
    );
    assert!(
        matches!(cache["when"].as_str(), None | Some("on_success")),
        "{name}: the baseline cache must be saved only by a green run"
    );
    assert!(
        !str_at(cache, &["key"]).is_empty() && cache["policy"].as_str() != Some("pull"),
        "{name}: the cache needs a key and must be uploaded"
    );
    // After the run line (reached only when it passed), its summary.json becomes the baseline.
    let out = out_of(run).unwrap();
    let lines = seq(&job["script"]);
    let run_line = lines
        .iter()
        .position(|l| l.as_str().is_some_and(|l| l.contains("--baseline")))
        .unwrap();
    let copy = format!(
        "cp {} {}",
        out.join("summary.json").display(),
        baseline.display()
    );
    let copy_line = lines
        .iter()
        .position(|l| l.as_str().is_some_and(|l| l.contains(&copy)))
        .unwrap_or_else(|| panic!("{name}: no `{copy}`"));
    assert!(
        run_line < copy_line,
        "{name}: copy the baseline after the run"
    );
}

#[test]
fn gitlab_secrets_are_not_in_the_file() {
    let gl = yaml(GITLAB);
    let mut errors = Vec::new();
    let global = ("variables".to_string(), env_map(&gl["variables"]));
    let jobs = gitlab_jobs(&gl)
        .into_iter()
        .map(|(name, job)| (name, env_map(&job["variables"])));
    for (at, vars) in std::iter::once(global).chain(jobs) {
        for s in SECRETS {
            if vars.contains_key(s) {
                errors.push(format!(
                    "{at}: {s} must be a masked CI/CD variable, not in the file"
                ));
            }
        }
    }
    let text = read(GITLAB);
    for s in SECRETS {
        if !text
            .lines()
            .any(|l| l.trim_start().starts_with('#') && l.contains(s))
        {
            errors.push(format!("{GITLAB}: the header must say to set {s}"));
        }
    }
    check_no_secret_printed(GITLAB, &mut errors);
    assert_no_errors(GITLAB, &errors);
}
