//! The subcommands as library functions, driven with an in-memory console from the repository
//! root (so suite paths are the shipped ones).

use std::path::PathBuf;
use std::time::Duration;

use aeapi_harness::app::console::Buffer as Buf;
use aeapi_harness::app::{self, Config, Console, RunConfig, SimulateConfig};
use aeapi_harness::cli;
use aeapi_harness::exit::Exit;
use aeapi_harness::suite::plan::Overrides;

/// A console writing into buffers, colour off, and the outputs (stdout, stderr).
fn console() -> (Console, Buf, Buf) {
    Console::buffered(0)
}

fn root(p: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(p)
}

fn run_config(suite: &str) -> RunConfig {
    RunConfig {
        suite: root(suite),
        overrides: Overrides::default(),
        out: Some(PathBuf::from("reports/test")),
        only: None,
        dry_run: true,
        baseline: None,
        live: Default::default(),
        start: Default::default(),
        max_time: None,
        snapshot: None,
        against: None,
    }
}

/// `run suites/smoke.yaml --agents AGENTS --shard SHARD`.
fn sharded(agents: u32, shard: &str) -> RunConfig {
    let mut cfg = run_config("suites/smoke.yaml");
    cfg.overrides = Overrides {
        agents: Some(agents),
        shard: Some(shard.parse().unwrap()),
        ..Overrides::default()
    };
    cfg
}

/// `text` holds every one of `parts`.
fn assert_has(text: &str, parts: &[&str]) {
    for part in parts {
        assert!(text.contains(part), "{part:?} in\n{text}");
    }
}

/// The plan `run -v` and `conform -v` print, without running it.
fn plan_text(cfg: &RunConfig) -> String {
    match app::plan::load_plan(cfg) {
        Ok(p) => format!("{p}\n"),
        Err(e) => panic!("no plan: {e}"),
    }
}

#[test]
fn run_prints_the_plan_with_fleet_shares() {
    let out = plan_text(&run_config("suites/smoke.yaml"));
    assert_has(
        &out,
        &[
            "target      embedded simulator\n",
            "agents      20 at peak (20 credentials in the pool)\n",
            "load        ramp 5s, then 30s flat\n",
            "personas    hurried          weight   1   25.0%      5 agents\n",
            "            steady           weight   3   75.0%     15 agents\n",
            "thresholds  p95(acceptEngagement) < 300ms\n",
        ],
    );
    assert!(out.ends_with("reports     reports/test\n"), "{out}");
}

#[test]
fn a_shard_plans_its_slice_of_the_fleet_and_the_arrivals() {
    let plan = app::plan::load_plan(&sharded(7, "2/3")).unwrap();
    let names: Vec<&str> = plan
        .suite
        .agents
        .iter()
        .map(|a| a.username.as_str())
        .collect();
    // Fleet agents 1 and 4 (0-based) are shard 2/3's: agent2 and agent5.
    assert_eq!(names, ["agent2", "agent5"]);
    assert_eq!(plan.suite.suite.load.agents, 2);
    // smoke.yaml's 2 customers/s: a third each.
    let rate = plan.suite.suite.load.arrival_rate.map(|r| r.per_second);
    assert_eq!(rate, Some(2.0 / 3.0));
    let text = plan.to_string();
    assert_has(
        &text,
        &[
            "agents      2 at peak (2 credentials in the pool)\n",
            "shard       2/3: this process drives fleet agents j with j mod 3 = 1",
        ],
    );
}

#[test]
fn a_shard_without_agents_is_a_usage_error() {
    let (mut c, _, err) = console();
    let exit = app::finish(
        &mut c,
        app::plan::load_plan(&sharded(2, "3/3")).map(|_| Exit::Passed),
    );
    assert_eq!(exit, Exit::Usage);
    assert_eq!(
        err.text(),
        "error: shard 3/3 would have no agents: the load has 2 at peak for 3 shards\n"
    );
}

#[test]
fn run_overrides_grow_the_generated_pool() {
    let mut cfg = run_config("suites/smoke.yaml");
    cfg.overrides = Overrides {
        agents: Some(7),
        duration: Some(Duration::from_secs(90)),
        seed: Some(9),
        target: None,
        shard: None,
    };
    let out = plan_text(&cfg);
    // 7 agents at weights 1:3 → 1.75 : 5.25 → largest remainder gives 2 : 5.
    assert_has(
        &out,
        &[
            "agents      7 at peak (7 credentials in the pool)\n",
            "then 90s flat",
            "seed        9\n",
            "25.0%      2 agents",
            "75.0%      5 agents",
        ],
    );
}

#[test]
fn run_refuses_more_agents_than_an_explicit_pool_holds() {
    let (mut c, out, err) = console();
    let mut cfg = run_config("suites/example-remote.yaml");
    cfg.overrides.agents = Some(21);
    assert_eq!(app::execute(&mut c, &Config::Run(cfg.clone())), Exit::Usage);
    assert_eq!(out.text(), "");
    assert_eq!(
        err.text(),
        "error: the agent pool has 20 credentials but the load needs 21 agents\n"
    );
}

#[test]
fn run_on_an_invalid_suite_renders_its_errors_and_exits_2() {
    let (mut c, out, err) = console();
    let cfg = run_config("tests/golden/validate/bad_duration.yaml");
    let code = app::execute(&mut c, &Config::Run(cfg));
    assert_eq!(code, Exit::Usage);
    assert_eq!(out.text(), "");
    assert!(
        err.text()
            .starts_with("error: invalid duration in `load.ramp`\n")
    );
}

