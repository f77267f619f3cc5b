//! Shards that start together: `run --shard I/N --rendezvous DIR` and `run --start-at TIME`.
//!
//! Each shard does its set-up first (starts the embedded simulator, fetches the application
//! token), then announces itself by writing `DIR/<name>-shard-I-of-N.json` atomically (a
//! temporary file renamed into place), and waits, polling the directory, until all N shards of
//! the same suite have announced. Every shard then reads the same N announcements and derives the
//! same start instant from them: the latest announcement time plus [`LEAD`] (so a shard that
//! notices the last arrival one poll late still starts on time). The wait is bounded (the
//! timeout counts from this shard's own announcement) and interruptible (Ctrl-C, SIGTERM).
//!
//! `capacity --shard I/N --rendezvous DIR` meets once per step (barriers `step-01`, `step-02`,
//! …) and, after each step, posts its verdict and gathers the others' the same way
//! ([`Barrier::post`], [`Barrier::gather`]): every shard reads the same N files, so all decide
//! alike whether to go on.
//!
//! The directory must be fresh for each run (the Kubernetes manifests use the Job's own
//! volume): announcements of an earlier run of the same suite would count as arrivals.
//!
//! Clocks: the agreed instant is wall-clock time, so shards on several machines start together
//! as far as their clocks agree (NTP keeps them within milliseconds).

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use tokio_util::sync::CancellationToken;

use crate::suite::plan::Shard;

/// From the last arrival to the agreed start.
pub const LEAD: Duration = Duration::from_secs(2);
/// How often a waiting shard reads the directory.
const POLL: Duration = Duration::from_millis(100);
/// The default bound on the wait (`--rendezvous-timeout`).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(600);

/// When a run's load starts.
#[derive(Debug, Clone, Default)]
pub enum Start {
    /// As soon as the set-up is done.
    #[default]
    Now,
    /// At this wall-clock instant (`--start-at`); an instant already past starts at once.
    At(OffsetDateTime),
    /// When every shard has announced itself in a shared directory.
    Rendezvous(Barrier),
}

/// A shared directory where the N shards of one run meet.
#[derive(Debug, Clone)]
pub struct Barrier {
    pub dir: PathBuf,
    /// The meeting's name, the stem of its files: `run`, or `step-NN` for a capacity step.
    pub name: String,
    pub shard: Shard,
    /// The suite's name: shards of another suite in the same directory are an error.
    pub suite: String,
    /// The longest this shard waits for the others, from its own announcement.
    pub timeout: Duration,
}

/// One shard's announcement, as written to the directory.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Announcement {
    pub shard: Shard,
    pub suite: String,
    /// When the shard finished its set-up and arrived, in ms since the Unix epoch.
    pub arrived_ms: i64,
    pub host: String,
    pub pid: u32,
}

/// Why the shards did not start together.
#[derive(Debug, thiserror::Error)]
pub enum RendezvousError {
    #[error(
        "rendezvous in {}: shard{} {} {} within {} ({}: {})",
        dir.display(),
        if missing.len() == 1 { "" } else { "s" },
        list(missing),
        wait.failed(),
        seconds(*timeout),
        wait.done(),
        if arrived.is_empty() { "none".to_string() } else { list(arrived) }
    )]
    Timeout {
        dir: PathBuf,
        wait: Wait,
        missing: Vec<Shard>,
        arrived: Vec<Shard>,
        timeout: Duration,
    },
    #[error("rendezvous in {}: {what}: {cause}", dir.display())]
    Io {
        dir: PathBuf,
        what: String,
        cause: std::io::Error,
    },
    #[error(
        "rendezvous in {}: {file} announces {what}, this shard {ours}: use one fresh directory \
         per run",
        dir.display()
    )]
    Foreign {
        dir: PathBuf,
        file: String,
        what: String,
        ours: String,
    },
    #[error("interrupted while waiting to start ({0})")]
    Interrupted(String),
}

/// What a shard waits for in the directory: the others' arrival at a meeting, or their verdict
/// of a capacity step (for the messages).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Wait {
    Arrival,
    Verdict(String),
}

