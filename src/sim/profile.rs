//! What an agent reads and changes about itself: settings, customSettings, customScript,
//! changePassword, agentGroups, extraChat and activePerformanceMetrics.
//!
//! Changes persist per agent across sessions (`Core::profiles`, an entry only for agents who
//! changed something): a new password is what login and the password grant accept from then
//! on; `loginState: loginAsBusy` makes the next login busy (`loginAsAvailable: false`);
//! `playSounds` and `showAlerts` show in settings (`enableAudibleAlert`,
//! `visualIndicatorFlashing`). Operations that take `agentId` without a `registeredId`
//! (customScript, customSettings, changePassword) check it against the agent directory, and
//! against the token's `user_name` when the token came from the password grant.

use std::sync::Arc;

use axum::extract::State;
use serde_json::{Map, Value, json};

use super::Sim;
use super::error::{ApiError, ApiResult, Reply};
use super::extract::{Req, session};
use super::gate::Ctx;
use super::seed::by_site;

/// A known agent named by a parameter, allowed for this token.
fn known_agent(sim: &Sim, ctx: &Ctx, name: &str) -> Result<(), ApiError> {
    if !sim.config.agents.knows(name) {
        return Err(ApiError::unknown(format!(
            "There is no such agent on the server: `{name}`"
        )));
    }
    if let Some(owner) = ctx.claims.as_ref().and_then(|c| c.user_name.as_deref())
        && owner != name
    {
        return Err(ApiError::unknown(format!(
            "this token was issued to agent `{owner}`"
        )));
    }
    Ok(())
}

/// GET settings: the agent's and the site's settings, live.
pub async fn settings(req: Req) -> ApiResult {
    let (sim, input) = req.parts();
    let core = sim.core.lock();
    let sid = session(&core, &input, false)?;
    let Some(s) = core.sessions.get(&sid) else {
        return Err(ApiError::unknown("no such session"));
    };
    if let Some(u) = input.query.get("username")
        && *u != *s.username
    {
        return Err(ApiError::unknown(format!(
            "username `{u}` does not own this session"
        )));
    }
    let custom = core.profiles.get(&s.username).map(|p| &p.custom_settings);
    let flag = |name: &str, default: bool| {
        custom
            .and_then(|c| c.get(name))
            .and_then(Value::as_bool)
            .unwrap_or(default)
    };
    let seed = &sim.seed;
    let sites: Vec<Value> = by_site(&seed.business_units, |b| &b.site_id)
        .into_iter()
        .map(|(site, units)| {
            json!({
                "agentGroups": units.iter().flat_map(|b| b.agent_groups.iter()).map(|g| json!({
                    "displayName": g.display_name.clone().unwrap_or_else(|| g.name.clone()),
                    "id": g.id,
                    "name": g.name,
                    "settingId": format!("ag-{}", g.id),
                })).collect::<Vec<_>>(),
                "businessUnits": units.iter().map(|b| json!({
                    "displayName": b.display_name.clone().unwrap_or_else(|| b.name.clone()),
                    "id": b.id,
                    "name": b.name,
                    "settingId": format!("bu-{}", b.id),
                })).collect::<Vec<_>>(),
                "id": site,
                "name": format!("Site {site}"),
            })
        })
        .collect();
    let body = json!({
        "busyStatuses": {"status": seed.busy_statuses},
        "cobrowseEnabled": !seed.cobrowse_urls.is_empty(),
        "cobrowseURLs": seed.cobrowse_urls.iter().map(|c| json!({"siteId": c.site_id, "url": c.url})).collect::<Vec<_>>(),
        "enableAudibleAlert": flag("playSounds", true),
        "enableAudibleAlertWhenNotInFocus": flag("playSounds", true),
        "enableCustomScript": true,
        "enableMoveWindow": true,
        "loginStatus": if s.available { "available" } else { "busy" },
        "maxChats": s.max_chats,
        "maxExtraSlots": 1,
        "maxForcedChats": 0,
        "reservedStatuses": {"status": seed.reserved_statuses},
        "screenCaptureLog": false,
        "siteSettings": {"sites": sites},
        "visualIndicatorFlashing": if flag("showAlerts", true) { "ALWAYS" } else { "NONE" },
    });
    Ok(Reply::ok("SettingsResponse", body))
}