#[test]
fn conform_only_selects_cases_or_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let (mut c, out, _) = console();
    let mut cfg = run_config("suites/conformance.yaml");
    cfg.out = Some(dir.path().to_path_buf());
    cfg.only = Some("preLoginStatus".into());
    assert_eq!(
        app::execute(&mut c, &Config::Conform(cfg.clone())),
        Exit::Passed
    );
    let text = out.text();
    assert!(text.starts_with("OPERATION       CASE"), "{text}");
    assert!(
        text.ends_with("3 cases: 3 passed, 0 failed, 0 errors, 0 skipped\n"),
        "{text}"
    );
    assert!(dir.path().join("junit.xml").is_file());
    assert!(dir.path().join("conform.json").is_file());

    let (mut c, _, err) = console();
    cfg.only = Some("nothing*".into());
    assert_eq!(
        app::execute(&mut c, &Config::Conform(cfg.clone())),
        Exit::Usage
    );
    assert_eq!(
        err.text(),
        "error: `--only nothing*` matches no case of the suite\n"
    );
}

#[test]
fn validate_prints_ok_per_good_file_and_nothing_when_quiet() {
    let (mut c, out, err) = console();
    let files = [
        root("suites/smoke.yaml"),
        root("suites/example-remote.yaml"),
    ];
    assert_eq!(
        app::execute(&mut c, &Config::Validate(files.to_vec())),
        Exit::Passed
    );
    assert_eq!(out.text().lines().count(), 2);
    assert_eq!(err.text(), "");

    let (mut c, out, _) = console();
    c.verbosity.quiet = true;
    assert_eq!(
        app::execute(&mut c, &Config::Validate(files.to_vec())),
        Exit::Passed
    );
    assert_eq!(out.text(), "");
}

#[test]
fn validate_of_a_missing_file_is_exit_2() {
    let (mut c, _, err) = console();
    assert_eq!(
        app::execute(
            &mut c,
            &Config::Validate(vec![PathBuf::from("no/such/suite.yaml")])
        ),
        Exit::Usage
    );
    assert_eq!(
        err.text(),
        "error: cannot read suite: No such file or directory (os error 2)\n\n\
         error: could not load `no/such/suite.yaml` due to 1 previous error\n"
    );
}

#[test]
fn loaded_suite_keeps_compiled_schemas_thresholds_and_agents() {
    let loaded = aeapi_harness::suite::load(&root("suites/example-remote.yaml"))
        .unwrap_or_else(|e| panic!("{}", e.render(false)));
    assert_eq!(loaded.thresholds.len(), 4);
    assert_eq!(
        loaded
            .schemas
            .keys()
            .map(String::as_str)
            .collect::<Vec<_>>(),
        [
            "dispositions",
            "login",
            "messages.get",
            "preLoginStatus",
            "summaryData",
            "token"
        ]
    );
    let login = &loaded.schemas["login"];
    assert!(!login.is_valid(&serde_json::json!({"status": "success"})));
    assert_eq!(loaded.agents.len(), 20);
    assert_eq!(loaded.agents[0].username, "agent001");
    assert_eq!(
        format!("{:?}", loaded.agents[0].password),
        "${AGENT_PASSWORD}"
    );
    assert!(!loaded.pool_generated);
}

#[test]
fn target_url_replaces_the_bases_of_a_remote_suite() {
    let mut cfg = run_config("suites/example-remote.yaml");
    let cli = <cli::Cli as clap::Parser>::try_parse_from([
        "aeapi-harness",
        "run",
        "x.yaml",
        "--target",
        "https://staging.example.com/",
    ])
    .unwrap_or_else(|e| panic!("{e}"));
    let Config::Run(parsed) = Config::from_cli(cli.command).unwrap_or_else(|e| panic!("{e}"))
    else {
        panic!("not a run")
    };
    cfg.overrides.target = parsed.overrides.target;
    assert!(plan_text(&cfg).contains(
        "target      https://staging.example.com (auth https://staging.example.com, site 306, client ${AEAPI_CLIENT_ID})\n"
    ));
}

#[test]
fn target_embedded_overrides_a_remote_suite() {
    let mut cfg = run_config("suites/example-remote.yaml");
    cfg.overrides.target = Some(aeapi_harness::suite::model::Target::Embedded);
    assert!(plan_text(&cfg).contains("target      embedded simulator\n"));
}

#[test]
fn simulate_with_a_bad_config_renders_it_and_exits_2() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let path = dir.path().join("sim.yaml");
    std::fs::write(&path, "bogus: 1\n").unwrap_or_else(|e| panic!("{e}"));
    let (mut c, out, err) = console();
    let cfg = SimulateConfig {
        listen: "127.0.0.1:0".parse().unwrap_or_else(|e| panic!("{e}")),
        config: Some(path),
        print_seed: false,
    };
    let exit = app::execute(&mut c, &Config::Simulate(cfg));
    assert_eq!(exit, Exit::Usage);
    assert_eq!(out.text(), "");
    assert!(
        err.text()
            .starts_with("error: unknown top-level key `bogus`\n"),
        "{}",
        err.text()
    );
}
