//! One connection thread: admission faults, the upgrade, then the JSON-RPC session.
//!
//! The socket has short read and write timeouts (the server's tick), so the thread wakes up
//! every tick to apply commands from control handles, run its timers and notice shutdown. That
//! keeps the fixture simple (no event loop) while reacting within milliseconds.

use std::collections::{BTreeSet, HashSet};
use std::net::TcpStream;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tungstenite::protocol::frame::coding::CloseCode;
use tungstenite::protocol::CloseFrame;
use tungstenite::{Message, WebSocket};

use super::auth;
use super::fault::{Fault, FaultKind, Nack, Point, RpcError};
use super::hostile::{
    Hostile, CONTINUATIONS_PER_TICK, FRAGMENT_END, FRAGMENT_START, PINGS_PER_TICK,
};
use super::reply;
use super::state::{Command, Shared};
use super::stats::{ClientFrame, CloseRecord, ConnEnd, Received};
use super::stream::{self, Stream};
use super::upgrade::{blackhole, upgrade};
use crate::rpc;

/// How long the server waits for the client's half of a close handshake, or for the client to
/// go away after a graceful FIN.
const CLOSE_LINGER: Duration = Duration::from_millis(500);

/// Entry point of a connection thread.
pub(crate) fn run(shared: Arc<Shared>, id: u64, tcp: TcpStream) {
    let end = serve(&shared, id, tcp);
    shared.finish_conn(id, end);
}

fn serve(shared: &Shared, id: u64, tcp: TcpStream) -> ConnEnd {
    let tick = shared.config.tick;
    // Blocking sockets with short timeouts: see the module docs.
    if let Err(e) = tcp
        .set_nonblocking(false)
        .and_then(|_| tcp.set_read_timeout(Some(tick)))
        .and_then(|_| tcp.set_write_timeout(Some(tick)))
    {
        return ConnEnd::Error(e.to_string());
    }
    let _ = tcp.set_nodelay(true);

    match shared.take_admission(Point::Accept) {
        Some(Fault::AcceptThenClose) => {
            stream::close_gracefully(&tcp, CLOSE_LINGER);
            return ConnEnd::AcceptThenClose;
        }
        Some(Fault::ResetOnAccept) => {
            stream::arm_reset(&tcp);
            return ConnEnd::Reset;
        }
        Some(Fault::BlackholeUpgrade) => return blackhole(shared, id, tcp),
        _ => {}
    }

    let stream = match &shared.tls {
        Some((_, cfg)) => match rustls::ServerConnection::new(cfg.clone()) {
            Ok(conn) => Stream::Tls(Box::new(rustls::StreamOwned::new(conn, tcp))),
            Err(e) => return ConnEnd::HandshakeFailed(e.to_string()),
        },
        None => Stream::Plain(tcp),
    };
    if let Some(fault) = shared.take_admission(Point::Reply) {
        return reply::serve(shared, id, stream, fault);
    }
    let mut ws = match upgrade(shared, id, stream) {
        Ok(ws) => ws,
        Err(end) => return end,
    };
    let client = shared.lock().stats.connections[id as usize - 1]
        .client
        .clone()
        .unwrap_or_else(|| "anonymous".to_owned());
    let mut session = Session::new(shared, id, client);
    let end = session.run(&mut ws);
    if end == ConnEnd::Reset {
        stream::arm_reset(ws.get_ref().tcp());
    } else if end == ConnEnd::Dropped {
        stream::close_gracefully(ws.get_ref().tcp(), CLOSE_LINGER);
    }
    end
}

struct Heartbeat {
    interval: Duration,
    next_at: Instant,
    awaiting: bool,
}

/// The JSON-RPC session on an upgraded connection.
struct Session<'a> {
    shared: &'a Shared,
    id: u64,
    client: String,
    subscribed: BTreeSet<String>,
    next_data: Instant,
    heartbeat: Option<Heartbeat>,
    data_stalled: bool,
    silent: bool,
    skips: HashSet<String>,
    /// A successful auth response held back by `auth_delay`: when to send it, and the text.
    pending_auth: Option<(Instant, String)>,
    /// Set once the server sent a close frame: the deadline for the client's reply, and the end
    /// to report.
    closing: Option<(Instant, ConnEnd)>,
    /// The hostile frame faults in force on this session.
    hostile: Hostile,
    /// The tokens this session handed out.
    tokens: auth::Tokens,
}

