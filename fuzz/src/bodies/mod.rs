//! One module per fuzz target; each exposes `run(data: &[u8])`, which panics on a violated
//! invariant and returns normally otherwise.

pub mod jsonrpc_frames;
pub mod session;
mod session_checker;
pub mod snapshot;
