//! From a suite's contracts to the ordered list of cases `conform` runs.
//!
//! Each contract gives a positive case (its `request`, judged by the contract's status, schema
//! and budget) in JSON and, unless `xml: false`, in XML, plus its negative `cases:`. A negative
//! case's expected status defaults by what it varies (documented in the README):
//! `token` 401, `site: outside` 403, `omit` 400, `set` 401, `foreign` 401, `late` 422; an
//! expired token must also say "Access Token Expired".
//!
//! Order is what makes the run possible: cases needing less setup first (nothing → a token →
//! a session → an offer → an accepted engagement), then by the operation table, then in file
//! order; cases that have to wait (an expired token, a late accept) run last, so their waits
//! overlap the rest of the run.

use crate::aeapi::ops::{self, Operation};
use crate::suite::model::{
    Case, Contract, Needs, OutputFormat, RequestData, SiteCase, Skip, StatusSet, TokenCase,
    VARIABLES, variables_in,
};

/// Something a case has to wait for before it is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Wait {
    None,
    /// The token's `expires_in`.
    TokenExpiry,
    /// The accept window of an offer.
    AcceptWindow,
}

/// One case, ready to run.
#[derive(Debug, Clone)]
pub struct CaseSpec {
    pub op: &'static Operation,
    /// `positive`, or the case's name.
    pub name: String,
    pub format: OutputFormat,
    pub needs: Needs,
    /// `None` for the positive case.
    pub case: Option<Case>,
    /// `None`: the contract's status (or the operation's default).
    pub status: Option<StatusSet>,
    pub message: Option<String>,
    pub wait: Wait,
    pub skip: Option<Skip>,
    /// Position of the contract's case list (0 = positive), to keep file order.
    pub index: usize,
}

impl CaseSpec {
    /// `login / missing username`, with ` [xml]` for the XML run.
    pub fn id(&self) -> String {
        match self.format {
            OutputFormat::Json => format!("{} / {}", self.op.name, self.name),
            OutputFormat::Xml => format!("{} / {} [xml]", self.op.name, self.name),
        }
    }

    /// The expected statuses as text (`200`, `200 or 204`, `default`).
    pub fn expected(&self) -> String {
        let codes: Vec<u16> = match &self.status {
            Some(StatusSet::One(s)) => vec![*s],
            Some(StatusSet::Many(v)) => v.clone(),
            None => crate::check::default_statuses(self.op.name).to_vec(),
        };
        let codes: Vec<String> = codes.iter().map(u16::to_string).collect();
        codes.join(" or ")
    }
}

/// What a contract's request needs: `needs:`, or the most any of its `${variables}` needs (at
/// least a token; an engagement id alone means an accepted engagement: an open offer must be
/// asked for with `needs: offer`).
pub fn needs_of(contract: &Contract) -> Needs {
    if let Some(n) = contract.needs {
        return n;
    }
    let mut needs = Needs::Token;
    if let Some(r) = &contract.request {
        for text in request_text(r) {
            for var in variables_in(&text) {
                if let Some((_, n)) = VARIABLES.iter().find(|(k, _)| *k == var) {
                    needs = needs.max(*n);
                }
            }
        }
    }
    needs.max(if needs == Needs::Offer {
        Needs::Engagement
    } else {
        needs
    })
}

fn request_text(r: &RequestData) -> Vec<String> {
    fn walk(v: &serde_json::Value, out: &mut Vec<String>) {
        match v {
            serde_json::Value::String(s) => out.push(s.clone()),
            serde_json::Value::Array(a) => a.iter().for_each(|x| walk(x, out)),
            serde_json::Value::Object(m) => m.values().for_each(|x| walk(x, out)),
            _ => {}
        }
    }
    let mut out: Vec<String> = r.headers.values().cloned().collect();
    for v in r
        .query
        .values()
        .chain(r.body.values())
        .chain(r.form.values())
    {
        walk(v, &mut out);
    }
    out
}

/// The default name of a negative case, from what it varies.
pub fn default_name(c: &Case) -> String {
    let mut parts = Vec::new();
    match c.token {
        Some(TokenCase::None) => parts.push("no token".to_string()),
        Some(TokenCase::Expired) => parts.push("expired token".to_string()),
        None => {}
    }
    if c.site == Some(SiteCase::Outside) {
        parts.push("site outside the token".into());
    }
    if !c.omit.is_empty() {
        parts.push(format!("missing {}", c.omit.join(", ")));
    }
    if !c.set.is_empty() {
        let keys: Vec<&str> = c.set.keys().map(String::as_str).collect();
        parts.push(format!("unknown {}", keys.join(", ")));
    }
    if c.foreign {
        parts.push("another agent's engagement".into());
    }
    if c.late {
        parts.push("late accept".into());
    }
    if parts.is_empty() {
        "unchanged request".into()
    } else {
        parts.join(", ")
    }
}

/// The status a negative case expects when it names none.
pub fn default_status(c: &Case) -> u16 {
    if c.token.is_some() {
        401
    } else if c.site.is_some() {
        403
    } else if !c.omit.is_empty() {
        400
    } else if !c.set.is_empty() || c.foreign {
        401
    } else if c.late {
        422
    } else {
        200
    }
}

