//! Suite + flags → the suite plan (ripgrep's low-level args → high-level args): the suite
//! loaded, a `--target` override merged with the suite's own target, the report directory
//! chosen. `runner::plan::RunPlan::build` then resolves it into the one plan every command runs.

use std::path::Path;

use super::support::default_out_dir;
use super::{AppError, RunConfig};
use crate::suite::model::Target;
use crate::suite::plan::{self, Plan};
use crate::suite::{self, LoadedSuite};

/// Loads a suite; its problems become [`AppError::Suite`].
pub fn load_suite(path: &Path) -> Result<LoadedSuite, AppError> {
    suite::load(path).map_err(AppError::Suite)
}

/// Loads a suite and applies the overrides. (`run -v` and `conform -v` print the plan it
/// returns.)
pub fn load_plan(c: &RunConfig) -> Result<Plan, AppError> {
    let loaded = load_suite(&c.suite)?;
    if c.overrides.target.is_none() {
        check_remote_urls(&loaded.suite.target)?;
    }
    let mut overrides = c.overrides.clone();
    if let Some(t) = &overrides.target {
        overrides.target = Some(apply_target(&loaded, t)?);
    }
    let out = c
        .out
        .clone()
        .unwrap_or_else(|| default_out_dir(&loaded.suite.name));
    plan::plan(loaded, &overrides, out).map_err(AppError::Plan)
}

/// A suite's remote target must name usable URLs (`http://` or `http://[::1` would send the
/// token request nowhere sensible): a usage error (exit 2) otherwise.
fn check_remote_urls(target: &Target) -> Result<(), AppError> {
    if let Target::Remote(t) = target {
        for (field, url) in [("target.api", &t.api), ("target.auth", &t.auth)] {
            crate::aeapi::client::check_base_url(url)
                .map_err(|why| AppError::Usage(format!("suite `{field}` `{url}`: {why}")))?;
        }
    }
    Ok(())
}

/// A URL override keeps the suite's own remote settings and replaces only the bases.
pub fn apply_target(suite: &LoadedSuite, over: &Target) -> Result<Target, AppError> {
    match (over, &suite.suite.target) {
        (Target::Remote(url), Target::Remote(own)) => {
            let mut t = own.clone();
            t.api.clone_from(&url.api);
            t.auth.clone_from(&url.auth);
            Ok(Target::Remote(t))
        }
        (Target::Remote(url), Target::Embedded) if url.site_id.is_empty() => Err(AppError::Usage(
            "`--target URL` on a suite with an embedded target needs the site: set \
                 AEAPI_SITE_ID (and AEAPI_CLIENT_ID, AEAPI_CLIENT_SECRET at run time)"
                .into(),
        )),
        (t, _) => Ok(t.clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::default_out_dir;

    #[test]
    fn default_out_dir_is_name_and_utc_stamp() {
        let d = default_out_dir("my suite/1").display().to_string();
        assert!(d.starts_with("reports/my-suite-1-2"), "{d}");
        assert!(
            d.ends_with('Z') && d.len() == "reports/my-suite-1-".len() + 16,
            "{d}"
        );
    }
}
