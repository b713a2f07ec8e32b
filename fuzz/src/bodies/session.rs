//! `session`: an arbitrary sequence of inputs, commands and time advances (stale `ConnId`s,
//! out-of-order inputs, huge and zero durations) into a session using the JSON-RPC adapter,
//! checking after every step every rule of the public checker, `reconnect_core::sim::Invariants`
//! (one connection at a time, drawn delays within the documented bounds, no frame before ready
//! or after close, exactly the wanted topics restored, `poll_timeout()` never in the past and
//! set when needed, deadlines in time, the outbox, close terminal, credentials when the policy
//! says), and beyond it:
//!
//! - stale inputs change nothing but the stale counter, and a tick before the deadline does
//!   nothing;
//! - a restore sends each wanted topic once (`session_checker.rs`, which reads the frames);
//! - the same steps replayed give the same outputs.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use arbitrary::{Arbitrary, Unstructured};
use reconnect_core::adapters::{JsonRpcAdapter, JsonRpcConfig, SeqPointer};
use reconnect_core::sim::{Call, Invariants};
use reconnect_core::{
    Action, CircuitBreaker, Command, Config, ConnId, Credentials, Frame, Input, Jitter, Output,
    SendOptions, Session, SubscribeStatus, Topic, TransportError, TransportErrorKind,
    UnsubscribeStatus,
};

use super::session_checker::Checker;

#[derive(Arbitrary, Debug, Clone)]
enum Step {
    Start,
    Opened,
    ConnectFailed(u8),
    Failed(u8),
    ServerClosed(u16),
    AnswerOldest {
        ok: bool,
        code: u8,
        drop_channel: bool,
    },
    Data {
        topic: u8,
        seq: u16,
    },
    Heartbeat(bool),
    Garbage(String),
    Pong,
    Advance(u32),
    AdvanceHuge,
    ToDeadline,
    EarlyTick,
    Stale(u8),
    Subscribe(u8),
    Unsubscribe(u8),
    Send(u8),
    Close,
    ReconnectNow,
    Pause,
    Resume,
    ProvideCredentials,
    CredentialsFailed,
}

#[derive(Arbitrary, Debug, Clone)]
struct Setup {
    jitter: u8,
    max_attempts: Option<u8>,
    breaker: bool,
    paced: bool,
    credentials: bool,
    fetch_before_connect: bool,
    setup_heartbeat: bool,
}

fn config(s: &Setup) -> Config {
    let mut c = Config::new(u64::from(s.jitter));
    c.backoff.initial = Duration::from_millis(100);
    c.backoff.max = Duration::from_secs(5);
    c.backoff.min_uptime = Duration::from_secs(2);
    c.backoff.jitter = match s.jitter % 4 {
        0 => Jitter::None,
        1 => Jitter::Full,
        2 => Jitter::Equal,
        _ => Jitter::Decorrelated,
    };
    c.limits.max_attempts = s.max_attempts.map(|n| u32::from(n % 20) + 1);
    if s.breaker {
        c.limits.circuit_breaker = Some(CircuitBreaker {
            threshold: 3,
            cooldown: Duration::from_secs(30),
        });
    }
    c.limits.retry_after_ceiling = Duration::from_secs(60);
    c.liveness.ping_interval = Some(Duration::from_secs(1));
    c.liveness.pong_timeout = Duration::from_millis(500);
    c.liveness.idle_timeout = Some(Duration::from_secs(3));
    c.resubscribe.frames_per_second = if s.paced { Some(5) } else { None };
    c.resubscribe.batch_size = 2;
    c.credentials.fetch_before_connect = s.fetch_before_connect;
    c.outbox.max_messages = 4;
    c
}

fn adapter(s: &Setup) -> JsonRpcAdapter {
    let mut c = JsonRpcConfig::default()
        .seq_pointer(Some(SeqPointer::parse("/seq").expect("valid pointer")));
    if s.setup_heartbeat {
        c = c.server_heartbeat(Some(Duration::from_secs(10)));
    }
    JsonRpcAdapter::new(c)
}

