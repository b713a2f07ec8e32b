//! The `tracing` feature on this binding: the lifecycle of a session that authenticates with a
//! secret, loses its connection and reconnects is logged, and no secret is (the shared suite
//! `bind_support::trace_suite`). The only test of its binary, since its subscriber is
//! process-wide.
#![cfg(feature = "tracing")]

mod support;

bind_support::trace_suite!(support::MioHarness);
