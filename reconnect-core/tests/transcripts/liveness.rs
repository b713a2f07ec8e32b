//! Liveness: pings, pongs, heartbeats, the idle watchdog, late ticks.

use crate::common::line_adapter::LineAdapter;
use crate::common::rig::{assert_unique_timer, config, ms, Rig};
use reconnect_core::{Frame, Input};

fn pinging() -> reconnect_core::Config {
    let mut c = config();
    // Not 1 s: that is the first retry of a rejected subscription.
    c.liveness.ping_interval = Some(ms(1_200));
    c.liveness.pong_timeout = ms(500);
    assert_unique_timer(&c, "liveness.ping_interval");
    assert_unique_timer(&c, "liveness.pong_timeout");
    c
}

#[test]
fn ping_after_silence_then_dead_without_any_inbound_frame() {
    let mut h = Rig::new(pinging());
    h.start();
    h.go_live();
    h.skip();
    assert_eq!(h.fire_next(), ms(1_200));
    h.expect(&["ping #1"]);
    assert_eq!(h.fire_next(), ms(500));
    h.expect(&[
        "release #1",
        "> disconnected #1: Pong timeout => Retry",
        "> reconnect attempt=2 in 100ms (Backoff)",
    ]);
}

#[test]
fn any_inbound_frame_answers_a_ping_and_pushes_the_next_one_back() {
    let mut h = Rig::new(pinging());
    h.start();
    h.go_live();
    h.advance(ms(1_200));
    h.skip();
    h.advance(ms(400));
    let conn = h.conn();
    h.input(Input::Pong { conn });
    h.advance(ms(1_199));
    h.expect(&[]);
    h.advance(ms(1));
    h.expect(&["ping #1"]);
    h.recv("something");
    h.advance(ms(1_199));
    assert!(h.session.current_conn().is_some());
}

#[test]
fn a_late_input_runs_overdue_deadlines_first() {
    let mut h = Rig::new(pinging());
    h.start();
    h.go_live();
    h.advance(ms(1_200)); // ping sent
    h.skip();
    // The driver was throttled: the next thing it reports is a frame, 10 s later. The pong
    // deadline passed long ago, so the connection is declared dead first and the frame is stale.
    let conn = h.conn();
    h.now += ms(10_000);
    h.input(Input::Frame {
        conn,
        frame: Frame::from("data x 1"),
    });
    let lines = h.take();
    assert_eq!(lines[1], "> disconnected #1: Pong timeout => Retry");
    assert!(lines.iter().all(|l| !l.contains("message")), "{lines:#?}");
    assert_eq!(h.session.stats().stale_inputs, 1);
}

#[test]
fn application_heartbeats_need_their_answer() {
    let mut c = config();
    // Not 2 s (the backoff cap), and two beats plus the answer's deadline end before the
    // connection turns stable (5 s), so the transcript holds only what the heartbeat does.
    c.liveness.heartbeat_interval = Some(ms(1_700));
    c.liveness.pong_timeout = ms(300);
    assert_unique_timer(&c, "liveness.heartbeat_interval");
    assert_unique_timer(&c, "liveness.pong_timeout");
    let adapter = LineAdapter {
        heartbeat: true,
        ..LineAdapter::new()
    };
    let mut h = Rig::with_adapter(c, adapter);
    h.start();
    h.go_live();
    h.skip();
    h.fire_next();
    h.expect(&["send #1 hb 1"]);
    h.recv("ack 1");
    h.expect(&[]);
    assert_eq!(h.fire_next(), ms(1_700));
    h.expect(&["send #1 hb 2"]);
    // Other traffic does not answer an application heartbeat.
    h.recv("beat");
    assert_eq!(h.fire_next(), ms(300));
    assert!(h
        .take()
        .contains(&"> disconnected #1: Heartbeat timeout => Retry".to_string()));
}

#[test]
fn server_heartbeat_requests_are_answered_at_once() {
    let mut h = Rig::new(config());
    h.start();
    h.go_live();
    h.skip();
    h.recv("ping 7");
    h.expect(&["send #1 pong 7"]);
    h.recv("beat");
    h.expect(&[]);
}

#[test]
fn idle_watchdog_catches_a_silent_stream_only_with_active_subscriptions() {
    let mut c = config();
    c.liveness.idle_timeout = Some(ms(3_000));
    assert_unique_timer(&c, "liveness.idle_timeout");
    let mut h = Rig::new(c);
    h.start();
    h.go_live();
    // No subscription: silence is fine.
    h.advance(ms(10_000));
    assert!(h.session.current_conn().is_some());
    h.session.subscribe(h.now, "a").unwrap();
    let id = h.last_request("sub");
    h.recv(&format!("ack {id}"));
    h.advance(ms(2_000));
    h.recv("data a 1");
    h.advance(ms(2_999));
    // Heartbeats are not data.
    h.recv("beat");
    h.skip();
    h.advance(ms(1));
    assert!(h
        .take()
        .contains(&"> disconnected #1: Idle timeout => Retry".to_string()));
}
