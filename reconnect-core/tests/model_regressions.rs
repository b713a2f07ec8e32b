//! Regression tests for session bugs the property model (`tests/model.rs`) found, each the
//! model's shrunk failing sequence rewritten as a plain test through the public API.

mod common;

use std::time::Duration;

use reconnect_core::{Action, BackoffConfig, Config, Event, Jitter, Output, StopReason};

use common::line_adapter::{self as line, LineAdapter};
use common::rig::{base, Rig};

/// `close()` runs overdue deadlines first (rule 1). When the backoff had already ended, that
/// used to start a fresh attempt inside `close()` itself — a `Connect` the driver would act on
/// (opening a socket) only to be told to release it a moment later.
#[test]
fn close_with_an_overdue_backoff_starts_no_attempt() {
    let mut config = Config::new(1);
    config.backoff = BackoffConfig::default();
    config.backoff.initial = Duration::from_millis(1);
    config.backoff.max = Duration::from_millis(1);
    config.backoff.jitter = Jitter::None;
    let connect_timeout = config.timeouts.connect;
    let mut h = Rig::with_adapter(config, LineAdapter::default());
    let t0 = base();
    h.session.start(t0).unwrap();
    h.take_outputs();
    // The attempt times out; the next one is due 1 ms later.
    h.session.handle_timeout(t0 + connect_timeout);
    let outputs = h.take_outputs();
    assert!(outputs
        .iter()
        .any(|o| matches!(o, Output::Event(Event::ReconnectScheduled { .. }))));

    // The application closes after the backoff ended but before the driver's timer fired.
    h.session
        .close(t0 + connect_timeout + Duration::from_millis(5))
        .unwrap();
    let outputs = h.take_outputs();
    assert!(
        !outputs
            .iter()
            .any(|o| matches!(o, Output::Action(Action::Connect { .. }))),
        "close() started an attempt: {outputs:?}"
    );
    assert_eq!(
        outputs.last(),
        Some(&Output::Event(Event::Stopped {
            reason: StopReason::Closed { clean: true }
        }))
    );
}

/// Every subscribe request the session sent on a connection, in order (topics only).
fn subscribe_frames(outputs: &[Output]) -> Vec<Vec<String>> {
    outputs
        .iter()
        .filter_map(|o| match o {
            Output::Action(Action::Send { frame, .. }) => match line::parse_request(frame) {
                Some(line::Request::Subscribe { topics, .. }) => {
                    Some(topics.into_iter().map(|(t, _)| t).collect())
                }
                _ => None,
            },
            _ => None,
        })
        .collect()
}

/// The id of the last request of the outputs that `pick` accepts.
fn last_request(outputs: &[Output], pick: fn(&line::Request) -> bool) -> u64 {
    outputs
        .iter()
        .rev()
        .find_map(|o| match o {
            Output::Action(Action::Send { frame, .. }) => {
                line::parse_request(frame).filter(pick).and_then(|r| r.id())
            }
            _ => None,
        })
        .expect("the request was sent")
}

/// A topic unsubscribed and subscribed again while its first subscribe request was still in
/// flight: the answer to that old request used to mark the new subscription active, so (with
/// a paced restore) the new request was never sent and the restore went live without it —
/// while the server, which had processed the unsubscribe, no longer sent its data.
#[test]
fn an_answer_to_an_abandoned_subscribe_request_does_not_confirm_the_new_one() {
    let mut config = Config::new(1);
    config.resubscribe.frames_per_second = Some(1);
    let mut h = Rig::with_adapter(config, LineAdapter::default());
    h.session
        .set_credentials(reconnect_core::Credentials::new("key"));
    let t0 = base();
    h.session.subscribe(t0, "a").unwrap();
    h.session.subscribe(t0, "b").unwrap();
    h.session.start(t0).unwrap();
    let conn = h.session.current_conn().unwrap();
    let mut all = h.take_outputs();
    let frame = |id| reconnect_core::Input::Frame {
        conn,
        frame: line::ack(id),
    };

    h.session
        .handle_input(t0, reconnect_core::Input::Opened { conn });
    all.extend(h.take_outputs());
    let auth = last_request(&all, |r| matches!(r, line::Request::Auth { .. }));
    h.session.handle_input(t0, frame(auth));
    all.extend(h.take_outputs());
    // "a" went out first; "b" waits for the pace timer.
    let old_a = last_request(&all, |r| matches!(r, line::Request::Subscribe { .. }));

    // Unsubscribed and wanted again before the server answered.
    h.session.unsubscribe(t0, "a").unwrap();
    h.session.subscribe(t0, "a").unwrap();
    all.extend(h.take_outputs());
    h.session.handle_input(t0, frame(old_a));
    let answer = h.take_outputs();
    assert!(
        !answer
            .iter()
            .any(|o| matches!(o, Output::Event(Event::Subscribed { .. }))),
        "the old request's answer confirmed the new subscription: {answer:?}"
    );
    all.extend(answer);
    let unsub = last_request(&all, |r| matches!(r, line::Request::Unsubscribe { .. }));
    h.session.handle_input(t0, frame(unsub));
    all.extend(h.take_outputs());

    // The paced restore goes on: "b", then "a" again, each acknowledged.
    let mut t = t0;
    for _ in 0..2 {
        t += Duration::from_secs(1);
        h.session.handle_timeout(t);
        all.extend(h.take_outputs());
        let sub = last_request(&all, |r| matches!(r, line::Request::Subscribe { .. }));
        h.session.handle_input(t, frame(sub));
        all.extend(h.take_outputs());
    }
    assert_eq!(
        subscribe_frames(&all),
        vec![
            vec!["a".to_owned()],
            vec!["b".to_owned()],
            vec!["a".to_owned()]
        ]
    );
    // Each topic confirmed once, by the answer to its own request.
    assert!(all.iter().any(|o| matches!(
        o,
        Output::Event(Event::Live {
            resubscribed: 2,
            ..
        })
    )));
}

