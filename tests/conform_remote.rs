//! `conform` with a remote target: here the simulator started by the test on port 0 and given to
//! the engine as a URL, so the remote code paths run (the suite's site and unit, bounded waits
//! from the token's own `expires_in`, `skip: remote`).

use crate::conform_common::{run_with, suite_plan};
use aeapi_harness::conform::ConformPlan;
use aeapi_harness::conform::world::Placement;
use aeapi_harness::exit::Exit;
use aeapi_harness::runner::plan::{ResolvedTarget, TargetPlan};
use aeapi_harness::sim::{self, DEV_CLIENT_ID, DEV_CLIENT_SECRET, SimConfig};
use aeapi_harness::suite::model::{OutputFormat, Skip};

/// A simulator on port 0 in its own runtime, and a remote target pointing at it.
fn simulator(password_grant: bool) -> (tokio::runtime::Runtime, sim::SimHandle, ResolvedTarget) {
    let rt = tokio::runtime::Runtime::new().unwrap_or_else(|e| panic!("{e}"));
    let mut config: SimConfig = serde_yaml::from_str("token_ttl: 3s\nreaper_interval: 100ms\n")
        .unwrap_or_else(|e| panic!("{e}"));
    config.set_agents((1..=6).map(|i| (format!("agent{i}"), "agent-password".to_string())));
    let handle = rt
        .block_on(sim::start(config, ([127, 0, 0, 1], 0).into()))
        .unwrap_or_else(|e| panic!("{e}"));
    let target = ResolvedTarget {
        api_base: handle.api_base.clone(),
        auth_base: handle.auth_base.clone(),
        client_id: DEV_CLIENT_ID.into(),
        client_secret: DEV_CLIENT_SECRET.into(),
        password_grant,
        site_id: "306".into(),
        output: OutputFormat::Json,
        insecure_tls: false,
    };
    (rt, handle, target)
}

/// Points the plan at `target` as a remote suite would: its site, business unit and agent
/// group, and the cases marked `skip: remote` (here the late accept) skipped.
fn as_remote(cp: &mut ConformPlan, target: ResolvedTarget) {
    cp.target = TargetPlan::Remote(target);
    cp.placement = Placement {
        site_id: "306".into(),
        business_unit_id: "22".into(),
        agent_group_id: "1".into(),
    };
    for c in cp.cases.iter_mut().filter(|c| c.name == "late accept") {
        c.skip = Some(Skip::Remote);
    }
}

#[test]
fn a_remote_target_runs_the_cases_and_skips_those_marked_remote() {
    let (rt, handle, target) = simulator(false);
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let p = suite_plan(dir.path());
    let ran = run_with(dir, &p, "acceptEngagement,agentAvailability", |cp| {
        as_remote(cp, target)
    });
    assert_eq!(ran.exit, Exit::Passed, "{}\n{}", ran.out, ran.err);
    let skipped: Vec<_> = ran
        .results()
        .into_iter()
        .filter(|(_, _, r)| r == "skipped")
        .collect();
    assert_eq!(
        skipped,
        vec![(
            "acceptEngagement".to_string(),
            "late accept".to_string(),
            "skipped".to_string()
        )]
    );
    assert!(
        ran.results()
            .iter()
            .any(|(o, c, r)| o == "agentAvailability" && c == "expired token" && r == "passed")
    );
    assert!(
        ran.json["target"]
            .as_str()
            .is_some_and(|t| t.starts_with("http://127.0.0.1:"))
    );
    rt.block_on(handle.shutdown());
}

#[test]
fn a_password_grant_target_gets_each_agent_its_own_token() {
    // The simulator refuses a login with a token issued to another agent.
    let (rt, handle, target) = simulator(true);
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let p = suite_plan(dir.path());
    let ran = run_with(
        dir,
        &p,
        // Fixtures acting as two agents (acceptOwnership) and a follow-up (followUpEngagement).
        "login,verifySession,acceptEngagement,messages.*,acceptOwnership,followUpEngagement",
        |cp| as_remote(cp, target),
    );
    assert_eq!(ran.exit, Exit::Passed, "{}\n{}", ran.out, ran.err);
    assert_eq!(
        ran.json["summary"]["passed"].as_u64().map(|n| n > 30),
        Some(true)
    );
    rt.block_on(handle.shutdown());
}
