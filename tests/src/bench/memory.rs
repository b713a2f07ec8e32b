//! The resident memory of this process, for memory-per-session benchmarks.

use std::io;

/// The page size `/proc/self/statm` counts in: 4 KiB on every Linux this runs on (x86-64 and
/// the usual arm64 kernels); reading it from `sysconf` would need `unsafe` or another crate.
const PAGE_SIZE: u64 = 4096;

/// The resident set size of this process, in bytes (`/proc/self/statm`, field 2, in pages).
///
/// It counts every thread of the process, so measure in a process that runs nothing else (the
/// [`ServerProcess`](super::ServerProcess) keeps the server out of it).
///
/// # Errors
/// Fails where `/proc/self/statm` does not exist (not Linux) or does not parse.
pub fn rss_bytes() -> io::Result<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm")?;
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|field| field.parse().ok())
        .ok_or_else(|| io::Error::other(format!("unexpected /proc/self/statm: {statm:?}")))?;
    Ok(pages * PAGE_SIZE)
}

// The test is in `tests/tests/memory.rs`: reading `/proc/self/statm` opens a descriptor, and
// the descriptor-counting unit test of this crate must not see other tests' descriptors.
