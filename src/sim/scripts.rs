//! Script trees and groups from the seed data: scriptTree (the trees of a site, groups without
//! their scripts), fullScriptTree (with every script) and scriptGroup (one group's scripts).

use serde_json::json;

use super::Sim;
use super::error::{ApiError, ApiResult, Reply};
use super::extract::{Req, user_session};
use super::params::Input;
use super::seed::group_json;

/// The session (registeredId) and, when given, `username` must agree.
fn check(sim: &Sim, input: &Input, username_required: bool) -> Result<(), ApiError> {
    let username = if username_required {
        Some(input.require_query("username")?)
    } else {
        input.query.get("username")
    };
    user_session(&sim.core.lock(), input, username.as_deref())?;
    Ok(())
}

/// The site's script trees, with every script when `full` (`username` then optional).
fn trees(req: &Req, full: bool, root: &'static str) -> ApiResult {
    let (sim, input) = req.parts();
    check(sim, &input, !full)?;
    let site = input.query.get("siteId");
    Ok(Reply::ok(
        root,
        sim.seed.script_trees_json(site.as_deref(), full),
    ))
}

/// GET scriptTree: the site's script trees, groups listed without their scripts.
pub async fn script_tree(req: Req) -> ApiResult {
    trees(&req, false, "ScriptTreeResponse")
}

/// GET fullScriptTree: the site's script trees with every script.
pub async fn full_script_tree(req: Req) -> ApiResult {
    trees(&req, true, "FullScriptTreeResponse")
}

/// GET scriptGroup: one group's scripts; an unknown id answers 200 with `errorMsg` set (the
/// reference's body has the field for it).
pub async fn script_group(req: Req) -> ApiResult {
    let (sim, input) = req.parts();
    let username = input.require_query("username")?;
    let id = input.require_query("scriptGroupId")?;
    if input.query.get("registeredId").is_some() {
        check(sim, &input, true)?;
    } else if !sim.config.agents.knows(&username) {
        return Err(ApiError::unknown(format!(
            "There is no such agent on the server: `{username}`"
        )));
    }
    let body = match sim.seed.script_group(&id) {
        Some(g) => group_json(g, true),
        None => json!({
            "errorMsg": format!("no script group {id}"),
            "id": &*id,
            "name": "",
            "scriptGroup": [],
        }),
    };
    Ok(Reply::ok("ScriptGroupResponse", body))
}