/// Every case of the selected contracts, in run order. `select` gets the operation name and the
/// case id (`op / name`).
pub fn expand(
    contracts: &std::collections::BTreeMap<String, Contract>,
    select: &dyn Fn(&str, &str) -> bool,
) -> Vec<CaseSpec> {
    let mut out = Vec::new();
    for (name, contract) in contracts {
        let Some(op) = ops::find(name) else { continue };
        let needs = needs_of(contract);
        let mut formats = vec![OutputFormat::Json];
        if contract.xml != Some(false) {
            formats.push(OutputFormat::Xml);
        }
        for format in formats {
            out.push(CaseSpec {
                op,
                name: "positive".into(),
                format,
                needs,
                case: None,
                status: contract.status.clone(),
                message: None,
                wait: Wait::None,
                skip: None,
                index: 0,
            });
        }
        for (i, c) in contract.cases.iter().enumerate() {
            let wait = if c.late {
                Wait::AcceptWindow
            } else if c.token == Some(TokenCase::Expired) {
                Wait::TokenExpiry
            } else {
                Wait::None
            };
            let message = c.message.clone().or_else(|| {
                (c.token == Some(TokenCase::Expired)).then(|| "Access Token Expired".to_string())
            });
            out.push(CaseSpec {
                op,
                name: c.name.clone().unwrap_or_else(|| default_name(c)),
                format: OutputFormat::Json,
                needs,
                status: Some(
                    c.status
                        .clone()
                        .unwrap_or(StatusSet::One(default_status(c))),
                ),
                message,
                wait,
                skip: c.skip,
                case: Some(c.clone()),
                index: i + 1,
            });
        }
    }
    out.retain(|c| select(c.op.name, &c.id()));
    order(&mut out);
    out
}

/// Sorts cases into run order (see the module docs).
pub fn order(cases: &mut [CaseSpec]) {
    let table = |op: &Operation| {
        ops::OPERATIONS
            .iter()
            .position(|o| o.name == op.name)
            .unwrap_or(usize::MAX)
    };
    cases.sort_by_key(|c| {
        (
            c.wait,
            c.needs,
            table(c.op),
            c.index,
            c.format == OutputFormat::Xml,
        )
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn contracts(yaml: &str) -> std::collections::BTreeMap<String, Contract> {
        match serde_yaml::from_str(yaml) {
            Ok(c) => c,
            Err(e) => panic!("{e}"),
        }
    }

    #[test]
    fn cases_run_by_setup_then_table_then_file_order_with_waits_last() {
        let c = contracts(
            r#"
closeEngagement:
  request: {query: {registeredId: "${registeredId}"}, body: {engagementId: "${engagementId}"}}
  cases: [{token: expired}, {omit: [engagementId]}]
acceptEngagement:
  needs: offer
  xml: false
  request: {query: {registeredId: "${registeredId}"}, body: {engagementId: "${engagementId}"}}
  cases: [{late: true}, {foreign: true}]
login:
  request: {body: {username: "${username}", password: "${password}"}}
  cases: [{omit: [password], status: 401}]
token:
  needs: nothing
  xml: false
  request: {form: {grant_type: client_credentials}}
verifySession:
  xml: false
  request: {query: {registeredId: "${registeredId}"}}
  cases: [{set: {registeredId: "0-0"}}, {token: none}]
"#,
        );
        let all = expand(&c, &|_, _| true);
        let got: Vec<String> = all
            .iter()
            .map(|c| format!("{} ({})", c.id(), c.expected()))
            .collect();
        assert_eq!(
            got,
            vec![
                "token / positive (200)",
                "login / positive (200)",
                "login / positive [xml] (200)",
                "login / missing password (401)",
                "verifySession / positive (200)",
                "verifySession / unknown registeredId (401)",
                "verifySession / no token (401)",
                "acceptEngagement / positive (200)",
                "acceptEngagement / another agent's engagement (401)",
                "closeEngagement / positive (200)",
                "closeEngagement / positive [xml] (200)",
                "closeEngagement / missing engagementId (400)",
                "closeEngagement / expired token (401)",
                "acceptEngagement / late accept (422)",
            ]
        );
        let expired = all.iter().find(|c| c.name == "expired token");
        assert_eq!(
            expired.and_then(|c| c.message.as_deref()),
            Some("Access Token Expired")
        );
        let close = all.iter().find(|c| c.op.name == "closeEngagement");
        assert_eq!(close.map(|c| c.needs), Some(Needs::Engagement));
        let only = expand(&c, &|op, id| op == "login" && id.contains("missing"));
        assert_eq!(only.len(), 1);
    }

    #[test]
    fn needs_are_inferred_from_variables() {
        let c = contracts(
            "a: {request: {query: {x: '${siteId}'}}}\nb: {request: {query: {r: 'id ${registeredId}'}}}\nc: {}\nd: {request: {body: {t: '${guestId}', e: '${engagementId}'}}}\n",
        );
        let n: Vec<Needs> = c.values().map(needs_of).collect();
        assert_eq!(
            n,
            vec![
                Needs::Token,
                Needs::Session,
                Needs::Token,
                Needs::Conference
            ]
        );
    }

    #[test]
    fn fixture_needs_run_after_engagements_in_order_of_setup() {
        let c = contracts(
            r#"
acceptOwnership: {needs: ownership_offer, xml: false}
conferenceMode: {needs: conference_guest, xml: false}
transferOwnership: {needs: conference, xml: false}
followUpEngagement: {needs: follow_up, xml: false}
closeEngagement: {needs: engagement, xml: false}
"#,
        );
        let got: Vec<(&str, Needs)> = expand(&c, &|_, _| true)
            .iter()
            .map(|c| (c.op.name, c.needs))
            .collect();
        assert_eq!(
            got,
            vec![
                ("closeEngagement", Needs::Engagement),
                ("followUpEngagement", Needs::FollowUp),
                ("transferOwnership", Needs::Conference),
                ("conferenceMode", Needs::ConferenceGuest),
                ("acceptOwnership", Needs::OwnershipOffer),
            ]
        );
        let conference: Vec<bool> = got.iter().map(|(_, n)| n.conference()).collect();
        assert_eq!(conference, vec![false, false, true, true, true]);
    }
}
