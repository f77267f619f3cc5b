//! Loading a suite: read, parse twice (serde_yaml for the typed model, saphyr for positions),
//! check, and keep everything the runner needs, compiled once.

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::de::DeserializeOwned;

use super::error::{Span, SuiteError, SuiteErrorKind, SuiteErrors};
use super::input::{self, FileError};
use super::limits::MAX_DEPTH;
use super::model::{AgentCredential, AgentPool, SchemaSource, Suite, Target};
use super::spans::{self, Node};
use super::threshold::Threshold;
use super::validate;

/// A suite that loaded and passed every check. File paths inside `suite` (schema files, the
/// agents CSV, the CA certificate) are already joined to the suite's directory.
#[derive(Debug, Clone)]
pub struct LoadedSuite {
    /// The file as given on the command line.
    pub path: PathBuf,
    /// Its text (for messages that quote it).
    pub source: String,
    pub suite: Suite,
    /// `suite.thresholds`, parsed, in file order.
    pub thresholds: Vec<Threshold>,
    /// Compiled JSON Schemas of `suite.contracts`, by operation name.
    pub schemas: BTreeMap<String, Arc<jsonschema::Validator>>,
    /// The same schemas as JSON documents, read once here (files included).
    pub schema_docs: BTreeMap<String, Arc<serde_json::Value>>,
    /// The resolved agent pool (CSV read, patterns expanded). Passwords are `SecretRef`s,
    /// resolved at run time.
    pub agents: Vec<AgentCredential>,
    /// True when the suite has no `agents:` and the pool is the simulator's generated
    /// `agent1..agentN` (so `--agents` may grow it).
    pub pool_generated: bool,
}

/// Reads and checks the suite at `path`, reporting every problem found.
pub fn load(path: &Path) -> Result<LoadedSuite, SuiteErrors> {
    let source = read(path)?;
    load_str(path, source)
}

/// Like [`load`], with the text already read (`path` is used for messages and relative files).
pub fn load_str(path: &Path, source: String) -> Result<LoadedSuite, SuiteErrors> {
    let (tree, typed) = match parse::<Suite>(path, &source) {
        Ok(v) => v,
        Err(e) => return Err(errors(path, source, vec![*e], BTreeMap::new(), Vec::new())),
    };
    let checked = validate::check(path, &source, &tree);
    let mut all = checked.errors;
    if let Err(e) = typed {
        // serde_yaml also reports bad values the checks found: keep one message per place.
        let start = e.span.as_ref().map(|s| s.range.start);
        let dup = all
            .iter()
            .any(|x| x.span.as_ref().map(|s| s.range.start) == start && start.is_some());
        if !dup {
            all.insert(0, e);
        }
        return Err(errors(path, source, all, checked.sources, checked.masks));
    }
    match (typed, checked.agents) {
        (Ok(mut suite), Some(agents)) if all.is_empty() => Ok(LoadedSuite {
            suite: {
                resolve_paths(&mut suite, path.parent().unwrap_or(Path::new("")));
                suite
            },
            path: path.to_path_buf(),
            source,
            thresholds: checked.thresholds,
            schemas: checked.schemas,
            schema_docs: checked.schema_docs,
            agents,
            pool_generated: tree.get("agents").is_none(),
        }),
        _ => Err(errors(path, source, all, checked.sources, checked.masks)),
    }
}

/// Makes the file paths a suite names (relative to the suite) usable from the working directory.
fn resolve_paths(suite: &mut Suite, dir: &Path) {
    if let Target::Remote(r) = &mut suite.target
        && let Some(ca) = &mut r.tls.ca_cert
    {
        *ca = dir.join(&*ca);
    }
    if let AgentPool::Csv { csv, .. } = &mut suite.agents {
        *csv = dir.join(&*csv);
    }
    for c in suite.contracts.values_mut() {
        if let Some(SchemaSource::Path(p)) = &mut c.schema {
            *p = dir.join(&*p);
        }
    }
}

/// Reads any YAML file into `T` (e.g. the simulator's `--config`), with errors rendered like a
/// suite's.
pub fn load_yaml<T: DeserializeOwned>(path: &Path) -> Result<T, SuiteErrors> {
    let source = read(path)?;
    match parse::<T>(path, &source) {
        Ok((_, Ok(v))) => Ok(v),
        Ok((_, Err(e))) => Err(errors(path, source, vec![e], BTreeMap::new(), Vec::new())),
        Err(e) => Err(errors(path, source, vec![*e], BTreeMap::new(), Vec::new())),
    }
}

