//! `report.html` opens in a real browser: headless Chromium (Debian's `chromium`, which `.ci/run`
//! installs) parses it, its plots are in the rendered DOM, nothing is logged as an error, and it
//! renders to a screenshot. Where Chromium is missing the test fails under CI (`CI` set) and is
//! skipped with a note elsewhere, so `cargo test` still runs on a fresh machine.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::bin_common::{run_command, suite_in_tempdir};

fn chromium() -> Option<PathBuf> {
    ["chromium", "chromium-browser", "google-chrome"]
        .iter()
        .map(|name| Path::new("/usr/bin").join(name))
        .find(|p| p.is_file())
}

/// Chromium's flags for a closed, sandbox-less machine (see the env notes): no GPU, no network.
fn browser(bin: &Path, profile: &Path) -> Command {
    let mut c = Command::new(bin);
    c.args(crate::live_common::CHROMIUM_FLAGS)
        .args(["--enable-logging=stderr", "--v=0"])
        .arg(format!("--user-data-dir={}", profile.display()));
    c
}

#[test]
fn report_html_renders_its_plots_in_headless_chromium() {
    let Some(bin) = chromium() else {
        assert!(
            std::env::var_os("CI").is_none(),
            "Chromium is missing under CI: .ci/run should have installed it"
        );
        eprintln!("note: skipped: no Chromium (apt-get install chromium to run this test)");
        return;
    };
    let (dir, suite) = suite_in_tempdir(
        "name: html\nload: {agents: 3, ramp: 0s, duration: 3s, arrival_rate: 2/s}\n\
         simulator: {long_poll_hold: 1s}\npersonas: {p: {weight: 1, think: 100ms, reply: 200ms, typing: 100ms, messages: 1}}\n\
         thresholds: ['p95(acceptEngagement) < 1s']\n",
    );
    let out = dir.path().join("out");
    let status = run_command(&suite, &out)
        .stdout(Stdio::null())
        .status()
        .expect("harness runs");
    // Passed or failed its threshold (a loaded machine may miss it): either way a whole run
    // with every report; a usage error (2) or a cut-short run (3) is not what is tested here.
    assert!(
        matches!(status.code(), Some(0) | Some(1)),
        "the run exited {status}"
    );
    let page = out.join("report.html");
    let url = format!("file://{}", page.display());

    let dom = browser(&bin, &dir.path().join("profile1"))
        .arg("--dump-dom")
        .arg(&url)
        .output()
        .expect("chromium runs");
    let html = String::from_utf8_lossy(&dom.stdout);
    let log = String::from_utf8_lossy(&dom.stderr);
    let svgs = html.matches("<svg").count();
    let lines = html.matches("<polyline").count();
    assert!(
        svgs >= 3,
        "{svgs} SVG plots in the rendered DOM; log:\n{log}"
    );
    assert!(lines >= 3, "{lines} plotted lines in the rendered DOM");
    assert!(
        html.contains("p95(acceptEngagement) &lt; 1s"),
        "threshold table missing"
    );
    for bad in ["Uncaught", "CONSOLE(", "SyntaxError"] {
        assert!(!log.contains(bad), "browser reported `{bad}`:\n{log}");
    }

    let shot = dir.path().join("report.png");
    let rendered = browser(&bin, &dir.path().join("profile2"))
        .arg(format!("--screenshot={}", shot.display()))
        .arg("--window-size=1280,2400")
        .arg(&url)
        .output()
        .expect("chromium runs");
    let size = std::fs::metadata(&shot).map_or(0, |m| m.len());
    assert!(
        size > 20_000,
        "screenshot is {size} bytes: {}",
        String::from_utf8_lossy(&rendered.stderr)
    );
}
