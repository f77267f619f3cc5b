//! Checks of a contract's conformance data (`request`, `cases`, `needs`): every `${variable}`
//! exists, every case names parameters the request sends, `site` has a site parameter to change
//! and `foreign`/`late` have an engagement to work on. Each problem points at its own key.

use std::ops::Range;

use super::Ctx;
use crate::suite::error::SuiteErrorKind;
use crate::suite::model::{Needs, VARIABLES, variables_in};
use crate::suite::spans::{self, Node};

impl Ctx<'_> {
    /// A contract's conformance data: known `${variables}`, and cases that name parameters the
    /// request sends and fixtures the contract has.
    pub(super) fn conform_cases(&mut self, op: &str, contract: &Node) {
        let base = format!("contracts.{op}");
        let (params, has_site) = self.request_params(&base, contract);
        let needs = contract_needs(contract);
        for (i, case) in contract
            .get("cases")
            .map(Node::items)
            .unwrap_or_default()
            .iter()
            .enumerate()
        {
            let path = format!("{base}.cases[{i}]");
            self.case_fields(&base, &path, case, &params);
            if let Some(entry) = case.entry("site")
                && !has_site
            {
                self.case_error(
                    entry.key_span.clone(),
                    format!("{path}.site"),
                    "the request sends no `siteId`/`siteID` parameter".into(),
                );
            }
            for key in ["foreign", "late"] {
                if case.get(key).and_then(Node::text) == Some("true")
                    && needs < Needs::Offer
                    && let Some(entry) = case.entry(key)
                {
                    self.case_error(
                        entry.key_span.clone(),
                        format!("{path}.{key}"),
                        "needs an engagement: give the contract `needs: offer` or `needs: engagement`".into(),
                    );
                }
            }
        }
    }

    /// The request's parameter names (their variables checked), and whether one is the site.
    fn request_params<'n>(&mut self, base: &str, contract: &'n Node) -> (Vec<&'n str>, bool) {
        let mut params: Vec<&str> = Vec::new();
        let mut has_site = false;
        if let Some(req) = contract.get("request") {
            for part in req.entries() {
                for p in part.node.entries() {
                    params.push(p.key.as_str());
                    has_site |= p.key.eq_ignore_ascii_case("siteId");
                    self.variables(&p.node, &format!("{base}.request.{}.{}", part.key, p.key));
                }
            }
        }
        (params, has_site)
    }

    /// A case's `omit` and `set` name parameters of the request; `set` values' variables exist.
    fn case_fields(&mut self, base: &str, path: &str, case: &Node, params: &[&str]) {
        for n in case.get("omit").map(Node::items).unwrap_or_default() {
            if let Some(name) = n.text()
                && !params.contains(&name)
            {
                self.case_error(
                    n.span.clone(),
                    format!("{path}.omit"),
                    format!("`{name}` is not a parameter of `{base}.request`"),
                );
            }
        }
        for e in case.get("set").map(Node::entries).unwrap_or_default() {
            if !params.contains(&e.key.as_str()) {
                self.case_error(
                    e.key_span.clone(),
                    format!("{path}.set"),
                    format!("`{}` is not a parameter of `{base}.request`", e.key),
                );
            }
            self.variables(&e.node, &format!("{path}.set.{}", e.key));
        }
    }

    /// A `BadValue` error in a conformance case.
    fn case_error(&mut self, span: Range<usize>, path: String, message: String) {
        self.error(
            span,
            SuiteErrorKind::BadValue {
                what: "case",
                path,
                message,
            },
        );
    }

    /// Every `${name}` in a request value must be a known variable.
    fn variables(&mut self, node: &Node, path: &str) {
        for text in all_text(node) {
            for var in variables_in(&text) {
                if !VARIABLES.iter().any(|(k, _)| *k == var) {
                    let suggestion =
                        crate::suite::did_you_mean(var, VARIABLES.iter().map(|(k, _)| *k))
                            .map(|s| format!("; did you mean `${{{s}}}`?"))
                            .unwrap_or_else(|| {
                                let all: Vec<String> = VARIABLES
                                    .iter()
                                    .map(|(k, _)| format!("`${{{k}}}`"))
                                    .collect();
                                format!("; known: {}", all.join(", "))
                            });
                    self.error(
                        node.span.clone(),
                        SuiteErrorKind::BadValue {
                            what: "variable",
                            path: path.to_string(),
                            message: format!("unknown variable `${{{var}}}`{suggestion}"),
                        },
                    );
                }
            }
        }
    }
}

/// Every scalar's text under `n`.
fn all_text(n: &Node) -> Vec<String> {
    match &n.value {
        spans::Value::Scalar { text, .. } => vec![text.clone()],
        spans::Value::Map(m) => m.iter().flat_map(|e| all_text(&e.node)).collect(),
        spans::Value::Seq(s) => s.iter().flat_map(all_text).collect(),
        spans::Value::Other => Vec::new(),
    }
}

/// `needs:`, or what the request's variables need (as `conform::case::needs_of`).
fn contract_needs(contract: &Node) -> Needs {
    contract
        .get("needs")
        .and_then(Node::text)
        .and_then(|t| serde_yaml::from_str::<Needs>(t).ok())
        .unwrap_or_else(|| {
            let texts = contract.get("request").map(all_text).unwrap_or_default();
            texts
                .iter()
                .flat_map(|t| variables_in(t))
                .filter_map(|v| VARIABLES.iter().find(|(k, _)| *k == v).map(|(_, n)| *n))
                .fold(Needs::Token, Needs::max)
        })
}
