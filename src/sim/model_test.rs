//! Property test of the world's bookkeeping: random sequences of offers, accepts, denies,
//! closes, transfers, conferences, ownership changes, customer closes, lost sessions and reaper
//! passes, after each of which every cross-reference between sessions and engagements must hold
//! (a chat in a session's list is an engagement it owns or is a guest of, every pending offer is
//! an offer or a hand-over to it, the free sets match availability and load).

use std::collections::HashSet;
use std::time::Duration;

use proptest::prelude::*;
use tokio::time::Instant;

use super::agent::EngagementCall;
use super::handoff::{Request, Target};
use super::routing::EndReason;
use super::state::{Core, GroupStats, HandoffKind, Member, Msg, Phase};

#[derive(Debug, Clone)]
enum Action {
    Customer,
    Accept(usize, usize),
    Deny(usize, usize),
    Close(usize, usize),
    Join(usize, usize),
    Hand(usize, usize, usize, u8),
    Mode(usize, usize),
    Own(usize, usize),
    Answer(usize, usize, bool),
    Line(usize, usize, bool),
    CustomerClose(usize),
    Lose(usize),
    Busy(usize, bool),
    Reap(u8),
}

fn action() -> impl Strategy<Value = Action> {
    let a = 0..3usize;
    let e = 0..6usize;
    prop_oneof![
        Just(Action::Customer),
        (a.clone(), e.clone()).prop_map(|(a, e)| Action::Accept(a, e)),
        (a.clone(), e.clone()).prop_map(|(a, e)| Action::Deny(a, e)),
        (a.clone(), e.clone()).prop_map(|(a, e)| Action::Close(a, e)),
        (a.clone(), e.clone()).prop_map(|(a, e)| Action::Join(a, e)),
        (a.clone(), e.clone(), a.clone(), 0..4u8).prop_map(|(a, e, t, k)| Action::Hand(a, e, t, k)),
        (a.clone(), e.clone()).prop_map(|(a, e)| Action::Mode(a, e)),
        (a.clone(), e.clone()).prop_map(|(a, e)| Action::Own(a, e)),
        (a.clone(), e.clone(), any::<bool>()).prop_map(|(a, e, y)| Action::Answer(a, e, y)),
        (a.clone(), e.clone(), any::<bool>()).prop_map(|(a, e, i)| Action::Line(a, e, i)),
        e.prop_map(Action::CustomerClose),
        a.clone().prop_map(Action::Lose),
        (a, any::<bool>()).prop_map(|(a, b)| Action::Busy(a, b)),
        (0..20u8).prop_map(Action::Reap),
    ]
}

const USERS: [&str; 3] = ["a", "b", "c"];

fn check(c: &Core) -> Result<(), String> {
    for (sid, s) in &c.sessions {
        let chats: HashSet<_> = s.chats.iter().collect();
        if chats.len() != s.chats.len() {
            return Err(format!("session {sid} lists a chat twice: {:?}", s.chats));
        }
        for eid in &s.chats {
            let e = c
                .engagements
                .get(eid)
                .ok_or(format!("chat {eid} of {sid} is gone"))?;
            let ok = match e.phase {
                Phase::Active { sess } => sess == *sid || e.guests.iter().any(|g| g.sess == *sid),
                _ => false,
            };
            if !ok {
                return Err(format!(
                    "session {sid} lists {eid} in {:?} {:?}",
                    e.phase, e.guests
                ));
            }
        }
        for eid in &s.offers {
            let e = c
                .engagements
                .get(eid)
                .ok_or(format!("offer {eid} of {sid} is gone"))?;
            let to_me = matches!(e.phase, Phase::Offered { sess, .. } if sess == *sid)
                || e.handoff.as_ref().is_some_and(|h| h.to == *sid);
            if !to_me {
                return Err(format!(
                    "session {sid} holds a stale offer {eid}: {:?}",
                    e.phase
                ));
            }
        }
        let free = s.available && s.load() < s.capacity();
        let in_set = c
            .groups
            .get(&s.group)
            .is_some_and(|g| g.free.iter().any(|k| k.2 == *sid));
        if free != in_set {
            return Err(format!(
                "session {sid} free={free} but in free set={in_set}"
            ));
        }
    }
    let mut sums: std::collections::HashMap<&str, GroupStats> = Default::default();
    for s in c.sessions.values() {
        if s.share != s.share_now() {
            return Err(format!("{}: share {:?} is stale", s.username, s.share));
        }
        sums.entry(&s.group).or_default().apply(s.share, true);
    }
    for (name, g) in &c.groups {
        let want = sums.get(&**name).copied().unwrap_or_default();
        if g.stats != want {
            return Err(format!(
                "group {name}: stats {:?}, sessions say {want:?}",
                g.stats
            ));
        }
    }
    for (eid, e) in &c.engagements {
        match e.phase {
            Phase::Active { sess } => {
                let owner = c.sessions.get(&sess).ok_or(format!("{eid}: owner gone"))?;
                if !owner.chats.contains(eid) {
                    return Err(format!("{eid}: owner {sess} does not list it"));
                }
                let mut seen = HashSet::new();
                for g in &e.guests {
                    let s = c
                        .sessions
                        .get(&g.sess)
                        .ok_or(format!("{eid}: guest gone"))?;
                    if g.sess == sess || !seen.insert(g.sess) || !s.chats.contains(eid) {
                        return Err(format!("{eid}: bad guest {g:?} (owner {sess})"));
                    }
                }
            }
            Phase::Offered { sess, .. } => {
                if !c
                    .sessions
                    .get(&sess)
                    .is_some_and(|s| s.offers.contains(eid))
                {
                    return Err(format!(
                        "{eid}: offered to {sess} who does not hold the offer"
                    ));
                }
            }
            _ => {
                if !e.guests.is_empty() || e.handoff.is_some() {
                    return Err(format!("{eid}: {:?} with guests or a hand-over", e.phase));
                }
            }
        }
        if let Some(h) = &e.handoff {
            if !c
                .sessions
                .get(&h.to)
                .is_some_and(|s| s.offers.contains(eid))
            {
                return Err(format!("{eid}: hand-over target {} lacks the offer", h.to));
            }
            let parts = c.participants(*eid);
            if !parts.contains(&h.from) || parts.contains(&h.to) {
                return Err(format!("{eid}: hand-over {h:?} vs participants {parts:?}"));
            }
        }
    }
    Ok(())
}

