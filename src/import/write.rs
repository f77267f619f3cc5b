//! Writes the imported suite as YAML, every inferred value with a comment saying where it came
//! from (entry numbers, sample counts), and the agents CSV. Pure: text in, text out.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde_json::Value;

use super::behaviour::{Behaviour, Samples};
use super::schema::Shape;
use super::target::{Sourced, TargetGuess};

/// What was learnt about one operation.
#[derive(Debug, Clone, Default)]
pub struct OpSeen {
    /// Status → entries that answered it.
    pub statuses: BTreeMap<u16, Vec<usize>>,
    /// Response bodies of 2xx answers, merged.
    pub shape: Shape,
    /// Times of every call.
    pub times: Samples,
}

/// Everything the suite is written from.
pub struct Learnt<'a> {
    pub name: &'a str,
    pub har_name: &'a str,
    pub creator: &'a str,
    pub entries: usize,
    pub calls: usize,
    pub left_out: usize,
    /// AEAPI calls without an answer, left out.
    pub unanswered: usize,
    pub target: &'a TargetGuess,
    /// Usernames in first-seen order, each with the entry that showed it.
    pub agents: &'a [(String, usize)],
    /// The agents CSV as the suite refers to it (relative to the suite when possible).
    pub agents_csv: &'a str,
    pub behaviour: &'a Behaviour,
    pub ops: &'a BTreeMap<&'static str, OpSeen>,
}

/// `entries[3], [9], [12] … (20)`: at most five numbers.
pub fn entry_list(entries: &[usize]) -> String {
    let mut s = String::new();
    for (i, e) in entries.iter().take(5).enumerate() {
        if i == 0 {
            let _ = write!(s, "entries[{e}]");
        } else {
            let _ = write!(s, ", [{e}]");
        }
    }
    if entries.len() > 5 {
        let _ = write!(s, " … ({} in all)", entries.len());
    }
    s
}

/// A duration for the suite: `2s` when whole seconds, else whole milliseconds.
pub fn duration(ms: f64) -> String {
    let ms = ms.max(0.0).round() as u64;
    if ms >= 1000 && ms.is_multiple_of(1000) {
        format!("{}s", ms / 1000)
    } else {
        format!("{ms}ms")
    }
}

/// `constant X` for one sample (or identical ones), else `uniform min..max`.
pub fn distribution(s: &Samples) -> Option<String> {
    if s.is_empty() {
        return None;
    }
    let (lo, hi) = (duration(s.min()), duration(s.max()));
    Some(if lo == hi {
        format!("constant {lo}")
    } else {
        format!("uniform {lo}..{hi}")
    })
}

/// A YAML double-quoted scalar (a JSON string is one).
fn q(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into())
}

/// The latency budget for an operation: 4 × its slowest sample, at least 500 ms, rounded up
/// to 100 ms.
pub fn budget_ms(slowest: f64) -> u64 {
    let b = (slowest * 4.0).max(500.0);
    ((b / 100.0).ceil() as u64) * 100
}

