//! Renders suite errors like rustc does (annotate-snippets), e.g.
//!
//! ```text
//! error: unknown persona field `max_chat`
//!   --> suites/smoke.yaml:14:7
//!    |
//! 14 |       max_chat: 3
//!    |       ^^^^^^^^ did you mean `max_chats`?
//! ```

use std::collections::BTreeMap;
use std::path::Path;

use annotate_snippets::{AnnotationKind, Group, Level, Renderer, Snippet};

use super::error::{SuiteError, SuiteErrors};

/// Errors shown in full; the rest are counted (a file can hold hundreds of thousands).
const SHOWN: usize = 100;

/// Every error of `errors` (the first [`SHOWN`]), each followed by a blank line, then a
/// one-line summary.
pub fn render(errors: &SuiteErrors, color: bool) -> String {
    let renderer = if color {
        Renderer::styled()
    } else {
        Renderer::plain()
    };
    let mut out = String::new();
    let mut lines = BTreeMap::new();
    for e in errors.errors.iter().take(SHOWN) {
        out.push_str(&renderer.render(&[group(e, errors, &mut lines)]));
        out.push_str("\n\n");
    }
    let n = errors.errors.len();
    if n > SHOWN {
        let more = format!("{} more errors not shown", n - SHOWN);
        out.push_str(&renderer.render(&[Group::with_title(Level::NOTE.primary_title(more))]));
        out.push_str("\n\n");
    }
    let summary = format!(
        "could not load `{}` due to {n} previous error{}",
        errors.path.display(),
        if n == 1 { "" } else { "s" }
    );
    out.push_str(&renderer.render(&[Group::with_title(Level::ERROR.primary_title(summary))]));
    out.push('\n');
    out
}

/// Byte offsets of the line starts of a file, computed once per file shown.
type LineStarts<'a> = BTreeMap<&'a Path, Vec<usize>>;

fn group<'a>(e: &'a SuiteError, all: &'a SuiteErrors, lines: &mut LineStarts<'a>) -> Group<'a> {
    let title = Level::ERROR.primary_title(e.kind.to_string());
    let label = e.kind.label();
    let Some(span) = &e.span else {
        return match label {
            Some(l) => Group::with_title(Level::ERROR.primary_title(format!("{}: {l}", e.kind))),
            None => Group::with_title(title),
        };
    };
    let Some(src) = all.sources.get(&span.file) else {
        return Group::with_title(title);
    };
    let start = span.range.start.min(src.len());
    let end = span.range.end.clamp(start, src.len());
    // Only the lines the span covers go to the renderer, so each error costs its own lines
    // rather than the whole file.
    let starts = lines.entry(span.file.as_path()).or_insert_with(|| {
        std::iter::once(0)
            .chain(src.match_indices('\n').map(|(i, _)| i + 1))
            .collect()
    });
    let first = starts.partition_point(|&s| s <= start).saturating_sub(1);
    let from = starts[first];
    let to = starts
        .get(starts.partition_point(|&s| s <= end))
        .map_or(src.len(), |&s| s);
    let text = src.get(from..to).unwrap_or_default();
    let mut ann = AnnotationKind::Primary.span(start - from..end - from);
    if let Some(l) = label {
        ann = ann.label(l);
    }
    title.element(
        Snippet::source(text)
            .line_start(first + 1)
            .path(span.file.display().to_string())
            .fold(true)
            .annotation(ann),
    )
}
