//! Fixtures shared by the bindings' benchmarks, so that every binding is measured against the
//! same servers with the same yardsticks.
//!
//! | item | what it gives a benchmark |
//! |---|---|
//! | [`Flood`] | a server that writes pre-encoded text frames as fast as the client reads, for throughput |
//! | [`ServerProcess`], [`run_server_child`], [`SERVER_FLAG`] | the kit's event-driven [`FleetServer`](crate::fleet_server::FleetServer) in a child process, for fleets of thousands of sessions |
//! | [`process_cpu_time`] | the CPU time of a process (the server child's, or the benchmark's own) |
//! | [`rss_bytes`] | the resident memory of the benchmark's process |
//! | [`peak_over_mean`] | how evenly a fleet's reconnects spread over time |
//! | [`result`] | a `RESULT key=value` line for `.ci/bench`'s table |
//!
//! Benchmarks print what they measure and never assert speed.

mod cpu;
mod flood;
mod memory;
mod rate;
pub mod server_process;

pub use cpu::process_cpu_time;
pub use flood::{encoded_text_frame, Flood, CHUNK};
pub use memory::rss_bytes;
pub use rate::{peak_over_mean, PeakAndMean};
pub use server_process::{run_server_child, ServerProcess, SERVER_FLAG};

/// Prints one machine-readable result line, `RESULT key=value`, which `.ci/bench` collects
/// into its table. Benchmarks print their human-readable lines beside it.
pub fn result(key: &str, value: impl std::fmt::Display) {
    println!("RESULT {key}={value}");
}