const TOPICS: [&str; 4] = ["trades", "book", "ticker", "quotes"];

impl Step {
    /// The application command a step decodes into; `None` for `Start`, inputs and time. Only
    /// what a step decodes into is here: how bytes decode into steps is `Step`'s shape, which
    /// the corpora depend on.
    fn command(&self) -> Option<Command> {
        let topic = |n: u8| Topic::from(TOPICS[usize::from(n) % TOPICS.len()]);
        Some(match self {
            Step::Subscribe(n) => Command::Subscribe(topic(*n)),
            Step::Unsubscribe(n) => Command::Unsubscribe(topic(*n)),
            Step::Send(n) => Command::Send(
                Frame::from(format!("{{\"app\":{n}}}")),
                SendOptions::default(),
            ),
            Step::Close => Command::Close,
            Step::ReconnectNow => Command::ReconnectNow,
            Step::Pause => Command::Pause,
            Step::Resume => Command::Resume,
            Step::ProvideCredentials => Command::ProvideCredentials(Credentials::new("{\"k\":1}")),
            Step::CredentialsFailed => Command::CredentialsFailed("fuzz".to_owned()),
            _ => return None,
        })
    }
}

/// Applies `command` through the method it names, and returns the call as the public checker
/// must know it: a subscription or an unsubscription only when the method says it changed the
/// wanted topics (not refused, not already wanted, not unwanted already). The methods' typed
/// results say so; `Session::apply` would report only refusals, and the checker would then
/// take an unsubscription the session answered `NotWanted` as done even when the checker still
/// wants the topic (a topic the session lost on its own would go unnoticed).
fn apply(session: &mut Session<JsonRpcAdapter>, now: Instant, command: Command) -> Call {
    let taken = match command.clone() {
        Command::Subscribe(topic) => matches!(
            session.subscribe(now, topic),
            Ok(SubscribeStatus::Sent | SubscribeStatus::Recorded)
        ),
        Command::Unsubscribe(topic) => matches!(
            session.unsubscribe(now, topic.as_str()),
            Ok(UnsubscribeStatus::Sent | UnsubscribeStatus::Removed)
        ),
        Command::Send(frame, options) => {
            let _ = session.send_with(now, frame, options);
            true
        }
        Command::Close => {
            let _ = session.close(now);
            true
        }
        Command::ReconnectNow => {
            let _ = session.reconnect_now(now);
            true
        }
        Command::Pause => {
            let _ = session.pause(now);
            true
        }
        Command::Resume => {
            let _ = session.resume(now);
            true
        }
        Command::ProvideCredentials(credentials) => {
            let _ = session.provide_credentials(now, credentials);
            true
        }
        Command::CredentialsFailed(why) => {
            let _ = session.credentials_failed(now, &why);
            true
        }
        other => unreachable!("no step decodes into {other:?}"),
    };
    if taken {
        Call::Command(command)
    } else {
        Call::Other
    }
}

fn transport_error(code: u8) -> TransportError {
    let kind = match code % 9 {
        0 => TransportErrorKind::Refused,
        1 => TransportErrorKind::Reset,
        2 => TransportErrorKind::Dns,
        3 => TransportErrorKind::TlsCertificate,
        4 => TransportErrorKind::Handshake {
            status: 429,
            retry_after: Some(Duration::from_secs(u64::from(code))),
        },
        5 => TransportErrorKind::Handshake {
            status: 401,
            retry_after: None,
        },
        6 => TransportErrorKind::Handshake {
            status: 503,
            retry_after: None,
        },
        7 => TransportErrorKind::Protocol,
        _ => TransportErrorKind::Eof,
    };
    TransportError::new(kind, "fuzz")
}

