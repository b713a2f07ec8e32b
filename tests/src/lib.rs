//! The shared test kit of the workspace: a fault-injecting WebSocket server, a fault proxy and
//! the scenario suite every binding runs.
//!
//! (Full crate docs, with the scenario list, are written in `lib.rs` as the kit grows.)

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod fds;
pub mod peer;
pub mod proxy;
pub mod rpc;
pub mod scenario;
pub mod server;
pub mod tls;
pub mod wsclient;
