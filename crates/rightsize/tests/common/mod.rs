//! Helpers shared by the binary's integration tests.

use std::path::{Path, PathBuf};

use assert_cmd::Command;

/// A file under `tests/fixtures/`.
#[allow(dead_code)] // each test binary compiles this module; not all of them read fixtures
pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// The `rightsize` binary under test.
pub fn rightsize() -> Command {
    Command::cargo_bin("rightsize").expect("binary is built")
}

/// Runs a command to the end and fails the test with its stderr unless it succeeded.
pub fn run_ok(cmd: &mut Command) -> std::process::Output {
    let out = cmd.output().expect("runs");
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Writes a generated week (0.05% of a 2,000 req/s peak, 14 pods) to `path`.
#[allow(dead_code)] // each test binary compiles this module; not all of them need a week
pub fn generate_week(path: &Path, seed: u32) {
    run_ok(
        rightsize()
            .args(["generate", "--sample-rate", "0.0005", "--seed"])
            .arg(seed.to_string())
            .arg("--out")
            .arg(path),
    );
}

/// Runs a command that must fail as bad usage or input (exit code 2) with `expected` in its
/// stderr.
#[allow(dead_code)]
pub fn fails_with(cmd: &mut Command, expected: &str) {
    let out = cmd.output().expect("runs");
    assert_eq!(out.status.code(), Some(2), "{cmd:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(expected), "{cmd:?}: {err}");
}

/// Starts a `rightsize` command that listens (`serve`, `testbed`) and returns the process and
/// the URL it prints on its first line; `stderr` says where its messages go.
#[allow(dead_code)] // each test binary compiles this module; not all of them start servers
pub fn spawn_listening<S: AsRef<std::ffi::OsStr>>(
    args: impl IntoIterator<Item = S>,
    stderr: std::process::Stdio,
) -> (std::process::Child, String) {
    use std::io::{BufRead, BufReader};
    let bin = assert_cmd::cargo::cargo_bin("rightsize");
    let mut child = std::process::Command::new(bin)
        .args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(stderr)
        .spawn()
        .expect("spawn");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("read");
    let url = line
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .unwrap_or_else(|| panic!("no address in {line:?}"))
        .to_string();
    (child, url)
}

#[allow(dead_code)] // each test binary compiles this module
/// Chromium from `RIGHTSIZE_CHROMIUM` or the Debian package's path.
pub fn chromium() -> Option<PathBuf> {
    std::env::var_os("RIGHTSIZE_CHROMIUM")
        .map(PathBuf::from)
        .or_else(|| {
            ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
                .iter()
                .map(PathBuf::from)
                .find(|p| p.exists())
        })
}

#[allow(dead_code)]
/// Headless Chromium with a throwaway profile.
pub fn headless(browser: &Path, profile: &Path) -> std::process::Command {
    let mut c = std::process::Command::new(browser);
    c.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--hide-scrollbars",
        "--virtual-time-budget=5000",
        "--window-size=1100,1400",
    ])
    .arg(format!("--user-data-dir={}", profile.display()));
    c
}

/// Counts, in the browser, the charts that laid out at a real size and drew their marks.
const CHART_CHECK: &str = r#"<script>
addEventListener('load', () => {
  const charts = [...document.querySelectorAll('svg.chart')];
  const drawn = charts.filter(svg => {
    const box = svg.getBoundingClientRect();
    const marks = svg.querySelectorAll('.series');
    const inside = [...marks].every(m => { const b = m.getBBox(); return b.x >= 0 && b.y >= 0; });
    return box.width > 400 && box.height > 100 && marks.length > 0 && inside;
  });
  document.body.setAttribute('data-charts', charts.length + '/' + drawn.length);
});
</script>"#;

#[allow(dead_code)]
/// Renders `html` (a report that must run no script of its own) in headless Chromium with
/// [`CHART_CHECK`] added, and returns "charts/drawn" as the browser counted them.
pub fn charts_drawn(browser: &Path, html: &str, dir: &Path) -> String {
    assert!(
        !html.contains("<script"),
        "the report itself runs no script"
    );
    let probe = dir.join("probe.html");
    std::fs::write(
        &probe,
        html.replace("</body>", &format!("{CHART_CHECK}</body>")),
    )
    .expect("write probe");
    let profile = tempfile::tempdir().expect("profile");
    let out = headless(browser, profile.path())
        .arg("--dump-dom")
        .arg(format!("file://{}", probe.display()))
        .output()
        .expect("chromium runs");
    let dom = String::from_utf8_lossy(&out.stdout);
    dom.split(r#"data-charts=""#)
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .map_or_else(
            || format!("no count in {}", &dom[..dom.len().min(300)]),
            str::to_string,
        )
}
