//! Suites: the YAML model, loading, validation with source positions, and errors.
//!
//! `load` is the entry point: it returns a [`LoadedSuite`] (typed model, parsed thresholds,
//! compiled schemas, resolved agents) or [`SuiteErrors`] holding every problem found, each with
//! its position, which `SuiteErrors::render` prints like a compiler error.

pub mod agents;
pub mod error;
pub mod input;
pub mod limits;
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

/// The closest of `candidates` to `name`, if it is close enough to be a likely typo.
pub fn did_you_mean<'a>(
    name: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<String> {
    candidates
        .into_iter()
        .map(|c| (strsim::jaro_winkler(name, c), c))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c.to_string())
}

#[cfg(test)]
mod tests {
    #[test]
    fn did_you_mean_offers_only_close_names() {
        let keys = ["max_chats", "weight", "messages"];
        assert_eq!(
            super::did_you_mean("max_chat", keys),
            Some("max_chats".to_string())
        );
        assert_eq!(super::did_you_mean("colour", keys), None);
    }
}
