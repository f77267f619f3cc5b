//! The command layer's error: everything that stops a command, each with its exit code. Messages
//! that name a secret are masked before they become an error.

use std::net::SocketAddr;
use std::path::PathBuf;

use crate::capacity::CapacityError;
use crate::conform::ConformError;
use crate::exit::Exit;
use crate::import::ImportError;
use crate::report::ReportError;
use crate::report::merge::MergeError;
use crate::runner::RunError;
use crate::suite::SuiteErrors;
use crate::suite::plan::PlanError;

/// Why a command stopped. Only [`AppError::Listen`] has a cause of its own to print: every
/// other message already says everything (the printer walks the chain).
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// A suite or simulator config that does not load (rendered with its source lines).
    #[error("invalid suite")]
    Suite(SuiteErrors),
    /// A flag that does not make sense.
    #[error("{0}")]
    Usage(String),
    #[error("{0}")]
    Plan(PlanError),
    #[error("{0}")]
    Run(RunError),
    #[error("--baseline: {0}")]
    Baseline(ReportError),
    #[error("{0}")]
    Conform(ConformError),
    #[error("{0}")]
    Capacity(CapacityError),
    #[error("{0}")]
    Merge(MergeError),
    /// A HAR that cannot be imported (names the file and the entry).
    #[error("{0}")]
    Import(ImportError),
    /// A plan the runner refused, its message masked.
    #[error("{0}")]
    Refused(String),
    #[error("cannot create the report directory {}: {cause}", path.display())]
    ReportDir {
        path: PathBuf,
        cause: std::io::Error,
    },
    #[error("cannot start the async runtime: {0}")]
    Runtime(std::io::Error),
    /// A report that could not be written.
    #[error("{0}")]
    Report(ReportError),
    /// The harness could not run, its message masked.
    #[error("{0}")]
    Harness(String),
    /// `--metrics-listen` or `--dashboard` could not listen.
    #[error("{0}")]
    Live(crate::live::ListenError),
    #[error("cannot listen on {addr}")]
    Listen {
        addr: SocketAddr,
        #[source]
        cause: std::io::Error,
    },
}

impl AppError {
    /// 2 for bad usage or an invalid suite, 3 when the harness could not run.
    pub fn exit(&self) -> Exit {
        match self {
            AppError::Suite(_)
            | AppError::Usage(_)
            | AppError::Plan(_)
            | AppError::Run(RunError::Plan(_))
            | AppError::Baseline(_)
            | AppError::Conform(_)
            | AppError::Capacity(_)
            | AppError::Merge(_)
            | AppError::Import(_)
            | AppError::Refused(_) => Exit::Usage,
            AppError::Run(RunError::Harness(_))
            | AppError::ReportDir { .. }
            | AppError::Runtime(_)
            | AppError::Report(_)
            | AppError::Harness(_)
            | AppError::Live(_)
            | AppError::Listen { .. } => Exit::Harness,
        }
    }
}