/// Reads a suite (or any YAML file) within the input limits (see `input::read_text`).
fn read(path: &Path) -> Result<String, SuiteErrors> {
    let shown = path.display();
    let message = match input::read_text(path) {
        Ok(text) => return Ok(text),
        Err(FileError::NotUtf8(e)) => {
            let error = SuiteError {
                span: Some(Span {
                    file: path.to_path_buf(),
                    range: e.at..e.at + '\u{FFFD}'.len_utf8(),
                }),
                kind: SuiteErrorKind::NotUtf8 { byte: e.byte },
            };
            return Err(errors(
                path,
                e.lossy,
                vec![error],
                BTreeMap::new(),
                Vec::new(),
            ));
        }
        Err(FileError::Io(e)) => e.to_string(),
        Err(e) => format!("`{shown}`: {e}"),
    };
    Err(SuiteErrors {
        path: path.to_path_buf(),
        errors: vec![SuiteError {
            span: None,
            kind: SuiteErrorKind::Read(message),
        }],
        sources: BTreeMap::new(),
    })
}

fn errors(
    path: &Path,
    source: String,
    mut errors: Vec<SuiteError>,
    mut sources: BTreeMap<PathBuf, String>,
    masks: Vec<Span>,
) -> SuiteErrors {
    if errors.is_empty() {
        // Unreachable in practice: a pool that did not resolve always left an error.
        errors.push(SuiteError {
            span: None,
            kind: SuiteErrorKind::Invalid {
                message: "the agent pool could not be resolved".into(),
                label: None,
            },
        });
    }
    // File order: the suite's own problems by position, then those in other files.
    errors.sort_by_key(|e| match &e.span {
        Some(s) => (s.file != path, s.range.start),
        None => (false, 0),
    });
    sources.insert(path.to_path_buf(), source);
    for m in masks {
        if let Some(text) = sources.get_mut(&m.file) {
            mask(text, m.range);
        }
    }
    SuiteErrors {
        path: path.to_path_buf(),
        errors,
        sources,
    }
}

/// Overwrites a byte range with `*`, byte for byte, so other spans stay valid.
fn mask(text: &mut String, range: Range<usize>) {
    let Some(part) = text.get(range.clone()) else {
        return;
    };
    let stars = "*".repeat(part.len());
    text.replace_range(range, &stars);
}

/// Syntax first (a syntax error is the only error), then the span tree and the typed value.
/// Control characters and excessive nesting are refused before any parser runs (both parsers
/// take time quadratic in the nesting depth).
fn parse<T: DeserializeOwned>(
    path: &Path,
    src: &str,
) -> Result<(Node, Result<T, SuiteError>), Box<SuiteError>> {
    let at = |range: Range<usize>, kind| {
        Box::new(SuiteError {
            span: Some(Span {
                file: path.to_path_buf(),
                range,
            }),
            kind,
        })
    };
    if let Some((o, c)) = input::control_char(src) {
        let message = format!("control character U+{:04X} is not allowed", u32::from(c));
        return Err(at(o..o + c.len_utf8(), SuiteErrorKind::Syntax(message)));
    }
    if let Some(o) = input::too_deep(src, MAX_DEPTH) {
        return Err(at(o..o + 1, SuiteErrorKind::TooDeep { limit: MAX_DEPTH }));
    }
    if let Err(e) = serde_yaml::from_str::<serde_yaml::Value>(src) {
        let mut range = e.location().map_or(0..0, |l| {
            let o = offset(src, l.line(), l.column());
            o..o
        });
        let message = strip_location(&e);
        if message.contains("duplicate entry")
            && let Err((_, o)) = spans::parse(src)
        {
            // saphyr knows where the second key is; serde_yaml points at the mapping.
            let rest = src.get(o..).unwrap_or_default();
            range = o..o + rest.find([':', '\n']).unwrap_or(0);
        }
        return Err(at(range, SuiteErrorKind::Syntax(message)));
    }
    let tree = match spans::parse(src) {
        Ok(Some(tree)) => tree,
        Ok(None) => return Err(at(0..0, SuiteErrorKind::Empty)),
        Err((message, offset)) => return Err(at(offset..offset, SuiteErrorKind::Syntax(message))),
    };
    let typed = serde_yaml::from_str::<T>(src).map_err(|e| {
        let start = e
            .location()
            .map_or(0, |l| offset(src, l.line(), l.column()));
        SuiteError {
            span: Some(Span {
                file: path.to_path_buf(),
                range: token_at(&tree, src, start),
            }),
            kind: kind_of(&strip_location(&e)),
        }
    });
    Ok((tree, typed))
}

/// Byte offset of a 1-based line and column (in characters).
fn offset(src: &str, line: usize, col: usize) -> usize {
    let start: usize = src
        .split_inclusive('\n')
        .take(line.saturating_sub(1))
        .map(str::len)
        .sum();
    let rest = src.get(start..).unwrap_or_default();
    start
        + rest
            .char_indices()
            .nth(col.saturating_sub(1))
            .map_or(rest.len(), |(i, _)| i)
}

/// The key or value starting at `start` (keys first), else the word there.
fn token_at(tree: &Node, src: &str, start: usize) -> Range<usize> {
    let map = spans::path_map(tree);
    let key = map
        .values()
        .filter_map(|(k, _)| k.clone())
        .find(|k| k.start == start);
    let value = map
        .values()
        .map(|(_, v)| v.clone())
        .find(|v| v.start == start && !v.is_empty());
    key.or(value).unwrap_or_else(|| {
        let rest = src.get(start..).unwrap_or_default();
        let len = rest
            .find(|c: char| c.is_whitespace() || c == ':')
            .unwrap_or(rest.len());
        start..start + len
    })
}

