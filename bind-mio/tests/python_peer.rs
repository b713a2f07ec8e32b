//! Interop with an independent implementation, the kit's Python `websockets` peer: the shared
//! suite (`support/python_suite.rs`) on a driver that runs on the test thread.

mod support;

support::python_suite::python_suite!(support::MioHarness);
