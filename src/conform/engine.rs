//! Running cases: set up what a case needs, build its request from the contract's `request` and
//! the case's variation, send it once, judge it, clean up.
//!
//! The positive case is judged by `check::Contracts::judge`, exactly as `run` judges responses
//! under load (same compiled schemas; XML bodies mapped by `aeapi::xml` and coerced to the
//! schema); a negative case by its expected status and, if given, a text the response must hold.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde_json::Value;

use super::case::{CaseSpec, Wait};
use super::world::{Fixture, FixtureError, Session, World};
use super::{CaseOutcome, Problem, Verdict};
use crate::aeapi::client::{self, Call, Observed};
use crate::aeapi::token::Token;
use crate::check::{Contracts, check_status};
use crate::report::secrets::mask_cut;
use crate::suite::model::{
    Case, Needs, OutputFormat, RequestData, SiteCase, Skip, TokenCase, variables_in,
};

/// A site id no token covers (checked against the token's `sites`).
fn outside_site(token: Option<&Token>) -> String {
    let sites = token.map(|t| t.sites.clone()).unwrap_or_default();
    (0..)
        .map(|i| format!("9999{i}"))
        .find(|s| !sites.contains(s))
        .unwrap_or_else(|| "99990".into())
}

/// Runs one case against the world.
pub async fn run_case(
    world: &mut World,
    contracts: &Contracts,
    request: &RequestData,
    spec: &CaseSpec,
    remote: bool,
) -> CaseOutcome {
    let mut outcome = CaseOutcome::new(spec);
    match spec.skip {
        Some(Skip::Always) => {
            outcome.verdict = Verdict::Skipped("skip: always".into());
            return outcome;
        }
        Some(Skip::Remote) if remote => {
            outcome.verdict = Verdict::Skipped("skip: remote (a remote target)".into());
            return outcome;
        }
        _ => {}
    }
    let fixture = match world.setup(spec.needs).await {
        Ok(f) => f,
        Err(e) => {
            outcome.verdict = Verdict::Error(format!("setup failed: {e}"));
            return outcome;
        }
    };
    let result = send_case(world, contracts, request, spec, fixture.as_ref()).await;
    if let Some(f) = &fixture {
        world.cleanup(f).await;
    }
    match result {
        Ok((obs, verdict)) => {
            // A token the case itself obtained (the `token` operation) is a secret too, and the
            // excerpt may hold only its start: masked once the outcome holds the excerpt.
            let obtained = obs.field("access_token").map(str::to_string);
            if spec.op.name == "login"
                && let Some(r) = obs.field("registeredId")
                && let Some(user) = request_user(request, world)
            {
                // A case that logged an agent in leaves it parked, so it steals no offers.
                let r = r.to_string();
                world.park(&r, &user).await;
            }
            outcome.fill(&obs);
            if let Some(t) = obtained {
                outcome.excerpt = mask_cut(&outcome.excerpt, &t);
                world.seen_tokens.push(t);
            }
            outcome.verdict = verdict;
        }
        Err(e) => outcome.verdict = Verdict::Error(e.to_string()),
    }
    outcome
}

fn request_user(request: &RequestData, world: &World) -> Option<String> {
    let v = request
        .body
        .get("username")
        .or(request.form.get("username"))?;
    match v.as_str()? {
        "${username}" => world.spare().map(|c| c.username.clone()),
        other => Some(other.to_string()),
    }
}

