//! The GitHub Actions workflow (`ci/github-actions.yml`): every `aeapi-harness` command line
//! parses with the real CLI, conformance publishes its JUnit and gates the release, the nightly
//! load run compares with the last green baseline, and secrets come from the secret store.

use std::collections::BTreeMap;
use std::path::Path;

use serde_yaml::Value;

use crate::ci_common::*;

// ------------------------------------------------------------------------------------------------
// GitHub Actions

const GITHUB: &str = "ci/github-actions.yml";

/// What a GitHub expression `${{ expr }}` stands for here; None: not known to this test.
fn github_expression(expr: &str, env: &BTreeMap<String, String>) -> Option<String> {
    let expr = expr.trim();
    if let Some(name) = expr.strip_prefix("secrets.") {
        return Some(format!("secret-{name}"));
    }
    if let Some(name) = expr.strip_prefix("env.") {
        return env.get(name).cloned();
    }
    Some(
        match expr {
            "vars.AEAPI_STAGING_URL" => "https://aeapi-staging.example.com",
            "vars.AEAPI_SITE_ID" => "306",
            "github.token" => "ghs_0000",
            "github.event.repository.default_branch" => "main",
            _ => return None,
        }
        .to_string(),
    )
}

/// Replaces every `${{ ... }}` of `text`; an unknown expression is an error.
fn github_substitute(text: &str, env: &BTreeMap<String, String>) -> Result<String, String> {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("${{") {
        out.push_str(&rest[..start]);
        let end = rest[start..]
            .find("}}")
            .ok_or_else(|| format!("unclosed `${{{{` in `{text}`"))?;
        let expr = &rest[start + 3..start + end];
        out.push_str(
            &github_expression(expr, env)
                .ok_or_else(|| format!("unknown expression `{}`", expr.trim()))?,
        );
        rest = &rest[start + end + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

/// One step of a GitHub job with the env it sees (workflow, job, step; later wins), raw.
struct GithubStep<'a> {
    job: String,
    name: String,
    step: &'a Value,
    env: BTreeMap<String, String>,
}

impl GithubStep<'_> {
    fn origin(&self) -> String {
        format!("{GITHUB}: {} / {}", self.job, self.name)
    }
}

impl Env for GithubStep<'_> {
    fn provides(&self, name: &str) -> Provided {
        match self.env.get(name) {
            None => Provided::No,
            Some(v) if v.trim() == format!("${{{{ secrets.{name} }}}}") => Provided::Secret,
            Some(_) => Provided::Plain,
        }
    }
}

fn github_steps(wf: &Value) -> Vec<GithubStep<'_>> {
    let top = env_map(&wf["env"]);
    let mut steps = Vec::new();
    for (job, j) in mapping(&wf["jobs"]) {
        let mut env = top.clone();
        env.extend(env_map(&j["env"]));
        for (i, s) in seq(&j["steps"]).iter().enumerate() {
            let mut env = env.clone();
            env.extend(env_map(&s["env"]));
            let name = scalar(&s["name"])
                .or_else(|| scalar(&s["uses"]))
                .unwrap_or_else(|| format!("step {}", i + 1));
            steps.push(GithubStep {
                job: job.clone(),
                name,
                step: s,
                env,
            });
        }
    }
    steps
}

/// A variable of a GitHub `run:` script: the step's env (expressions filled in), else what the
/// runner sets.
fn github_var(step: &GithubStep<'_>, name: &str) -> Option<String> {
    if let Some(v) = step.env.get(name) {
        return github_substitute(v, &step.env).ok();
    }
    Some(
        match name {
            "GITHUB_REPOSITORY" => "team/aeapi",
            "GITHUB_REF_NAME" => "v1.2.3",
            "GITHUB_PATH" => "/home/runner/work/_temp/_runner_file_commands/add_path",
            "GITHUB_STEP_SUMMARY" => "/home/runner/work/_temp/_runner_file_commands/summary",
            "PWD" => "/home/runner/work/aeapi/aeapi",
            _ => return None,
        }
        .to_string(),
    )
}

