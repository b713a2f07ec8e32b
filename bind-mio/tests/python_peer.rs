//! Interop with an independent implementation, the kit's Python `websockets` peer: the shared
//! suite (`bind_support::python_suite`) on a driver that runs on the test thread.

mod support;

bind_support::python_suite!(support::MioHarness);
