//! Where a command's output goes (stdout for results, stderr for diagnostics), how much of it,
//! and the one printer of errors.

use std::io::Write;

use super::AppError;

/// How much to print.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verbosity {
    pub quiet: bool,
    pub verbose: u8,
}

/// Where output goes: stdout for results, stderr for diagnostics.
pub struct Console {
    pub out: Box<dyn Write>,
    pub err: Box<dyn Write>,
    /// Whether diagnostics carry ANSI colour.
    pub color: bool,
    pub verbosity: Verbosity,
}

impl Console {
    /// The process's own stdout and stderr.
    pub fn terminal(color: bool, verbosity: Verbosity) -> Console {
        Console {
            out: Box::new(std::io::stdout()),
            err: Box::new(std::io::stderr()),
            color,
            verbosity,
        }
    }

    /// Prints an error on stderr: a suite's problems rendered like a compiler's, anything else
    /// as `error: …` followed by its causes.
    pub fn error(&mut self, e: &AppError) {
        if let AppError::Suite(errors) = e {
            let _ = write!(self.err, "{}", errors.render(self.color));
            return;
        }
        let _ = writeln!(self.err, "error: {e}");
        let mut cause = std::error::Error::source(e);
        while let Some(c) = cause {
            let _ = writeln!(self.err, "  caused by: {c}");
            cause = c.source();
        }
    }

    /// A `note: …` on stderr, unless quiet.
    pub fn note(&mut self, what: &str) {
        if !self.verbosity.quiet {
            let _ = writeln!(self.err, "note: {what}");
        }
    }

    /// Whether `-q` was given.
    pub fn quiet(&self) -> bool {
        self.verbosity.quiet
    }

    /// Whether `-v` (or more) was given.
    pub fn verbose(&self) -> bool {
        self.verbosity.verbose > 0
    }
}
