//! Runs the harness binary as a child process and measures it: exit code, output, wall time
//! and peak RSS (the kernel's `ru_maxrss` for exactly that child, from `wait4`). The child's
//! address space is capped (`RLIMIT_AS`) so a regression fails fast instead of swapping.

#![allow(dead_code)] // Each test crate uses a part of it.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// What one run of the binary did.
#[derive(Debug)]
pub struct Ran {
    /// `None` when killed by a signal (a panic is exit 101, an abort a signal).
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    pub elapsed: Duration,
    /// Peak resident set size, in KiB.
    pub peak_kib: u64,
    /// Killed after the time limit.
    pub timed_out: bool,
}

/// Address space the child may map: far above any legitimate run, far below the machine.
const ADDRESS_SPACE: u64 = 4 << 30;

/// Runs `aeapi-harness --color never ARGS` in `dir`, killing it after `limit`.
pub fn harness(args: &[&str], dir: &Path, limit: Duration) -> Ran {
    let out = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let file = |name: &str| {
        std::fs::File::create(out.path().join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
    };
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_aeapi-harness"));
    cmd.arg("--color")
        .arg("never")
        .args(args)
        .current_dir(dir)
        .env_remove("NO_COLOR")
        .stdin(Stdio::null())
        .stdout(file("stdout"))
        .stderr(file("stderr"));
    #[cfg(target_os = "linux")]
    {
        use std::os::unix::process::CommandExt;
        // SAFETY: setrlimit is async-signal-safe and touches only the child.
        unsafe {
            cmd.pre_exec(|| {
                let lim = libc::rlimit {
                    rlim_cur: ADDRESS_SPACE,
                    rlim_max: ADDRESS_SPACE,
                };
                libc::setrlimit(libc::RLIMIT_AS, &lim);
                Ok(())
            });
        }
    }
    let start = Instant::now();
    // Reaped below by wait4, which also reports the child's own peak RSS.
    #[allow(clippy::zombie_processes)]
    let child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run the harness: {e}"));
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    // SAFETY: a zeroed rusage is a valid value for wait4 to fill.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let mut timed_out = false;
    loop {
        // SAFETY: pid is our unwaited child; status and usage are valid pointers.
        let r = unsafe { libc::wait4(pid, &mut status, libc::WNOHANG, &mut usage) };
        if r == pid {
            break;
        }
        assert!(r >= 0, "wait4: {}", std::io::Error::last_os_error());
        if !timed_out && start.elapsed() > limit {
            timed_out = true;
            // SAFETY: signalling our own child.
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    let elapsed = start.elapsed();
    let read = |name: &str| {
        String::from_utf8_lossy(&std::fs::read(out.path().join(name)).unwrap_or_default())
            .into_owned()
    };
    Ran {
        code: libc::WIFEXITED(status).then(|| libc::WEXITSTATUS(status)),
        stdout: read("stdout"),
        stderr: read("stderr"),
        elapsed,
        peak_kib: u64::try_from(usage.ru_maxrss).unwrap_or(0),
        timed_out,
    }
}