/// What to do after handling something.
type Flow = Result<(), ConnEnd>;

impl<'a> Session<'a> {
    fn new(shared: &'a Shared, id: u64, client: String) -> Self {
        Session {
            shared,
            id,
            client,
            subscribed: BTreeSet::new(),
            next_data: Instant::now() + shared.config.data_interval,
            heartbeat: None,
            data_stalled: false,
            silent: false,
            skips: HashSet::new(),
            pending_auth: None,
            closing: None,
            hostile: Hostile::default(),
            tokens: auth::Tokens::default(),
        }
    }

    fn run(&mut self, ws: &mut WebSocket<Stream>) -> ConnEnd {
        loop {
            if let Err(end) = self.step(ws) {
                return end;
            }
        }
    }

    fn step(&mut self, ws: &mut WebSocket<Stream>) -> Flow {
        if self.shared.is_shutdown() {
            return Err(ConnEnd::Shutdown);
        }
        for cmd in self.shared.take_commands(self.id) {
            self.command(ws, cmd)?;
        }
        if self.silent {
            // Nothing is processed or answered; bytes are drained below the WebSocket layer only
            // so the server notices when the client gives up (see `Fault::SilentStall`).
            let tcp = ws.get_ref().tcp();
            let deadline = Instant::now() + self.shared.config.tick;
            if stream::drain_until_eof(tcp, deadline, || false) {
                return Err(ConnEnd::Eof);
            }
            return Ok(());
        }
        // Read what is there (the first read waits up to one tick), bounded so timers still run
        // under a flood.
        for _ in 0..64 {
            match ws.read() {
                Ok(msg) => self.message(ws, msg)?,
                Err(tungstenite::Error::Io(e)) if stream::is_timeout(&e) => break,
                Err(e) => return Err(self.ended_by(e)),
            }
        }
        let now = Instant::now();
        if let Some((deadline, end)) = &self.closing {
            if now >= *deadline {
                return Err(end.clone());
            }
        } else {
            self.timers(ws, now)?;
            self.flood(ws)?;
        }
        self.hostile.flushed = false;
        match ws.flush() {
            Ok(()) => {
                self.hostile.flushed = true;
                Ok(())
            }
            Err(tungstenite::Error::Io(e)) if stream::is_timeout(&e) => Ok(()),
            Err(e) => Err(self.ended_by(e)),
        }
    }

    /// One tick of the floods in force.
    fn flood(&mut self, ws: &mut WebSocket<Stream>) -> Flow {
        if self.hostile.fragment_open {
            self.write_raw(ws, &stream::empty_continuations(CONTINUATIONS_PER_TICK))?;
        }
        if self.hostile.ping_flood && self.hostile.flushed && !self.hostile.muted {
            for _ in 0..PINGS_PER_TICK {
                self.hostile.pings += 1;
                let payload = self.hostile.pings.to_be_bytes().to_vec();
                self.write(ws, Message::Ping(payload.into()))?;
            }
            let sent = self.hostile.pings;
            self.shared.record(self.id, |r| r.pings_sent = sent);
        }
        Ok(())
    }

