//! The target a recording was made against: API and auth bases, grant type, site, business
//! unit, agent group and output format, each with where it came from.

use std::collections::BTreeMap;

use base64::Engine;
use serde_json::Value;

use super::calls::Call;

/// A value and where it came from (for the YAML comment).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sourced {
    pub value: String,
    pub from: String,
}

/// What the recording says about the target.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TargetGuess {
    pub api: Option<Sourced>,
    pub auth: Option<Sourced>,
    pub grant: Option<Sourced>,
    pub site_id: Option<Sourced>,
    pub business_unit_id: Option<Sourced>,
    pub agent_group_id: Option<Sourced>,
    pub output: Option<Sourced>,
    /// The API host is a loopback address (a local simulator or tunnel).
    pub loopback: bool,
}

/// The most frequent value of `values` (ties: the first seen), with its count and first entry.
fn most_common(values: impl Iterator<Item = (String, usize)>) -> Option<(String, usize, usize)> {
    let mut counts: BTreeMap<String, (usize, usize, usize)> = BTreeMap::new();
    for (i, (v, entry)) in values.enumerate() {
        let slot = counts.entry(v).or_insert((0, i, entry));
        slot.0 += 1;
    }
    counts
        .into_iter()
        .max_by(|a, b| a.1.0.cmp(&b.1.0).then(b.1.1.cmp(&a.1.1)))
        .map(|(v, (n, _, entry))| (v, n, entry))
}

fn sourced(found: Option<(String, usize, usize)>, what: &str) -> Option<Sourced> {
    found.map(|(value, n, entry)| Sourced {
        value,
        from: format!("{what}: {n} call(s), first entries[{entry}]"),
    })
}

/// Infers the target from `calls`.
pub fn guess(calls: &[Call]) -> TargetGuess {
    let token = |c: &&Call| c.op.name == "token";
    // The most common base URL among the token calls (`true`) or the other calls.
    let base = |of_token: bool, what: &str| {
        sourced(
            most_common(
                calls
                    .iter()
                    .filter(|c| token(c) == of_token)
                    .map(|c| (c.base.clone(), c.entry)),
            ),
            what,
        )
    };
    let api = base(false, "API base of the recorded URLs");
    let auth = base(true, "base of the recorded token calls");
    let grant = sourced(
        most_common(
            calls
                .iter()
                .filter(token)
                .filter_map(|c| c.body_field("grant_type").map(|g| (g, c.entry))),
        ),
        "grant_type of the token calls",
    );
    let site_id = id_from(
        calls,
        &["siteID", "siteId", "site_id"],
        "siteId in the queries",
        "siteId",
    )
    .or_else(|| sourced(token_site(calls), "`sites` claim of the recorded token"));
    let business_unit_id = id_from(
        calls,
        &["businessUnitID", "businessUnitId"],
        "businessUnitID in the queries",
        "businessUnitId",
    );
    let agent_group_id = id_from(
        calls,
        &["agentGroupID", "agentGroupId"],
        "agentGroupID in the queries",
        "agentGroupId",
    );
    let output = output_format(calls);
    let loopback = api.as_ref().is_some_and(|a| is_loopback(&a.value));
    TargetGuess {
        api,
        auth,
        grant,
        site_id,
        business_unit_id,
        agent_group_id,
        output,
        loopback,
    }
}

/// An id from the queries (first of `names` a call carries), else from the engagement
/// settings `setting` in `messages.get` bodies.
fn id_from(calls: &[Call], names: &[&str], what: &str, setting: &str) -> Option<Sourced> {
    let in_queries = most_common(calls.iter().flat_map(|c| {
        names
            .iter()
            .filter_map(|n| c.param(n))
            .take(1)
            .map(|v| (v, c.entry))
    }));
    sourced(in_queries, what).or_else(|| {
        let in_settings = most_common(
            calls
                .iter()
                .filter(|c| c.op.name == "messages.get")
                .flat_map(|c| {
                    engagement_settings(c.response.as_ref(), setting)
                        .into_iter()
                        .map(|v| (v, c.entry))
                }),
        );
        sourced(
            in_settings,
            &format!("engagement settings {setting} in messages.get"),
        )
    })
}

/// The `output` query parameter, when it is `json` or `xml`.
fn output_format(calls: &[Call]) -> Option<Sourced> {
    sourced(
        most_common(calls.iter().filter_map(|c| {
            c.query
                .iter()
                .find(|(k, _)| k == "output")
                .map(|(_, v)| (v.to_ascii_lowercase(), c.entry))
        })),
        "`output` query parameter",
    )
    .filter(|o| o.value == "json" || o.value == "xml")
}