/// Sets up the session and token, sends, judges. `Err` is the harness's trouble.
async fn send_case(
    world: &mut World,
    contracts: &Contracts,
    request: &RequestData,
    spec: &CaseSpec,
    fixture: Option<&Fixture>,
) -> Result<(Observed, Verdict), FixtureError> {
    let case = spec.case.as_ref();
    let shared = if spec.needs == Needs::Session || case.is_some_and(|c| c.foreign) {
        Some(world.shared().await?)
    } else {
        None
    };
    let acting: Option<&Session> = match (fixture, case.is_some_and(|c| c.foreign)) {
        (Some(_), true) | (None, _) => shared.as_ref(),
        (Some(f), false) => Some(&f.session),
    };
    let vars = case_vars(world, acting, fixture);
    if spec.wait == Wait::AcceptWindow {
        // Before the token is taken, so the wait cannot outlive a short-lived token.
        tokio::time::sleep(world.accept_window + world.accept_margin).await;
    }
    let token = match case.and_then(|c| c.token) {
        Some(TokenCase::None) => None,
        Some(TokenCase::Expired) => Some(world.expired_token().await?),
        None if spec.needs == Needs::Nothing => None,
        None => Some(world.token_as(acting.map(|s| s.username.as_str())).await?),
    };
    let mut req = request.clone();
    if let Some(c) = case {
        apply_case(&mut req, c, token.as_deref());
    }
    let call = build(spec, &req, &vars, token.as_deref());
    let ep = world.endpoint(spec.op.name, spec.format);
    let mut obs = client::send(&world.http, &ep, call).await;
    if spec.wait == Wait::TokenExpiry
        && let Some(deadline) = world.expired_deadline()
    {
        // Clocks differ by up to a second: retry a 2xx until the token's expiry + the margin.
        while obs.status.is_some_and(|s| s < 300) && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(250)).await;
            let call = build(spec, &req, &vars, token.as_deref());
            obs = client::send(&world.http, &ep, call).await;
        }
    }
    let verdict = judge(contracts, spec, &mut obs);
    Ok((obs, verdict))
}

/// The variables of one case: every case's, the acting agent's and the fixture's.
fn case_vars(
    world: &World,
    acting: Option<&Session>,
    fixture: Option<&Fixture>,
) -> BTreeMap<&'static str, String> {
    let mut vars = base_vars(world);
    if let Some(s) = acting {
        vars.insert("registeredId", s.registered_id.clone());
        vars.insert("agentId", s.username.clone());
    }
    if let Some(f) = fixture {
        vars.insert("engagementId", f.engagement_id.clone());
        vars.insert("customerId", f.customer_id.clone());
        if let Some(g) = &f.guest {
            vars.insert("guestId", g.username.clone());
        }
    }
    vars
}

/// A negative case's changes to the request: fields omitted, fields set, the site moved
/// outside the token's.
fn apply_case(req: &mut RequestData, c: &Case, token: Option<&Token>) {
    for name in &c.omit {
        req.query.remove(name);
        req.body.remove(name);
        req.form.remove(name);
        req.headers.remove(name);
    }
    for (name, v) in &c.set {
        for part in [&mut req.query, &mut req.body, &mut req.form] {
            if part.contains_key(name) {
                part.insert(name.clone(), v.clone());
            }
        }
        if let (Some(h), Some(s)) = (req.headers.get_mut(name), v.as_str()) {
            *h = s.to_string();
        }
    }
    if c.site == Some(SiteCase::Outside) {
        let site = Value::String(outside_site(token));
        for part in [&mut req.query, &mut req.body, &mut req.form] {
            for (k, v) in part.iter_mut() {
                if k.eq_ignore_ascii_case("siteId") {
                    *v = site.clone();
                }
            }
        }
    }
}

/// The variables every case may use.
fn base_vars(world: &World) -> BTreeMap<&'static str, String> {
    let mut v = BTreeMap::new();
    v.insert("basicAuth", world.basic_auth());
    v.insert("siteId", world.placement.site_id.clone());
    v.insert("businessUnitId", world.placement.business_unit_id.clone());
    v.insert("agentGroupId", world.placement.agent_group_id.clone());
    if let Some(c) = world.spare() {
        v.insert("username", c.username.clone());
        v.insert("password", c.password.clone());
    }
    v
}

/// Replaces every `${name}` in `text` (an unknown one stays as written).
pub fn substitute(text: &str, vars: &BTreeMap<&'static str, String>) -> String {
    let mut out = text.to_string();
    for name in variables_in(text) {
        if let Some(v) = vars.get(name) {
            out = out.replace(&format!("${{{name}}}"), v);
        }
    }
    out
}

fn fill(v: &Value, vars: &BTreeMap<&'static str, String>) -> Value {
    match v {
        Value::String(s) => Value::String(substitute(s, vars)),
        Value::Array(a) => Value::Array(a.iter().map(|x| fill(x, vars)).collect()),
        Value::Object(m) => {
            Value::Object(m.iter().map(|(k, x)| (k.clone(), fill(x, vars))).collect())
        }
        other => other.clone(),
    }
}

