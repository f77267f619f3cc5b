//! An agent's credentials from the suite's pool, resolved from the environment by the plan
//! (`runner::plan`) and handed to the agents (`runner::agent`) and the conformance world.

/// An agent's credentials. The password never reaches a log or report.
#[derive(Clone)]
pub struct Credential {
    pub username: String,
    pub password: String,
}