fn target(out: &mut String, t: &TargetGuess) {
    let line = |out: &mut String, key: &str, v: &Option<Sourced>, missing: &str| match v {
        Some(s) => {
            let _ = writeln!(out, "  {key}: {}   # {}", q(&s.value), s.from);
        }
        None => {
            let _ = writeln!(out, "  # {key}: {missing}");
        }
    };
    out.push_str("target:\n");
    if t.loopback {
        out.push_str(
            "  # Recorded against a loopback address (a local simulator or tunnel): \
             `run --target embedded`\n  # runs this suite against the built-in simulator \
             instead.\n",
        );
    }
    let api = t.api.clone().or_else(|| t.auth.clone());
    match &api {
        Some(s) => {
            let _ = writeln!(out, "  api: {}   # {}", q(&s.value), s.from);
        }
        None => out.push_str("  api: \"\"   # no API call recorded: fill in\n"),
    }
    match t.auth.as_ref().or(api.as_ref()) {
        Some(s) if t.auth.is_some() => {
            let _ = writeln!(out, "  auth: {}   # {}", q(&s.value), s.from);
        }
        Some(s) => {
            let _ = writeln!(
                out,
                "  auth: {}   # no token call recorded: the API base",
                q(&s.value)
            );
        }
        None => out.push_str("  auth: \"\"\n"),
    }
    out.push_str("  client_id: ${AEAPI_CLIENT_ID}          # never copied from the recording\n");
    out.push_str("  client_secret: ${AEAPI_CLIENT_SECRET}\n");
    match &t.grant {
        Some(g) if g.value == "password" || g.value == "client_credentials" => {
            let _ = writeln!(out, "  grant: {}   # {}", g.value, g.from);
        }
        Some(g) => {
            let _ = writeln!(
                out,
                "  # grant: the recording used `{}`, which the harness does not speak; \
                 client_credentials assumed",
                g.value.replace(['\n', '\r'], " ")
            );
        }
        None => out.push_str("  # grant: no token call recorded; client_credentials assumed\n"),
    }
    match &t.site_id {
        Some(s) => {
            let _ = writeln!(out, "  site_id: {}   # {}", q(&s.value), s.from);
        }
        None => out.push_str("  site_id: \"\"   # not in the recording: fill in\n"),
    }
    line(
        out,
        "business_unit_id",
        &t.business_unit_id,
        "not in the recording",
    );
    line(
        out,
        "agent_group_id",
        &t.agent_group_id,
        "not in the recording",
    );
    match &t.output {
        Some(o) => {
            let _ = writeln!(out, "  output: {}   # {}", o.value, o.from);
        }
        None => out.push_str("  # output: no `output` parameter recorded; json assumed\n"),
    }
}

fn persona(out: &mut String, b: &Behaviour) {
    out.push_str(
        "personas:\n  recorded:   # one persona from every recorded agent\n    weight: 1\n",
    );
    let _ = writeln!(
        out,
        "    max_chats: {}   # most engagements one agent held at once",
        b.max_chats.max(1)
    );
    dist(out, "think", &b.think, "offer seen → accept or deny");
    dist(out, "typing", &b.typing, "typing notice → its line");
    dist(
        out,
        "reply",
        &b.reply,
        "accept or previous line → next typing notice or line",
    );
    persona_messages(out, b);
    persona_rates(out, b);
    persona_periodic(out, b);
}

/// One timing key: its distribution, or a comment saying it was not measured.
fn dist(out: &mut String, key: &str, s: &Samples, what: &str) {
    match distribution(s) {
        Some(d) => {
            let _ = writeln!(
                out,
                "    {key}: {d}   # {what}: {} sample(s), median {}, {}",
                s.len(),
                duration(s.median()),
                entry_list(&s.entries)
            );
        }
        None => {
            let _ = writeln!(
                out,
                "    # {key}: not measured ({what}: no sample recorded)"
            );
        }
    }
}

/// `messages`: agent lines per accepted engagement.
fn persona_messages(out: &mut String, b: &Behaviour) {
    match (
        b.lines.iter().map(|l| l.0).min(),
        b.lines.iter().map(|l| l.0).max(),
    ) {
        (Some(lo), Some(hi)) => {
            let range = if lo == hi {
                lo.to_string()
            } else {
                format!("{lo}..{hi}")
            };
            let accepts: Vec<usize> = b.lines.iter().map(|l| l.1).collect();
            let _ = writeln!(
                out,
                "    messages: {range}   # agent lines per accepted engagement: {} engagement(s), accepted at {}",
                b.lines.len(),
                entry_list(&accepts)
            );
        }
        _ => out.push_str("    # messages: not measured (no engagement accepted)\n"),
    }
}

