//! Timings measured from a hand-built call sequence (times in ms).

use serde_json::{Value, json};

use super::*;
use crate::aeapi::ops;

pub(crate) fn call(
    entry: usize,
    op: &str,
    start: f64,
    dur: f64,
    status: u16,
    body: Option<Value>,
    response: Option<Value>,
) -> Call {
    Call {
        entry,
        op: ops::find(op).expect("known op"),
        base: "http://h".into(),
        started_ms: start,
        ended_ms: start + dur,
        time_ms: dur,
        status,
        query: vec![("registeredId".into(), "r1".into())],
        request: body,
        response,
        response_unreadable: false,
    }
}

fn offer(id: &str) -> Option<Value> {
    Some(
        json!({"engagements": [{"id": id, "messages": [{"messageType": "newRequest"}]}],
        "messages": []}),
    )
}

fn eng(id: &str) -> Option<Value> {
    Some(json!({"agentId": "a", "engagementId": id}))
}

fn post(id: &str, kind: &str) -> Option<Value> {
    Some(match kind {
        "typing" => json!({"engagementId": id, "messageType": "stateChange",
            "state": "agentIsTyping"}),
        _ => json!({"engagementId": id, "messageType": "chatLine", "messageText": "x"}),
    })
}

#[test]
fn think_reply_typing_lines_deny_and_hold_are_measured() {
    let calls = vec![
        call(0, "messages.get", 0.0, 1000.0, 204, None, None),
        call(1, "messages.get", 1000.0, 50.0, 200, None, offer("e1")),
        // offer seen at 1050; accepted at 3050: think 2000
        call(2, "acceptEngagement", 3050.0, 10.0, 200, eng("e1"), None),
        // reply 3060 -> 3460 = 400; typing 3470 -> 3770 = 300
        call(
            3,
            "messages.post",
            3460.0,
            10.0,
            200,
            post("e1", "typing"),
            None,
        ),
        call(
            4,
            "messages.post",
            3770.0,
            10.0,
            200,
            post("e1", "line"),
            None,
        ),
        // no typing: reply 3780 -> 4180 = 400
        call(
            5,
            "messages.post",
            4180.0,
            10.0,
            200,
            post("e1", "line"),
            None,
        ),
        call(6, "closeEngagement", 4600.0, 10.0, 200, eng("e1"), None),
        call(7, "messages.get", 1050.0, 5000.0, 200, None, offer("e2")),
        // seen at 6050; denied at 8150: think 2100
        call(8, "denyEngagement", 8150.0, 5.0, 200, eng("e2"), None),
        call(9, "messages.get", 6100.0, 998.0, 204, None, None),
    ];
    let b = measure(&calls);
    assert_eq!(b.think.ms, vec![2000.0, 2100.0]);
    assert_eq!(b.think.entries, vec![2, 8]);
    assert_eq!(b.reply.ms, vec![400.0, 400.0]);
    assert_eq!(b.typing.ms, vec![300.0]);
    assert_eq!(b.lines, vec![(2, 2)]);
    assert_eq!((b.accepts.clone(), b.denies.clone()), (vec![2], vec![8]));
    assert_eq!(b.hold.ms, vec![1000.0, 998.0]);
    assert_eq!(b.hold.median(), 999.0);
    assert_eq!(b.offers, 2);
    assert_eq!(b.max_chats, 1);
    assert_eq!(b.span_ms, 8155.0);
}

#[test]
fn periodic_calls_need_three_per_agent_and_take_the_median_gap() {
    let calls = vec![
        call(0, "verifySession", 0.0, 1.0, 200, None, None),
        call(1, "verifySession", 1000.0, 1.0, 200, None, None),
        call(2, "verifySession", 2100.0, 1.0, 200, None, None),
        call(3, "verifySession", 3000.0, 1.0, 200, None, None),
        call(4, "summaryData", 100.0, 1.0, 200, None, None),
        call(5, "summaryData", 900.0, 1.0, 200, None, None),
        call(6, "login", 0.0, 1.0, 200, None, None),
    ];
    let b = measure(&calls);
    assert_eq!(
        b.periodic,
        vec![Periodic {
            op: "verifySession",
            interval_ms: 1000.0,
            gaps: 3,
            first_entry: 0,
            last_entry: 3
        }]
    );
    assert_eq!(b.occasional, vec![("summaryData", 2)]);
}

#[test]
fn concurrent_chats_give_max_chats() {
    let calls = vec![
        call(0, "acceptEngagement", 0.0, 1.0, 200, eng("a"), None),
        call(1, "acceptEngagement", 10.0, 1.0, 200, eng("b"), None),
        call(2, "closeEngagement", 20.0, 1.0, 200, eng("a"), None),
        call(3, "acceptEngagement", 30.0, 1.0, 200, eng("c"), None),
        call(4, "transferEngagement", 40.0, 1.0, 200, eng("b"), None),
        // a failed accept holds nothing
        call(5, "acceptEngagement", 50.0, 1.0, 422, eng("d"), None),
    ];
    let b = measure(&calls);
    assert_eq!(b.max_chats, 2);
    assert_eq!(b.accepts, vec![0, 1, 3]);
    assert_eq!(b.handovers.get("transferEngagement"), Some(&vec![4]));
    assert_eq!(b.lines, vec![(0, 0), (0, 1), (0, 3)]);
    // no offer was seen: no think samples
    assert!(b.think.is_empty());
}