/// A scalar as a query or form value.
fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// The call for a case's request (after its variation), `${variables}` filled in.
pub fn build<'a>(
    spec: &CaseSpec,
    req: &RequestData,
    vars: &BTreeMap<&'static str, String>,
    token: Option<&'a Token>,
) -> Call<'a> {
    let mut call = Call::new(spec.op, token);
    call.owned_query = req
        .query
        .iter()
        .map(|(k, v)| (k.clone(), text(&fill(v, vars))))
        .collect();
    if !req.body.is_empty() {
        let body: serde_json::Map<String, Value> = req
            .body
            .iter()
            .map(|(k, v)| (k.clone(), fill(v, vars)))
            .collect();
        call.body = Some(Value::Object(body));
    }
    if !req.form.is_empty() {
        call.owned_form = Some(
            req.form
                .iter()
                .map(|(k, v)| (k.clone(), text(&fill(v, vars))))
                .collect(),
        );
    }
    call.headers = req
        .headers
        .iter()
        .map(|(k, v)| (k.clone(), substitute(v, vars)))
        .collect();
    call
}

/// The verdict on one response.
pub fn judge(contracts: &Contracts, spec: &CaseSpec, obs: &mut Observed) -> Verdict {
    let xml = spec.format == OutputFormat::Xml;
    let mut problems = Vec::new();
    if spec.case.is_none() {
        for (check, result) in contracts.judge(obs, 0.0, xml) {
            if let Err(f) = result {
                problems.push(Problem::from_failure(check, &f));
            }
        }
    } else {
        if let Err(f) = check_status(spec.status.as_ref(), obs.op, obs) {
            problems.push(Problem::from_failure("status", &f));
        }
        if let Some(m) = &spec.message {
            let found = obs.excerpt().contains(m.as_str())
                || obs
                    .www_authenticate
                    .as_deref()
                    .is_some_and(|h| h.contains(m));
            if !found {
                problems.push(Problem {
                    check: "message",
                    message: format!("expected the response to contain \"{m}\""),
                    pointers: Vec::new(),
                });
            }
        }
    }
    if problems.is_empty() {
        Verdict::Passed
    } else {
        Verdict::Failed(problems)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conform::case;
    use crate::suite::model::Contract;

    #[test]
    fn build_fills_variables_into_query_body_form_and_headers() {
        let c: Contract = match serde_yaml::from_str(
            "request:\n  query: {registeredId: '${registeredId}', n: 3}\n  body: {agentId: '${agentId}', deep: {id: 'e-${engagementId}'}}\n  form: {grant_type: client_credentials}\n  headers: {Authorization: 'Basic ${basicAuth}'}\n",
        ) {
            Ok(c) => c,
            Err(e) => panic!("{e}"),
        };
        let mut contracts = std::collections::BTreeMap::new();
        contracts.insert("closeEngagement".to_string(), c.clone());
        let spec = case::expand(&contracts, &|_, _| true).remove(0);
        let mut vars = BTreeMap::new();
        vars.insert("registeredId", "7-abc".to_string());
        vars.insert("agentId", "agent2".to_string());
        vars.insert("engagementId", "42".to_string());
        vars.insert("basicAuth", "b64".to_string());
        let req = c.request.unwrap_or_default();
        let call = build(&spec, &req, &vars, None);
        assert_eq!(
            call.owned_query,
            vec![
                ("n".to_string(), "3".to_string()),
                ("registeredId".to_string(), "7-abc".to_string())
            ]
        );
        assert_eq!(
            call.body,
            Some(serde_json::json!({"agentId": "agent2", "deep": {"id": "e-42"}}))
        );
        assert_eq!(
            call.owned_form,
            Some(vec![(
                "grant_type".to_string(),
                "client_credentials".to_string()
            )])
        );
        assert_eq!(
            call.headers,
            vec![("Authorization".to_string(), "Basic b64".to_string())]
        );
        assert_eq!(substitute("${nope} ${agentId}", &vars), "${nope} agent2");
    }

    #[test]
    fn hide_masks_a_secret_cut_off_by_the_excerpt() {
        let hide = mask_cut;
        let secret = "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.payload.signature";
        assert_eq!(
            hide(
                r#"{"access_token":"eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.pay…"#,
                secret
            ),
            r#"{"access_token":"****…"#
        );
        assert_eq!(hide(&format!("a {secret} b"), secret), "a **** b");
        assert_eq!(hide("nothing here", secret), "nothing here");
    }
}