/// `deny` and the handover rates.
fn persona_rates(out: &mut String, b: &Behaviour) {
    let decided = b.accepts.len() + b.denies.len();
    if decided > 0 {
        let pct = b.denies.len() as f64 * 100.0 / decided as f64;
        let _ = writeln!(
            out,
            "    deny: {}%   # {} of {decided} offers denied{}",
            trim_pct(pct),
            b.denies.len(),
            if b.denies.is_empty() {
                String::new()
            } else {
                format!(": {}", entry_list(&b.denies))
            }
        );
    } else {
        out.push_str("    # deny: not measured (no offer accepted or denied)\n");
    }
    let accepted = b.accepts.len();
    for (key, op) in [
        ("transfer", "transferEngagement"),
        ("conference", "conferenceEngagement"),
        ("escalate", "escalateEngagement"),
    ] {
        if let Some(e) = b.handovers.get(op)
            && accepted > 0
        {
            let pct = e.len() as f64 * 100.0 / accepted as f64;
            let _ = writeln!(
                out,
                "    {key}: {}%   # {} of {accepted} accepted engagements: {}",
                trim_pct(pct.min(100.0)),
                e.len(),
                entry_list(e)
            );
        }
    }
}

/// `periodic` calls, and those seen too rarely to be periodic.
fn persona_periodic(out: &mut String, b: &Behaviour) {
    if b.periodic.is_empty() {
        out.push_str("    # periodic: none (no call outside the chat flow made 3 or more times by one agent)\n");
    } else {
        out.push_str("    periodic:\n");
        for p in &b.periodic {
            let _ = writeln!(
                out,
                "      {}: {}   # median of {} gap(s), entries[{}]..[{}]",
                p.op,
                duration(p.interval_ms),
                p.gaps,
                p.first_entry,
                p.last_entry
            );
        }
    }
    if !b.occasional.is_empty() {
        let list: Vec<String> = b
            .occasional
            .iter()
            .map(|(op, n)| format!("{op} ×{n}"))
            .collect();
        let _ = writeln!(
            out,
            "    # seen too rarely to be periodic: {}",
            list.join(", ")
        );
    }
}

fn trim_pct(p: f64) -> String {
    let s = format!("{p:.1}");
    s.trim_end_matches(".0").to_string()
}

fn contracts(out: &mut String, ops: &BTreeMap<&'static str, OpSeen>) {
    out.push_str("contracts:\n");
    for (name, seen) in ops {
        let all: Vec<usize> = seen.statuses.values().flatten().copied().collect();
        let _ = writeln!(
            out,
            "  {name}:   # {} call(s): {}",
            all.len(),
            entry_list(&all)
        );
        let mut statuses: Vec<u16> = seen.statuses.keys().copied().collect();
        let mut note = String::new();
        if *name == "messages.get" {
            for s in [200, 204] {
                if !statuses.contains(&s) {
                    statuses.push(s);
                    let _ = write!(note, " ({s} added: a long-poll answers 200 or 204)");
                }
            }
            statuses.sort_unstable();
        }
        let list: Vec<String> = statuses.iter().map(u16::to_string).collect();
        let _ = writeln!(
            out,
            "    status: [{}]   # the statuses recorded{note}",
            list.join(", ")
        );
        if *name != "messages.get" && !seen.times.is_empty() {
            let slowest = seen.times.max();
            let _ = writeln!(
                out,
                "    within: {}   # 4 × the slowest of {} (max {}, median {}), at least 500ms",
                duration(budget_ms(slowest) as f64),
                seen.times.len(),
                duration(slowest),
                duration(seen.times.median())
            );
        }
        if seen.shape.samples() > 0 {
            let schema = seen.shape.to_schema();
            let _ = writeln!(
                out,
                "    # schema inferred from {} 2xx body(ies); required = fields in every one",
                seen.shape.samples()
            );
            match schema_is_leaf(&schema) {
                true => {
                    let _ = writeln!(out, "    schema: {}", schema_flow(&schema));
                }
                false => {
                    out.push_str("    schema:\n");
                    schema_block(out, &schema, 6);
                }
            }
        }
    }
}

