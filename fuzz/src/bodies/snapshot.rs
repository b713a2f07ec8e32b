//! `snapshot`: arbitrary bytes into snapshot restore (an error, never a panic), and round trips
//! of sessions built from the same bytes.

use std::time::{Duration, Instant};

use arbitrary::{Arbitrary, Unstructured};
use reconnect_core::adapters::RawAdapter;
use reconnect_core::snapshot::Snapshot;
use reconnect_core::{Config, Frame, SendOptions, Session};

#[derive(Arbitrary, Debug)]
enum Step {
    Subscribe(u8),
    Unsubscribe(u8),
    Send(String, Option<u16>, Option<u8>),
    SendBinary(Vec<u8>),
    Advance(u16),
}

pub fn run(data: &[u8]) {
    let now = Instant::now();
    // 1. The bytes as a snapshot document: a snapshot or a typed error, never a panic.
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(snapshot) = Snapshot::from_json(text) {
            let mut config = Config::new(1);
            config.outbox.in_snapshot = true;
            if let Ok(session) =
                Session::from_snapshot(config, RawAdapter::new(), snapshot.clone(), now)
            {
                // What was restored is what the document said.
                let again = session.snapshot();
                assert_eq!(again.subscriptions, snapshot.subscriptions);
                assert_eq!(again.consecutive_failures, snapshot.consecutive_failures);
                assert_eq!(again.outbox.len(), snapshot.outbox.len());
            }
        }
    }
    // 2. The bytes as a recipe for a session: its snapshot must round-trip exactly.
    let mut u = Unstructured::new(data);
    let mut config = Config::new(1);
    config.outbox.in_snapshot = true;
    let mut session = Session::new(config.clone(), RawAdapter::new()).expect("valid config");
    let mut t = now;
    for _ in 0..64 {
        let Ok(step) = Step::arbitrary(&mut u) else {
            break;
        };
        match step {
            Step::Subscribe(n) => {
                let _ = session.subscribe(t, format!("topic-{n}"));
            }
            Step::Unsubscribe(n) => {
                let _ = session.unsubscribe(t, &format!("topic-{n}"));
            }
            Step::Send(text, ttl, key) => {
                let mut opts = SendOptions::default();
                if let Some(ms) = ttl {
                    opts = opts.expires_after(Duration::from_millis(u64::from(ms)));
                }
                if let Some(k) = key {
                    opts = opts.coalesce_key(format!("k{}", k % 4));
                }
                let _ = session.send_with(t, Frame::text(text), opts);
            }
            Step::SendBinary(bytes) => {
                let _ = session.send(t, Frame::binary(bytes));
            }
            Step::Advance(ms) => {
                t += Duration::from_millis(u64::from(ms));
                session.handle_timeout(t);
            }
        }
        while session.poll_output().is_some() {}
    }
    let snapshot = session.snapshot();
    let json = snapshot.to_json();
    let back = Snapshot::from_json(&json).expect("a snapshot we wrote reads back");
    assert_eq!(back, snapshot);
    let restored = Session::from_snapshot(config, RawAdapter::new(), back, t)
        .expect("a snapshot we wrote restores");
    assert_eq!(restored.snapshot(), snapshot);
}