    fn ended_by(&self, e: tungstenite::Error) -> ConnEnd {
        use tungstenite::Error;
        match e {
            Error::ConnectionClosed | Error::AlreadyClosed => match &self.closing {
                Some((_, end)) => end.clone(),
                None => ConnEnd::Closed,
            },
            Error::Io(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => ConnEnd::Eof,
            Error::Io(e) if e.kind() == std::io::ErrorKind::ConnectionReset => ConnEnd::PeerReset,
            Error::Protocol(tungstenite::error::ProtocolError::ResetWithoutClosingHandshake) => {
                ConnEnd::Eof
            }
            e => ConnEnd::Error(e.to_string()),
        }
    }

    fn command(&mut self, ws: &mut WebSocket<Stream>, cmd: Command) -> Flow {
        match cmd {
            Command::Lift(FaultKind::DataStall) => {
                self.data_stalled = false;
                Ok(())
            }
            Command::Lift(FaultKind::PingFlood) => {
                self.hostile.ping_flood = false;
                Ok(())
            }
            Command::Lift(FaultKind::EmptyContinuations) if self.hostile.fragment_open => {
                self.hostile.fragment_open = false;
                self.write_raw(ws, &stream::last_fragment(FRAGMENT_END))
            }
            Command::Lift(_) => Ok(()),
            Command::Fault(fault) => self.fault(ws, fault),
        }
    }

    fn fault(&mut self, ws: &mut WebSocket<Stream>, fault: Fault) -> Flow {
        match fault {
            Fault::SilentStall => self.silent = true,
            Fault::DataStall => self.data_stalled = true,
            Fault::Close { code, reason } => {
                self.start_close(ws, code, &reason, ConnEnd::Closed)?
            }
            Fault::Reset => return Err(ConnEnd::Reset),
            Fault::Drop => return Err(ConnEnd::Dropped),
            Fault::SkipSeq { channel } => {
                self.skips.insert(channel);
            }
            Fault::Oversized { bytes } => {
                // Valid JSON, so a client with a large enough limit sees an ordinary
                // notification. Written as one raw frame: tungstenite's write buffer drains its
                // front on every partial write, which is quadratic at this size.
                self.write_raw(ws, &stream::oversized_frame(bytes))?;
            }
            Fault::InvalidUtf8 => {
                // 0xC3 0x28 is an invalid two-byte sequence; tungstenite refuses to build such a
                // text frame, so the frame is written by hand.
                let payload = b"{\"jsonrpc\":\"2.0\",\"bad\":\"\xC3\x28\xFF\"}";
                self.write_raw(ws, &stream::raw_text_frame(payload))?;
            }
            Fault::NonJson => self.write(ws, Message::text("this is not json {"))?,
            Fault::BinaryGarbage => {
                let garbage: Vec<u8> = (0..64u32).map(|i| (i * 37 + 11) as u8).collect();
                self.write(ws, Message::binary(garbage))?;
            }
            Fault::HugeFrameHeader { announced } if !self.hostile.holds_text() => {
                self.write_raw(ws, &stream::huge_text_header(announced))?;
                self.hostile.muted = true;
            }
            Fault::EmptyContinuations if !self.hostile.holds_text() => {
                self.write_raw(ws, &stream::first_fragment(FRAGMENT_START))?;
                self.hostile.fragment_open = true;
            }
            Fault::PingFlood => self.hostile.ping_flood = true,
            // Admission faults and actions never reach a session.
            _ => {}
        }
        Ok(())
    }

    fn start_close(
        &mut self,
        ws: &mut WebSocket<Stream>,
        code: u16,
        reason: &str,
        end: ConnEnd,
    ) -> Flow {
        if self.closing.is_some() {
            return Ok(());
        }
        let frame = CloseFrame {
            code: CloseCode::from(code),
            reason: reason.to_owned().into(),
        };
        self.shared.record(self.id, |r| {
            r.close_sent = Some(CloseRecord {
                code,
                reason: reason.to_owned(),
            })
        });
        self.closing = Some((Instant::now() + CLOSE_LINGER, end));
        match ws.close(Some(frame)) {
            Ok(()) => Ok(()),
            Err(tungstenite::Error::Io(e)) if stream::is_timeout(&e) => Ok(()),
            Err(e) => Err(self.ended_by(e)),
        }
    }

    /// Queues a message; a full socket is fine (tungstenite keeps the frame and the next flush
    /// continues), anything else ends the session. Nothing is written after a huge frame
    /// header, and no data frame inside an open fragmented message (a hostile fault's doing).
    fn write(&mut self, ws: &mut WebSocket<Stream>, msg: Message) -> Flow {
        if self.hostile.muted || (self.hostile.fragment_open && (msg.is_text() || msg.is_binary()))
        {
            return Ok(());
        }
        match ws.write(msg) {
            Ok(()) => Ok(()),
            Err(tungstenite::Error::Io(e)) if stream::is_timeout(&e) => Ok(()),
            Err(e) => Err(self.ended_by(e)),
        }
    }

    /// Writes a hand-made frame. Blocks the session until it is out (at most 5 s; a client that
    /// reads nothing for that long loses the connection, since a half-written frame cannot be
    /// taken back).
    fn write_raw(&mut self, ws: &mut WebSocket<Stream>, frame: &[u8]) -> Flow {
        let deadline = Instant::now() + Duration::from_secs(5);
        // Everything tungstenite queued must be out first, or the raw frame would land inside
        // another frame.
        loop {
            match ws.flush() {
                Ok(()) => break,
                Err(tungstenite::Error::Io(e))
                    if stream::is_timeout(&e) && Instant::now() < deadline => {}
                Err(e) => return Err(self.ended_by(e)),
            }
        }
        stream::write_fully(ws.get_mut(), frame, deadline)
            .map_err(|e| ConnEnd::Error(e.to_string()))
    }

    fn message(&mut self, ws: &mut WebSocket<Stream>, msg: Message) -> Flow {
        let at = Instant::now();
        match msg {
            Message::Text(text) => self.text(ws, text.as_str(), at),
            Message::Binary(data) => {
                let frame = ClientFrame::Binary(data.to_vec());
                self.shared.received(self.id, Received { at, frame });
                Ok(())
            }
            Message::Ping(_) => {
                self.shared.record(self.id, |r| r.pings += 1);
                Ok(())
            }
            Message::Pong(_) => {
                self.shared.record(self.id, |r| r.pongs += 1);
                Ok(())
            }
            Message::Frame(_) => Ok(()),
            Message::Close(frame) => {
                let close = match frame {
                    Some(f) => CloseRecord {
                        code: f.code.into(),
                        reason: f.reason.to_string(),
                    },
                    None => CloseRecord {
                        code: 1005,
                        reason: String::new(),
                    },
                };
                self.shared.close_received(self.id, close);
                if self.closing.is_none() {
                    // tungstenite queued the reply; wait for it to go out.
                    self.closing = Some((Instant::now() + CLOSE_LINGER, ConnEnd::Closed));
                }
                Ok(())
            }
        }
    }

    fn text(&mut self, ws: &mut WebSocket<Stream>, text: &str, at: Instant) -> Flow {
        let parsed: Option<Value> = serde_json::from_str(text).ok();
        let method = parsed
            .as_ref()
            .and_then(|v| v.get("method"))
            .and_then(Value::as_str);
        let (Some(v), Some(method)) = (parsed.as_ref(), method) else {
            let frame = ClientFrame::Text(text.to_owned());
            self.shared.received(self.id, Received { at, frame });
            return Ok(());
        };
        let id = v.get("id").cloned();
        let params = v.get("params").cloned().unwrap_or(Value::Null);
        let frame = ClientFrame::Request {
            id: id.clone(),
            method: method.to_owned(),
            params: params.clone(),
        };
        self.shared.received(self.id, Received { at, frame });
        let Some(id) = id else {
            return Ok(()); // a notification gets no answer
        };
        if self.closing.is_some() {
            return Ok(());
        }
        let reply = match method {
            rpc::AUTH => match self.auth(&id, &params) {
                Some(reply) => reply,
                None => return Ok(()), // held back by auth_delay
            },
            rpc::SUBSCRIBE => self.subscribe(&id, &params),
            rpc::UNSUBSCRIBE => {
                let channels = channels_of(&params);
                for c in &channels {
                    self.subscribed.remove(c);
                }
                rpc::result(&id, json!(channels))
            }
            rpc::SET_HEARTBEAT => self.set_heartbeat(&id, &params),
            rpc::TEST => {
                if let Some(hb) = &mut self.heartbeat {
                    hb.awaiting = false;
                }
                rpc::result(&id, json!({"version": "1.0.0"}))
            }
            _ => rpc::error(&id, rpc::METHOD_NOT_FOUND, "Method not found"),
        };
        self.write(ws, Message::text(reply))
    }

    /// The auth response, or `None` when a success is held back by `auth_delay`.
    fn auth(&mut self, id: &Value, params: &Value) -> Option<String> {
        let answer = auth::answer(self.shared, &self.client, self.id, &mut self.tokens, params);
        match answer {
            Err(RpcError { code, message }) => Some(rpc::error(id, code, &message)),
            Ok(result) => {
                let reply = rpc::result(id, result);
                let delay = self.shared.config.auth_delay;
                if delay.is_zero() {
                    self.shared.auth_acked(self.id, Instant::now());
                    Some(reply)
                } else {
                    self.pending_auth = Some((Instant::now() + delay, reply));
                    None
                }
            }
        }
    }

    fn subscribe(&mut self, id: &Value, params: &Value) -> String {
        let authed = self.shared.lock().stats.connections[self.id as usize - 1]
            .authenticated_at
            .is_some();
        if self.shared.config.require_auth && !authed {
            return rpc::error(id, rpc::UNAUTHORIZED, "unauthorized");
        }
        let mut channels = channels_of(params);
        for (channel, nack) in self.shared.take_nacks(&channels) {
            match nack {
                Nack::Error(e) => return rpc::error(id, e.code, &e.message),
                Nack::ErrorNaming(e) => {
                    let data = json!({ "channel": channel });
                    return rpc::error_with_data(id, e.code, &e.message, data);
                }
                Nack::Omit => match channel {
                    Some(c) => channels.retain(|x| *x != c),
                    None => channels.clear(),
                },
            }
        }
        self.subscribed.extend(channels.iter().cloned());
        rpc::result(id, json!(channels))
    }

    fn set_heartbeat(&mut self, id: &Value, params: &Value) -> String {
        let secs = params.get("interval").and_then(Value::as_f64);
        match secs.filter(|s| s.is_finite() && *s > 0.0) {
            Some(secs) => {
                let interval = Duration::from_secs_f64(secs).max(self.shared.config.min_heartbeat);
                self.heartbeat = Some(Heartbeat {
                    interval,
                    next_at: Instant::now() + interval,
                    awaiting: false,
                });
                rpc::result(id, json!("ok"))
            }
            None => rpc::error(
                id,
                rpc::INVALID_PARAMS,
                "interval must be a positive number",
            ),
        }
    }

    fn timers(&mut self, ws: &mut WebSocket<Stream>, now: Instant) -> Flow {
        if self.hostile.holds_text() {
            // Text would break the frame or message in flight; everything waits.
            return Ok(());
        }
        if self
            .pending_auth
            .as_ref()
            .is_some_and(|(due, _)| now >= *due)
        {
            let (_, reply) = self.pending_auth.take().expect("checked above");
            // The client is authenticated from the moment the ack leaves, not before.
            self.shared.auth_acked(self.id, now);
            self.write(ws, Message::text(reply))?;
        }
        if let Some(hb) = &mut self.heartbeat {
            if now >= hb.next_at {
                if hb.awaiting && self.shared.config.enforce_heartbeat {
                    return self.start_close(
                        ws,
                        4000,
                        "heartbeat_timeout",
                        ConnEnd::HeartbeatTimeout,
                    );
                }
                hb.awaiting = true;
                hb.next_at = now + hb.interval;
                self.write(ws, Message::text(rpc::heartbeat_test_request()))?;
            }
        }
        if now >= self.next_data {
            self.next_data = now + self.shared.config.data_interval;
            if !self.data_stalled {
                self.send_data(ws)?;
            }
        }
        Ok(())
    }

    fn send_data(&mut self, ws: &mut WebSocket<Stream>) -> Flow {
        let channels: Vec<String> = self.subscribed.iter().cloned().collect();
        for channel in channels {
            let skip = self.skips.contains(&channel);
            let seq = self.shared.peek_seq(&self.client, &channel, skip);
            let text = rpc::notification(&channel, seq, &self.shared.config.payload);
            match ws.write(Message::text(text)) {
                Ok(()) => {}
                Err(tungstenite::Error::Io(e)) if stream::is_timeout(&e) => {}
                // Not queued: the client is not reading. Try again next interval with the same
                // number, so backpressure never fakes a gap.
                Err(tungstenite::Error::WriteBufferFull(_)) => return Ok(()),
                Err(e) => return Err(self.ended_by(e)),
            }
            self.skips.remove(&channel);
            self.shared.commit_seq(self.id, &self.client, &channel, seq);
        }
        Ok(())
    }
}

fn channels_of(params: &Value) -> Vec<String> {
    params
        .get("channels")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}