/// POST customSettings: merged into the agent's stored custom settings.
pub async fn custom_settings(req: Req) -> ApiResult {
    let (sim, input) = req.parts();
    let agent = input
        .require_query_or_body("agentID", sim.config.strict)?
        .to_string();
    let include_layout = input.query.flag("includeLayout", false)?;
    let mut changes = Map::new();
    // `clicking` and `loginState` take one of two words, `fontSize` a bounded integer: the
    // operation table's values, checked before the handler.
    for name in ["clicking", "loginState"] {
        if let Some(v) = input.get(name) {
            changes.insert(name.into(), Value::String(v.into_owned()));
        }
    }
    if let Some(v) = input.get("fontSize") {
        let n: u32 = v
            .trim()
            .parse()
            .map_err(|_| ApiError::unexpected("fontSize", "an integer", &v))?;
        changes.insert("fontSize".into(), n.into());
    }
    for name in ["language", "layoutSettings"] {
        if let Some(v) = input.get(name) {
            changes.insert(name.into(), Value::String(v.into_owned()));
        }
    }
    for name in ["playSounds", "showAlerts"] {
        if input.get(name).is_some() {
            let b = input.flag(name, false)?;
            changes.insert(name.into(), b.into());
        }
    }
    known_agent(sim, &req.ctx, &agent)?;
    let mut core = sim.core.lock();
    let p = core.profiles.entry(agent.as_str().into()).or_default();
    p.custom_settings.extend(changes);
    if !include_layout {
        return Ok(Reply::empty());
    }
    let mut out = p.custom_settings.clone();
    out.insert("agentId".into(), agent.into());
    Ok(Reply::ok("CustomSettingsResponse", Value::Object(out)))
}

fn default_script(sim: &Sim) -> Value {
    let d = &sim.seed.default_custom_script;
    json!({
        "lastUpdateDate": 0,
        "lng": d.lng,
        "scripts": d.scripts.iter().map(|l| json!({
            "nonEditable": l.non_editable,
            "scriptValue": l.value,
            "type": l.kind,
        })).collect::<Vec<_>>(),
    })
}

/// GET customScript: the agent's saved custom script, or the site default.
pub async fn custom_script_get(req: Req) -> ApiResult {
    let (sim, ctx) = (&req.sim, &req.ctx);
    let agent = ctx.query.require("agentId")?;
    known_agent(sim, &req.ctx, &agent)?;
    let saved = sim.core.lock().changed(&agent, |p| p.custom_script.clone());
    let scripts = saved.unwrap_or_else(|| default_script(sim));
    Ok(Reply::ok(
        "CustomScriptResponse",
        json!({"customScripts": scripts, "userName": &*agent}),
    ))
}

/// Checks and normalises a posted `customScripts` object.
fn normalise_script(v: &Value, now_ms: u64) -> Result<Value, ApiError> {
    let parsed;
    let v = match v {
        Value::String(s) => {
            parsed = serde_json::from_str::<Value>(s).map_err(|_| {
                ApiError::invalid(
                    "customScripts",
                    "expected an object {lastUpdateDate, lng, scripts}",
                )
            })?;
            &parsed
        }
        other => other,
    };
    let Some(obj) = v.as_object() else {
        return Err(ApiError::invalid(
            "customScripts",
            "expected an object {lastUpdateDate, lng, scripts}",
        ));
    };
    let lng = match obj.get("lng") {
        None | Some(Value::Null) => "en-US".to_string(),
        Some(Value::String(s)) => s.clone(),
        Some(_) => return Err(ApiError::invalid("customScripts", "`lng` must be a string")),
    };
    let empty = Vec::new();
    let scripts = match obj.get("scripts") {
        None | Some(Value::Null) => &empty,
        Some(Value::Array(a)) => a,
        Some(_) => {
            return Err(ApiError::invalid(
                "customScripts",
                "`scripts` must be an array",
            ));
        }
    };
    let mut out = Vec::with_capacity(scripts.len());
    for s in scripts {
        let Some(o) = s.as_object() else {
            return Err(ApiError::invalid(
                "customScripts",
                "each script must be an object",
            ));
        };
        let kind = match o.get("type") {
            None | Some(Value::Null) => "TEXT",
            Some(Value::String(t)) if t == "TEXT" || t == "HEADER" => t.as_str(),
            Some(_) => {
                return Err(ApiError::invalid(
                    "customScripts",
                    "a script's `type` must be TEXT or HEADER",
                ));
            }
        };
        let value = match o.get("scriptValue") {
            Some(Value::String(t)) => t.clone(),
            None | Some(Value::Null) => String::new(),
            Some(_) => {
                return Err(ApiError::invalid(
                    "customScripts",
                    "a script's `scriptValue` must be a string",
                ));
            }
        };
        let non_editable = match o.get("nonEditable") {
            Some(Value::Bool(b)) => *b,
            Some(Value::String(b)) if b == "true" || b == "false" => b == "true",
            None | Some(Value::Null) => false,
            Some(_) => {
                return Err(ApiError::invalid(
                    "customScripts",
                    "a script's `nonEditable` must be a boolean",
                ));
            }
        };
        out.push(json!({"nonEditable": non_editable, "scriptValue": value, "type": kind}));
    }
    Ok(json!({"lastUpdateDate": now_ms, "lng": lng, "scripts": out}))
}

