//! Reading HTTP Archives (HAR 1.2, as browsers' DevTools, Playwright's `record_har_path` and
//! mitmproxy's `hardump` write them) into plain exchanges for `import`.
//!
//! Each entry is parsed with the `har` crate's 1.2 types, one entry at a time: the document is
//! first split into its entries as raw JSON slices (borrowed from the input, nothing copied), so
//! an error names the entry (`entries[12]: missing field `response``) and memory stays at the
//! input plus one entry. (The crate's own `from_slice` builds a whole `serde_json::Value` tree
//! first and reports errors without the entry.) A 1.3 document is read with the same types: 1.3
//! only adds fields. Inputs above [`MAX_HAR_BYTES`] are refused before they are read.

use std::path::{Path, PathBuf};

use base64::Engine;
use serde::Deserialize;
use serde_json::value::RawValue;

/// The largest HAR `import` reads: 256 MiB. Larger files are refused before reading.
pub const MAX_HAR_BYTES: u64 = 256 * 1024 * 1024;

/// A HAR that cannot be read, with the file it came from.
#[derive(Debug, thiserror::Error)]
#[error("{}: {kind}", file.display())]
pub struct HarError {
    pub file: PathBuf,
    pub kind: HarErrorKind,
}

#[derive(Debug, thiserror::Error)]
pub enum HarErrorKind {
    #[error("cannot read it: {0}")]
    Io(#[source] std::io::Error),
    #[error("it is {size} bytes; import reads at most {limit} bytes")]
    TooLarge { size: u64, limit: u64 },
    #[error("not JSON ({0})")]
    NotJson(String),
    #[error("truncated: the JSON ends early ({0})")]
    Truncated(String),
    #[error("not a HAR: {0}")]
    NotHar(String),
    #[error("unsupported HAR version `{0}` (import reads 1.2 and 1.3)")]
    Version(String),
    #[error("entries[{index}]: {reason}")]
    Entry { index: usize, reason: EntryError },
}

/// Why one entry cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum EntryError {
    #[error("no such entry")]
    Missing,
    /// serde_json's message without its position (see `without_position`).
    #[error("{0}")]
    Json(String),
    #[error("startedDateTime `{text}`: {cause}")]
    Started {
        text: String,
        cause: time::error::Parse,
    },
    #[error("response status {0} is not an HTTP status")]
    Status(i64),
    #[error("response body is not valid base64: {0}")]
    Base64(base64::DecodeError),
    #[error("response body has unknown encoding `{0}`")]
    Encoding(String),
}

/// A body as recorded: text (decoded from base64 when the HAR encoded it), or bytes that are
/// not UTF-8.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Body {
    Text(String),
    Binary { len: usize },
}

/// One request and its response, as the HAR recorded them.
#[derive(Debug, Clone, PartialEq)]
pub struct Exchange {
    /// Position in `log.entries`.
    pub index: usize,
    pub method: String,
    pub url: String,
    /// Start, in milliseconds since the Unix epoch.
    pub started_ms: f64,
    /// Total time (request sent to response received), milliseconds.
    pub time_ms: f64,
    pub request_headers: Vec<(String, String)>,
    /// Cookies sent (names and values; callers must never copy the values).
    pub request_cookies: Vec<(String, String)>,
    pub query: Vec<(String, String)>,
    pub request_body: Option<Body>,
    pub request_mime: String,
    /// The HTTP status, or 0 when no response was received (aborted or pending).
    pub status: u16,
    pub response_headers: Vec<(String, String)>,
    pub response_body: Option<Body>,
    pub response_mime: String,
}

impl Exchange {
    /// End of the exchange (response received), ms since the epoch.
    pub fn ended_ms(&self) -> f64 {
        self.started_ms + self.time_ms.max(0.0)
    }
}

/// A parsed HAR: who wrote it and its entries, still raw (see [`Recording::entry`]).
pub struct Recording<'a> {
    file: PathBuf,
    /// `log.creator.name` and version, e.g. `Playwright 1.49.1`.
    pub creator: String,
    entries: Vec<&'a RawValue>,
}

#[derive(Deserialize)]
struct Doc<'a> {
    #[serde(borrow)]
    log: Option<Log<'a>>,
}

#[derive(Deserialize)]
struct Log<'a> {
    version: Option<String>,
    creator: Option<har::v1_2::Creator>,
    #[serde(borrow)]
    entries: Option<Vec<&'a RawValue>>,
}

/// Reads `path` whole if it is at most `limit` bytes (checked before reading).
pub fn read_limited(path: &Path, limit: u64) -> Result<Vec<u8>, HarError> {
    let err = |kind| HarError {
        file: path.to_path_buf(),
        kind,
    };
    let meta = std::fs::metadata(path).map_err(|e| err(HarErrorKind::Io(e)))?;
    if meta.len() > limit {
        return Err(err(HarErrorKind::TooLarge {
            size: meta.len(),
            limit,
        }));
    }
    use std::io::Read;
    let file = std::fs::File::open(path).map_err(|e| err(HarErrorKind::Io(e)))?;
    let mut bytes = Vec::new();
    // `take` bounds the read even if the file grew after the size check.
    file.take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| err(HarErrorKind::Io(e)))?;
    if bytes.len() as u64 > limit {
        return Err(err(HarErrorKind::TooLarge {
            size: bytes.len() as u64,
            limit,
        }));
    }
    Ok(bytes)
}

