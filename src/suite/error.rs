//! Everything that can be wrong with a suite, each with the place it was found.
//!
//! Loading collects every problem it can find into [`SuiteErrors`] rather than stopping at the
//! first; `render` prints them like compiler errors.

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::PathBuf;

/// Where a problem is: a byte range in a file whose text the [`SuiteErrors`] holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Span {
    pub file: PathBuf,
    pub range: Range<usize>,
}

/// One problem in a suite (or in a file it names: a schema, an agents CSV).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{kind}")]
pub struct SuiteError {
    /// `None` when the problem has no place (the suite file cannot be read).
    pub span: Option<Span>,
    pub kind: SuiteErrorKind,
}

/// What is wrong. `Display` is the headline; [`SuiteErrorKind::label`] the note under the caret.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SuiteErrorKind {
    #[error("cannot read suite: {0}")]
    Read(String),
    #[error("the suite is empty")]
    Empty,
    /// The file is not UTF-8; the span is the first bad byte (shown as U+FFFD).
    #[error("the file is not UTF-8 text")]
    NotUtf8 { byte: u8 },
    /// Nesting beyond [`MAX_DEPTH`](super::limits::MAX_DEPTH); the span is where it goes deeper.
    #[error("the YAML nests deeper than {limit} levels")]
    TooDeep { limit: usize },
    #[error("invalid YAML: {0}")]
    Syntax(String),
    /// A type or value error as serde_yaml reported it.
    #[error("{message}")]
    Invalid {
        message: String,
        label: Option<String>,
    },
    #[error("unknown {context} `{key}`")]
    UnknownKey {
        context: String,
        key: String,
        suggestion: Option<String>,
        expected: Vec<String>,
    },
    #[error("unknown operation `{name}`")]
    UnknownOperation {
        name: String,
        suggestion: Option<String>,
    },
    #[error("unknown persona `{name}`")]
    UnknownPersona {
        name: String,
        suggestion: Option<String>,
    },
    #[error("invalid {what} in `{path}`")]
    BadValue {
        what: &'static str,
        path: String,
        message: String,
    },
    #[error("invalid threshold")]
    Threshold { message: String },
    #[error("JSON Schema for `{op}` does not compile")]
    Schema { op: String, message: String },
    /// A file the suite names (schema, agents CSV, CA certificate) cannot be read.
    #[error("cannot read {what} `{path}`")]
    FileRead {
        what: &'static str,
        path: String,
        message: String,
    },
    #[error("malformed agents CSV `{path}`")]
    Csv { path: String, message: String },
    #[error("persona weights add up to 0")]
    ZeroWeight,
    #[error("`{path}` must be at least 1")]
    ZeroAgents { path: String },
    /// An agent count beyond [`MAX_AGENTS`](super::limits::MAX_AGENTS).
    #[error("`{path}` asks for {count} agents, more than the {limit} a fleet may have")]
    TooManyAgents {
        path: String,
        count: u64,
        limit: u32,
    },
    #[error("the agent pool has {pool} credentials but the load needs {agents} agents")]
    PoolTooSmall { pool: usize, agents: u32 },
}

impl SuiteErrorKind {
    /// The note printed under the caret, if any.
    pub fn label(&self) -> Option<String> {
        match self {
            SuiteErrorKind::UnknownKey {
                suggestion,
                expected,
                ..
            } => Some(match suggestion {
                Some(s) => format!("did you mean `{s}`?"),
                None if expected.is_empty() => "no keys are allowed here".to_string(),
                None => format!(
                    "expected one of {}",
                    expected
                        .iter()
                        .map(|k| format!("`{k}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            }),
            SuiteErrorKind::UnknownOperation { suggestion, .. } => Some(match suggestion {
                Some(s) => format!("did you mean `{s}`?"),
                None => "not an operation of the AEAPI v2 reference".to_string(),
            }),
            SuiteErrorKind::UnknownPersona { suggestion, .. } => Some(match suggestion {
                Some(s) => format!("did you mean `{s}`?"),
                None => "not one of the suite's `personas`".to_string(),
            }),
            SuiteErrorKind::BadValue { message, .. }
            | SuiteErrorKind::Threshold { message }
            | SuiteErrorKind::Schema { message, .. }
            | SuiteErrorKind::FileRead { message, .. }
            | SuiteErrorKind::Csv { message, .. } => Some(message.clone()),
            SuiteErrorKind::Invalid { label, .. } => label.clone(),
            SuiteErrorKind::NotUtf8 { byte } => Some(format!(
                "byte 0x{byte:02X} is not UTF-8: save the file as UTF-8"
            )),
            SuiteErrorKind::TooDeep { limit } => Some(format!(
                "level {} starts here; a suite needs far fewer",
                limit + 1
            )),
            SuiteErrorKind::TooManyAgents { .. } => Some(
                "lower it: one process drives a few tens of thousands at most (see Limits in the \
                 README)"
                    .into(),
            ),
            SuiteErrorKind::ZeroWeight => Some("give at least one persona a weight above 0".into()),
            SuiteErrorKind::PoolTooSmall { .. } => {
                Some("each agent logs in with its own credentials".into())
            }
            _ => None,
        }
    }
}

/// Every problem found in one suite, with the text of each file they point into.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{} has {} problem(s)", .path.display(), .errors.len())]
pub struct SuiteErrors {
    /// The suite file as given.
    pub path: PathBuf,
    /// In file order of discovery; never empty.
    pub errors: Vec<SuiteError>,
    /// The text of every file a span names.
    pub sources: BTreeMap<PathBuf, String>,
}

impl SuiteErrors {
    /// Renders every error like a compiler error (see `render`), with ANSI colour if `color`.
    pub fn render(&self, color: bool) -> String {
        super::render::render(self, color)
    }
}
