//! A `Session` driven end to end with the JSON-RPC adapter, on a virtual clock: the exact
//! sequence of actions and events for auth, setup, a partly rejected subscribe, data with a gap
//! and server heartbeats, and how auth and subscribe refusals end up.
#![cfg(feature = "json")]

mod common;

use std::time::Duration;

use common::rig::Rig;
use reconnect_core::adapters::{JsonRpcAdapter, JsonRpcConfig, SeqPointer};
use reconnect_core::{
    Action, Config, ConnId, Credentials, Disposition, EndCause, Event, Frame, Input, Output,
    Purpose, ServerError, State, StopReason, SubscriptionStatus, Topic,
};

const HB: u64 = JsonRpcAdapter::HEARTBEAT_REPLY_ID_BASE;

/// A rig over `adapter` with `credentials` set and no pings.
fn rig(adapter: JsonRpcAdapter, credentials: Credentials) -> Rig<JsonRpcAdapter> {
    let mut config = Config::new(7);
    config.liveness.ping_interval = None;
    let mut h = Rig::with_adapter(config, adapter);
    h.session.set_credentials(credentials);
    h
}

/// The steps of these tests, on an absolute timeline of milliseconds since the rig's start.
trait Timeline {
    /// Feeds `text` on `conn` at `ms`; returns the outputs it caused.
    fn frame(&mut self, ms: u64, conn: ConnId, text: &str) -> Vec<Output>;
    /// Starts at 0 ms and opens the transport at 10 ms; returns the conn and the outputs of the
    /// opening (the auth frame).
    fn start_and_open(&mut self) -> (ConnId, Vec<Output>);
}

impl Timeline for Rig<JsonRpcAdapter> {
    fn frame(&mut self, ms: u64, conn: ConnId, text: &str) -> Vec<Output> {
        self.now = self.at(ms);
        self.input(Input::Frame {
            conn,
            frame: Frame::from(text),
        });
        self.take_outputs()
    }

    fn start_and_open(&mut self) -> (ConnId, Vec<Output>) {
        self.now = self.at(0);
        self.start();
        let started = self.take_outputs();
        let Some(Output::Action(Action::Connect { conn, attempt: 1 })) = started.get(1).cloned()
        else {
            panic!("no connect: {started:?}");
        };
        assert_eq!(
            started[0],
            Output::Event(Event::Connecting { conn, attempt: 1 })
        );
        self.now = self.at(10);
        self.open();
        (conn, self.take_outputs())
    }
}

fn send(conn: ConnId, text: &str, purpose: Purpose) -> Output {
    Output::Action(Action::Send {
        conn,
        frame: Frame::from(text),
        purpose,
    })
}

fn event(e: Event) -> Output {
    Output::Event(e)
}

fn deribit() -> JsonRpcAdapter {
    JsonRpcAdapter::new(
        JsonRpcConfig::default()
            .server_heartbeat(Some(Duration::from_secs(10)))
            .seq_pointer(Some(SeqPointer::parse("/change_id").unwrap())),
    )
}