impl Wait {
    fn failed(&self) -> String {
        match self {
            Wait::Arrival => "did not arrive".into(),
            Wait::Verdict(step) => format!("posted no verdict of {step}"),
        }
    }

    fn expected(&self) -> &'static str {
        match self {
            Wait::Arrival => "expects an announcement",
            Wait::Verdict(_) => "expects a step's verdict",
        }
    }

    fn done(&self) -> &'static str {
        match self {
            Wait::Arrival => "arrived",
            Wait::Verdict(_) => "posted",
        }
    }
}

/// What every file in the directory says besides its own contents: whose it is.
#[derive(Deserialize)]
struct Header {
    suite: String,
}

/// `600 s`, `0.3 s`.
fn seconds(d: Duration) -> String {
    if d.subsec_millis() == 0 {
        format!("{} s", d.as_secs())
    } else {
        format!("{:.1} s", d.as_secs_f64())
    }
}

fn list(shards: &[Shard]) -> String {
    shards
        .iter()
        .map(Shard::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// The file shard `shard` announces itself in, for the barrier `name`.
pub fn file_name(name: &str, shard: Shard) -> String {
    format!("{name}-shard-{}-of-{}.json", shard.index, shard.count)
}

fn unix_ms(t: OffsetDateTime) -> i64 {
    i64::try_from(t.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}

fn from_unix_ms(ms: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// The agreed start: the latest arrival plus [`LEAD`]. Every shard computes it from the same
/// announcements, so every shard gets the same instant.
pub fn agreed_start(all: &[Announcement]) -> Option<OffsetDateTime> {
    let last = all.iter().map(|a| a.arrived_ms).max()?;
    Some(from_unix_ms(last) + LEAD)
}

/// Writes `contents` to `path` atomically: a temporary file in the same directory, renamed.
fn write_atomic(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    let tmp = path.with_extension(format!("tmp.{}", std::process::id()));
    std::fs::write(&tmp, contents)?;
    std::fs::rename(&tmp, path)
}

impl Barrier {
    fn io(&self, what: String) -> impl FnOnce(std::io::Error) -> RendezvousError + '_ {
        move |cause| RendezvousError::Io {
            dir: self.dir.clone(),
            what,
            cause,
        }
    }

    /// Writes this shard's `value` as `DIR/<name>-shard-I-of-N.json` (atomically). `value`
    /// must carry the suite's name in a `suite` field, as [`Announcement`] does.
    pub fn post<T: Serialize>(&self, name: &str, value: &T) -> Result<(), RendezvousError> {
        std::fs::create_dir_all(&self.dir).map_err(self.io("cannot create it".into()))?;
        let path = self.dir.join(file_name(name, self.shard));
        let text = serde_json::to_vec_pretty(value).unwrap_or_default();
        write_atomic(&path, &text).map_err(self.io(format!("cannot write {}", path.display())))
    }

    /// Announces this shard at this barrier (now).
    pub fn announce(&self) -> Result<Announcement, RendezvousError> {
        let me = Announcement {
            shard: self.shard,
            suite: self.suite.clone(),
            arrived_ms: unix_ms(OffsetDateTime::now_utc()),
            host: std::env::var("HOSTNAME").unwrap_or_default(),
            pid: std::process::id(),
        };
        self.post(&self.name, &me)?;
        Ok(me)
    }

    /// What the shards posted as `name` so far, by shard index (`None`: not yet there). A file
    /// of another suite, or one that does not parse as `T`, is an error.
    pub fn read<T: DeserializeOwned>(
        &self,
        name: &str,
        wait: &Wait,
    ) -> Result<Vec<Option<T>>, RendezvousError> {
        let n = self.shard.count;
        let mut out = Vec::with_capacity(n as usize);
        for index in 1..=n {
            let path = self.dir.join(file_name(name, Shard { index, count: n }));
            let text = match std::fs::read(&path) {
                Ok(t) => t,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    out.push(None);
                    continue;
                }
                Err(e) => return Err(self.io(format!("cannot read {}", path.display()))(e)),
            };
            let foreign = |what: String, ours: String| RendezvousError::Foreign {
                dir: self.dir.clone(),
                file: file_name(name, Shard { index, count: n }),
                what,
                ours,
            };
            let unreadable = |e: serde_json::Error| {
                foreign(
                    format!("something unreadable ({e})"),
                    wait.expected().into(),
                )
            };
            let header: Header = serde_json::from_slice(&text).map_err(unreadable)?;
            if header.suite != self.suite {
                return Err(foreign(
                    format!("suite `{}`", header.suite),
                    format!("runs `{}`", self.suite),
                ));
            }
            out.push(Some(serde_json::from_slice(&text).map_err(unreadable)?));
        }
        Ok(out)
    }

    /// Waits until all N shards have posted `name`, then returns their files in shard order.
    /// Bounded by the timeout (from now; [`RendezvousError::Timeout`] names the missing
    /// shards), cut short by `stop`.
    pub async fn gather<T: DeserializeOwned>(
        &self,
        name: &str,
        wait: Wait,
        stop: &CancellationToken,
    ) -> Result<Vec<T>, RendezvousError> {
        let deadline = tokio::time::Instant::now() + self.timeout;
        let mut tick = tokio::time::interval(POLL);
        loop {
            let seen = self.read::<T>(name, &wait)?;
            if seen.iter().all(Option::is_some) {
                return Ok(seen.into_iter().flatten().collect());
            }
            if tokio::time::Instant::now() >= deadline {
                let (arrived, missing) = (1..=self.shard.count)
                    .map(|index| Shard {
                        index,
                        count: self.shard.count,
                    })
                    .partition(|s| seen[(s.index - 1) as usize].is_some());
                return Err(RendezvousError::Timeout {
                    dir: self.dir.clone(),
                    wait,
                    missing,
                    arrived,
                    timeout: self.timeout,
                });
            }
            tokio::select! {
                _ = tick.tick() => {}
                _ = stop.cancelled() => {
                    return Err(RendezvousError::Interrupted("the run was stopped".into()));
                }
            }
        }
    }

    /// Announces this shard, waits until all N are there, then until the agreed start;
    /// returns when it woke (the agreed instant, a few ms late at most). Bounded by the
    /// timeout (from this shard's announcement), cut short by `stop`.
    pub async fn meet(&self, stop: &CancellationToken) -> Result<OffsetDateTime, RendezvousError> {
        self.announce()?;
        let all: Vec<Announcement> = self.gather(&self.name, Wait::Arrival, stop).await?;
        let at = agreed_start(&all).unwrap_or_else(OffsetDateTime::now_utc);
        sleep_until_wall(at, stop).await?;
        // When this shard's load really starts (the agreed instant, plus wake-up).
        Ok(OffsetDateTime::now_utc())
    }
}

/// Sleeps until the wall-clock instant `at` (at once when it is past), cut short by `stop`.
pub async fn sleep_until_wall(
    at: OffsetDateTime,
    stop: &CancellationToken,
) -> Result<(), RendezvousError> {
    let left = at - OffsetDateTime::now_utc();
    let Ok(left) = Duration::try_from(left) else {
        return Ok(());
    };
    tokio::select! {
        _ = tokio::time::sleep(left) => Ok(()),
        _ = stop.cancelled() => Err(RendezvousError::Interrupted("the run was stopped".into())),
    }
}

/// Cancels `stop` on Ctrl-C or SIGTERM while a shard waits to start; drop the handle (abort)
/// once the wait is over.
pub fn stop_on_signals(stop: CancellationToken) -> tokio::task::JoinHandle<()> {
    let mut term = super::term::Term::listen();
    tokio::spawn(async move {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
        stop.cancel();
    })
}

impl Start {
    /// Waits until this run's load may start; returns when it does (the wall-clock instant).
    /// `Now` returns at once.
    pub async fn wait(&self) -> Result<OffsetDateTime, RendezvousError> {
        let stop = CancellationToken::new();
        let signals = match self {
            Start::Now => return Ok(OffsetDateTime::now_utc()),
            _ => stop_on_signals(stop.clone()),
        };
        let result = match self {
            Start::Now => Ok(OffsetDateTime::now_utc()),
            Start::At(at) => sleep_until_wall(*at, &stop)
                .await
                .map(|()| OffsetDateTime::now_utc().max(*at)),
            Start::Rendezvous(b) => b.meet(&stop).await,
        };
        signals.abort();
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shard(index: u32, count: u32) -> Shard {
        Shard { index, count }
    }

    fn barrier(dir: &Path, index: u32, count: u32, timeout_ms: u64) -> Barrier {
        Barrier {
            dir: dir.to_path_buf(),
            name: "run".into(),
            shard: shard(index, count),
            suite: "s".into(),
            timeout: Duration::from_millis(timeout_ms),
        }
    }

    #[test]
    fn the_agreed_start_is_the_last_arrival_plus_the_lead() {
        let a = |i, ms| Announcement {
            shard: shard(i, 3),
            suite: "s".into(),
            arrived_ms: ms,
            host: String::new(),
            pid: 1,
        };
        let all = [a(1, 1_000), a(2, 7_500), a(3, 4_000)];
        assert_eq!(unix_ms(agreed_start(&all).expect("some")), 9_500);
        let mut reordered = all.clone();
        reordered.reverse();
        assert_eq!(agreed_start(&reordered), agreed_start(&all));
        assert_eq!(agreed_start(&[]), None);
    }

    #[tokio::test]
    async fn shards_meet_at_one_instant() {
        let dir = tempfile::tempdir().expect("temp dir");
        let stop = CancellationToken::new();
        let (b1, b2) = (
            barrier(dir.path(), 1, 2, 10_000),
            barrier(dir.path(), 2, 2, 10_000),
        );
        let (s1, s2) = tokio::join!(b1.meet(&stop), async {
            tokio::time::sleep(Duration::from_millis(300)).await;
            b2.meet(&stop).await
        });
        let (s1, s2) = (s1.expect("meets"), s2.expect("meets"));
        assert!(
            (s1 - s2).abs() < time::Duration::milliseconds(100),
            "{s1} {s2}"
        );
        let all: Vec<Announcement> = b1
            .read::<Announcement>("run", &Wait::Arrival)
            .expect("read")
            .into_iter()
            .flatten()
            .collect();
        let agreed = agreed_start(&all).expect("both");
        assert!(s1 >= agreed && s2 >= agreed, "{s1} {s2} {agreed}");
        assert!(dir.path().join("run-shard-2-of-2.json").exists());
    }

    #[tokio::test]
    async fn a_missing_shard_is_named_after_the_timeout() {
        let dir = tempfile::tempdir().expect("temp dir");
        let stop = CancellationToken::new();
        barrier(dir.path(), 1, 3, 0).announce().expect("announced");
        let e = barrier(dir.path(), 2, 3, 300)
            .meet(&stop)
            .await
            .expect_err("shard 3 never comes");
        assert_eq!(
            e.to_string(),
            format!(
                "rendezvous in {}: shard 3/3 did not arrive within 0.3 s (arrived: 1/3, 2/3)",
                dir.path().display()
            )
        );
    }

    #[tokio::test]
    async fn another_suite_in_the_directory_is_refused() {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut other = barrier(dir.path(), 1, 2, 0);
        other.suite = "other".into();
        other.announce().expect("announced");
        let e = barrier(dir.path(), 2, 2, 1_000)
            .meet(&CancellationToken::new())
            .await
            .expect_err("foreign");
        assert_eq!(
            e.to_string(),
            format!(
                "rendezvous in {}: run-shard-1-of-2.json announces suite `other`, this shard \
                 runs `s`: use one fresh directory per run",
                dir.path().display()
            )
        );
    }

    #[tokio::test]
    async fn a_stopped_wait_says_so() {
        let dir = tempfile::tempdir().expect("temp dir");
        let stop = CancellationToken::new();
        stop.cancel();
        let e = barrier(dir.path(), 1, 2, 10_000)
            .meet(&stop)
            .await
            .expect_err("stopped");
        assert!(matches!(e, RendezvousError::Interrupted(_)), "{e}");
    }
}
