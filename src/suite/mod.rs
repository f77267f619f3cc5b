//! Suites: the YAML model, loading, validation with source positions, and errors.
//!
//! `load` is the entry point: it returns a [`LoadedSuite`] (typed model, parsed thresholds,
//! compiled schemas, resolved agents) or [`SuiteErrors`] holding every problem found, each with
//! its position, which `SuiteErrors::render` prints like a compiler error.

pub mod agents;
pub mod error;
mod load;
pub mod model;
mod model_de;
pub mod plan;
mod render;
pub mod spans;
pub mod threshold;
pub mod validate;
pub mod values;

pub use error::{SuiteError, SuiteErrorKind, SuiteErrors};
pub use load::{LoadedSuite, load, load_str, load_yaml};
pub use model::Suite;