/// A session that gives up as soon as its first attempt fails, with that attempt's connect
/// timeout overdue at `t0 + connect timeout`.
fn about_to_give_up() -> (Rig, std::time::Instant) {
    let mut config = Config::new(1);
    config.limits.max_attempts = Some(1);
    let overdue = base() + config.timeouts.connect;
    let mut h = Rig::with_adapter(config, LineAdapter::default());
    h.session.start(base()).unwrap();
    h.take_outputs();
    (h, overdue)
}

fn stopped_last(outputs: &[Output]) {
    assert!(
        matches!(
            outputs.last(),
            Some(Output::Event(Event::Stopped {
                reason: StopReason::GaveUp { .. }
            }))
        ),
        "something followed Stopped: {outputs:?}"
    );
}

/// Commands check that the session runs, then run the overdue deadlines — which may stop it.
/// `pause` used to emit `Paused` after `Stopped`, and `subscribe`/`unsubscribe` to change the
/// registry of a stopped session and report success.
#[test]
fn a_command_that_finds_the_session_stopping_is_refused_after_the_stop() {
    use reconnect_core::{CommandError, SubscribeError};

    let (mut h, overdue) = about_to_give_up();
    assert_eq!(h.session.pause(overdue), Err(CommandError::Stopped));
    stopped_last(&h.take_outputs());

    let (mut h, overdue) = about_to_give_up();
    h.session.pause(base()).unwrap();
    h.take_outputs();
    // Paused while the attempt is in flight; the attempt then times out and the session gives
    // up (a failure is counted even while paused).
    assert_eq!(h.session.resume(overdue), Err(CommandError::Stopped));
    stopped_last(&h.take_outputs());

    let (mut h, overdue) = about_to_give_up();
    assert_eq!(
        h.session.subscribe(overdue, "a"),
        Err(SubscribeError::NotRunning(CommandError::Stopped))
    );
    stopped_last(&h.take_outputs());
    assert_eq!(h.session.subscriptions().count(), 0);

    let (mut h, overdue) = about_to_give_up();
    h.session.subscribe(base(), "a").unwrap();
    assert_eq!(
        h.session.unsubscribe(overdue, "a"),
        Err(CommandError::Stopped)
    );
    stopped_last(&h.take_outputs());
    assert_eq!(h.session.subscriptions().count(), 1);

    let (mut h, overdue) = about_to_give_up();
    assert_eq!(
        h.session.credentials_failed(overdue, "none"),
        Err(CommandError::Stopped)
    );
    let (mut h2, overdue2) = about_to_give_up();
    assert_eq!(
        h2.session
            .provide_credentials(overdue2, reconnect_core::Credentials::new("k")),
        Err(CommandError::Stopped)
    );
    stopped_last(&h.take_outputs());
    stopped_last(&h2.take_outputs());
}

/// One late tick finds two deadlines due: the restore pace (which completes the restore) and a
/// queued message's expiry. Deadlines run in their fixed order, pace first, so going live used
/// to release the message although it had expired before the session was live.
#[test]
fn a_message_that_expired_before_live_is_dropped_not_sent() {
    use reconnect_core::{DropReason, Frame, Purpose, SendOptions};

    let mut config = Config::new(1);
    config.resubscribe.frames_per_second = Some(1);
    let adapter = LineAdapter {
        acks: false,
        ..LineAdapter::default()
    };
    let mut h = Rig::with_adapter(config, adapter);
    let t0 = base();
    h.session.subscribe(t0, "a").unwrap();
    h.session.subscribe(t0, "b").unwrap();
    let options = SendOptions::default().expires_after(Duration::from_millis(500));
    h.session.send_with(t0, "order", options).unwrap();
    h.session.start(t0).unwrap();
    let conn = h.session.current_conn().unwrap();
    h.session
        .handle_input(t0, reconnect_core::Input::Opened { conn });
    h.take_outputs();

    // The driver's timer fires late: the pace deadline (t0 + 1 s) and the expiry (t0 + 0.5 s)
    // are both due.
    h.session.handle_timeout(t0 + Duration::from_secs(1));
    let outputs = h.take_outputs();
    assert!(outputs
        .iter()
        .any(|o| matches!(o, Output::Event(Event::Live { .. }))));
    assert!(
        !outputs.iter().any(|o| matches!(
            o,
            Output::Action(Action::Send {
                purpose: Purpose::Application,
                ..
            })
        )),
        "an expired message was sent: {outputs:?}"
    );
    assert!(outputs.contains(&Output::Event(Event::OutboxDropped {
        frame: Frame::from("order"),
        reason: DropReason::Expired
    })));
}
