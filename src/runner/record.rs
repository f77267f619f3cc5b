//! Recording judged responses and behaviours: the single path that agents and harness-driven
//! customers share, so both count alike (checks with examples built only for violations, one
//! recorder lock per response, the latency sample, the live counters). The judging itself is
//! `check`'s: the contracts for responses, `check::behaviour` and `check::window` for the rest.

use std::time::Duration;

use super::ctx::{Ctx, Live};
use crate::aeapi::client::{Observed, TransportError};
use crate::check::Failure;
use crate::check::behaviour::{self, Breach};
use crate::metrics::{CheckOutcome, ErrorKind, Exchange, Sample};
use crate::suite::model::OutputFormat;

/// What the caller knows about the call beyond the response.
#[derive(Debug, Clone, Copy, Default)]
pub struct Context {
    /// Check the `within` budget (not for long-polls, whose time is a hold).
    pub check_budget: bool,
    /// The pacing intended for this call, for coordinated-omission correction.
    pub expected_interval: Option<Duration>,
    /// Whether the harness's clock held the token valid when it was sent (`None`: no token).
    pub token_fresh: Option<bool>,
}

/// Judges `obs` (`sample` in 0..1 decides schema sampling), records its check outcomes and its
/// sample, and returns the error kind it counts as, if any.
pub fn response(
    ctx: &Ctx,
    obs: &mut Observed,
    persona: &str,
    sample: f64,
    how: Context,
) -> Option<ErrorKind> {
    let xml = ctx.endpoint.output == OutputFormat::Xml;
    let mut verdicts = ctx.contracts.judge(obs, sample, xml);
    if !how.check_budget {
        verdicts.retain(|(name, _)| *name != "within");
    }
    let mut error = None;
    let mut outcomes: Vec<CheckOutcome<'_>> = Vec::with_capacity(verdicts.len() + 1);
    for (name, verdict) in &verdicts {
        if let Err(f) = verdict {
            error.get_or_insert(error_kind(f));
        }
        outcomes.push(CheckOutcome {
            check: name,
            op: obs.op,
            persona,
            passed: verdict.is_ok(),
            // Examples are built only for violations: most responses pass.
            example: verdict.as_ref().err().map(|f| Exchange {
                request_line: obs.request_line(),
                status: obs.status,
                detail: f.to_string(),
                response_excerpt: obs.excerpt(),
            }),
        });
    }
    if let Some(fresh) = how.token_fresh {
        let verdict = behaviour::token_fresh(fresh);
        outcomes.push(CheckOutcome {
            check: behaviour::TOKEN_FRESH,
            op: obs.op,
            persona,
            passed: verdict.is_ok(),
            example: verdict.err().map(|breach| Exchange {
                request_line: obs.request_line(),
                status: obs.status,
                detail: breach.to_string(),
                response_excerpt: String::new(),
            }),
        });
    }
    ctx.recorder.record_checks(&outcomes);
    if obs.token_expired() {
        error = Some(ErrorKind::TokenExpired);
    }
    Live::add(&ctx.live.requests, 1);
    if error.is_some() {
        Live::add(&ctx.live.errors, 1);
    }
    // Long-polls count like any call (count, status, errors); their hold time also goes to the
    // separate poll-hold histogram, and reports keep them out of all-operation latency.
    ctx.recorder.record(&Sample {
        op: obs.op,
        persona,
        status: obs.status,
        latency: obs.latency,
        error,
        expected_interval: how.expected_interval,
        at: obs.started,
    });
    error
}

/// Records one behaviour check of `op` named `check`; on a breach, `example` builds the
/// exchange shown in the reports from the breach's detail.
pub fn behaviour(
    ctx: &Ctx,
    persona: &str,
    op: &str,
    check: &str,
    verdict: Result<(), Breach>,
    example: impl FnOnce(String) -> Exchange,
) {
    ctx.recorder.record_check(&CheckOutcome {
        check,
        op,
        persona,
        passed: verdict.is_ok(),
        example: verdict.err().map(|breach| example(breach.to_string())),
    });
}

/// The error kind a failed check counts as.
pub fn error_kind(f: &Failure) -> ErrorKind {
    use TransportError as T;
    match f {
        Failure::Status { .. } => ErrorKind::Status,
        Failure::Schema(_) => ErrorKind::Schema,
        Failure::Undecodable(_) => ErrorKind::Body,
        Failure::Budget { .. } => ErrorKind::Budget,
        Failure::Transport(T::Connect) => ErrorKind::Connect,
        Failure::Transport(T::Reset) => ErrorKind::Reset,
        Failure::Transport(T::Timeout) => ErrorKind::Timeout,
        Failure::Transport(T::Body) => ErrorKind::Body,
        Failure::Transport(T::Other) => ErrorKind::Other,
    }
}
