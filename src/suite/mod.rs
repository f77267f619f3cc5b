//! Suites: the YAML model, loading, validation with source positions, and errors.

pub mod model;
mod model_de;
pub mod spans;
pub mod threshold;
pub mod values;

pub use model::Suite;
