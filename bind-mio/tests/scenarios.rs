//! The kit's whole scenario suite, over `ws://` and `wss://`, with this binding as the client.

mod support;

bind_support::scenario_suite!(support::MioHarness);
