//! The user-facing CI files under `ci/`: the GitHub Actions workflow, the GitLab CI pipeline,
//! the Kubernetes manifests and the Dockerfile.
//!
//! Every `aeapi-harness` command line of the pipelines is cut out of its script with a small
//! shell tokenizer, its variables are filled in from the file's own `env:`/`variables:` and from
//! plausible values of what the CI provides, and the result is parsed with the harness's real
//! clap definition: a renamed flag fails here. The Kubernetes container scripts are run for real
//! with `sh` and a stand-in `aeapi-harness` that records its arguments. The manifests are
//! checked for the structure a sharded run needs and, where the tools are installed, built with
//! `kubectl kustomize` and validated against Kubernetes 1.32's schemas (`kubernetes-validate`).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command as Process;

use aeapi_harness::cli::{Cli, Command, Config};
use aeapi_harness::suite::model::Target;
use clap::Parser;
use serde_yaml::Value;

/// What the harness reads from the environment and must never see written in a CI file.
const SECRETS: [&str; 3] = ["AEAPI_CLIENT_ID", "AEAPI_CLIENT_SECRET", "AGENT_PASSWORD"];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn read(rel: &str) -> String {
    std::fs::read_to_string(root().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// Every YAML document of a file.
fn yaml_docs(rel: &str) -> Vec<Value> {
    use serde::Deserialize;
    let text = read(rel);
    serde_yaml::Deserializer::from_str(&text)
        .map(|d| Value::deserialize(d).unwrap_or_else(|e| panic!("{rel}: not valid YAML: {e}")))
        .filter(|v| !v.is_null())
        .collect()
}

fn yaml(rel: &str) -> Value {
    let mut docs = yaml_docs(rel);
    assert_eq!(docs.len(), 1, "{rel}: expected one YAML document");
    docs.remove(0)
}

/// `v[k1][k2]...`, or Null.
fn at<'a>(v: &'a Value, path: &[&str]) -> &'a Value {
    static NULL: Value = Value::Null;
    path.iter().fold(v, |v, k| v.get(*k).unwrap_or(&NULL))
}

fn str_at<'a>(v: &'a Value, path: &[&str]) -> &'a str {
    at(v, path).as_str().unwrap_or("")
}

fn mapping(v: &Value) -> Vec<(String, &Value)> {
    v.as_mapping()
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| Some((k.as_str()?.to_string(), v)))
                .collect()
        })
        .unwrap_or_default()
}

fn seq(v: &Value) -> &[Value] {
    v.as_sequence().map(Vec::as_slice).unwrap_or(&[])
}

/// A scalar as text (numbers too).
fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

// ------------------------------------------------------------------------------------------------
// A shell tokenizer: enough of sh to find the commands of a CI script and expand their words.

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    /// A word as written (quotes and `$` expansions still in it).
    Word(String),
    /// `;`, a newline, `&&`, `||`, `|`, `&`, `(`, `)`, a redirection.
    Op(String),
}

