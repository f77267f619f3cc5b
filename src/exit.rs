//! The documented exit codes.

/// How a run ended, as the process exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Every check and threshold passed.
    Passed = 0,
    /// A check or threshold failed (the target broke a contract).
    Failed = 1,
    /// Bad usage or an invalid suite.
    Usage = 2,
    /// The harness itself could not run (target unreachable at start, reports not writable).
    Harness = 3,
}

impl Exit {
    pub fn code(self) -> u8 {
        self as u8
    }
}
