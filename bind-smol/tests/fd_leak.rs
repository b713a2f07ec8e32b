//! No descriptor outlives its `ConnId`: the shared 200-cycle suite (`bind_support::fd_suite`)
//! on this binding. The only test of its binary, since descriptor counts are process-wide.

mod support;

bind_support::fd_suite!(support::SmolHarness);