/// Splits a script into words and operators. Comments are dropped; quotes may span lines.
fn tokenize(script: &str) -> Vec<Tok> {
    let chars: Vec<char> = script.chars().collect();
    let mut toks = Vec::new();
    let mut word = String::new();
    let mut i = 0;
    let flush = |word: &mut String, toks: &mut Vec<Tok>| {
        if !word.is_empty() {
            toks.push(Tok::Word(std::mem::take(word)));
        }
    };
    while i < chars.len() {
        let c = chars[i];
        match c {
            '\\' if chars.get(i + 1) == Some(&'\n') => i += 2,
            '\\' => {
                word.extend(chars.get(i..i + 2).unwrap_or(&chars[i..]));
                i += 2;
            }
            '\'' => {
                let end = chars[i + 1..]
                    .iter()
                    .position(|&c| c == '\'')
                    .map_or(chars.len(), |p| i + 1 + p);
                word.extend(&chars[i..=end.min(chars.len() - 1)]);
                i = end + 1;
            }
            '"' => {
                let mut j = i + 1;
                while j < chars.len() && chars[j] != '"' {
                    j += if chars[j] == '\\' { 2 } else { 1 };
                }
                word.extend(&chars[i..=j.min(chars.len() - 1)]);
                i = j + 1;
            }
            '$' if matches!(chars.get(i + 1), Some('(' | '{')) => {
                // `$(...)`, `$((...))`, `${...}`: up to the matching bracket.
                let (open, close) = if chars[i + 1] == '(' {
                    ('(', ')')
                } else {
                    ('{', '}')
                };
                let mut depth = 0;
                let mut j = i + 1;
                while j < chars.len() {
                    if chars[j] == open {
                        depth += 1;
                    } else if chars[j] == close {
                        depth -= 1;
                        if depth == 0 {
                            break;
                        }
                    }
                    j += 1;
                }
                word.extend(&chars[i..=j.min(chars.len() - 1)]);
                i = j + 1;
            }
            '#' if word.is_empty() => {
                while i < chars.len() && chars[i] != '\n' {
                    i += 1;
                }
            }
            ' ' | '\t' => {
                flush(&mut word, &mut toks);
                i += 1;
            }
            '\n' | ';' | '&' | '|' | '(' | ')' | '<' | '>' => {
                flush(&mut word, &mut toks);
                let mut op = String::from(c);
                if c != '\n' {
                    while let Some(&n) = chars.get(i + op.chars().count()) {
                        if matches!(n, '&' | '|' | '>' | '<') && op.len() < 2 {
                            op.push(n);
                        } else {
                            break;
                        }
                    }
                }
                i += op.chars().count();
                toks.push(Tok::Op(op));
            }
            _ => {
                word.push(c);
                i += 1;
            }
        }
    }
    flush(&mut word, &mut toks);
    toks
}

/// The words of every simple command of `script` whose command word is `name`, as written.
fn commands_named(script: &str, name: &str) -> Vec<Vec<String>> {
    const KEYWORDS: [&str; 12] = [
        "then", "else", "elif", "do", "if", "while", "until", "!", "exec", "time", "{", "}",
    ];
    let toks = tokenize(script);
    let mut out = Vec::new();
    let mut command_position = true;
    let mut i = 0;
    while i < toks.len() {
        match &toks[i] {
            Tok::Op(op) => {
                command_position = !op.starts_with('<') && !op.starts_with('>');
                i += 1;
            }
            Tok::Word(w) if command_position && w == name => {
                let words: Vec<String> = toks[i..]
                    .iter()
                    .map_while(|t| match t {
                        Tok::Word(w) => Some(w.clone()),
                        Tok::Op(_) => None,
                    })
                    .collect();
                i += words.len();
                out.push(words);
                command_position = false;
            }
            Tok::Word(w) => {
                command_position = command_position && KEYWORDS.contains(&w.as_str());
                i += 1;
            }
        }
    }
    out
}

