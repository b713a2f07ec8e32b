//! Stale topics and their repair on the live connection: the per-topic staleness deadline, its
//! escalation to a reconnect, gap repair, the application's resync, and the one timer that all
//! topics' deadlines share.

use crate::common::line_adapter::LineAdapter;
use crate::common::rig::{assert_unique_timer, config, ms, Rig};
use reconnect_core::{
    Command, CommandKind, Config, Event, GapPolicy, Refusal, ResyncStatus, StaleAfter,
    SubscribeOptions,
};

/// Topics go stale after 2.3 s without data: a value no other deadline of the rig's config has.
fn stale_config() -> Config {
    let mut c = config();
    c.liveness.topic_stale_after = Some(ms(2_300));
    assert_unique_timer(&c, "liveness.topic_stale_after");
    c
}

/// The lines since the last check, without the data messages (the traffic that keeps the
/// connection busy is not what these tests look at).
fn lines_but_messages(h: &mut Rig) -> Vec<String> {
    h.take()
        .into_iter()
        .filter(|l| !l.starts_with("> message"))
        .collect()
}

/// Advances the clock to `until` (ms since the rig's start) a second at a time, with a data
/// frame on `topic` at every whole second: traffic that keeps the connection otherwise healthy.
fn busy_until(h: &mut Rig, topic: &str, until: u64) {
    loop {
        let elapsed = h.elapsed().as_millis() as u64;
        let next = (elapsed / 1_000 + 1) * 1_000;
        if next > until {
            h.advance(ms(until - elapsed));
            return;
        }
        h.advance(ms(next - elapsed));
        h.recv(&format!("data {topic}"));
    }
}

#[test]
fn a_silent_topic_is_stale_at_its_deadline_and_resubscribed_alone_from_its_last_number() {
    let mut h = Rig::new(stale_config());
    for topic in ["a", "b"] {
        h.session.subscribe(h.now, topic).unwrap();
    }
    // A topic quiet by nature opts out of the configured deadline.
    let off = SubscribeOptions::default().stale_after(StaleAfter::Off);
    h.session.subscribe_with(h.now, "c", off).unwrap();
    h.start();
    h.go_live(); // at 0 ms: sub 1 a, sub 2 b, sub 3 c, all acknowledged
    h.recv("data a 4");
    h.skip();
    busy_until(&mut h, "b", 2_299);
    assert_eq!(lines_but_messages(&mut h), Vec::<String>::new());
    h.advance(ms(1));
    // a: silent since its data at 0 ms, while b kept the connection busy.
    h.expect(&["> stale a after 2300ms (1 in a row)", "send #1 sub 4 a@4"]);
    h.recv("ack 4");
    h.expect(&["> subscribed a", "> resynced a (Stale)"]);
    // b never stopped, and nothing else was asked of the server or the transport.
    h.recv("data b");
    h.expect(&["> message b seq=- \"data b\""]);
    assert_eq!(h.count("> disconnected"), 0);
    assert_eq!(h.count("connect "), 1);
    let subs: Vec<String> = h
        .sent_texts()
        .into_iter()
        .filter(|t| t.starts_with("sub "))
        .collect();
    assert_eq!(subs, ["sub 1 a", "sub 2 b", "sub 3 c", "sub 4 a@4"]);
}

#[test]
fn a_per_subscription_deadline_overrides_the_configured_one() {
    let mut h = Rig::new(config()); // no configured deadline at all
    let own = SubscribeOptions::default().stale_after(StaleAfter::After(ms(1_700)));
    h.session.subscribe_with(h.now, "a", own).unwrap();
    h.session.subscribe(h.now, "b").unwrap();
    h.start();
    h.go_live();
    h.skip();
    busy_until(&mut h, "b", 1_699);
    assert_eq!(lines_but_messages(&mut h), Vec::<String>::new());
    h.advance(ms(1));
    h.expect(&["> stale a after 1700ms (1 in a row)", "send #1 sub 3 a"]);
}

#[test]
fn a_connection_silent_as_a_whole_is_no_stale_topic_and_is_checked_a_window_later() {
    let mut h = Rig::new(stale_config());
    h.session.subscribe(h.now, "a").unwrap();
    h.start();
    h.go_live();
    h.skip();
    // Nothing arrives at all: that is the pings' and the idle watchdog's business.
    h.advance(ms(2_300));
    h.advance(ms(2_300));
    h.expect(&[]);
    // Other traffic at 4.6 s: the next check, one window after the last (6.9 s), finds a silent
    // while the connection is not.
    h.recv("beat");
    h.advance(ms(2_299));
    h.expect(&["> stable #1"]);
    h.advance(ms(1));
    h.expect(&["> stale a after 6900ms (1 in a row)", "send #1 sub 2 a"]);
}

