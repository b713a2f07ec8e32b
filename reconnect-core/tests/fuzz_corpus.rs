//! Replays the fuzz targets' checked-in corpora and regression inputs (`fuzz/corpus/<target>/`,
//! `fuzz/regressions/<target>/`) through the same target bodies the fuzzer runs, so that the
//! ordinary test run exercises them without cargo-fuzz.
#![cfg(all(feature = "json", feature = "serde"))]

// The bodies are the fuzz project's library (`reconnect-fuzz`, built without libFuzzer), so the
// ordinary test run replays exactly the code the fuzzer runs.
use reconnect_fuzz as bodies;

use std::path::{Path, PathBuf};

fn inputs(target: &str) -> Vec<PathBuf> {
    let fuzz = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz");
    let mut files = Vec::new();
    for dir in ["corpus", "regressions"] {
        let Ok(entries) = std::fs::read_dir(fuzz.join(dir).join(target)) else {
            continue;
        };
        for entry in entries.flatten() {
            if entry.path().is_file() && !entry.file_name().to_string_lossy().starts_with('.') {
                files.push(entry.path());
            }
        }
    }
    files.sort();
    files
}

fn replay(target: &str, run: fn(&[u8])) {
    let files = inputs(target);
    assert!(!files.is_empty(), "no corpus checked in for {target}");
    for file in files {
        let data = std::fs::read(&file).unwrap();
        let outcome = std::panic::catch_unwind(|| run(&data));
        assert!(outcome.is_ok(), "{target} failed on {}", file.display());
    }
}

#[test]
fn snapshot_corpus() {
    replay("snapshot", bodies::snapshot::run);
}

#[test]
fn jsonrpc_frames_corpus() {
    replay("jsonrpc_frames", bodies::jsonrpc_frames::run);
}

#[test]
fn session_corpus() {
    replay("session", bodies::session::run);
}
