//! What the CI file tests share (the `tools` binary's `ci_*` modules): reading the files under
//! `ci/`, a small shell tokenizer that cuts every `aeapi-harness` command line out of a script
//! and parses it with the harness's real clap definition, and what every such invocation must
//! satisfy wherever it is (a suite that exists, secrets from the CI's store, an exit code that
//! fails the job).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use aeapi_harness::cli::{Cli, Command, Config};
use aeapi_harness::suite::model::Target;
use clap::Parser;
use serde_yaml::Value;

/// What the harness reads from the environment and must never see written in a CI file.
pub const SECRETS: [&str; 3] = ["AEAPI_CLIENT_ID", "AEAPI_CLIENT_SECRET", "AGENT_PASSWORD"];

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn read(rel: &str) -> String {
    std::fs::read_to_string(root().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// Every YAML document of a file.
pub fn yaml_docs(rel: &str) -> Vec<Value> {
    use serde::Deserialize;
    let text = read(rel);
    serde_yaml::Deserializer::from_str(&text)
        .map(|d| Value::deserialize(d).unwrap_or_else(|e| panic!("{rel}: not valid YAML: {e}")))
        .filter(|v| !v.is_null())
        .collect()
}

pub fn yaml(rel: &str) -> Value {
    let mut docs = yaml_docs(rel);
    assert_eq!(docs.len(), 1, "{rel}: expected one YAML document");
    docs.remove(0)
}

/// `v[k1][k2]...`, or Null.
pub fn at<'a>(v: &'a Value, path: &[&str]) -> &'a Value {
    static NULL: Value = Value::Null;
    path.iter().fold(v, |v, k| v.get(*k).unwrap_or(&NULL))
}

pub fn str_at<'a>(v: &'a Value, path: &[&str]) -> &'a str {
    at(v, path).as_str().unwrap_or("")
}

pub fn mapping(v: &Value) -> Vec<(String, &Value)> {
    v.as_mapping()
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| Some((k.as_str()?.to_string(), v)))
                .collect()
        })
        .unwrap_or_default()
}

pub fn seq(v: &Value) -> &[Value] {
    v.as_sequence().map(Vec::as_slice).unwrap_or(&[])
}

/// A scalar as text (numbers too).
pub fn scalar(v: &Value) -> Option<String> {
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
pub enum Tok {
    /// A word as written (quotes and `$` expansions still in it).
    Word(String),
    /// `;`, a newline, `&&`, `||`, `|`, `&`, `(`, `)`, a redirection.
    Op(String),
}

/// Splits a script into words and operators. Comments are dropped; quotes may span lines.
pub fn tokenize(script: &str) -> Vec<Tok> {
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
pub fn commands_named(script: &str, name: &str) -> Vec<Vec<String>> {
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
pub fn expand(word: &str, var: &dyn Fn(&str) -> Option<String>) -> Result<String, String> {
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
pub struct Invocation {
    /// Where it is: `file: job / step`.
    pub origin: String,
    pub argv: Vec<String>,
    pub cli: Cli,
}

/// Cuts the `aeapi-harness` commands out of `script`, expands them and parses them with the
/// harness's clap definition. Every failure is collected into `errors`.
pub fn invocations(
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
pub fn the_tokenizer_finds_commands_and_expands_words() {
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
pub trait Env {
    /// Whether `name` is set for the command, and whether from the CI's secret store.
    fn provides(&self, name: &str) -> Provided;
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Provided {
    No,
    Plain,
    Secret,
}

/// The `${NAME}` secrets a suite file reads (uppercase names; lowercase ones are the
/// conformance engine's variables).
pub fn suite_env_refs(path: &Path) -> BTreeSet<String> {
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
pub fn check_invocation(
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
pub fn check_no_secret_printed(file: &str, errors: &mut Vec<String>) {
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

pub fn assert_no_errors(what: &str, errors: &[String]) {
    assert!(
        errors.is_empty(),
        "{what}:\n- {}",
        errors.join("\n- ").replace('\n', "\n  ")
    );
}

#[test]
pub fn every_yaml_file_under_ci_parses() {
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

pub fn env_map(v: &Value) -> BTreeMap<String, String> {
    mapping(v)
        .into_iter()
        .filter_map(|(k, v)| Some((k, scalar(v)?)))
        .collect()
}

/// `--out` of an invocation.
pub fn out_of(inv: &Invocation) -> Option<PathBuf> {
    match &inv.cli.command {
        Command::Run(a) => a.target.out.clone(),
        Command::Conform(a) => a.target.out.clone(),
        Command::Merge(a) => Some(a.out.clone()),
        _ => None,
    }
}

pub fn baseline_of(inv: &Invocation) -> Option<PathBuf> {
    match &inv.cli.command {
        Command::Run(a) => a.baseline.clone(),
        Command::Merge(a) => a.baseline.clone(),
        _ => None,
    }
}

/// The first `conform` command among `found`, with its job.
pub fn conform_command(found: &[(String, Invocation)]) -> &(String, Invocation) {
    found
        .iter()
        .find(|(_, i)| matches!(i.cli.command, Command::Conform(_)))
        .expect("a conform command")
}

/// The first `run --baseline` command among `found`, with its job.
pub fn baseline_run(found: &[(String, Invocation)]) -> &(String, Invocation) {
    found
        .iter()
        .find(|(_, i)| matches!(i.cli.command, Command::Run(_)) && baseline_of(i).is_some())
        .expect("a `run --baseline` command")
}

/// What an invocation finder returns: the commands with their jobs, and what is wrong around them.
pub type Found = (Vec<(String, Invocation)>, Vec<String>);

/// The CI `file`'s commands (found by `find`) parse with the real CLI, nothing around them is
/// wrong, and both a `conform` and a `run` are among them. Returns the parsed file.
pub fn assert_conform_and_run(file: &str, find: fn(&Value) -> Found) -> Value {
    let doc = yaml(file);
    let (found, errors) = find(&doc);
    assert_no_errors(file, &errors);
    let kinds: Vec<String> = found
        .iter()
        .map(|(job, i)| format!("{job}: {}", i.argv[..2].join(" ")))
        .collect();
    assert!(
        kinds.iter().any(|k| k.ends_with("aeapi-harness conform"))
            && kinds.iter().any(|k| k.ends_with("aeapi-harness run")),
        "{file}: a conform and a run command: {kinds:?}"
    );
    doc
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