#[test]
fn the_third_stale_window_in_a_row_replaces_the_connection() {
    let mut h = Rig::new(stale_config());
    assert_eq!(h.session.config().liveness.topic_stale_escalation, 3);
    for topic in ["a", "b"] {
        h.session.subscribe(h.now, topic).unwrap();
    }
    h.start();
    h.go_live();
    h.skip();
    busy_until(&mut h, "b", 2_300);
    assert_eq!(
        lines_but_messages(&mut h),
        ["> stale a after 2300ms (1 in a row)", "send #1 sub 3 a"]
    );
    h.recv("ack 3");
    // Confirmed again at 2.3 s, still silent: the next window ends at 4.6 s.
    busy_until(&mut h, "b", 4_600);
    assert_eq!(
        lines_but_messages(&mut h),
        [
            "> subscribed a",
            "> resynced a (Stale)",
            "> stale a after 2300ms (2 in a row)",
            "send #1 sub 4 a",
        ]
    );
    h.recv("ack 4");
    busy_until(&mut h, "b", 6_900);
    assert_eq!(
        lines_but_messages(&mut h),
        [
            "> subscribed a",
            "> resynced a (Stale)",
            "> stable #1",
            "> stale a after 2300ms (3 in a row)",
            "release #1",
            "> disconnected #1: topic a stale 3 times in a row => Retry",
            "> reconnect attempt=1 in 0ms (FirstRetry)",
            "> connecting #2 attempt=1",
            "connect #2 attempt=1",
        ]
    );
}

#[test]
fn data_between_stale_windows_starts_the_count_over() {
    let mut h = Rig::new(stale_config());
    for topic in ["a", "b"] {
        h.session.subscribe(h.now, topic).unwrap();
    }
    h.start();
    h.go_live();
    busy_until(&mut h, "b", 2_300);
    h.recv("ack 3");
    h.advance(ms(200));
    h.recv("data a"); // at 2.5 s: the repair brought a back
    h.skip();
    busy_until(&mut h, "b", 4_799);
    assert_eq!(lines_but_messages(&mut h), Vec::<String>::new());
    h.advance(ms(1));
    h.expect(&["> stale a after 2300ms (1 in a row)", "send #1 sub 4 a"]);
}

#[test]
fn a_gap_under_the_repair_policy_resubscribes_from_before_the_gap_once() {
    let mut h = Rig::new(config());
    let repair = SubscribeOptions::default().gap_policy(GapPolicy::Repair);
    h.session.subscribe_with(h.now, "a", repair).unwrap();
    h.session.subscribe(h.now, "b").unwrap();
    h.start();
    h.go_live();
    h.skip();
    h.recv("data a 1");
    h.recv("data a 2");
    h.recv("data a 5");
    h.expect(&[
        "> message a seq=1 \"data a 1\"",
        "> message a seq=2 \"data a 2\"",
        "> gap a expected=3 received=5",
        "send #1 sub 3 a@2",
        "> message a seq=5 \"data a 5\"",
    ]);
    // A second gap while the repair is out asks nothing more.
    h.recv("data a 7");
    h.expect(&[
        "> gap a expected=6 received=7",
        "> message a seq=7 \"data a 7\"",
    ]);
    h.recv("ack 3");
    h.expect(&["> subscribed a", "> resynced a (Gap)"]);
    // The default policy only reports.
    h.recv("data b 1");
    h.recv("data b 3");
    h.expect(&[
        "> message b seq=1 \"data b 1\"",
        "> gap b expected=2 received=3",
        "> message b seq=3 \"data b 3\"",
    ]);
}

