//! Transcript tests: for each capability, a scenario and the readable list of actions and events
//! the session emits, in order.

mod harness;

mod auth;
mod backoff;
mod classification;
mod contract;
mod control;
mod isolation;
mod limits;
mod liveness;
mod observability;
mod outbox;
mod renewal;
mod sequences;
mod subscriptions;
mod timeouts;
