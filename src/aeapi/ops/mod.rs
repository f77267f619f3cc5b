//! The AEAPI operations, as one static table: the 47 of the v2 reference (`operations.tsv`),
//! the customer-side calls real clients make, and two method twins the simulator also serves.
//!
//! Every part of the harness names, calls and serves operations from here: suites (`contracts`,
//! thresholds), the client (`aeapi::client`), the conformance engine, the runner's metrics, and
//! the simulator's router, gate and OpenAPI document. Each operation's method, path and
//! parameters are written once, in [`table`]. Names are the reference's; where one path serves
//! two methods the name carries a suffix (`messages.get`, `messages.post`).

mod table;

pub use table::{CUSTOMER_OPERATIONS, OPERATIONS, VARIANTS};

/// HTTP method of an operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Method {
    Get,
    Post,
}

impl Method {
    /// Upper-case method name as on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
        }
    }
}

/// Where a parameter travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ParamIn {
    Query,
    /// A JSON or form body.
    Body,
    /// A form body only.
    Form,
    Header,
}

impl ParamIn {
    /// The OpenAPI spelling (`query`, `body`, `form`, `header`).
    pub fn as_str(self) -> &'static str {
        match self {
            ParamIn::Query => "query",
            ParamIn::Body => "body",
            ParamIn::Form => "form",
            ParamIn::Header => "header",
        }
    }
}

/// How a caller proves who it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Auth {
    /// The application's client id and secret (`Authorization: Basic`): the token endpoint.
    ClientBasic,
    /// No credentials at all.
    None,
    /// A bearer access token.
    Bearer,
}

/// One parameter of an operation (see the `table` module docs for the notation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Param {
    pub name: &'static str,
    pub location: ParamIn,
    /// `string` unless the table says `boolean`, `integer`, `object` or `array`.
    pub kind: &'static str,
    /// The simulator answers 400 without it (its OpenAPI document marks it required).
    pub required: bool,
    /// The reference marks it required.
    pub reference_required: bool,
    /// What the simulator takes ("" = any value of `kind`): `a|b|c` for a string (an enum), or
    /// `min..max` for an integer (inclusive). The simulator refuses anything else (400) and its
    /// OpenAPI document lists the same values.
    pub values: &'static str,
}

impl Param {
    /// The values an enumerated string parameter takes (`None`: any string).
    pub fn allowed(&self) -> Option<Vec<&'static str>> {
        (!self.values.is_empty() && self.kind == "string").then(|| self.values.split('|').collect())
    }

    /// The inclusive bounds of an integer parameter (`None`: unbounded).
    pub fn bounds(&self) -> Option<(i64, i64)> {
        if self.kind != "integer" {
            return None;
        }
        let (lo, hi) = self.values.split_once("..")?;
        Some((lo.parse().ok()?, hi.parse().ok()?))
    }

    /// The allowed values as a phrase: `a, b or c`.
    pub fn allowed_phrase(&self) -> String {
        let values = self.allowed().unwrap_or_default();
        match values.split_last() {
            Some((last, rest)) if !rest.is_empty() => format!("{} or {last}", rest.join(", ")),
            Some((last, _)) => (*last).to_string(),
            None => String::new(),
        }
    }
}

/// One operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Operation {
    /// The operation's name as suites and reports spell it.
    pub name: &'static str,
    pub method: Method,
    /// Path relative to the API base (the auth base for `token`).
    pub path: &'static str,
    /// Every parameter, in the compact notation of the `table` module.
    pub params: &'static str,
    /// The reference's success response, as `operations.tsv` summarises it.
    pub success: &'static str,
    pub auth: Auth,
    /// The simulator's name for it, when not `name` (customer calls).
    pub served_as: Option<&'static str>,
}

impl Operation {
    /// The name the simulator serves it under (fault configs, the OpenAPI `operationId`).
    pub fn served_name(&self) -> &'static str {
        self.served_as.unwrap_or(self.name)
    }

    /// Every parameter of [`Operation::params`], parsed.
    pub fn params(&self) -> Vec<Param> {
        self.params.split_whitespace().filter_map(parse).collect()
    }

    /// The parameters the reference marks as required.
    pub fn required(&self) -> impl Iterator<Item = Param> {
        self.params().into_iter().filter(|p| p.reference_required)
    }
}

/// One `where:name[:type][=values][mark]` of the notation; `None` for an unknown `where`.
fn parse(p: &'static str) -> Option<Param> {
    let (p, required, reference_required) = match p.as_bytes().last() {
        Some(b'*') => (&p[..p.len() - 1], true, true),
        Some(b'+') => (&p[..p.len() - 1], true, false),
        Some(b'!') => (&p[..p.len() - 1], false, true),
        _ => (p, false, false),
    };
    let (p, values) = p.split_once('=').unwrap_or((p, ""));
    let mut parts = p.splitn(3, ':');
    let location = match parts.next()? {
        "q" => ParamIn::Query,
        "b" => ParamIn::Body,
        "f" => ParamIn::Form,
        "h" => ParamIn::Header,
        _ => return None,
    };
    Some(Param {
        name: parts.next()?,
        location,
        kind: parts.next().unwrap_or("string"),
        required,
        reference_required,
        values,
    })
}

