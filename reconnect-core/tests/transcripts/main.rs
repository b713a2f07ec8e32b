//! Transcript tests: for each capability, a scenario and the readable list of actions and events
//! the session emits, in order.

// The shared adapter and rig of the core's tests, one directory up in the same tests folder.
#[path = "../common/mod.rs"]
mod common;

mod auth;
mod backoff;
mod classification;
mod contract;
mod control;
mod frame_limit;
mod isolation;
mod limits;
mod line_protocol;
mod liveness;
mod observability;
mod outbox;
mod renewal;
mod send_rate;
mod sequences;
mod staleness;
mod subscriptions;
mod timeouts;
