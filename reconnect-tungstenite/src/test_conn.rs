//! A real `ConnId` for the crate's unit tests: the core hands them out only through a
//! session, on purpose, so tests take the first attempt's.

use std::time::Instant;

use reconnect_core::adapters::RawAdapter;
use reconnect_core::{Action, Config, ConnId, Output, Session};

/// The id of a started session's first connection attempt.
pub(crate) fn a_conn_id() -> ConnId {
    let mut session = Session::new(Config::new(1), RawAdapter::new()).unwrap();
    session.start(Instant::now()).unwrap();
    std::iter::from_fn(|| session.poll_output())
        .find_map(|output| match output {
            Output::Action(Action::Connect { conn, .. }) => Some(conn),
            _ => None,
        })
        .expect("a started session connects")
}
