//! Where a command's output goes (stdout for results, stderr for diagnostics), how much of it,
//! and the one printer of errors.

use std::io::Write;
use std::sync::{Arc, Mutex};

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

    /// A console writing into two in-memory buffers (returned: stdout, stderr), colour off:
    /// how tests drive a command and read back what it printed.
    pub fn buffered(verbose: u8) -> (Console, Buffer, Buffer) {
        let (out, err) = (Buffer::default(), Buffer::default());
        let c = Console {
            out: Box::new(out.clone()),
            err: Box::new(err.clone()),
            color: false,
            verbosity: Verbosity {
                quiet: false,
                verbose,
            },
        };
        (c, out, err)
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

/// An in-memory writer whose clones share one buffer: a console's stdout or stderr, kept to be
/// read back (tests drive commands with one).
#[derive(Clone, Default)]
pub struct Buffer(Arc<Mutex<Vec<u8>>>);

impl Write for Buffer {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .map_err(|_| std::io::Error::other("poisoned"))?
            .extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Buffer {
    /// Everything written so far.
    pub fn text(&self) -> String {
        self.0
            .lock()
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn console() -> (Console, Buffer) {
        let (c, _, err) = Console::buffered(0);
        (c, err)
    }

    #[test]
    fn an_error_is_printed_once_with_its_chain() {
        let (mut c, err) = console();
        c.error(&AppError::Listen {
            addr: ([127, 0, 0, 1], 9).into(),
            cause: std::io::Error::new(std::io::ErrorKind::AddrInUse, "address in use"),
        });
        assert_eq!(
            err.text(),
            "error: cannot listen on 127.0.0.1:9\n  caused by: address in use\n"
        );
        let (mut c, err) = console();
        c.error(&AppError::Usage("`--only x` matches no case".into()));
        assert_eq!(err.text(), "error: `--only x` matches no case\n");
        assert_eq!(
            AppError::Usage(String::new()).exit(),
            crate::exit::Exit::Usage
        );
        assert_eq!(
            AppError::Harness(String::new()).exit(),
            crate::exit::Exit::Harness
        );
    }
}