#[test]
fn resync_asks_once_while_a_request_is_out() {
    let mut h = Rig::new(config());
    for topic in ["a", "b"] {
        h.session.subscribe(h.now, topic).unwrap();
    }
    let now = h.now;
    assert_eq!(h.session.resync(now, "a"), Ok(ResyncStatus::NotLive));
    h.start();
    h.go_live();
    h.recv("data a 9");
    h.skip();
    let now = h.now;
    assert_eq!(h.session.resync(now, "zzz"), Ok(ResyncStatus::NotWanted));
    assert_eq!(h.session.resync(now, "a"), Ok(ResyncStatus::Sent));
    h.expect(&["send #1 sub 3 a@9"]);
    assert_eq!(
        h.session.resync(now, "a"),
        Ok(ResyncStatus::AlreadyResyncing)
    );
    h.session.apply(now, Command::Resync("a".into()));
    h.expect(&[]);
    h.recv("ack 3");
    h.expect(&["> subscribed a", "> resynced a (Requested)"]);
    // As a command value, once the first one is answered.
    h.session.apply(now, Command::Resync("a".into()));
    h.expect(&["send #1 sub 4 a@9"]);
    assert_eq!(Command::Resync("a".into()).kind(), CommandKind::Resync);
    h.session.close(now).unwrap();
    h.skip();
    h.session.apply(now, Command::Resync("a".into()));
    let refused: Vec<_> = h
        .take_outputs()
        .into_iter()
        .filter_map(|o| match o {
            reconnect_core::Output::Event(Event::Refused(r)) => Some(r),
            _ => None,
        })
        .collect();
    assert_eq!(refused.len(), 1);
    assert_eq!(refused[0].command, CommandKind::Resync);
    assert!(matches!(refused[0].refusal, Refusal::Command(_)));
}

/// Live with `n` topics, each with its own staleness deadline of 3 s + i ms, or none.
fn live_with_topics(n: usize, watched: bool) -> Rig {
    let mut c = config();
    c.resubscribe.max_topics = n;
    c.resubscribe.batch_size = n;
    let adapter = LineAdapter {
        max_batch: n,
        ..LineAdapter::new()
    };
    let mut h = Rig::with_adapter(c, adapter);
    for i in 0..n {
        let stale = if watched {
            StaleAfter::After(ms(3_000 + i as u64))
        } else {
            StaleAfter::Off
        };
        let options = SubscribeOptions::default().stale_after(stale);
        h.session
            .subscribe_with(h.now, format!("t{i}"), options)
            .unwrap();
    }
    h.start();
    h.go_live();
    h
}

#[test]
fn ten_thousand_staleness_deadlines_share_one_timer() {
    let unwatched = live_with_topics(10_000, false);
    let watched = live_with_topics(10_000, true);
    assert_eq!(
        watched.session.armed_timers(),
        unwatched.session.armed_timers() + 1
    );
    // The one timer stands at the earliest of the ten thousand deadlines: t0's, 3 s after live.
    assert_eq!(watched.session.poll_timeout(), Some(watched.at(3_000)));
    assert_eq!(unwatched.session.poll_timeout(), Some(unwatched.at(5_000)));
}

#[test]
fn a_topic_subscribed_while_live_is_watched_from_its_confirmation() {
    let mut h = Rig::new(stale_config());
    h.session.subscribe(h.now, "b").unwrap();
    h.start();
    h.go_live();
    busy_until(&mut h, "b", 1_000);
    let now = h.now;
    h.session.subscribe(now, "a").unwrap();
    h.recv("ack 2");
    h.skip();
    // Confirmed at 1 s: its window ends at 3.3 s, not one window after live.
    busy_until(&mut h, "b", 3_299);
    assert_eq!(lines_but_messages(&mut h), Vec::<String>::new());
    h.advance(ms(1));
    h.expect(&["> stale a after 2300ms (1 in a row)", "send #1 sub 3 a"]);
}

#[test]
fn a_lone_watched_topic_subscribed_while_live_arms_the_timer() {
    let mut h = Rig::new(config());
    h.session.subscribe(h.now, "b").unwrap();
    h.start();
    h.go_live();
    h.skip();
    let now = h.now;
    let own = SubscribeOptions::default().stale_after(StaleAfter::After(ms(1_900)));
    h.session.subscribe_with(now, "a", own).unwrap();
    h.recv("ack 2");
    h.skip();
    busy_until(&mut h, "b", 1_899);
    assert_eq!(lines_but_messages(&mut h), Vec::<String>::new());
    h.advance(ms(1));
    h.expect(&["> stale a after 1900ms (1 in a row)", "send #1 sub 3 a"]);
}

#[test]
fn topics_restored_from_a_snapshot_get_the_configured_deadline() {
    let mut before = Rig::new(config());
    for topic in ["a", "b"] {
        before.session.subscribe(before.now, topic).unwrap();
    }
    let snapshot = before.session.snapshot();
    let mut h = Rig::new(stale_config());
    h.session =
        reconnect_core::Session::from_snapshot(stale_config(), LineAdapter::new(), snapshot, h.now)
            .unwrap();
    h.start();
    h.go_live();
    h.skip();
    busy_until(&mut h, "b", 2_299);
    assert_eq!(lines_but_messages(&mut h), Vec::<String>::new());
    h.advance(ms(1));
    h.expect(&["> stale a after 2300ms (1 in a row)", "send #1 sub 3 a"]);
}