/// A key as YAML: plain when it is a simple name, else double-quoted.
fn key(k: &str) -> String {
    let simple = k
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && k.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
    // YAML 1.1 readers take these for null or booleans.
    let special = matches!(
        k.to_ascii_lowercase().as_str(),
        "null" | "true" | "false" | "yes" | "no" | "on" | "off" | "y" | "n"
    );
    if simple && !special {
        k.to_string()
    } else {
        q(k)
    }
}

/// A list of JSON Schema type names as a YAML flow list (`null` quoted: bare, YAML reads null).
fn type_list(ts: &[Value]) -> String {
    let list: Vec<String> = ts.iter().filter_map(Value::as_str).map(key).collect();
    format!("[{}]", list.join(", "))
}

/// A schema without `properties` or `items` fits on one line.
fn schema_is_leaf(s: &Value) -> bool {
    s.get("properties").is_none() && s.get("items").is_none()
}

/// `{type: string}`, `{type: [null, string]}` or `{}`.
fn schema_flow(s: &Value) -> String {
    match s.get("type") {
        Some(Value::String(t)) => format!("{{type: {t}}}"),
        Some(Value::Array(ts)) => format!("{{type: {}}}", type_list(ts)),
        _ => "{}".into(),
    }
}

/// A schema in block style, keys in the order a reader expects: type, required, properties,
/// items (as the shipped suites write them).
fn schema_block(out: &mut String, s: &Value, indent: usize) {
    let pad = " ".repeat(indent);
    match s.get("type") {
        Some(Value::String(t)) => {
            let _ = writeln!(out, "{pad}type: {t}");
        }
        Some(Value::Array(ts)) => {
            let _ = writeln!(out, "{pad}type: {}", type_list(ts));
        }
        _ => {}
    }
    if let Some(Value::Array(req)) = s.get("required") {
        let list: Vec<String> = req.iter().filter_map(Value::as_str).map(key).collect();
        let _ = writeln!(out, "{pad}required: [{}]", list.join(", "));
    }
    if let Some(Value::Object(props)) = s.get("properties") {
        let _ = writeln!(out, "{pad}properties:");
        for (k, v) in props {
            if schema_is_leaf(v) {
                let _ = writeln!(out, "{pad}  {}: {}", key(k), schema_flow(v));
            } else {
                let _ = writeln!(out, "{pad}  {}:", key(k));
                schema_block(out, v, indent + 4);
            }
        }
    }
    if let Some(items) = s.get("items") {
        if schema_is_leaf(items) {
            let _ = writeln!(out, "{pad}items: {}", schema_flow(items));
        } else {
            let _ = writeln!(out, "{pad}items:");
            schema_block(out, items, indent + 2);
        }
    }
}

/// The suite's YAML.
pub fn suite(l: &Learnt) -> String {
    let b = l.behaviour;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# Imported by `aeapi-harness import` from {} (written by {}):\n#   {} entries: {} AEAPI calls, {} unanswered (aborted or pending) and {} other entries left out;\n#   span {}.\n# Secrets were not copied: the client credentials and the agents' password are ${{VAR}}s.",
        l.har_name.replace('\n', " "),
        l.creator.replace('\n', " "),
        l.entries,
        l.calls,
        l.unanswered,
        l.left_out,
        duration(b.span_ms)
    );
    let _ = writeln!(out, "name: {}", q(l.name));
    let _ = writeln!(
        out,
        "description: {}\n",
        q(&format!("imported from {}", l.har_name))
    );
    target(&mut out, l.target);
    let firsts: Vec<usize> = l.agents.iter().map(|a| a.1).collect();
    let _ = writeln!(
        out,
        "\nagents:\n  csv: {}   # {} username(s) seen (login bodies, preLoginStatus queries, token forms): {}\n  password: ${{AGENT_PASSWORD}}   # passwords are never copied",
        q(l.agents_csv),
        l.agents.len(),
        entry_list(&firsts)
    );
    let _ = writeln!(
        out,
        "\nload:\n  agents: {}   # one per username seen\n  duration: {}   # the recording's span, at least 10s",
        l.agents.len().max(1),
        duration(((b.span_ms / 1000.0).ceil().max(10.0)) * 1000.0)
    );
    if b.offers > 0 && b.span_ms > 0.0 {
        let per_min = (b.offers as f64 * 60_000.0 / b.span_ms).ceil() as u64;
        let _ = writeln!(
            out,
            "  arrival_rate: {per_min}/min   # {} offers in {} (the embedded simulator's customers)",
            b.offers,
            duration(b.span_ms)
        );
    }
    out.push_str("  seed: 1\n\n");
    persona(&mut out, b);
    out.push('\n');
    contracts(&mut out, l.ops);
    if !b.hold.is_empty() {
        let _ = writeln!(
            out,
            "\nsimulator:   # the embedded simulator (run --target embedded)\n  long_poll_hold: {}   # median of {} messages.get answered 204: {}",
            duration(b.hold.median()),
            b.hold.len(),
            entry_list(&b.hold.entries)
        );
    }
    out
}

