//! This binding's side of the shared suites: [`MioHarness`], the one [`Harness`] the suites in
//! `bind-support` drive (the kit's scenario suite included, through
//! `bind_support::scenario_client`).

#![allow(dead_code, unused_imports)] // each test binary uses a different part

use std::time::Duration;

use bind_mio::{Driver, DriverConfig, Endpoint, SessionId};
use reconnect_core::adapters::JsonRpcAdapter;
use reconnect_core::{Command, ConnectBudget, Event, HandleError, Session};

pub use bind_support::harness::{Harness, Settings};
pub use bind_support::kit::{endpoint_for, session_for};

/// Runs `driver` on this thread until `done` holds on the events seen so far (panics after
/// `limit`, showing the last events). Events of every session are collected, in order.
pub fn run_until<P: reconnect_core::Protocol>(
    driver: &mut Driver<P>,
    seen: &mut Vec<(SessionId, Event)>,
    limit: Duration,
    mut done: impl FnMut(&[(SessionId, Event)]) -> bool,
) {
    let deadline = std::time::Instant::now() + limit;
    while !done(seen) {
        assert!(
            std::time::Instant::now() < deadline,
            "timed out; last events: {:#?}",
            &seen[seen.len().saturating_sub(20)..]
        );
        driver
            .run_once(Some(Duration::from_millis(20)))
            .expect("the poll does not fail");
        driver.drain_events(seen);
    }
}

/// A driver on the test thread with one session, the way an application that owns its loop uses
/// it: `run_once` and `poll_event`.
pub struct MioHarness {
    driver: Driver<JsonRpcAdapter>,
    id: SessionId,
}

impl Harness for MioHarness {
    fn start_with(
        session: Session<JsonRpcAdapter>,
        endpoint: Endpoint,
        settings: &Settings,
    ) -> Self {
        let mut config = DriverConfig::default().connect_budget(settings.connect_budget.clone());
        if let Some(n) = settings.mailbox_capacity {
            config = config.mailbox_capacity(n);
        }
        if let Some(n) = settings.mailbox_bytes {
            config = config.mailbox_bytes(n);
        }
        if let Some(n) = settings.event_capacity {
            config = config.event_capacity(n);
        }
        if let Some(n) = settings.event_bytes {
            config = config.event_bytes(n);
        }
        let mut driver = Driver::new(config).expect("a poll");
        let id = driver.add_session(session, endpoint);
        MioHarness { driver, id }
    }

    fn default_connect_budget() -> Option<ConnectBudget> {
        DriverConfig::default().connect_budget
    }

    fn step(&mut self, seen: &mut Vec<Event>, wait: Duration) {
        self.driver
            .run_once(Some(wait))
            .expect("the poll does not fail");
        while let Some((_, event)) = self.driver.poll_event() {
            seen.push(event);
        }
    }

    fn ended(&self) -> bool {
        // A driver keeps a stopped session until it is removed.
        false
    }

    fn idle(&mut self, span: Duration) {
        let until = std::time::Instant::now() + span;
        while let Some(left) = until.checked_duration_since(std::time::Instant::now()) {
            self.driver
                .run_once(Some(left))
                .expect("the poll does not fail");
        }
    }

    fn try_command(&mut self, command: Command) -> Result<(), HandleError> {
        let handle = self.driver.handle(self.id).expect("the session exists");
        handle.command(command)
    }

    fn close(&mut self) -> Result<(), HandleError> {
        let handle = self.driver.handle(self.id).expect("the session exists");
        handle.close()
    }

    fn assert_released(&mut self) {
        self.assert_sockets(0);
    }

    fn assert_sockets(&self, n: usize) {
        assert_eq!(self.driver.sockets(), n, "sockets the driver holds");
    }
}