/// Looks an operation up by its name (agent-side reference operations and customer calls).
pub fn find(name: &str) -> Option<&'static Operation> {
    OPERATIONS
        .iter()
        .chain(CUSTOMER_OPERATIONS)
        .find(|op| op.name == name)
}

/// Every operation name, for "did you mean" hints and listings.
pub fn names() -> impl Iterator<Item = &'static str> {
    OPERATIONS
        .iter()
        .chain(CUSTOMER_OPERATIONS)
        .map(|op| op.name)
}

/// Every operation the simulator serves (the table's three parts).
pub fn served() -> impl Iterator<Item = &'static Operation> {
    OPERATIONS.iter().chain(CUSTOMER_OPERATIONS).chain(VARIANTS)
}

/// The served operation of that name ([`Operation::served_name`]).
pub fn find_served(name: &str) -> Option<&'static Operation> {
    served().find(|op| op.served_name() == name)
}

/// The served operation at that method and path.
pub fn served_at(method: Method, path: &str) -> Option<&'static Operation> {
    served().find(|op| op.method == method && op.path == path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn table_has_all_47_operations_with_unique_names() {
        assert_eq!(OPERATIONS.len(), 47);
        let mut names: Vec<_> = OPERATIONS.iter().map(|op| op.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), 47);
        let mut all: Vec<_> = super::names().collect();
        all.sort_unstable();
        all.dedup();
        assert_eq!(all.len(), 47 + CUSTOMER_OPERATIONS.len());
    }

    #[test]
    fn find_returns_method_path_and_required_params() {
        let op = find("acceptEngagement").expect("listed");
        assert_eq!(op.method, Method::Post);
        assert_eq!(op.path, "/engagementAPI/v2/agent/acceptEngagement");
        let required: Vec<_> = op.required().map(|p| (p.name, p.location)).collect();
        assert_eq!(
            required,
            [
                ("registeredId", ParamIn::Query),
                ("engagementId", ParamIn::Body)
            ]
        );
        assert!(find("acceptEngagment").is_none());
    }

    #[test]
    fn served_names_methods_and_paths_are_unique() {
        let names: HashSet<_> = served().map(|op| op.served_name()).collect();
        let routes: HashSet<_> = served().map(|op| (op.method, op.path)).collect();
        assert_eq!(names.len(), served().count());
        assert_eq!(routes.len(), served().count());
        assert_eq!(served().count(), 53);
        let twin = find_served("agentAvailability.get").expect("served");
        assert_eq!(
            (twin.method, twin.path),
            (Method::Get, "/engagementAPI/v2/customer/agentAvailability")
        );
        assert_eq!(
            served_at(Method::Post, "/engagementAPI/v2/customer/engagement")
                .map(Operation::served_name),
            Some("customerEngagement.post")
        );
        assert!(find("customerEngagement.post").is_none());
    }

    #[test]
    fn params_parse_with_location_type_and_marks() {
        let op = find("customSettings").expect("listed");
        let p = op.params();
        assert_eq!(
            p[0],
            Param {
                location: ParamIn::Query,
                name: "agentID",
                kind: "string",
                required: true,
                reference_required: true,
                values: "",
            }
        );
        assert!(p.contains(&Param {
            location: ParamIn::Body,
            name: "fontSize",
            kind: "integer",
            required: false,
            reference_required: false,
            values: "0..100",
        }));
        let clicking = p.iter().find(|p| p.name == "clicking").expect("listed");
        assert_eq!(clicking.allowed(), Some(vec!["singleClick", "doubleClick"]));
        assert_eq!(clicking.allowed_phrase(), "singleClick or doubleClick");
        let font = p.iter().find(|p| p.name == "fontSize").expect("listed");
        assert_eq!((font.bounds(), font.allowed()), (Some((0, 100)), None));
        let status = find("agentStatus").expect("listed").params();
        assert_eq!(
            status
                .iter()
                .find(|p| p.name == "state")
                .map(|p| (p.required, p.allowed_phrase())),
            Some((true, "available or busy".to_string()))
        );
        let get = find("messages.get").expect("listed").params();
        assert!(
            get.iter()
                .any(|p| p.name == "agentId" && !p.required && p.reference_required)
        );
        let mask = find("maskText").expect("listed").params();
        assert!(
            mask.iter()
                .any(|p| p.name == "engagementId" && p.required && !p.reference_required)
        );
        for op in served() {
            assert_eq!(
                op.params().len(),
                op.params.split_whitespace().count(),
                "{op:?}"
            );
        }
    }
}