#[test]
fn auth_setup_partial_subscribe_live_gap_and_heartbeats() {
    let book = Topic::new("book.BTC-PERPETUAL.100ms");
    let mut h = rig(deribit(), JsonRpcAdapter::client_credentials("cid", "sec"));
    h.session.subscribe(h.at(0), book.clone()).unwrap();
    h.session.subscribe(h.at(0), "bogus.channel").unwrap();

    let (conn, opened) = h.start_and_open();
    assert_eq!(
        opened,
        vec![
            event(Event::Connected { conn }),
            send(
                conn,
                r#"{"jsonrpc":"2.0","id":1,"method":"public/auth","params":{"grant_type":"client_credentials","client_id":"cid","client_secret":"sec"}}"#,
                Purpose::Auth
            ),
        ]
    );

    let authed = h.frame(
        20,
        conn,
        r#"{"jsonrpc":"2.0","id":1,"result":{"access_token":"t","expires_in":900,"refresh_token":"r","scope":"connection","token_type":"bearer"},"usIn":1,"usOut":2,"usDiff":1,"testnet":true}"#,
    );
    assert_eq!(
        authed,
        vec![
            event(Event::Authenticated { conn }),
            send(
                conn,
                r#"{"jsonrpc":"2.0","id":2,"method":"public/set_heartbeat","params":{"interval":10}}"#,
                Purpose::Setup
            ),
        ]
    );

    // Ids are dense: the subscribe after auth (1) and one setup request (2) is 3.
    let set_up = h.frame(30, conn, r#"{"jsonrpc":"2.0","id":2,"result":"ok"}"#);
    assert_eq!(
        set_up,
        vec![
            event(Event::SetupComplete { conn }),
            send(
                conn,
                r#"{"jsonrpc":"2.0","id":3,"method":"public/subscribe","params":{"channels":["book.BTC-PERPETUAL.100ms","bogus.channel"]}}"#,
                Purpose::Subscribe
            ),
        ]
    );

    let live = h.frame(
        40,
        conn,
        r#"{"jsonrpc":"2.0","id":3,"result":["book.BTC-PERPETUAL.100ms"]}"#,
    );
    assert_eq!(
        live,
        vec![
            event(Event::Subscribed {
                conn,
                topic: book.clone()
            }),
            event(Event::SubscribeRejected {
                topic: Topic::new("bogus.channel"),
                error: Box::new(ServerError::new(
                    None,
                    "the server's answer did not list this channel",
                )),
                retry_in: None,
            }),
            event(Event::Live {
                conn,
                resubscribed: 1,
                outage: Duration::from_millis(40)
            }),
        ]
    );
    assert_eq!(h.session.state(), State::Live { conn });

    let notification = |change_id: u64| {
        format!(
            r#"{{"jsonrpc":"2.0","method":"subscription","params":{{"channel":"book.BTC-PERPETUAL.100ms","data":{{"type":"change","timestamp":1,"instrument_name":"BTC-PERPETUAL","change_id":{change_id},"bids":[["new",65000.5,10]],"asks":[]}}}}}}"#
        )
    };
    let first = notification(100);
    assert_eq!(
        h.frame(50, conn, &first),
        vec![event(Event::Message {
            conn,
            topic: Some(book.clone()),
            seq: Some(100),
            frame: Frame::from(first.as_str()),
        })]
    );
    let after_gap = notification(103);
    assert_eq!(
        h.frame(60, conn, &after_gap),
        vec![
            event(Event::Gap {
                topic: book.clone(),
                expected: 101,
                received: 103
            }),
            event(Event::Message {
                conn,
                topic: Some(book.clone()),
                seq: Some(103),
                frame: Frame::from(after_gap.as_str()),
            }),
        ]
    );

    // The server's test_request is answered at once, from the heartbeat id space ...
    assert_eq!(
        h.frame(
            70,
            conn,
            r#"{"jsonrpc":"2.0","method":"heartbeat","params":{"type":"test_request"}}"#
        ),
        vec![send(
            conn,
            &format!(r#"{{"jsonrpc":"2.0","id":{HB},"method":"public/test","params":{{}}}}"#),
            Purpose::HeartbeatReply
        )]
    );
    // ... and the server's answer to that, like a plain heartbeat, reaches nobody.
    let answer = format!(r#"{{"jsonrpc":"2.0","id":{HB},"result":{{"version":"1.2.26"}}}}"#);
    assert_eq!(h.frame(80, conn, &answer), vec![]);
    assert_eq!(
        h.frame(
            90,
            conn,
            r#"{"jsonrpc":"2.0","method":"heartbeat","params":{"type":"heartbeat"}}"#
        ),
        vec![]
    );

    // The application's own request, with a string id, comes back to it as a message.
    let own = r#"{"jsonrpc":"2.0","id":"app-1","result":{"index_price":65000}}"#;
    assert_eq!(
        h.frame(100, conn, own),
        vec![event(Event::Message {
            conn,
            topic: None,
            seq: None,
            frame: Frame::from(own),
        })]
    );

    let stats = h.session.stats();
    assert_eq!((stats.gaps, stats.frames_in), (1, 3));
    let subs: Vec<_> = h.session.subscriptions().collect();
    assert_eq!(subs.len(), 1, "the rejected channel left the registry");
    assert_eq!(subs[0].topic, book);
    assert_eq!(subs[0].status, SubscriptionStatus::Active);
    assert_eq!(subs[0].last_seq, Some(103));
    assert_eq!(h.session.state(), State::Live { conn });
}

#[test]
fn invalid_credentials_stop_the_session() {
    let mut h = rig(
        deribit(),
        JsonRpcAdapter::client_credentials("cid", "wrong"),
    );
    let (conn, _) = h.start_and_open();
    let error = ServerError::new(Some(13004), "invalid_credentials");
    let cause = EndCause::AuthRejected(error);
    assert_eq!(
        h.frame(
            20,
            conn,
            r#"{"jsonrpc":"2.0","id":1,"error":{"code":13004,"message":"invalid_credentials"}}"#
        ),
        vec![
            Output::Action(Action::Release { conn }),
            event(Event::Disconnected {
                conn,
                cause: Box::new(cause.clone()),
                uptime: Duration::from_millis(10),
                disposition: Disposition::Fatal,
            }),
            event(Event::Stopped {
                reason: StopReason::Fatal(cause)
            }),
        ]
    );
}

#[test]
fn credentials_that_are_not_json_stop_the_session_with_the_reason() {
    let mut h = rig(deribit(), Credentials::new("api-key:secret"));
    let (conn, opened) = h.start_and_open();
    assert_eq!(
        opened[1],
        send(
            conn,
            r#"{"jsonrpc":"2.0","id":1,"method":"public/auth","params":{}}"#,
            Purpose::Auth
        )
    );
    let out = h.frame(
        20,
        conn,
        r#"{"jsonrpc":"2.0","id":1,"error":{"code":-32602,"message":"Invalid params"}}"#,
    );
    let Some(Output::Event(Event::Stopped {
        reason: StopReason::Fatal(EndCause::AuthRejected(error)),
    })) = out.last()
    else {
        panic!("did not stop: {out:?}");
    };
    assert_eq!(
        error.message,
        "credentials are not a JSON object (the server answered: Invalid params)"
    );
}

#[test]
fn a_revoked_token_asks_the_application_for_fresh_credentials() {
    let mut h = rig(deribit(), JsonRpcAdapter::client_credentials("cid", "old"));
    let (conn, _) = h.start_and_open();
    let out = h.frame(
        20,
        conn,
        r#"{"jsonrpc":"2.0","id":1,"error":{"code":13010,"message":"token_revoked"}}"#,
    );
    assert!(out.contains(&event(Event::Disconnected {
        conn,
        cause: Box::new(EndCause::AuthRejected(ServerError::new(
            Some(13010),
            "token_revoked"
        ))),
        uptime: Duration::from_millis(10),
        disposition: Disposition::RefreshCredentials,
    })));
    // After the backoff, the next attempt starts by asking for credentials.
    let deadline = h.session.poll_timeout().expect("a reconnect is scheduled");
    h.session.handle_timeout(deadline);
    let out = h.take_outputs();
    assert!(
        out.contains(&Output::Event(reconnect_core::Event::CredentialsRequested)),
        "{out:?}"
    );
}

#[test]
fn a_rate_limited_subscribe_is_retried_after_the_hint() {
    let mut h = rig(
        JsonRpcAdapter::default(),
        JsonRpcAdapter::client_credentials("c", "s"),
    );
    h.session.subscribe(h.at(0), "trades.BTC").unwrap();
    let (conn, _) = h.start_and_open();
    // Auth is id 1; there is no setup request, so subscribe is 2.
    h.frame(20, conn, r#"{"id":1,"result":{}}"#);
    let out = h.frame(
        30,
        conn,
        r#"{"id":2,"error":{"code":10028,"message":"too_many_requests","data":{"retry_after_ms":2500}}}"#,
    );
    let Some(Output::Event(Event::SubscribeRejected {
        topic,
        error,
        retry_in: Some(retry_in),
    })) = out.first().cloned()
    else {
        panic!("not a transient rejection: {out:?}");
    };
    assert_eq!(topic, Topic::new("trades.BTC"));
    assert_eq!(error.retry_after, Some(Duration::from_millis(2500)));
    assert!(retry_in >= Duration::from_millis(2500), "{retry_in:?}");
    assert!(matches!(
        out.last(),
        Some(Output::Event(Event::Live { .. }))
    ));

    // The retry goes out when its timer fires, as a fresh request.
    let deadline = h.session.poll_timeout().expect("a retry is scheduled");
    assert_eq!(deadline, h.at(30) + retry_in);
    h.session.handle_timeout(deadline);
    assert_eq!(
        h.take_outputs(),
        vec![send(
            conn,
            r#"{"jsonrpc":"2.0","id":3,"method":"public/subscribe","params":{"channels":["trades.BTC"]}}"#,
            Purpose::Subscribe
        )]
    );
}