/// serde_yaml's message without its trailing "at line L column C".
fn strip_location(e: &serde_yaml::Error) -> String {
    let msg = e.to_string();
    match e.location() {
        Some(l) => msg.replacen(
            &format!(" at line {} column {}", l.line(), l.column()),
            "",
            1,
        ),
        None => msg,
    }
}

/// Turns serde_yaml's `path: message` into a kind with a headline and a label.
fn kind_of(msg: &str) -> SuiteErrorKind {
    let (path, msg) = match msg.split_once(": ") {
        Some((p, m)) if !p.is_empty() && !p.contains([' ', '`']) => (p, m),
        _ => ("", msg),
    };
    let ticked = |s: &str| -> Vec<String> {
        s.split('`')
            .skip(1)
            .step_by(2)
            .map(str::to_string)
            .collect()
    };
    for (prefix, what) in [
        ("unknown field `", "field"),
        ("unknown variant `", "variant"),
    ] {
        if let Some(rest) = msg.strip_prefix(prefix) {
            let (key, rest) = rest.split_once('`').unwrap_or((rest, ""));
            let expected = ticked(rest);
            return SuiteErrorKind::UnknownKey {
                context: if what == "field" {
                    context(path)
                } else {
                    format!("value for `{path}`:")
                },
                key: key.to_string(),
                suggestion: super::did_you_mean(key, expected.iter().map(String::as_str)),
                expected,
            };
        }
    }
    let at = if path.is_empty() {
        " the suite".to_string()
    } else {
        format!(" `{path}`")
    };
    if let Some(rest) = msg.strip_prefix("invalid type: ") {
        let (found, expected) = rest.split_once(", expected ").unwrap_or((rest, ""));
        return SuiteErrorKind::Invalid {
            message: format!("wrong type for{at}"),
            label: Some(format!(
                "expected {expected}, found {}",
                found.replace("unit value", "null")
            )),
        };
    }
    if msg.starts_with("missing field `") {
        let whose = if path.is_empty() {
            String::new()
        } else {
            format!(" in{at}")
        };
        return SuiteErrorKind::Invalid {
            message: format!("{msg}{whose}"),
            label: None,
        };
    }
    SuiteErrorKind::Invalid {
        message: if path.is_empty() {
            "invalid value".to_string()
        } else {
            format!("invalid value for{at}")
        },
        label: Some(msg.to_string()),
    }
}

/// What kind of mapping a serde path names, for "unknown persona field `x`".
fn context(path: &str) -> String {
    let mut parts = path.split('.');
    let what = match (parts.next(), parts.next(), parts.next()) {
        (Some(""), None, _) => return "top-level key".into(),
        (Some("personas"), Some(_), None) => "persona",
        (Some("contracts"), Some(_), None) => "contract",
        (Some("load"), None, _) => "load",
        (Some(s), None, _) if s.starts_with("load.steps[") || s.starts_with("steps[") => "step",
        (Some("load"), Some(s), None) if s.starts_with("steps[") => "step",
        (Some("target"), None, _) => "target",
        (Some("target"), Some("tls"), None) => "tls",
        (Some("agents"), None, _) => "agents",
        (Some(s), None, _) if s.starts_with("agents[") => "agent",
        (Some("simulator"), _, _) => "simulator",
        _ => return format!("field in `{path}`:"),
    };
    format!("{what} field")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serde_messages_become_headlines_and_labels() {
        assert_eq!(
            kind_of("personas.a: unknown field `max_chat`, expected one of `weight`, `max_chats`"),
            SuiteErrorKind::UnknownKey {
                context: "persona field".into(),
                key: "max_chat".into(),
                suggestion: Some("max_chats".into()),
                expected: vec!["weight".into(), "max_chats".into()],
            }
        );
        assert_eq!(
            kind_of("load.agents: invalid type: string \"many\", expected u32"),
            SuiteErrorKind::Invalid {
                message: "wrong type for `load.agents`".into(),
                label: Some("expected u32, found string \"many\"".into()),
            }
        );
        assert_eq!(
            kind_of("missing field `name`"),
            SuiteErrorKind::Invalid {
                message: "missing field `name`".into(),
                label: None
            }
        );
    }

    #[test]
    fn offsets_count_characters_within_a_line() {
        let src = "a: é\nbb: x\n";
        assert_eq!(offset(src, 2, 5), 10);
        assert_eq!(&src[offset(src, 1, 4)..], "é\nbb: x\n");
    }

    #[test]
    fn masking_keeps_byte_offsets() {
        let mut t = "secret: hünter2\nnext".to_string();
        mask(&mut t, 8..16);
        assert_eq!(t, "secret: ********\nnext");
    }
}
