//! Building an example to run it as a child process, the way a user runs it: by the cargo that
//! runs the test. Cargo tells integration tests where their own binaries are, but not examples,
//! and `cargo test --test NAME` does not build examples at all.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::Value;

/// Builds `example` (of `package`, or of the manifest's own package when `None`) of the
/// workspace or crate at `manifest` with the cargo that built the kit (the one running the
/// tests, whose environment carries the target directory), and returns the executable's path, as
/// `--message-format=json` reports it. Cargo has released its build lock by the time tests run.
///
/// # Panics
/// When cargo cannot run, the build fails, or cargo reports no executable: the test cannot go
/// on without the program it tests.
pub fn build(manifest: &Path, package: Option<&str>, example: &str) -> PathBuf {
    let mut cargo = Command::new(env!("CARGO"));
    // Cargo sets these for the test process only; passed on, they would make build scripts
    // that track them (ring's) see a changed environment and rebuild.
    for (name, _) in std::env::vars_os() {
        let name = name.to_string_lossy();
        if name.starts_with("CARGO_PKG_")
            || name.starts_with("CARGO_MANIFEST_")
            || name.starts_with("CARGO_BIN_")
            || [
                "CARGO_CRATE_NAME",
                "CARGO_PRIMARY_PACKAGE",
                "CARGO_TARGET_TMPDIR",
                "CARGO_RUSTC_CURRENT_DIR",
                "OUT_DIR",
            ]
            .contains(&name.as_ref())
        {
            cargo.env_remove(name.as_ref());
        }
    }
    cargo.args(["build", "-q", "--example", example, "--message-format=json"]);
    cargo.arg("--manifest-path").arg(manifest);
    if let Some(package) = package {
        cargo.args(["-p", package]);
    }
    let output = cargo.stderr(Stdio::inherit()).output().expect("cargo runs");
    assert!(
        output.status.success(),
        "building the {example} example failed"
    );
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|m| m["reason"] == "compiler-artifact" && m["target"]["name"] == example)
        .find_map(|m| m["executable"].as_str().map(PathBuf::from))
        .expect("cargo reports the example's executable")
}