/// Expands one word as sh would (quotes removed, `$VAR`, `${VAR}`, `${VAR:-x}`, `$((a + b))`),
/// looking variables up with `var`; a variable it cannot fill in is an error naming it.
fn expand(word: &str, var: &dyn Fn(&str) -> Option<String>) -> Result<String, String> {
    let chars: Vec<char> = word.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    let mut in_double = false;
    let lookup = |name: &str| var(name).ok_or_else(|| format!("`${name}` in `{word}`"));
    while i < chars.len() {
        let c = chars[i];
        match c {
            '\'' if !in_double => {
                let end = chars[i + 1..]
                    .iter()
                    .position(|&c| c == '\'')
                    .map_or(chars.len(), |p| i + 1 + p);
                out.extend(&chars[i + 1..end]);
                i = end + 1;
            }
            '"' => {
                in_double = !in_double;
                i += 1;
            }
            '\\' => {
                if let Some(&n) = chars.get(i + 1) {
                    out.push(n);
                }
                i += 2;
            }
            '$' => {
                let rest: String = chars[i + 1..].iter().collect();
                if let Some(body) = rest.strip_prefix("((") {
                    let end = body
                        .find("))")
                        .ok_or_else(|| format!("unclosed `$((` in `{word}`"))?;
                    let expr = &body[..end];
                    let terms: Result<Vec<i64>, String> = expr
                        .split('+')
                        .map(|t| {
                            let t = t.trim();
                            let v = if t.chars().all(|c| c.is_ascii_digit()) {
                                t.to_string()
                            } else {
                                lookup(t.trim_start_matches('$'))?
                            };
                            v.parse::<i64>()
                                .map_err(|_| format!("`{t}` is not a number in `{word}`"))
                        })
                        .collect();
                    out.push_str(&terms?.iter().sum::<i64>().to_string());
                    i += 1 + 2 + end + 2;
                } else if rest.starts_with('(') {
                    return Err(format!("command substitution in `{word}`"));
                } else if let Some(body) = rest.strip_prefix('{') {
                    let end = body
                        .find('}')
                        .ok_or_else(|| format!("unclosed `${{` in `{word}`"))?;
                    let inner = &body[..end];
                    let value = match inner.split_once(":-") {
                        Some((name, default)) => var(name).unwrap_or_else(|| default.to_string()),
                        None => lookup(inner)?,
                    };
                    out.push_str(&value);
                    i += 1 + 1 + end + 1;
                } else {
                    let name: String = rest
                        .chars()
                        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                        .collect();
                    let name = if name.is_empty() {
                        rest.chars().next().map(String::from).unwrap_or_default()
                    } else {
                        name
                    };
                    if name.is_empty() {
                        out.push('$');
                        i += 1;
                    } else {
                        out.push_str(&lookup(&name)?);
                        i += 1 + name.chars().count();
                    }
                }
            }
            _ => {
                out.push(c);
                i += 1;
            }
        }
    }
    Ok(out)
}

/// A harness command line found in a CI file, expanded and parsed.
struct Invocation {
    /// Where it is: `file: job / step`.
    origin: String,
    argv: Vec<String>,
    cli: Cli,
}

/// Cuts the `aeapi-harness` commands out of `script`, expands them and parses them with the
/// harness's clap definition. Every failure is collected into `errors`.
fn invocations(
    origin: &str,
    script: &str,
    var: &dyn Fn(&str) -> Option<String>,
    errors: &mut Vec<String>,
) -> Vec<Invocation> {
    let mut found = Vec::new();
    for words in commands_named(script, "aeapi-harness") {
        let argv: Result<Vec<String>, String> = words.iter().map(|w| expand(w, var)).collect();
        let argv = match argv {
            Ok(a) => a,
            Err(e) => {
                errors.push(format!("{origin}: cannot fill in {e}"));
                continue;
            }
        };
        match Cli::try_parse_from(&argv) {
            Ok(cli) => found.push(Invocation {
                origin: origin.to_string(),
                argv,
                cli,
            }),
            Err(e) => errors.push(format!(
                "{origin}: `{}` is not a valid command line:\n{e}",
                argv.join(" ")
            )),
        }
    }
    found
}

