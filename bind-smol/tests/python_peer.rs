//! Interop with an independent implementation, the kit's Python `websockets` peer: the shared
//! suite (bind-mio's `tests/support/python_suite.rs`) on a session task and its event stream.

mod support;

support::python_suite::python_suite!(support::SmolHarness);
