//! Renders suite errors like rustc does (annotate-snippets), e.g.
//!
//! ```text
//! error: unknown persona field `max_chat`
//!   --> suites/smoke.yaml:14:7
//!    |
//! 14 |       max_chat: 3
//!    |       ^^^^^^^^ did you mean `max_chats`?
//! ```

use annotate_snippets::{AnnotationKind, Group, Level, Renderer, Snippet};

use super::error::{SuiteError, SuiteErrors};

/// Every error of `errors`, each followed by a blank line, then a one-line summary.
pub fn render(errors: &SuiteErrors, color: bool) -> String {
    let renderer = if color {
        Renderer::styled()
    } else {
        Renderer::plain()
    };
    let mut out = String::new();
    for e in &errors.errors {
        out.push_str(&renderer.render(&[group(e, errors)]));
        out.push_str("\n\n");
    }
    let n = errors.errors.len();
    let summary = format!(
        "could not load `{}` due to {n} previous error{}",
        errors.path.display(),
        if n == 1 { "" } else { "s" }
    );
    out.push_str(&renderer.render(&[Group::with_title(Level::ERROR.primary_title(summary))]));
    out.push('\n');
    out
}

fn group<'a>(e: &'a SuiteError, all: &'a SuiteErrors) -> Group<'a> {
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
    let mut ann = AnnotationKind::Primary.span(start..end);
    if let Some(l) = label {
        ann = ann.label(l);
    }
    title.element(
        Snippet::source(src.as_str())
            .path(span.file.display().to_string())
            .fold(true)
            .annotation(ann),
    )
}
