//! Settings that cannot mislead: a refused configuration names its setting in a value a program
//! can match on, and a heartbeat interval the adapter cannot honour is refused up front.

mod common;

use std::time::Duration;

use common::rig::Rig;
use reconnect_core::adapters::RawAdapter;
use reconnect_core::{Action, Config, ConfigError, Output, Purpose, Session};

#[test]
fn a_refused_setting_is_named_in_a_matchable_error() {
    let mut config = Config::new(3);
    config.timeouts.connect = Duration::ZERO;
    let Err(error) = Session::new(config, RawAdapter::new()) else {
        panic!("a zero connect timeout was accepted");
    };
    match &error {
        ConfigError::Invalid { setting, reason } => {
            assert_eq!(*setting, "timeouts.connect");
            assert_eq!(*reason, "must be longer than zero");
        }
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!(error.setting(), "timeouts.connect");
    assert_eq!(
        error.to_string(),
        "invalid configuration: timeouts.connect must be longer than zero"
    );
}

#[test]
fn a_heartbeat_interval_without_an_adapter_heartbeat_is_refused() {
    let mut config = Config::new(3);
    config.liveness.heartbeat_interval = Some(Duration::from_millis(1_300));
    let Err(error) = Session::new(config, RawAdapter::new()) else {
        panic!("a heartbeat interval the raw adapter cannot send was accepted");
    };
    assert_eq!(error, ConfigError::HeartbeatUnsupported);
    assert_eq!(error.setting(), "liveness.heartbeat_interval");
    assert!(error.to_string().contains("heartbeat_interval"), "{error}");
    // Without the interval the same adapter is fine.
    assert!(Session::new(Config::new(3), RawAdapter::new()).is_ok());
}

#[cfg(feature = "json")]
#[test]
fn the_heartbeat_interval_alone_turns_the_json_rpc_heartbeat_on() {
    use reconnect_core::adapters::JsonRpcAdapter;
    use reconnect_core::{Frame, Input};

    let mut config = Config::new(3);
    config.liveness.ping_interval = None;
    config.liveness.heartbeat_interval = Some(Duration::from_millis(1_300));
    let mut h = Rig::with_adapter(config, JsonRpcAdapter::default());
    h.start();
    let conn = h
        .take_outputs()
        .into_iter()
        .find_map(|o| match o {
            Output::Action(Action::Connect { conn, .. }) => Some(conn),
            _ => None,
        })
        .expect("a connect");
    h.now = h.at(10);
    h.input(Input::Opened { conn });
    h.take_outputs();
    // Nothing is due before 10 + 1300 ms.
    h.advance(Duration::from_millis(1_299));
    let early = h.take_outputs();
    assert!(early.is_empty(), "{early:?}");
    h.advance(Duration::from_millis(1));
    let due = h.take_outputs();
    let heartbeat = due.iter().find_map(|o| match o {
        Output::Action(Action::Send {
            frame,
            purpose: Purpose::Heartbeat,
            ..
        }) => Some(frame.clone()),
        _ => None,
    });
    let Some(Frame::Text(text)) = heartbeat else {
        panic!("no heartbeat sent at 1310 ms: {due:?}");
    };
    assert!(text.contains(r#""method":"public/test""#), "{text}");
}

/// The first backoff delay a session with `config` draws after its first attempt is refused.
fn first_delay(config: Config) -> Duration {
    use reconnect_core::{Event, Input, TransportError, TransportErrorKind};

    let mut h = Rig::with_adapter(config, RawAdapter::new());
    h.start();
    let conn = h
        .take_outputs()
        .into_iter()
        .find_map(|o| match o {
            Output::Action(Action::Connect { conn, .. }) => Some(conn),
            _ => None,
        })
        .expect("a connect");
    h.input(Input::ConnectFailed {
        conn,
        error: TransportError::new(TransportErrorKind::Refused, "refused"),
    });
    h.take_outputs()
        .into_iter()
        .find_map(|o| match o {
            Output::Event(Event::ReconnectScheduled { delay, .. }) => Some(delay.drawn),
            _ => None,
        })
        .expect("a scheduled retry")
}

#[test]
fn replicas_of_one_client_draw_apart_and_each_reproducibly() {
    let replica = |r: u64| {
        let mut c = Config::for_replica("collector-7", r);
        c.backoff.initial = Duration::from_millis(100);
        c.backoff.first_retry = reconnect_core::FirstRetry::Jittered;
        c
    };
    let firsts: Vec<Duration> = (0..4).map(|r| first_delay(replica(r))).collect();
    for (i, a) in firsts.iter().enumerate() {
        assert!(
            !firsts[i + 1..].contains(a),
            "replica {i} draws the same first delay as another: {firsts:?}"
        );
    }
    // The same replica is reproducible, run after run.
    assert_eq!(first_delay(replica(2)), firsts[2]);
    // `for_client` alone gives every replica the same draw: the lockstep it avoids.
    assert_eq!(
        first_delay(Config::for_client("collector-7")),
        first_delay(Config::for_client("collector-7"))
    );
}