/// Splits a HAR document into its entries. `file` only names the input in errors.
pub fn parse<'a>(file: &Path, bytes: &'a [u8]) -> Result<Recording<'a>, HarError> {
    let err = |kind| HarError {
        file: file.to_path_buf(),
        kind,
    };
    let object = bytes.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{');
    let doc: Doc<'a> = serde_json::from_slice(bytes).map_err(|e| {
        err(match e.classify() {
            serde_json::error::Category::Eof => HarErrorKind::Truncated(e.to_string()),
            serde_json::error::Category::Data if !object => {
                HarErrorKind::NotHar("the top level is not a JSON object".into())
            }
            serde_json::error::Category::Data => HarErrorKind::NotHar(e.to_string()),
            _ => HarErrorKind::NotJson(e.to_string()),
        })
    })?;
    let log = doc
        .log
        .ok_or_else(|| err(HarErrorKind::NotHar("no top-level `log` object".into())))?;
    match log.version.as_deref() {
        Some("1.2" | "1.3") => {}
        Some(v) => return Err(err(HarErrorKind::Version(v.to_string()))),
        None => return Err(err(HarErrorKind::NotHar("`log.version` is missing".into()))),
    }
    let entries = log
        .entries
        .ok_or_else(|| err(HarErrorKind::NotHar("`log.entries` is missing".into())))?;
    let creator = log
        .creator
        .map(|c| format!("{} {}", c.name, c.version))
        .unwrap_or_else(|| "an unnamed tool".into());
    Ok(Recording {
        file: file.to_path_buf(),
        creator,
        entries,
    })
}

impl Recording<'_> {
    /// How many entries the HAR holds.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Parses entry `index` (0-based, as in `log.entries`).
    pub fn entry(&self, index: usize) -> Result<Exchange, HarError> {
        let err = |reason: EntryError| HarError {
            file: self.file.clone(),
            kind: HarErrorKind::Entry { index, reason },
        };
        let raw = self
            .entries
            .get(index)
            .ok_or_else(|| err(EntryError::Missing))?;
        let e: har::v1_2::Entries = serde_json::from_str(raw.get())
            .map_err(|e| err(EntryError::Json(without_position(&e))))?;
        convert(index, e).map_err(err)
    }
}

/// serde_json's message without its " at line L column C" (positions inside one entry's slice
/// would mislead: the entry is named instead).
fn without_position(e: &serde_json::Error) -> String {
    let s = e.to_string();
    match s.rsplit_once(" at line ") {
        Some((msg, _)) => msg.to_string(),
        None => s,
    }
}

fn convert(index: usize, e: har::v1_2::Entries) -> Result<Exchange, EntryError> {
    let started = time::OffsetDateTime::parse(
        &e.started_date_time,
        &time::format_description::well_known::Rfc3339,
    )
    .map_err(|cause| EntryError::Started {
        text: e.started_date_time.clone(),
        cause,
    })?;
    let started_ms = started.unix_timestamp_nanos() as f64 / 1e6;
    // Browsers write 0 (Playwright -1) for a request that got no answer: aborted, or still
    // pending (a long-poll) when the HAR was saved. Kept as status 0; callers leave it out.
    let status = match e.response.status {
        s if s <= 0 => 0,
        s => u16::try_from(s)
            .ok()
            .filter(|s| (100..=599).contains(s))
            .ok_or(EntryError::Status(s))?,
    };
    let pairs = |h: Vec<har::v1_2::Headers>| h.into_iter().map(|h| (h.name, h.value)).collect();
    let request_body = e
        .request
        .post_data
        .as_ref()
        .and_then(|p| p.text.clone())
        .map(Body::Text);
    let request_mime = e
        .request
        .post_data
        .as_ref()
        .map(|p| p.mime_type.clone())
        .unwrap_or_default();
    let response_body = match e.response.content.text {
        None => None,
        Some(t) if t.is_empty() => None,
        Some(t) => Some(decode(t, e.response.content.encoding.as_deref())?),
    };
    Ok(Exchange {
        index,
        method: e.request.method.to_ascii_uppercase(),
        url: e.request.url,
        started_ms,
        time_ms: if e.time.is_finite() { e.time } else { 0.0 },
        request_headers: pairs(e.request.headers),
        request_cookies: e
            .request
            .cookies
            .into_iter()
            .map(|c| (c.name, c.value))
            .collect(),
        query: e
            .request
            .query_string
            .into_iter()
            .map(|q| (q.name, q.value))
            .collect(),
        request_body,
        request_mime,
        status,
        response_headers: pairs(e.response.headers),
        response_body,
        response_mime: e.response.content.mime_type.unwrap_or_default(),
    })
}

/// A response body: `text` as is, or base64-decoded when `encoding` says so.
fn decode(text: String, encoding: Option<&str>) -> Result<Body, EntryError> {
    match encoding {
        None | Some("") => Ok(Body::Text(text)),
        Some(enc) if enc.eq_ignore_ascii_case("base64") => {
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(text.trim())
                .map_err(EntryError::Base64)?;
            Ok(match String::from_utf8(bytes) {
                Ok(s) => Body::Text(s),
                Err(e) => Body::Binary {
                    len: e.as_bytes().len(),
                },
            })
        }
        Some(other) => Err(EntryError::Encoding(other.to_string())),
    }
}

#[cfg(test)]
mod tests;