#[test]
fn the_tokenizer_finds_commands_and_expands_words() {
    let script = "# aeapi-harness in a comment\nif [ -f x ]; then\n  aeapi-harness run \"$S\" \\\n    --out 'a b' --shard \"$((I + 1))/$N\" # trailing\nelse echo \"aeapi-harness run\"; fi\ncp target/release/aeapi-harness bin/ && aeapi-harness merge ${D:-d1} --out o &\n";
    let cmds = commands_named(script, "aeapi-harness");
    assert_eq!(
        cmds,
        vec![
            vec![
                "aeapi-harness",
                "run",
                "\"$S\"",
                "--out",
                "'a b'",
                "--shard",
                "\"$((I + 1))/$N\""
            ],
            vec!["aeapi-harness", "merge", "${D:-d1}", "--out", "o"],
        ]
    );
    let var = |n: &str| match n {
        "S" => Some("suites/smoke.yaml".to_string()),
        "I" => Some("2".to_string()),
        "N" => Some("4".to_string()),
        _ => None,
    };
    let words: Vec<String> = cmds[0].iter().map(|w| expand(w, &var).unwrap()).collect();
    assert_eq!(
        words,
        [
            "aeapi-harness",
            "run",
            "suites/smoke.yaml",
            "--out",
            "a b",
            "--shard",
            "3/4"
        ]
    );
    assert_eq!(expand("${D:-d1}", &var).unwrap(), "d1");
    assert!(expand("\"$UNSET\"", &var).unwrap_err().contains("$UNSET"));
    // A renamed flag is caught by the real CLI.
    let mut errors = Vec::new();
    let found = invocations(
        "t",
        "aeapi-harness run s.yaml --shards 1/2",
        &var,
        &mut errors,
    );
    assert!(found.is_empty() && errors.len() == 1, "{errors:?}");
    assert!(errors[0].contains("--shards"), "{errors:?}");
}

// ------------------------------------------------------------------------------------------------
// What every harness invocation must satisfy, wherever it is.

/// The environment a harness command sees, as far as the CI file tells it.
trait Env {
    /// Whether `name` is set for the command, and whether from the CI's secret store.
    fn provides(&self, name: &str) -> Provided;
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Provided {
    No,
    Plain,
    Secret,
}

/// The `${NAME}` secrets a suite file reads (uppercase names; lowercase ones are the
/// conformance engine's variables).
fn suite_env_refs(path: &Path) -> BTreeSet<String> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let re = regex::Regex::new(r"\$\{([A-Z][A-Z0-9_]*)\}").unwrap();
    text.lines()
        .map(|l| l.find(" #").map_or(l, |i| &l[..i]))
        .filter(|l| !l.trim_start().starts_with('#'))
        .flat_map(|l| {
            re.captures_iter(l)
                .map(|c| c[1].to_string())
                .collect::<Vec<_>>()
        })
        .collect()
}

/// Checks one parsed invocation: its suite exists and loads, the plan builds (shard and
/// overrides fit the suite), and the environment holds every secret it reads, from a secret
/// store. `suite_path` maps the path in the command to the file in this repository.
fn check_invocation(
    inv: &Invocation,
    suite_path: &dyn Fn(&Path) -> PathBuf,
    env: &dyn Env,
    errors: &mut Vec<String>,
) {
    let origin = &inv.origin;
    let (suite, target) = match &inv.cli.command {
        Command::Run(a) => (a.suite.clone(), a.target.target.clone()),
        Command::Capacity(a) => (a.suite.clone(), a.target.target.clone()),
        Command::Conform(a) => (a.suite.clone(), a.target.target.clone()),
        Command::Merge(_) => return,
        other => {
            errors.push(format!("{origin}: unexpected subcommand {other:?}"));
            return;
        }
    };
    let file = suite_path(&suite);
    let loaded = match aeapi_harness::suite::load(&file) {
        Ok(l) => l,
        Err(e) => {
            errors.push(format!(
                "{origin}: suite {} ({}) does not load:\n{}",
                suite.display(),
                file.display(),
                e.render(false)
            ));
            return;
        }
    };
    let url_target = target.as_deref().is_some_and(|t| t.starts_with("http"));
    let mut needs: BTreeSet<String> = suite_env_refs(&file);
    match &loaded.suite.target {
        Target::Embedded if url_target => {
            needs.extend(["AEAPI_CLIENT_ID", "AEAPI_CLIENT_SECRET"].map(String::from));
            if env.provides("AEAPI_SITE_ID") == Provided::No {
                errors.push(format!(
                    "{origin}: `--target URL` on the embedded-target suite {} needs AEAPI_SITE_ID",
                    suite.display()
                ));
            }
        }
        _ => {}
    }
    if url_target || matches!(loaded.suite.target, Target::Remote(_)) {
        for name in &needs {
            match env.provides(name) {
                Provided::Secret => {}
                Provided::No => errors.push(format!(
                    "{origin}: {} reads ${{{name}}}, which the command's environment does not set",
                    suite.display()
                )),
                Provided::Plain if SECRETS.contains(&name.as_str()) => errors.push(format!(
                    "{origin}: {name} must come from the CI's secret store, not a plain value"
                )),
                Provided::Plain => {}
            }
        }
    }
    // The plan: what `run`/`conform` would do before sending anything. A URL target on an
    // embedded suite reads AEAPI_SITE_ID from this process's environment, so that case is
    // covered by the check above instead.
    if matches!(loaded.suite.target, Target::Embedded) && url_target {
        return;
    }
    let argv: Vec<String> = inv
        .argv
        .iter()
        .map(|a| {
            if Path::new(a) == suite {
                file.display().to_string()
            } else {
                a.clone()
            }
        })
        .collect();
    let cli = Cli::try_parse_from(&argv).expect("parsed once already");
    let config = match Config::from_cli(cli.command) {
        Ok(c) => c,
        Err(e) => {
            errors.push(format!("{origin}: {e}"));
            return;
        }
    };
    let run = match config {
        Config::Run(c) | Config::Conform(c) => c,
        Config::Capacity(c) => return check_capacity_steps(inv, loaded, &c, errors),
        _ => return,
    };
    let out = run
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from("reports/x"));
    if let Err(e) = aeapi_harness::suite::plan::plan(loaded, &run.overrides, out) {
        errors.push(format!(
            "{origin}: `{}` does not fit its suite: {e}",
            inv.argv.join(" ")
        ));
    }
}