/// The `aeapi-harness` command lines of the GitHub workflow file with their jobs, and what is wrong with
/// the file around them.
fn github_invocations(wf: &Value) -> Found {
    let (mut found, mut errors) = (Vec::new(), Vec::new());
    for step in github_steps(wf) {
        let Some(run) = step.step["run"].as_str() else {
            continue;
        };
        let script = match github_substitute(run, &step.env) {
            Ok(s) => s,
            Err(e) => {
                if run.contains("aeapi-harness ") {
                    errors.push(format!("{}: {e}", step.origin()));
                }
                continue;
            }
        };
        let var = |n: &str| github_var(&step, n);
        for inv in invocations(&step.origin(), &script, &var, &mut errors) {
            check_invocation(&inv, &|p| root().join(p), &step, &mut errors);
            if step.step.get("continue-on-error").and_then(Value::as_bool) == Some(true) {
                errors.push(format!(
                    "{}: continue-on-error hides the exit code",
                    step.origin()
                ));
            }
            found.push((step.job.clone(), inv));
        }
        if run.contains("|| true") || run.contains("set +e") {
            errors.push(format!(
                "{}: the exit code must fail the step",
                step.origin()
            ));
        }
    }
    (found, errors)
}

fn runs_always(step: &Value) -> bool {
    let cond = str_at(step, &["if"]);
    cond.contains("always()") || cond.contains("!cancelled()")
}

/// The steps of `job` that use `action` (`owner/name`, any version).
fn steps_using<'a>(wf: &'a Value, job: &str, action: &str) -> Vec<&'a Value> {
    seq(&wf["jobs"][job]["steps"])
        .iter()
        .filter(|s| {
            str_at(s, &["uses"])
                .split('@')
                .next()
                .is_some_and(|u| u == action)
        })
        .collect()
}

#[test]
fn github_workflow_commands_parse_with_the_real_cli() {
    assert_conform_and_run(GITHUB, github_invocations);
}

#[test]
fn github_conformance_publishes_junit_and_gates_the_release() {
    let wf = yaml(GITHUB);
    let (found, _) = github_invocations(&wf);
    let (job, conform) = conform_command(&found);
    let out = out_of(conform).expect("conform --out, so the JUnit path is known");
    let junit = out.join("junit.xml");
    let publish = steps_using(&wf, job, "mikepenz/action-junit-report");
    assert!(
        publish.iter().any(
            |s| str_at(s, &["with", "report_paths"]) == junit.to_str().unwrap() && runs_always(s)
        ),
        "job {job} must publish {} whatever the outcome",
        junit.display()
    );
    assert!(
        steps_using(&wf, job, "actions/upload-artifact")
            .iter()
            .any(|s| Path::new(str_at(s, &["with", "path"])) == out && runs_always(s)),
        "job {job} must keep {} as an artifact",
        out.display()
    );
    let checks = str_at(&wf, &["jobs", job, "permissions", "checks"]);
    assert_eq!(checks, "write", "the JUnit check run needs checks: write");
    // The release job runs only after a passing conformance job.
    let gated: Vec<String> = mapping(&wf["jobs"])
        .into_iter()
        .filter(|(_, j)| {
            let needs = &j["needs"];
            needs.as_str() == Some(job) || seq(needs).iter().any(|n| n.as_str() == Some(job))
        })
        .filter(|(_, j)| str_at(j, &["if"]).contains("tag"))
        .map(|(name, _)| name)
        .collect();
    assert!(!gated.is_empty(), "no tag-only job needs {job}");
    for g in &gated {
        let cond = str_at(&wf, &["jobs", g, "if"]);
        assert!(
            !cond.contains("always()") && !cond.contains("failure()"),
            "job {g} must not run when {job} failed: if: {cond}"
        );
    }
    let push_tags = seq(&wf["on"]["push"]["tags"]);
    assert!(!push_tags.is_empty(), "tags must trigger the workflow");
}

