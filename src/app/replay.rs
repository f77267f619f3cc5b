//! `aeapi-harness replay FILE.har`: the recorded session re-issued against a target
//! (`replay::engine`), the table printed, `junit.xml` and `replay.json` written.
//!
//! Exit codes: 0 no differences, 1 differences, 2 bad input (a HAR that cannot be read, names
//! the file and the entry; credentials missing from the environment), 3 the target was
//! unreachable or the reports could not be written.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::support;
use super::{AppError, Console};
use crate::exit::Exit;
use crate::har;
use crate::replay::{self, Credentials, Recorded, ReplayPlan, Timing, engine, report};
use crate::runner::plan::{ResolvedTarget, TargetPlan};

/// Where a replay goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReplayTarget {
    Embedded,
    /// API and auth base.
    Url(String),
}

/// A validated `replay` invocation.
#[derive(Debug, Clone)]
pub struct ReplayConfig {
    pub har: PathBuf,
    pub target: ReplayTarget,
    /// `None`: `reports/replay-<HAR stem>-<timestamp>/`.
    pub out: Option<PathBuf>,
    pub timing: Timing,
}

/// `replay`: reads the HAR, builds the plan from the flags and the environment, replays.
pub fn execute(console: &mut Console, c: &ReplayConfig) -> Result<Exit, AppError> {
    let bytes = har::read_limited(&c.har, har::MAX_HAR_BYTES)
        .map_err(|e| AppError::Usage(e.to_string()))?;
    let rec = replay::load(&c.har, &bytes).map_err(|e| AppError::Usage(e.to_string()))?;
    drop(bytes);
    let plan = plan(c, &rec, &|k| std::env::var(k).ok())?;
    execute_plan(console, &rec, plan)
}

/// The plan of `c`: credentials from `env` (never from the recording).
pub fn plan(
    c: &ReplayConfig,
    rec: &Recorded,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<ReplayPlan, AppError> {
    let logs_in = rec.steps.iter().any(|s| {
        s.op.name == "login"
            || matches!(&s.body, replay::StepBody::Form(f) if f.iter().any(|(k, v)| k == "grant_type" && v == "password"))
    });
    let var = |k: &str| env(k).filter(|v| !v.is_empty());
    let (target, credentials) = match &c.target {
        ReplayTarget::Embedded => {
            let password = var("AGENT_PASSWORD").unwrap_or_else(|| "agent-password".into());
            let config =
                replay::embedded_config(&rec.usernames, &password, rec.has_customer_calls());
            let credentials = Credentials {
                client_id: crate::sim::DEV_CLIENT_ID.into(),
                client_secret: crate::sim::DEV_CLIENT_SECRET.into(),
                agent_password: password,
            };
            (TargetPlan::Embedded(Box::new(config)), credentials)
        }
        ReplayTarget::Url(url) => {
            let need = |k: &str| {
                var(k).ok_or_else(|| {
                    AppError::Usage(format!(
                        "replay --target {url}: set {k} in the environment (credentials are never taken from the recording)"
                    ))
                })
            };
            let client_id = need("AEAPI_CLIENT_ID")?;
            let client_secret = need("AEAPI_CLIENT_SECRET")?;
            let agent_password = if logs_in {
                need("AGENT_PASSWORD")?
            } else {
                var("AGENT_PASSWORD").unwrap_or_default()
            };
            let target = ResolvedTarget {
                api_base: url.clone(),
                auth_base: url.clone(),
                client_id: client_id.clone(),
                client_secret: client_secret.clone(),
                password_grant: false,
                site_id: String::new(),
                output: Default::default(),
                insecure_tls: false,
            };
            let credentials = Credentials {
                client_id,
                client_secret,
                agent_password,
            };
            (TargetPlan::Remote(target), credentials)
        }
    };
    let out_dir = c.out.clone().unwrap_or_else(|| {
        let stem = c
            .har
            .file_stem()
            .map_or_else(|| "har".into(), |s| s.to_string_lossy().into_owned());
        support::default_out_dir(&format!("replay-{stem}"))
    });
    Ok(ReplayPlan {
        target,
        credentials,
        timing: c.timing,
        out_dir,
        offer_wait: replay::OFFER_WAIT,
        request_timeout: Duration::from_secs(10),
    })
}

fn file_name(p: &Path) -> String {
    p.file_name().map_or_else(
        || p.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    )
}

/// Replays `rec` with a built plan (tests use it to point a plan at a chosen simulator).
pub fn execute_plan(
    console: &mut Console,
    rec: &Recorded,
    plan: ReplayPlan,
) -> Result<Exit, AppError> {
    let runtime = support::runtime()?;
    let target = plan.target.label();
    if !console.quiet() {
        let _ = writeln!(
            console.err,
            "replay: {} AEAPI calls of {} ({}) against {target}{}",
            rec.steps.len(),
            rec.file.display(),
            rec.creator,
            if plan.timing == Timing::Recorded {
                ", paced as recorded"
            } else {
                ""
            }
        );
        if !rec.unanswered.is_empty() {
            let _ = writeln!(
                console.err,
                "note: {} call(s) without an answer in the recording are not replayed: {}",
                rec.unanswered.len(),
                crate::import::write::entry_list(&rec.unanswered)
            );
        }
    }
    let mut meta = report::Meta {
        har: file_name(&rec.file),
        target,
        started: time::OffsetDateTime::now_utc(),
        timing: match plan.timing {
            Timing::Fast => "fast",
            Timing::Recorded => "recorded",
        },
        harness_error: None,
    };
    let result = runtime.block_on(engine::run(&plan, rec));
    runtime.shutdown_timeout(Duration::from_secs(2));
    support::report_dir(&plan.out_dir)?;
    let (steps, secrets) = match result {
        Ok(r) => (r.steps, r.secrets),
        Err(engine::ReplayFailure { message, secrets }) => {
            let message = secrets.mask(&message).into_owned();
            meta.harness_error = Some(message.clone());
            write(&plan.out_dir, &meta, &[], &secrets, rec)?;
            return Err(AppError::Harness(message));
        }
    };
    write(&plan.out_dir, &meta, &steps, &secrets, rec)?;
    let ops = report::by_operation(&steps);
    if !console.quiet() {
        let _ = write!(console.out, "{}", secrets.mask(&report::table(&ops)));
        let _ = writeln!(console.err, "reports: {}", plan.out_dir.display());
    }
    Ok(if report::count(&ops) == 0 {
        Exit::Passed
    } else {
        Exit::Failed
    })
}

/// Writes the reports, then proves that no secret of the recording reached them (as `import`
/// does); a file that holds one is removed and the replay fails.
fn write(
    dir: &Path,
    meta: &report::Meta,
    steps: &[engine::StepOutcome],
    secrets: &crate::report::Secrets,
    rec: &Recorded,
) -> Result<(), AppError> {
    report::write(dir, meta, steps, secrets).map_err(AppError::Report)?;
    for name in ["junit.xml", "replay.json"] {
        let path = dir.join(name);
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        if rec.secrets.leaked_into(&[&text]).is_some() {
            let _ = std::fs::remove_file(&path);
            return Err(AppError::Harness(format!(
                "refusing to keep {}: a secret from the recording would reach it (a bug; please report it)",
                path.display()
            )));
        }
    }
    Ok(())
}