/// Every step of a capacity search fits its suite: the bounds make a search, and the lightest
/// and heaviest steps plan (the pool holds the heaviest, each shard gets agents of the
/// lightest).
fn check_capacity_steps(
    inv: &Invocation,
    mut loaded: aeapi_harness::suite::LoadedSuite,
    c: &aeapi_harness::app::CapacityConfig,
    errors: &mut Vec<String>,
) {
    let origin = format!("{}: `{}`", inv.origin, inv.argv.join(" "));
    let search = aeapi_harness::app::capacity::search(c, std::time::Duration::from_secs(30));
    let loads = match search.loads() {
        Ok(l) => l,
        Err(e) => return errors.push(format!("{origin}: {e}")),
    };
    // Each step is the suite's load made flat at the step's agents.
    loaded.suite.load.steps.clear();
    for load in [loads.first(), loads.last()].into_iter().flatten() {
        let overrides = aeapi_harness::suite::plan::Overrides {
            agents: Some(*load as u32),
            duration: Some(search.step_duration),
            shard: c.shard,
            seed: c.seed,
            ..Default::default()
        };
        if let Err(e) =
            aeapi_harness::suite::plan::plan(loaded.clone(), &overrides, PathBuf::from("x"))
        {
            errors.push(format!(
                "{origin}: the step of {load} agents does not fit: {e}"
            ));
        }
    }
}

/// Pipelines: no `set -x`, and no line that prints a secret variable.
fn check_no_secret_printed(file: &str, errors: &mut Vec<String>) {
    for (n, line) in read(file).lines().enumerate() {
        let code = line.trim_start();
        if code.starts_with('#') {
            continue;
        }
        if code.contains("set -x") || code.contains("set -o xtrace") {
            errors.push(format!("{file}:{}: `set -x` prints secrets", n + 1));
        }
        let prints = ["echo", "printf", "cat "].iter().any(|p| code.contains(p));
        for s in SECRETS {
            if prints && (code.contains(&format!("${s}")) || code.contains(&format!("${{{s}}}"))) {
                errors.push(format!("{file}:{}: prints ${s}", n + 1));
            }
        }
    }
}