#[test]
fn github_nightly_load_compares_with_the_last_green_baseline() {
    let wf = yaml(GITHUB);
    let (found, errors) = github_invocations(&wf);
    assert_no_errors(GITHUB, &errors);
    let crons: Vec<&str> = seq(&wf["on"]["schedule"])
        .iter()
        .filter_map(|s| s["cron"].as_str())
        .collect();
    assert_eq!(crons.len(), 1, "one nightly schedule");
    assert_eq!(
        crons[0].split_whitespace().count(),
        5,
        "cron `{}` has five fields",
        crons[0]
    );
    let (job, run) = baseline_run(&found);
    assert!(
        str_at(&wf, &["jobs", job, "if"]).contains("schedule"),
        "job {job} must run on the schedule"
    );
    let out = out_of(run).expect("run --out");
    let baseline = baseline_of(run).unwrap();
    // The baseline is downloaded from the newest green run's artifact...
    let steps = github_steps(&wf);
    let job_steps: Vec<&GithubStep<'_>> = steps.iter().filter(|s| &s.job == job).collect();
    let artifact = |s: &GithubStep<'_>, v: &str| github_substitute(v, &s.env).unwrap_or_default();
    let download = job_steps
        .iter()
        .find(|s| str_at(s.step, &["run"]).contains("gh run download"))
        .expect("a step that downloads the baseline");
    let dl_script = artifact(download, str_at(download.step, &["run"]));
    let name = github_var(download, "BASELINE_ARTIFACT").expect("BASELINE_ARTIFACT");
    let dir = baseline.parent().unwrap().to_str().unwrap();
    assert!(
        dl_script.contains("--name \"$BASELINE_ARTIFACT\"")
            && dl_script.contains(&format!("--dir {dir}")),
        "the download must put {name} into {dir}/:\n{dl_script}"
    );
    assert_eq!(
        str_at(&wf, &["jobs", job, "permissions", "actions"]),
        "read",
        "downloading artifacts of other runs needs actions: read"
    );
    // ...and only a passing run uploads the next one: its summary.json, under the same name.
    let uploads: Vec<&&GithubStep<'_>> = job_steps
        .iter()
        .filter(|s| str_at(s.step, &["uses"]).starts_with("actions/upload-artifact@"))
        .filter(|s| artifact(s, str_at(s.step, &["with", "name"])) == name)
        .collect();
    assert_eq!(uploads.len(), 1, "one upload of {name}");
    let up = uploads[0];
    assert_eq!(
        Path::new(str_at(up.step, &["with", "path"])),
        out.join("summary.json"),
        "the baseline is this run's summary.json"
    );
    assert_eq!(
        baseline.file_name().unwrap(),
        "summary.json",
        "the downloaded artifact holds summary.json"
    );
    let cond = str_at(up.step, &["if"]);
    assert!(
        !["always()", "cancelled()", "failure()"]
            .iter()
            .any(|f| cond.contains(f)),
        "the baseline upload must run only after a green run: if: {cond}"
    );
    let pos = |s: &GithubStep<'_>| {
        job_steps
            .iter()
            .position(|t| std::ptr::eq(t.step, s.step))
            .unwrap()
    };
    let run_step = job_steps
        .iter()
        .find(|s| str_at(s.step, &["run"]).contains("--baseline"))
        .unwrap();
    assert!(pos(download) < pos(run_step) && pos(run_step) < pos(up));
    assert!(
        steps_using(&wf, job, "mikepenz/action-junit-report")
            .iter()
            .any(
                |s| Path::new(str_at(s, &["with", "report_paths"])) == out.join("junit.xml")
                    && runs_always(s)
            ),
        "job {job} must publish its junit.xml"
    );
}

/// Every `env:` block of the workflow (its own, each job's, each step's) with where it is.
fn github_env_blocks(wf: &Value) -> Vec<(String, BTreeMap<String, String>)> {
    let mut blocks = vec![("workflow".to_string(), env_map(&wf["env"]))];
    for (job, j) in mapping(&wf["jobs"]) {
        blocks.push((job.clone(), env_map(&j["env"])));
        for s in seq(&j["steps"]) {
            blocks.push((job.clone(), env_map(&s["env"])));
        }
    }
    blocks
}

#[test]
fn github_secrets_come_from_the_secret_store() {
    let mut errors = Vec::new();
    for (at, env) in &github_env_blocks(&yaml(GITHUB)) {
        for (k, v) in env {
            let is_secret = SECRETS.contains(&k.as_str());
            if is_secret && v.trim() != format!("${{{{ secrets.{k} }}}}") {
                errors.push(format!("{at}: {k} = `{v}`: must be ${{{{ secrets.{k} }}}}"));
            }
            if !is_secret && v.contains("secrets.") {
                errors.push(format!("{at}: {k} carries a secret under another name"));
            }
        }
    }
    check_no_secret_printed(GITHUB, &mut errors);
    assert_no_errors(GITHUB, &errors);
}
