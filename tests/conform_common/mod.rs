//! Shared harness for the `conform` end-to-end tests: the shipped `suites/conformance.yaml`
//! against the embedded simulator (started by the engine on 127.0.0.1 port 0), with overridable
//! simulator faults and target, output captured and `conform.json` parsed.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

use aeapi_harness::app::{self, Console};
use aeapi_harness::conform::ConformPlan;
use aeapi_harness::exit::Exit;
use aeapi_harness::sim::FaultConfig;
use aeapi_harness::suite::plan::{Overrides, Plan, plan};
use serde_json::Value;

/// The 47 operations of the reference (`aeapi::ops::OPERATIONS`): the simulator passes every
/// case of each, the ones needing a follow-up conversation, a running conference or a pending
/// ownership transfer included.
pub const SERVED: &str = "token,agentAvailability,acceptEngagement,acceptOwnership,\
activePerformanceMetrics,agentGroups,agentStatus,autoTransferEngagement,changePassword,\
closeEngagement,conferenceEngagement,conferenceMode,customScript.get,customScript.post,\
customSettings,denyEngagement,dispositions,escalateEngagement,startDisposition,extraChat,\
followUpConversations,followUpEngagement,fullScriptTree,joinEngagement,loggingAgent,login,\
maskText,messages.get,messages.post,ninaCoachChatTakeOver,ninaCoachContentMetaInfo,\
ninaCoachEscalationResolution,preLoginStatus,refuseOwnership,requestEntireTranscripts,\
resolveConversation,scriptGroup,scriptTree,sendIllegalWordNotification,settings,smsCommand,\
summaryData,transferConferenceOptions,transferEngagement,transferOwnership,verifySession,\
webrtcAction";

/// The shipped conformance suite, planned with its report directory in `out`.
pub fn suite_plan(out: &Path) -> Plan {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("suites/conformance.yaml");
    let loaded =
        aeapi_harness::suite::load(&path).unwrap_or_else(|e| panic!("{}", e.render(false)));
    plan(loaded, &Overrides::default(), out.to_path_buf()).unwrap_or_else(|e| panic!("{e}"))
}

/// The same plan with the simulator's faults replaced by `faults` (YAML).
pub fn with_faults(mut p: Plan, faults: &str) -> Plan {
    let f: FaultConfig = serde_yaml::from_str(faults).unwrap_or_else(|e| panic!("{e}"));
    let sim = p.suite.suite.simulator.get_or_insert_with(Default::default);
    sim.faults = f;
    p
}

/// What one run printed and wrote.
pub struct Ran {
    pub exit: Exit,
    pub out: String,
    pub err: String,
    /// `conform.json`, or `Null` when it was not written.
    pub json: Value,
    pub dir: tempfile::TempDir,
}

impl Ran {
    /// `(operation, case label, result)` per case.
    pub fn results(&self) -> Vec<(String, String, String)> {
        self.cases()
            .iter()
            .map(|c| (text(&c["operation"]), label(c), text(&c["result"])))
            .collect()
    }

    pub fn cases(&self) -> Vec<Value> {
        self.json["cases"].as_array().cloned().unwrap_or_default()
    }

    /// The cases that did not pass.
    pub fn failures(&self) -> Vec<Value> {
        self.cases()
            .into_iter()
            .filter(|c| c["result"] != "passed")
            .collect()
    }
}

/// A string field of `conform.json`, or "".
pub fn text(v: &Value) -> String {
    v.as_str().unwrap_or_default().to_string()
}

/// A case's label as the table prints it: its name, with ` [xml]` for the XML variant.
pub fn label(case: &Value) -> String {
    match case["format"].as_str() {
        Some("xml") => format!("{} [xml]", text(&case["case"])),
        _ => text(&case["case"]),
    }
}

/// Builds the conformance plan from `p` (selecting `only`), lets `adjust` change it, runs it.
pub fn run_with(
    dir: tempfile::TempDir,
    p: &Plan,
    only: &str,
    adjust: impl FnOnce(&mut ConformPlan),
) -> Ran {
    let mut cp = ConformPlan::build(p, Some(only)).unwrap_or_else(|e| panic!("{e}"));
    adjust(&mut cp);
    let (mut console, out, err) = Console::buffered(1);
    let result = app::conform::execute_plan(&mut console, cp);
    let exit = app::finish(&mut console, result);
    let json = std::fs::read_to_string(dir.path().join("conform.json"))
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or(Value::Null);
    Ran {
        exit,
        out: out.text(),
        err: err.text(),
        json,
        dir,
    }
}

/// Runs the shipped suite (with `faults`, if any) on the cases `only` selects.
pub fn run(only: &str, faults: Option<&str>) -> Ran {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let mut p = suite_plan(dir.path());
    if let Some(f) = faults {
        p = with_faults(p, f);
    }
    run_with(dir, &p, only, |_| {})
}