fn assert_no_errors(what: &str, errors: &[String]) {
    assert!(
        errors.is_empty(),
        "{what}:\n- {}",
        errors.join("\n- ").replace('\n', "\n  ")
    );
}

#[test]
fn every_yaml_file_under_ci_parses() {
    fn walk(dir: &Path, found: &mut Vec<PathBuf>) {
        for e in std::fs::read_dir(dir).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(&p, found);
            } else if p.extension().is_some_and(|x| x == "yml" || x == "yaml") {
                found.push(p);
            }
        }
    }
    let mut files = Vec::new();
    walk(&root().join("ci"), &mut files);
    let rel: BTreeSet<String> = files
        .iter()
        .map(|p| {
            p.strip_prefix(root())
                .unwrap()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    for expected in [
        "ci/github-actions.yml",
        "ci/gitlab-ci.yml",
        "ci/kubernetes/kustomization.yaml",
        "ci/kubernetes/shards-job.yaml",
        "ci/kubernetes/merge-job.yaml",
        "ci/kubernetes/reports-pvc.yaml",
        "ci/kubernetes/capacity/kustomization.yaml",
        "ci/kubernetes/capacity/capacity-job.yaml",
    ] {
        assert!(rel.contains(expected), "{expected} is missing: {rel:?}");
    }
    for f in &rel {
        assert!(!yaml_docs(f).is_empty(), "{f}: no YAML document");
    }
}

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

fn env_map(v: &Value) -> BTreeMap<String, String> {
    mapping(v)
        .into_iter()
        .filter_map(|(k, v)| Some((k, scalar(v)?)))
        .collect()
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

fn github_invocations(wf: &Value, errors: &mut Vec<String>) -> Vec<(String, Invocation)> {
    let mut found = Vec::new();
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
        for inv in invocations(&step.origin(), &script, &var, errors) {
            check_invocation(&inv, &|p| root().join(p), &step, errors);
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
    found
}

/// `--out` of an invocation.
fn out_of(inv: &Invocation) -> Option<PathBuf> {
    match &inv.cli.command {
        Command::Run(a) => a.target.out.clone(),
        Command::Conform(a) => a.target.out.clone(),
        Command::Merge(a) => Some(a.out.clone()),
        _ => None,
    }
}

fn baseline_of(inv: &Invocation) -> Option<PathBuf> {
    match &inv.cli.command {
        Command::Run(a) => a.baseline.clone(),
        Command::Merge(a) => a.baseline.clone(),
        _ => None,
    }
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
    let wf = yaml(GITHUB);
    let mut errors = Vec::new();
    let found = github_invocations(&wf, &mut errors);
    assert_conform_and_run(GITHUB, &found, &errors);
}

/// No error, and both a `conform` and a `run` among the commands found.
fn assert_conform_and_run(file: &str, found: &[(String, Invocation)], errors: &[String]) {
    assert_no_errors(file, errors);
    let kinds: Vec<String> = found
        .iter()
        .map(|(job, i)| format!("{job}: {}", i.argv[..2].join(" ")))
        .collect();
    assert!(
        kinds.iter().any(|k| k.ends_with("aeapi-harness conform"))
            && kinds.iter().any(|k| k.ends_with("aeapi-harness run")),
        "{file}: a conform and a run command: {kinds:?}"
    );
}

#[test]
fn github_conformance_publishes_junit_and_gates_the_release() {
    let wf = yaml(GITHUB);
    let mut errors = Vec::new();
    let found = github_invocations(&wf, &mut errors);
    let (job, conform) = found
        .iter()
        .find(|(_, i)| matches!(i.cli.command, Command::Conform(_)))
        .expect("a conform command");
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
    let mut errors = Vec::new();
    let found = github_invocations(&wf, &mut errors);
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
    let (job, run) = found
        .iter()
        .find(|(_, i)| matches!(i.cli.command, Command::Run(_)) && baseline_of(i).is_some())
        .expect("a `run --baseline` command");
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

#[test]
fn github_secrets_come_from_the_secret_store() {
    let wf = yaml(GITHUB);
    let mut errors = Vec::new();
    let mut maps = vec![("workflow".to_string(), env_map(&wf["env"]))];
    for (job, j) in mapping(&wf["jobs"]) {
        maps.push((job.clone(), env_map(&j["env"])));
        for s in seq(&j["steps"]) {
            maps.push((job.clone(), env_map(&s["env"])));
        }
    }
    for (at, env) in &maps {
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

// ------------------------------------------------------------------------------------------------
// GitLab CI

const GITLAB: &str = "ci/gitlab-ci.yml";

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

fn gitlab_invocations(gl: &Value, errors: &mut Vec<String>) -> Vec<(String, Invocation)> {
    let mut found = Vec::new();
    for (name, job) in gitlab_jobs(gl) {
        let env = GitlabEnv::of(gl, job);
        let script = gitlab_script(job);
        let origin = format!("{GITLAB}: {name}");
        for inv in invocations(&origin, &script, &|n| env.var(n), errors) {
            check_invocation(&inv, &|p| root().join(p), &env, errors);
            found.push((name.clone(), inv));
        }
        if job["allow_failure"].as_bool() == Some(true) && script.contains("aeapi-harness ") {
            errors.push(format!("{origin}: allow_failure hides the exit code"));
        }
        if script.contains("|| true") || script.contains("set +e") {
            errors.push(format!("{origin}: the exit code must fail the job"));
        }
    }
    found
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
    let gl = yaml(GITLAB);
    let mut errors = Vec::new();
    let found = gitlab_invocations(&gl, &mut errors);
    assert_conform_and_run(GITLAB, &found, &errors);
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
    let mut errors = Vec::new();
    let found = gitlab_invocations(&gl, &mut errors);
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
    let conform = found
        .iter()
        .find(|(_, i)| matches!(i.cli.command, Command::Conform(_)))
        .map(|(n, _)| n.clone())
        .expect("a conform job");
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
    let mut errors = Vec::new();
    let found = gitlab_invocations(&gl, &mut errors);
    let (name, run) = found
        .iter()
        .find(|(_, i)| matches!(i.cli.command, Command::Run(_)) && baseline_of(i).is_some())
        .expect("a `run --baseline` job");
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
    let mut maps = vec![("variables".to_string(), env_map(&gl["variables"]))];
    for (name, job) in gitlab_jobs(&gl) {
        maps.push((name, env_map(&job["variables"])));
    }
    for (at, vars) in maps {
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

// ------------------------------------------------------------------------------------------------
// Kubernetes

const K8S: &str = "ci/kubernetes";
/// The capacity search's Job, in a kustomization of its own (so applying the run never starts
/// a search, nor the other way round).
const CAPACITY_JOB: &str = "capacity/capacity-job.yaml";

fn k8s(file: &str) -> Value {
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
    let completions = spec["completions"].as_u64().expect("completions");
    assert_eq!(
        spec["parallelism"].as_u64(),
        Some(completions),
        "every shard runs at once"
    );
    assert!(completions >= 2);

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
    let completions = spec["completions"].as_u64().expect("completions");
    assert_eq!(
        spec["parallelism"].as_u64(),
        Some(completions),
        "every shard at once"
    );
    assert!(completions >= 2);
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

#[test]
fn readme_examples_parse_with_the_real_cli() {
    let mut errors = Vec::new();
    let mut count = 0;
    for file in ["README.md", "ci/README.md"] {
        let text = read(file);
        let blocks = text.split("```").skip(1).step_by(2);
        for block in blocks.filter(|b| b.starts_with("sh\n")) {
            let no_vars = |n: &str| -> Option<String> { panic!("{file}: `${n}` in an example") };
            count += invocations(file, block, &no_vars, &mut errors).len();
        }
    }
    assert_no_errors("README examples", &errors);
    assert!(count >= 5, "only {count} examples found");
}