/// Whether `url`'s host is `localhost` or a loopback address.
fn is_loopback(url: &str) -> bool {
    reqwest::Url::parse(url).ok().is_some_and(|u| {
        let host = u.host_str().unwrap_or_default();
        host.eq_ignore_ascii_case("localhost")
            || host
                .trim_start_matches('[')
                .trim_end_matches(']')
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback())
    })
}

/// `settings.<name>` of each engagement in a `messages.get` body.
fn engagement_settings(body: Option<&Value>, name: &str) -> Vec<String> {
    let list = match body.and_then(|b| b.get("engagements")) {
        Some(Value::Array(a)) => a.iter().collect(),
        Some(one) => vec![one],
        None => Vec::new(),
    };
    list.iter()
        .filter_map(|e| e.get("settings")?.get(name))
        .filter_map(|v| match v {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        })
        .collect()
}

/// The first site of the recorded token: the response's `sites`, else the JWT's `sites` claim
/// (payload decoded without verifying; only this claim is read).
fn token_site(calls: &[Call]) -> Option<(String, usize, usize)> {
    calls
        .iter()
        .filter(|c| c.op.name == "token" && c.ok())
        .find_map(|c| {
            let body = c.response.as_ref()?;
            let first = |v: &Value| match v.get("sites")? {
                Value::Array(a) => a.first()?.as_str().map(str::to_string),
                Value::String(s) => s.split([',', ' ']).next().map(str::to_string),
                _ => None,
            };
            first(body)
                .or_else(|| {
                    let jwt = body.get("access_token")?.as_str()?;
                    let payload = jwt.split('.').nth(1)?;
                    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
                        .decode(payload.trim_end_matches('='))
                        .ok()?;
                    first(&serde_json::from_slice::<Value>(&bytes).ok()?)
                })
                .map(|s| (s, 1, c.entry))
        })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::import::behaviour::tests::call;

    #[test]
    fn bases_grant_site_and_output_come_from_the_calls() {
        let mut token = call(
            0,
            "token",
            0.0,
            1.0,
            200,
            Some(json!({"grant_type": "password"})),
            // {"sites":["77"]}
            Some(json!({"access_token": "h.eyJzaXRlcyI6WyI3NyJdfQ.s"})),
        );
        token.base = "https://auth.example.com".into();
        let mut login = call(1, "login", 1.0, 1.0, 200, None, None);
        login.base = "https://api.example.com/x".into();
        login.query.push(("output".into(), "XML".into()));
        let g = guess(&[token, login]);
        assert_eq!(
            g.api.map(|s| s.value).as_deref(),
            Some("https://api.example.com/x")
        );
        assert_eq!(
            g.auth.map(|s| s.value).as_deref(),
            Some("https://auth.example.com")
        );
        assert_eq!(g.grant.map(|s| s.value).as_deref(), Some("password"));
        let site = g.site_id.expect("site");
        assert_eq!(site.value, "77");
        assert_eq!(
            site.from,
            "`sites` claim of the recorded token: 1 call(s), first entries[0]"
        );
        assert_eq!(g.output.map(|s| s.value).as_deref(), Some("xml"));
        assert!(!g.loopback);
    }

    #[test]
    fn site_unit_and_group_prefer_queries_then_engagement_settings() {
        let mut poll = call(
            3,
            "messages.get",
            0.0,
            1.0,
            200,
            None,
            Some(json!({"engagements":
            [{"id": "1", "settings": {"siteId": "306", "businessUnitId": 22, "agentGroupId": "1"}}]})),
        );
        poll.base = "http://127.0.0.1:9".into();
        let mut avail = call(4, "agentAvailability", 0.0, 1.0, 200, None, None);
        avail.query.push(("siteID".into(), "154".into()));
        avail.base = "http://127.0.0.1:9".into();
        let g = guess(&[poll, avail]);
        assert_eq!(g.site_id.map(|s| s.value).as_deref(), Some("154"));
        assert_eq!(g.business_unit_id.map(|s| s.value).as_deref(), Some("22"));
        assert_eq!(g.agent_group_id.map(|s| s.value).as_deref(), Some("1"));
        assert!(g.loopback);
        assert_eq!(g.auth, None);
    }
}
