//! The bodies of the fuzz targets. The libFuzzer binaries in `fuzz_targets/` call them, and
//! `reconnect-core/tests/fuzz_corpus.rs` (this library is a dev-dependency of the core, built
//! without the `libfuzzer` feature) replays the checked-in corpora and regression inputs through
//! them in the ordinary test run.
#![forbid(unsafe_code)]

mod bodies;

pub use bodies::*;