/// Why the agents CSV cannot be rendered.
#[derive(Debug, thiserror::Error)]
pub enum CsvError {
    #[error(transparent)]
    Csv(#[from] csv::Error),
    #[error(transparent)]
    Flush(std::io::Error),
    #[error(transparent)]
    Utf8(#[from] std::string::FromUtf8Error),
}

/// The agents CSV: a `username` column.
pub fn agents_csv(agents: &[(String, usize)]) -> Result<String, CsvError> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(["username"])?;
    for (u, _) in agents {
        w.write_record([u])?;
    }
    let bytes = w
        .into_inner()
        .map_err(|e| CsvError::Flush(e.into_error()))?;
    Ok(String::from_utf8(bytes)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_distributions_and_budgets_are_formatted_for_the_suite() {
        assert_eq!(duration(2000.4), "2s");
        assert_eq!(duration(2003.6), "2004ms");
        assert_eq!(duration(-5.0), "0ms");
        let s = Samples {
            ms: vec![2003.0, 2010.0],
            entries: vec![11, 33],
        };
        assert_eq!(distribution(&s).as_deref(), Some("uniform 2003ms..2010ms"));
        let one = Samples {
            ms: vec![1000.0],
            entries: vec![1],
        };
        assert_eq!(distribution(&one).as_deref(), Some("constant 1s"));
        assert_eq!(distribution(&Samples::default()), None);
        assert_eq!(budget_ms(3.0), 500);
        assert_eq!(budget_ms(151.0), 700);
        assert_eq!(
            entry_list(&[1, 2, 3, 4, 5, 6, 7]),
            "entries[1], [2], [3], [4], [5] … (7 in all)"
        );
        assert_eq!(trim_pct(33.333), "33.3");
        assert_eq!(trim_pct(0.0), "0");
    }

    #[test]
    fn schemas_are_written_type_first_and_read_back_identical() {
        let schema = serde_json::json!({
            "type": "object",
            "required": ["a", "odd key", "null"],
            "properties": {
                "a": {"type": "array", "items": {"type": "object", "required": ["x"],
                    "properties": {"x": {"type": ["null", "string"]}}}},
                "odd key": {"type": "integer"},
                "n": {},
                "null": {"type": "boolean"},
            }
        });
        let mut out = String::new();
        schema_block(&mut out, &schema, 0);
        assert_eq!(
            out,
            "type: object\nrequired: [a, \"odd key\", \"null\"]\nproperties:\n  a:\n    type: array\n    \
             items:\n      type: object\n      required: [x]\n      properties:\n        \
             x: {type: [\"null\", string]}\n  \"n\": {}\n  \"null\": {type: boolean}\n  \"odd key\": {type: integer}\n"
        );
        let back: Value = serde_yaml::from_str(&out).expect("YAML");
        assert_eq!(back, schema);
    }

    #[test]
    fn the_agents_csv_quotes_what_needs_quoting() {
        let csv = agents_csv(&[("agent1".into(), 3), ("a,b".into(), 9)]).expect("csv");
        assert_eq!(csv, "username\nagent1\n\"a,b\"\n");
    }
}