/// What an agent (`sid`) does to an engagement, when `pick` found one (the result is ignored,
/// as every result in [`run`]).
fn on_picked(
    c: &mut Core,
    call: EngagementCall,
    sid: u64,
    picked: Option<(u64, u64)>,
    now: Instant,
    ms: u64,
) {
    if let Some((eid, _)) = picked {
        let _ = call(c, sid, eid, now, ms);
    }
}

fn run(actions: Vec<Action>) -> Result<(), String> {
    let mut c = Core::for_tests();
    let mut now = Instant::now();
    let mut sids: Vec<u64> = USERS
        .iter()
        .enumerate()
        .map(|(i, u)| c.login(u, "1", 1 + (i as u16 % 2), i as u32, now, 0))
        .collect();
    let mut engs: Vec<(u64, u64)> = Vec::new();
    for (step, a) in actions.into_iter().enumerate() {
        let ms = step as u64;
        let pick = |i: usize| engs.get(i % engs.len().max(1)).copied();
        // Results are ignored: refusals are fine, broken bookkeeping is not.
        match a {
            Action::Customer => {
                let (e, cid, _) =
                    c.create_engagement("1", "306", Some("hi".into()), false, now, ms);
                engs.push((e, cid));
            }
            Action::Accept(a, e) => on_picked(&mut c, Core::accept, sids[a], pick(e), now, ms),
            Action::Deny(a, e) => on_picked(&mut c, Core::deny, sids[a], pick(e), now, ms),
            Action::Close(a, e) => {
                on_picked(&mut c, Core::close_by_agent, sids[a], pick(e), now, ms)
            }
            Action::Join(a, e) => on_picked(&mut c, Core::join, sids[a], pick(e), now, ms),
            Action::Hand(a, e, t, k) => {
                if let Some((eid, _)) = pick(e) {
                    let kind = match k {
                        0 => HandoffKind::Transfer,
                        1 => HandoffKind::AutoTransfer,
                        _ => HandoffKind::Conference,
                    };
                    let target = if k == 3 {
                        Target::Group("1")
                    } else {
                        Target::Agent(USERS[t])
                    };
                    let req = Request {
                        kind,
                        target,
                        notes: None,
                    };
                    let _ = c.request_handoff(sids[a], eid, req, now, ms);
                }
            }
            Action::Mode(a, e) => {
                if let Some((eid, _)) = pick(e) {
                    let _ = c.conference_mode(sids[a], eid, ms);
                }
            }
            Action::Own(a, e) => {
                if let Some((eid, _)) = pick(e) {
                    let _ = c.transfer_ownership(sids[a], eid, None, ms);
                }
            }
            Action::Answer(a, e, yes) => {
                if let Some((eid, _)) = pick(e) {
                    let _ = c.answer_ownership(sids[a], eid, yes, None, now, ms);
                }
            }
            Action::Line(a, e, internal) => {
                if let Some((eid, _)) = pick(e) {
                    let mut m = Msg::line(Member::Agent, "x".into(), None, ms);
                    m.internal = internal;
                    let _ = c.agent_message(sids[a], eid, m);
                }
            }
            Action::CustomerClose(e) => {
                if let Some((eid, cid)) = pick(e) {
                    let _ = c.close_by_customer(eid, cid, now, ms);
                }
            }
            Action::Lose(a) => {
                c.end_session(sids[a], EndReason::LostConnection, now, ms);
                sids[a] = c.login(USERS[a], "1", 1 + (a as u16 % 2), a as u32, now, ms);
            }
            Action::Busy(a, available) => {
                if let Some(s) = c.sessions.get_mut(&sids[a]) {
                    s.available = available;
                }
                c.refresh(sids[a]);
                let g = "1".into();
                c.pump(&g, now, ms);
            }
            Action::Reap(secs) => {
                now += Duration::from_secs(u64::from(secs));
                for sid in &sids {
                    if let Some(s) = c.sessions.get_mut(sid) {
                        s.last_seen = now;
                    }
                }
                c.reap(now, ms);
            }
        }
        check(&c).map_err(|e| format!("after step {step} {a:?}: {e}"))?;
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]
    #[test]
    fn bookkeeping_holds_after_any_sequence(actions in prop::collection::vec(action(), 1..60)) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().start_paused(true).build().map_err(|e| TestCaseError::fail(e.to_string()))?;
        let r = rt.block_on(async { run(actions) });
        prop_assert!(r.is_ok(), "{:?}", r);
    }
}
