//! The bodies of the fuzz targets. The libFuzzer binaries in `fuzz_targets/` call them, and
//! `reconnect-core/tests/fuzz_corpus.rs` includes the same files to replay the checked-in corpora
//! and regression inputs in the ordinary test run.
#![forbid(unsafe_code)]

mod bodies;

pub use bodies::*;
