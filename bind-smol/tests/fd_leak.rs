//! No descriptor outlives its `ConnId`: the shared 200-cycle suite (bind-mio's
//! `tests/support/fd_suite.rs`) on this binding. The only test of its binary, since descriptor
//! counts are process-wide.

mod support;

support::fd_suite::fd_suite!(support::SmolHarness);
