//! A failed property run must leave no untracked file in the source tree: every property test
//! of this crate persists its failing cases into a checked-in file, or nowhere.
//!
//! proptest's default persistence derives a file from the test's source path (the
//! `proptest!` macro sets it): beside `tests/foo.rs` it writes `tests/foo.proptest-regressions`,
//! a file git does not track. Two checks keep that from happening:
//!
//! - **The kit, run.** A deliberately failing property goes through [`Kit::runner`]'s
//!   configuration with the source path set as the macro sets it; no file may appear under the
//!   crate, and with [`Kit::regressions`] the case lands in that file and nowhere else.
//! - **The sources, read.** Every `proptest!` (and `prop_state_machine!`) block of the crate
//!   opens with a `proptest_config` that sets `failure_persistence`; no source names the
//!   persistence kinds that derive a path from the source file; and every fixed path given to
//!   `FileFailurePersistence::Direct` or `Kit::regressions` is anchored at
//!   `CARGO_MANIFEST_DIR` and names a file that exists (a checked-in one: a missing file would
//!   be created, untracked). This is a reading of the text, not a run: it trusts that a config
//!   which sets `failure_persistence` sets it to `Off` or to such a `Direct` path.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

const CRATE_DIR: &str = env!("CARGO_MANIFEST_DIR");

/// Fails if files appeared under the crate since `before`; removes those that look like
/// proptest's first, so that this check does not leave behind what it catches.
#[track_caller]
fn assert_nothing_new(before: &BTreeSet<PathBuf>) {
    let after = files_under(Path::new(CRATE_DIR));
    let new: Vec<_> = after.difference(before).collect();
    for path in &new {
        if path.to_string_lossy().contains("proptest-regressions") {
            let _ = std::fs::remove_file(path);
        }
    }
    assert!(new.is_empty(), "a failing run left {new:?}");
}

/// Every file under the crate, except build output and hidden directories.
fn files_under(dir: &Path) -> BTreeSet<PathBuf> {
    let mut found = BTreeSet::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{dir:?}: {e}")) {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            if path.is_dir() {
                if name != "target" && !name.starts_with('.') {
                    stack.push(path);
                }
            } else {
                found.insert(path);
            }
        }
    }
    found
}

#[cfg(feature = "proptest")]
mod kit {
    use super::*;
    use proptest::test_runner::{FileFailurePersistence, TestCaseError, TestError, TestRunner};
    use reconnect_core::sim::proptest::Kit;
    use std::time::Instant;

    /// Runs a property that fails on every case under `kit`'s configuration, with the source
    /// path set to this file, as the `proptest!` macro sets it: the one input from which
    /// proptest's default persistence would derive a file in the source tree.
    fn fail_under(kit: &Kit) {
        let mut config = kit.runner().config().clone();
        config.source_file = Some(file!());
        let mut runner = TestRunner::new(config);
        let result = runner.run(&(0u32..1_000), |_| {
            Err(TestCaseError::fail("a planted failure"))
        });
        assert!(matches!(result, Err(TestError::Fail(..))), "{result:?}");
    }

    fn persistence(kit: &Kit) -> Option<FileFailurePersistence> {
        let runner = kit.runner();
        let configured = runner.config().failure_persistence.as_ref()?;
        configured
            .as_any()
            .downcast_ref::<FileFailurePersistence>()
            .copied()
    }

    #[test]
    fn without_regressions_a_failing_run_writes_no_file() {
        let kit = Kit::new(Instant::now(), ["t"]).cases(4);
        assert_eq!(persistence(&kit), Some(FileFailurePersistence::Off));
        let before = files_under(Path::new(CRATE_DIR));
        fail_under(&kit);
        assert_nothing_new(&before);
    }