/// Runs `steps` and returns every output, checking the invariants as it goes.
fn drive(setup: &Setup, steps: &[Step]) -> Vec<String> {
    let config = config(setup);
    let mut session = Session::new(config.clone(), adapter(setup)).expect("valid config");
    if setup.credentials {
        session.set_credentials(JsonRpcAdapter::client_credentials("id", "secret"));
    }
    let _ = config;
    let mut invariants = Invariants::for_session(&session);
    let mut checker = Checker::default();
    let mut now = Instant::now();
    let mut log = Vec::new();
    let mut stale_ids: BTreeSet<ConnId> = BTreeSet::new();
    for step in steps {
        let current = session.current_conn();
        let mut stale_check = false;
        // The call made, as the public checker knows it (`None`: no call this step).
        let mut call = None;
        let mut at = now;
        let mut input = |session: &mut Session<JsonRpcAdapter>, now, i: Input| {
            call = Some(Call::Input(i.clone()));
            session.handle_input(now, i);
        };
        match step.clone() {
            Step::Start => {
                call = Some(Call::Start);
                let _ = session.start(now);
            }
            Step::Opened => {
                if let Some(conn) = current {
                    input(&mut session, now, Input::Opened { conn });
                }
            }
            Step::ConnectFailed(code) => {
                if let Some(conn) = current {
                    input(
                        &mut session,
                        now,
                        Input::ConnectFailed {
                            conn,
                            error: transport_error(code),
                        },
                    );
                }
            }
            Step::Failed(code) => {
                if let Some(conn) = current {
                    input(
                        &mut session,
                        now,
                        Input::Failed {
                            conn,
                            error: transport_error(code),
                        },
                    );
                }
            }
            Step::ServerClosed(code) => {
                if let Some(conn) = current {
                    input(
                        &mut session,
                        now,
                        Input::Closed {
                            conn,
                            code: Some(code),
                            reason: "fuzz".into(),
                        },
                    );
                }
            }
            Step::AnswerOldest {
                ok,
                code,
                drop_channel,
            } => {
                if let (Some(conn), false) = (current, checker.requests.is_empty()) {
                    let (id, method, mut channels) = checker.requests.remove(0);
                    let text = if ok {
                        let result = if method.ends_with("subscribe") {
                            if drop_channel {
                                channels.pop();
                            }
                            serde_json::json!(channels)
                        } else {
                            serde_json::json!({})
                        };
                        serde_json::json!({"jsonrpc":"2.0","id":id,"result":result})
                    } else {
                        // A subscribe batch refused as a whole is isolated: its channels are
                        // rightly requested again on this connection.
                        if method.ends_with("/subscribe") && channels.len() > 1 {
                            if let Some(seen) = checker.conns.get_mut(&conn) {
                                seen.transient_retries.extend(channels.iter().cloned());
                            }
                        }
                        let code = [13004, 10028, 13010, -32602, 13009][usize::from(code % 5)];
                        serde_json::json!({"jsonrpc":"2.0","id":id,
                            "error":{"code":code,"message":"fuzz","data":{"retry_after_ms":250}}})
                    };
                    input(
                        &mut session,
                        now,
                        Input::Frame {
                            conn,
                            frame: Frame::from(text.to_string()),
                        },
                    );
                }
            }
            Step::Data { topic, seq } => {
                if let Some(conn) = current {
                    let channel = TOPICS[usize::from(topic) % TOPICS.len()];
                    let text = serde_json::json!({"jsonrpc":"2.0","method":"subscription",
                        "params":{"channel":channel,"data":{"seq":seq}}});
                    input(
                        &mut session,
                        now,
                        Input::Frame {
                            conn,
                            frame: Frame::from(text.to_string()),
                        },
                    );
                }
            }
            Step::Heartbeat(test_request) => {
                if let Some(conn) = current {
                    let kind = if test_request {
                        "test_request"
                    } else {
                        "heartbeat"
                    };
                    let text = serde_json::json!({"jsonrpc":"2.0","method":"heartbeat",
                        "params":{"type":kind}});
                    input(
                        &mut session,
                        now,
                        Input::Frame {
                            conn,
                            frame: Frame::from(text.to_string()),
                        },
                    );
                }
            }
            Step::Garbage(text) => {
                if let Some(conn) = current {
                    input(
                        &mut session,
                        now,
                        Input::Frame {
                            conn,
                            frame: Frame::from(text),
                        },
                    );
                }
            }
            Step::Pong => {
                if let Some(conn) = current {
                    input(&mut session, now, Input::Pong { conn });
                }
            }
            Step::Advance(ms) => {
                now += Duration::from_millis(u64::from(ms % 120_000));
                at = now;
                call = Some(Call::Timeout);
                session.handle_timeout(now);
            }
            Step::AdvanceHuge => {
                now += Duration::from_secs(30 * 24 * 3600);
                at = now;
                call = Some(Call::Timeout);
                session.handle_timeout(now);
            }
            Step::ToDeadline => {
                if let Some(deadline) = session.poll_timeout() {
                    now = now.max(deadline);
                    at = now;
                    call = Some(Call::Timeout);
                    session.handle_timeout(now);
                }
            }
            Step::EarlyTick => {
                if let Some(deadline) = session.poll_timeout() {
                    if deadline > now {
                        let state = session.state();
                        call = Some(Call::Timeout);
                        session.handle_timeout(now);
                        assert!(session.poll_output().is_none(), "an early tick acted");
                        assert_eq!(session.state(), state);
                    }
                }
            }
            Step::Stale(n) => {
                if let Some(&conn) = stale_ids
                    .iter()
                    .nth(usize::from(n) % stale_ids.len().max(1))
                {
                    if Some(conn) != current {
                        stale_check = true;
                        let before = (session.state(), session.poll_timeout());
                        let count = session.stats().stale_inputs;
                        // A stale input far in the future must not even move the clock.
                        at = now + Duration::from_secs(3600);
                        input(
                            &mut session,
                            at,
                            Input::Failed {
                                conn,
                                error: transport_error(n),
                            },
                        );
                        assert!(session.poll_output().is_none(), "a stale input acted");
                        assert_eq!((session.state(), session.poll_timeout()), before);
                        assert_eq!(session.stats().stale_inputs, count + 1);
                    }
                }
            }
            Step::Subscribe(_)
            | Step::Unsubscribe(_)
            | Step::Send(_)
            | Step::Close
            | Step::ReconnectNow
            | Step::Pause
            | Step::Resume
            | Step::ProvideCredentials
            | Step::CredentialsFailed => {
                let command = step.command().expect("a command step");
                call = Some(apply(&mut session, now, command));
            }
        }
        let outputs: Vec<Output> = session.drain().collect();
        if std::env::var_os("RECONNECT_FUZZ_DEBUG").is_some() {
            eprintln!("{step:?} -> {:?}: {outputs:?}", session.state());
        }
        assert!(!stale_check || outputs.is_empty());
        if let Some(call) = call {
            if let Err(violation) = invariants.check(at, call, &outputs, &session) {
                panic!("{violation}");
            }
        } else {
            assert!(outputs.is_empty(), "outputs without a call: {outputs:?}");
        }
        checker.observe(&outputs);
        for o in &outputs {
            if let Output::Action(Action::Connect { conn, .. }) = o {
                stale_ids.insert(*conn);
            }
            log.push(format!("{o:?}"));
        }
        assert!(
            !log.iter().any(|l| l.contains("secret")),
            "a secret reached Debug output"
        );
    }
    log
}

pub fn run(data: &[u8]) {
    let mut u = Unstructured::new(data);
    let Ok(setup) = Setup::arbitrary(&mut u) else {
        return;
    };
    let mut steps = Vec::new();
    while steps.len() < 256 {
        match Step::arbitrary(&mut u) {
            Ok(step) => steps.push(step),
            Err(_) => break,
        }
    }
    if std::env::var_os("RECONNECT_FUZZ_DEBUG").is_some() {
        eprintln!("{setup:?}\n{steps:#?}");
    }
    let first = drive(&setup, &steps);
    let second = drive(&setup, &steps);
    assert_eq!(first, second, "the same steps gave different outputs");
}