/// POST customScript: saves the agent's custom script.
pub async fn custom_script_post(req: Req) -> ApiResult {
    let (sim, input) = req.parts();
    let agent = input.require("agentId")?.to_string();
    let raw = input
        .body
        .value("customScripts")
        .or_else(|| input.query.value("customScripts"))
        .filter(|v| !v.is_null() && v.as_str() != Some(""))
        .ok_or_else(|| ApiError::missing("customScripts"))?;
    let (_, ms) = sim.now();
    let script = normalise_script(raw, ms)?;
    known_agent(sim, &req.ctx, &agent)?;
    sim.core
        .lock()
        .profiles
        .entry(agent.as_str().into())
        .or_default()
        .custom_script = Some(script);
    Ok(Reply::empty())
}

/// POST changePassword: the new password is what login accepts from now on.
pub async fn change_password(req: Req) -> ApiResult {
    let (sim, input) = req.parts();
    let agent = input.require("agentId")?.to_string();
    let old = input.require("oldPassword")?.to_string();
    let new = input.require("newPassword")?.to_string();
    let confirm = input.require("confirmNewPassword")?;
    if new != *confirm {
        return Err(ApiError::invalid(
            "confirmNewPassword",
            "does not match newPassword",
        ));
    }
    // The reference sets no rule on reusing a password, so the simulator sets none either.
    known_agent(sim, &req.ctx, &agent)?;
    let mut core = sim.core.lock();
    let current = core.changed(&agent, |p| p.password.clone());
    let ok = match current {
        Some(pw) => pw == old,
        None => sim
            .config
            .agents
            .authenticate(&agent, &old, &sim.config.agent_group)
            .is_some(),
    };
    if !ok {
        return Err(ApiError::unknown("the old password is wrong"));
    }
    core.profiles
        .entry(agent.as_str().into())
        .or_default()
        .password = Some(new);
    Ok(Reply::empty())
}

/// GET agentGroups: every agent group of the site (advanced agents pick one before login).
pub async fn agent_groups(State(sim): State<Arc<Sim>>) -> ApiResult {
    let groups: Vec<Value> = sim
        .seed
        .groups()
        .map(|(bu, g)| {
            json!({
                "businessUnitId": bu.id,
                "businessUnitName": bu.name,
                "displayName": g.display_name.clone().unwrap_or_else(|| g.name.clone()),
                "id": g.id,
                "name": g.name,
            })
        })
        .collect();
    Ok(Reply::ok(
        "AgentGroupsResponse",
        json!({ "agentGroups": groups }),
    ))
}

/// POST extraChat: `enabled=true` (the default) gives the agent one slot above `max_chats`.
pub async fn extra_chat(req: Req) -> ApiResult {
    let (sim, input) = req.parts();
    let enabled = input.flag("enabled", true)?;
    let (now, ms) = sim.now();
    let mut core = sim.core.lock();
    let sid = session(&core, &input, false)?;
    core.set_session(sid, |s| s.extra = enabled, now, ms)?;
    Ok(Reply::empty())
}

/// The metrics activePerformanceMetrics knows, by name and by number.
const METRICS: &[(&str, &str)] = &[
    ("1", "activeChats"),
    ("2", "pendingOffers"),
    ("3", "maxChats"),
    ("4", "availableSlots"),
    ("5", "finishedChats"),
];

/// GET activePerformanceMetrics: live figures of the agent's session.
pub async fn active_performance_metrics(req: Req) -> ApiResult {
    let (sim, input) = req.parts();
    input.require_query("agentId")?;
    let ids = input.require_query("settingIds")?.to_string();
    let core = sim.core.lock();
    let sid = session(&core, &input, true)?;
    let Some(s) = core.sessions.get(&sid) else {
        return Err(ApiError::unknown("no such session"));
    };
    let mut result = Map::new();
    let mut all_known = true;
    for id in ids.split(',').map(str::trim).filter(|i| !i.is_empty()) {
        let Some((_, name)) = METRICS.iter().find(|(n, m)| *n == id || *m == id) else {
            all_known = false;
            continue;
        };
        let v: u64 = match *name {
            "activeChats" => s.chats.len() as u64,
            "pendingOffers" => s.offers.len() as u64,
            "maxChats" => u64::from(s.capacity()),
            "availableSlots" => u64::from(s.capacity().saturating_sub(s.load())),
            _ => u64::from(s.finished),
        };
        result.insert(id.to_string(), v.into());
    }
    Ok(Reply::ok(
        "ActivePerformanceMetricsResponse",
        json!({"result": result, "setOrExpired": all_known}),
    ))
}
