//! End-to-end delivery time of chat lines: every line either side sends carries a tag
//! (`[aeapi-harness c17]`) registered here with its send time, so the other side's first sight
//! of it gives the delivery time. Shared by the agents, the harness-driven customers and the
//! embedded simulator's built-in customers (`sim_customers`).

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::metrics::Direction;

const TAG_PREFIX: &str = "[aeapi-harness ";
/// Tags older than this are forgotten (a line that never arrived).
const TAG_TTL: Duration = Duration::from_secs(120);
const MAX_TAGS: usize = 200_000;

/// Send times of tagged lines, keyed by tag number.
#[derive(Default)]
pub struct Deliveries {
    sent: Mutex<HashMap<u64, (Direction, Instant)>>,
    next: AtomicU64,
}

impl Deliveries {
    /// Registers a line about to be sent; returns the text with its tag.
    pub fn tag(&self, dir: Direction, text: &str) -> String {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        let side = match dir {
            Direction::CustomerToAgent => 'c',
            Direction::AgentToCustomer => 'a',
        };
        if let Ok(mut m) = self.sent.lock() {
            if m.len() >= MAX_TAGS {
                let now = Instant::now();
                m.retain(|_, (_, t)| now.duration_since(*t) < TAG_TTL);
            }
            if m.len() < MAX_TAGS {
                m.insert(n, (dir, Instant::now()));
            }
        }
        format!("{text} {TAG_PREFIX}{side}{n}]")
    }

    /// When `text` carries a tag sent from the other side, its delivery time (once per tag).
    pub fn seen(&self, text: &str, now: Instant) -> Option<(Direction, Duration)> {
        let start = text.find(TAG_PREFIX)? + TAG_PREFIX.len();
        let rest = &text[start..];
        let end = rest.find(']')?;
        let n: u64 = rest.get(1..end)?.parse().ok()?;
        let (dir, sent) = self.sent.lock().ok()?.remove(&n)?;
        Some((dir, now.saturating_duration_since(sent)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_round_trip_once_with_their_direction() {
        let d = Deliveries::default();
        let before = Instant::now();
        let text = d.tag(Direction::CustomerToAgent, "hello");
        assert_eq!(text, "hello [aeapi-harness c0]");
        let later = Instant::now() + Duration::from_millis(5);
        let (dir, took) = d.seen(&text, later).expect("tag is known");
        assert_eq!(dir, Direction::CustomerToAgent);
        // From the tag's own clock reading to `later`: at least 5 ms, at most since `before`.
        assert!(took >= Duration::from_millis(5));
        assert!(took <= later - before, "{took:?}");
        assert!(d.seen(&text, later).is_none(), "a tag counts once");
        assert!(d.seen("no tag here", later).is_none());
        assert!(d.seen("[aeapi-harness cX]", later).is_none());
    }
}
