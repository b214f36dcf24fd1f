//! Helpers shared by the binary's integration tests.

use std::path::{Path, PathBuf};

use assert_cmd::Command;

/// A file under `tests/fixtures/`.
pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// The `rightsize` binary under test.
pub fn rightsize() -> Command {
    Command::cargo_bin("rightsize").expect("binary is built")
}