    #[test]
    fn with_regressions_a_failing_run_writes_only_that_file() {
        let dir =
            std::env::temp_dir().join(format!("reconnect-core-persistence-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("kit.proptest-regressions");
        let _ = std::fs::remove_file(&file);
        // `regressions` takes a `&'static str`, as a `concat!` path is.
        let path: &'static str = Box::leak(file.to_string_lossy().into_owned().into_boxed_str());
        let kit = Kit::new(Instant::now(), ["t"]).cases(4).regressions(path);
        assert_eq!(
            persistence(&kit),
            Some(FileFailurePersistence::Direct(path))
        );
        let before = files_under(Path::new(CRATE_DIR));
        fail_under(&kit);
        assert_nothing_new(&before);
        let written = std::fs::read_to_string(&file).unwrap_or_default();
        let _ = std::fs::remove_dir_all(&dir);
        assert!(
            written.lines().any(|l| l.starts_with("cc ")),
            "the failing case was not persisted where the kit was told:\n{written}"
        );
    }
}

/// The crate's Rust sources that may hold property tests.
fn sources() -> Vec<(PathBuf, String)> {
    // This file names what it looks for; it is no property test.
    let this = Path::new(CRATE_DIR).join("tests/proptest_persistence.rs");
    ["src", "tests", "examples", "benches"]
        .iter()
        .map(|d| Path::new(CRATE_DIR).join(d))
        .filter(|d| d.is_dir())
        .flat_map(|d| files_under(&d))
        .filter(|p| p.extension().is_some_and(|e| e == "rs"))
        .filter(|p| *p != this)
        .map(|p| {
            let text = std::fs::read_to_string(&p).unwrap();
            (p, text)
        })
        .collect()
}

/// The text from its start (an opening parenthesis) to the matching close.
fn balanced(text: &str) -> &str {
    let mut depth = 0;
    for (i, c) in text.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth == 0 {
                    return &text[..=i];
                }
            }
            _ => {}
        }
    }
    text
}

/// Skips whitespace and `//` comment lines.
fn skip_comments(mut text: &str) -> &str {
    loop {
        text = text.trim_start();
        if text.starts_with("//") && !text.starts_with("//!") {
            text = text.split_once('\n').map_or("", |(_, rest)| rest);
        } else {
            return text;
        }
    }
}

#[test]
fn every_property_test_persists_into_a_checked_in_file_or_nowhere() {
    let mut problems = Vec::new();
    let mut blocks = 0;
    for (path, text) in sources() {
        let at = |offset: usize| {
            let line = text[..offset].lines().count().max(1);
            format!("{}:{line}", path.strip_prefix(CRATE_DIR).unwrap().display())
        };
        for kind in ["SourceParallel", "WithSource"] {
            if let Some(offset) = text.find(&format!("FileFailurePersistence::{kind}")) {
                problems.push(format!(
                    "{}: {kind} derives a path in the source tree",
                    at(offset)
                ));
            }
        }
        for mac in ["proptest! {", "prop_state_machine! {"] {
            for (offset, _) in text.match_indices(mac) {
                blocks += 1;
                let body = skip_comments(&text[offset + mac.len()..]);
                let config = body
                    .strip_prefix("#![proptest_config")
                    .map(balanced)
                    .unwrap_or_default();
                if !config.contains("failure_persistence") {
                    problems.push(format!(
                        "{}: `{mac}` without a proptest_config that sets failure_persistence \
                         (the default writes an untracked file beside the source)",
                        at(offset)
                    ));
                }
            }
        }
        for call in ["FileFailurePersistence::Direct(", ".regressions("] {
            for (offset, _) in text.match_indices(call) {
                let arg = text[offset + call.len()..].trim_start();
                if arg.starts_with('"') {
                    problems.push(format!(
                        "{}: a relative path is taken from the working directory; anchor it \
                         at CARGO_MANIFEST_DIR",
                        at(offset)
                    ));
                    continue;
                }
                let Some(rest) = arg.strip_prefix("concat!(") else {
                    continue; // a variable: the caller's path, checked where it is written
                };
                let literal = rest
                    .split_once("env!(\"CARGO_MANIFEST_DIR\"),")
                    .and_then(|(_, tail)| tail.trim_start().strip_prefix('"'))
                    .and_then(|tail| tail.split_once('"'))
                    .map(|(rel, _)| rel);
                match literal {
                    Some(rel) if Path::new(CRATE_DIR).join(&rel[1..]).is_file() => {}
                    Some(rel) => problems.push(format!(
                        "{}: {rel} is not in the source tree: a failure would create it \
                         untracked; check in an empty one or persist nowhere",
                        at(offset)
                    )),
                    None => problems.push(format!(
                        "{}: a persistence path not anchored at CARGO_MANIFEST_DIR",
                        at(offset)
                    )),
                }
            }
        }
    }
    // The reading found the crate's property tests at all (batch isolation, the JSON-RPC
    // adapter): a scan that finds nothing proves nothing.
    assert!(blocks >= 2, "found {blocks} proptest! blocks");
    assert!(problems.is_empty(), "{problems:#?}");
}
