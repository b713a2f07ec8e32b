//! Interop with an independent implementation, the kit's Python `websockets` peer: the shared
//! suite (`bind_support::python_suite`) on a session task and its event stream.

mod support;

bind_support::python_suite!(support::SmolHarness);
