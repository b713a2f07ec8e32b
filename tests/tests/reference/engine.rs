//! The reference client's single thread: connect, authenticate, restore, serve, back off.

use std::collections::{HashMap, VecDeque};
use std::io;
use std::net::TcpStream;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use reconnect_testkit::rpc::{self, Inbound};
use reconnect_testkit::scenario::{ClientEvent, ClientSpec, Jitter, StopKind};
use reconnect_testkit::wsclient::{self, ClientStream};
use serde_json::Value;
use tungstenite::protocol::frame::coding::CloseCode;
use tungstenite::protocol::{CloseFrame, WebSocketConfig};
use tungstenite::{HandshakeError, Message, WebSocket};

use super::Bug;

const TICK: Duration = Duration::from_millis(5);
/// The auth error code that means "wrong credentials": retrying cannot help.
const FATAL_AUTH: i64 = 13004;

pub enum Cmd {
    Subscribe(String),
    Unsubscribe(String),
    Send(String),
    Close,
}

/// How one attempt ended.
enum Outcome {
    /// Stop for good.
    Stop(StopKind, String),
    /// The application dropped the client.
    Shutdown,
    /// Try again; `stable` when the connection stayed live for `min_uptime`.
    Retry {
        stable: bool,
        retry_after: Option<Duration>,
    },
}

#[derive(PartialEq)]
enum Phase {
    Authenticating,
    Restoring,
    Live,
}

enum Pending {
    Auth,
    /// A renewal of the token with its refresh token.
    Renew,
    Subscribe(Vec<String>),
    Other,
}

pub struct Engine {
    spec: ClientSpec,
    bugs: u32,
    commands: mpsc::Receiver<Cmd>,
    events: mpsc::Sender<ClientEvent>,
    wanted: Vec<String>,
    outbox: VecDeque<String>,
    last_seq: HashMap<String, u64>,
    rng: u64,
    prev_delay: Duration,
    /// Sockets kept open by the KEEP_OLD_SOCKET bug.
    leaked: Vec<WebSocket<Budgeted>>,
    closed_by_app: bool,
}

impl Engine {
    pub fn new(
        spec: ClientSpec,
        bugs: u32,
        commands: mpsc::Receiver<Cmd>,
        events: mpsc::Sender<ClientEvent>,
    ) -> Self {
        Engine {
            wanted: spec.channels.clone(),
            rng: spec.seed | 1,
            prev_delay: spec.backoff_initial,
            spec,
            bugs,
            commands,
            events,
            outbox: VecDeque::new(),
            last_seq: HashMap::new(),
            leaked: Vec::new(),
            closed_by_app: false,
        }
    }

    fn bug(&self, b: u32) -> bool {
        self.bugs & b != 0
    }

    fn emit(&self, e: ClientEvent) {
        let _ = self.events.send(e);
    }

    pub fn run(mut self) {
        let mut failed = 0u32;
        let mut retry = 0u32;
        let mut attempt = 1u32;
        loop {
            self.emit(ClientEvent::Connecting { attempt });
            let mut hint = None;
            match self.attempt() {
                Outcome::Shutdown => return,
                Outcome::Stop(kind, reason) => {
                    self.emit(ClientEvent::Stopped { kind, reason });
                    if !(kind == StopKind::Closed && self.bug(Bug::RECONNECT_AFTER_CLOSE)) {
                        return;
                    }
                }
                Outcome::Retry {
                    stable,
                    retry_after,
                } => {
                    hint = retry_after;
                    if stable {
                        failed = 0;
                        retry = 0;
                        attempt = 0;
                    } else {
                        failed += 1;
                    }
                    if self.spec.max_attempts.is_some_and(|max| failed >= max) {
                        let reason = format!("{failed} attempts failed");
                        self.emit(ClientEvent::Stopped {
                            kind: StopKind::GaveUp,
                            reason,
                        });
                        return;
                    }
                }
            }
            retry += 1;
            attempt += 1;
            let mut delay = self.backoff(retry);
            if let Some(ra) = hint {
                delay = delay.max(ra);
            }
            self.emit(ClientEvent::ReconnectScheduled { attempt, delay });
            match self.wait(delay) {
                None => {}
                Some(Outcome::Stop(kind, reason)) => {
                    self.emit(ClientEvent::Stopped { kind, reason });
                    return;
                }
                Some(_) => return,
            }
        }
    }

    /// xorshift64*: the seeded generator of the jitter.
    fn rand(&mut self) -> u64 {
        self.rng ^= self.rng >> 12;
        self.rng ^= self.rng << 25;
        self.rng ^= self.rng >> 27;
        self.rng.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn uniform(&mut self, lo: Duration, hi: Duration) -> Duration {
        if hi <= lo {
            return lo;
        }
        let span = (hi - lo).as_micros() as u64;
        lo + Duration::from_micros(self.rand() % (span + 1))
    }

    fn backoff(&mut self, retry: u32) -> Duration {
        let (initial, max) = (self.spec.backoff_initial, self.spec.backoff_max);
        let cap = initial
            .saturating_mul(1u32 << retry.saturating_sub(1).min(20))
            .min(max);
        match self.spec.jitter {
            Jitter::None => cap,
            Jitter::Full => self.uniform(Duration::ZERO, cap),
            Jitter::Equal => self.uniform(cap / 2, cap),
            Jitter::Decorrelated => {
                let d = self.uniform(initial, self.prev_delay * 3).min(max);
                self.prev_delay = d;
                d
            }
        }
    }

    /// Waits out a backoff delay while serving commands. `Some` ends the client.
    fn wait(&mut self, delay: Duration) -> Option<Outcome> {
        let deadline = Instant::now() + delay;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return None;
            }
            match self.commands.recv_timeout(left) {
                Ok(Cmd::Close) => {
                    self.closed_by_app = true;
                    let outcome = Outcome::Stop(StopKind::Closed, "closed while waiting".into());
                    if !self.bug(Bug::RECONNECT_AFTER_CLOSE) {
                        return Some(outcome);
                    }
                    self.emit(ClientEvent::Stopped {
                        kind: StopKind::Closed,
                        reason: "closed while waiting".into(),
                    });
                }
                Ok(cmd) => self.offline(cmd),
                Err(mpsc::RecvTimeoutError::Timeout) => return None,
                Err(mpsc::RecvTimeoutError::Disconnected) => return Some(Outcome::Shutdown),
            }
        }
    }

    /// A command while there is no connection.
    fn offline(&mut self, cmd: Cmd) {
        match cmd {
            Cmd::Subscribe(ch) => {
                if !self.wanted.contains(&ch) {
                    self.wanted.push(ch);
                }
            }
            Cmd::Unsubscribe(ch) => self.wanted.retain(|c| *c != ch),
            Cmd::Send(t) => self.outbox.push_back(t),
            Cmd::Close => {}
        }
    }

    fn attempt(&mut self) -> Outcome {
        let ws = match self.connect() {
            Ok(ws) => ws,
            Err(outcome) => return outcome,
        };
        self.emit(ClientEvent::Connected);
        Session::new(self).run(ws)
    }

    fn connect(&mut self) -> Result<WebSocket<Budgeted>, Outcome> {
        let retry = |_e: String| Outcome::Retry {
            stable: false,
            retry_after: None,
        };
        let deadline = Instant::now() + self.spec.connect_timeout;
        let addr = wsclient::addr_of(&self.spec.url);
        let tcp = TcpStream::connect_timeout(&addr, self.spec.connect_timeout)
            .map_err(|e| retry(e.to_string()))?;
        tcp.set_read_timeout(Some(TICK))
            .map_err(|e| retry(e.to_string()))?;
        tcp.set_write_timeout(Some(Duration::from_secs(1)))
            .map_err(|e| retry(e.to_string()))?;
        let _ = tcp.set_nodelay(true);
        let stream = if self.spec.url.starts_with("wss://") {
            let pem = self.spec.root_cert_pem.as_deref().unwrap_or_default();
            let cfg = reconnect_testkit::tls::client_config_for_pem(pem);
            let name = rustls::pki_types::ServerName::try_from("127.0.0.1").expect("valid");
            let conn =
                rustls::ClientConnection::new(cfg, name).map_err(|e| retry(e.to_string()))?;
            ClientStream::Tls(Box::new(rustls::StreamOwned::new(conn, tcp)))
        } else {
            ClientStream::Plain(tcp)
        };
        let stream = Budgeted {
            inner: stream,
            until: None,
        };
        let config = WebSocketConfig::default()
            .max_message_size(Some(self.spec.max_message_size))
            .max_frame_size(Some(self.spec.max_message_size));
        let mut result =
            tungstenite::client::client_with_config(&self.spec.url, stream, Some(config));
        loop {
            match result {
                Ok((ws, _)) => return Ok(ws),
                Err(HandshakeError::Interrupted(mid)) => {
                    if Instant::now() >= deadline {
                        return Err(retry("connect timeout".into()));
                    }
                    result = mid.handshake();
                }
                Err(HandshakeError::Failure(tungstenite::Error::Http(resp))) => {
                    let status = resp.status().as_u16();
                    if status == 401 || status == 403 {
                        return Err(Outcome::Stop(StopKind::Fatal, format!("HTTP {status}")));
                    }
                    let retry_after = resp
                        .headers()
                        .get("retry-after")
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| v.trim().parse::<u64>().ok())
                        .map(Duration::from_secs);
                    return Err(Outcome::Retry {
                        stable: false,
                        retry_after,
                    });
                }
                Err(HandshakeError::Failure(e)) => return Err(retry(e.to_string())),
            }
        }
    }
}

/// One established connection.
struct Session<'a> {
    e: &'a mut Engine,
    phase: Phase,
    next_id: u64,
    pending: HashMap<u64, Pending>,
    live_at: Option<Instant>,
    connected_at: Instant,
    last_rx: Instant,
    next_ping: Option<Instant>,
    ping_sent: Option<Instant>,
    /// When to renew the token, with the refresh token to present.
    renew: Option<(Instant, String)>,
}

impl<'a> Session<'a> {
    fn new(e: &'a mut Engine) -> Self {
        let now = Instant::now();
        let next_ping = if e.bug(Bug::NO_PING) {
            None
        } else {
            e.spec.ping_interval.map(|i| now + i)
        };
        Session {
            e,
            phase: Phase::Authenticating,
            next_id: 1,
            pending: HashMap::new(),
            live_at: None,
            connected_at: now,
            last_rx: now,
            next_ping,
            ping_sent: None,
            renew: None,
        }
    }

    fn request(
        &mut self,
        ws: &mut WebSocket<Budgeted>,
        method: &str,
        params: Value,
        p: Pending,
    ) -> io::Result<()> {
        let id = self.next_id;
        self.next_id += 1;
        self.pending.insert(id, p);
        send(ws, Message::text(rpc::request(id, method, params)))
    }

    fn run(mut self, mut ws: WebSocket<Budgeted>) -> Outcome {
        let outcome = self.serve(&mut ws);
        match &outcome {
            Ok(o) => return self.finish(ws, o.clone_outcome()),
            Err(reason) => {
                self.e.emit(ClientEvent::Disconnected {
                    reason: reason.clone(),
                });
            }
        }
        let stable = self
            .live_at
            .is_some_and(|t| t.elapsed() >= self.e.spec.min_uptime)
            || (self.e.bug(Bug::RESET_BACKOFF_ON_CONNECT));
        let _ = self.connected_at;
        if self.e.bug(Bug::KEEP_OLD_SOCKET) {
            self.e.leaked.push(ws);
        }
        Outcome::Retry {
            stable,
            retry_after: None,
        }
    }

    fn finish(self, ws: WebSocket<Budgeted>, o: Outcome) -> Outcome {
        drop(ws);
        o
    }

    /// `Ok` ends the client (stop or shutdown), `Err` loses the connection (with a reason).
    fn serve(&mut self, ws: &mut WebSocket<Budgeted>) -> Result<Outcome, String> {
        let err = |e: io::Error| e.to_string();
        if let Some(auth) = self.e.spec.auth.clone() {
            self.request(ws, rpc::AUTH, auth, Pending::Auth)
                .map_err(err)?;
            if self.e.bug(Bug::SUBSCRIBE_BEFORE_AUTH_ACK) {
                self.restore(ws).map_err(err)?;
            }
        } else {
            self.after_auth(ws).map_err(err)?;
        }
        loop {
            // Commands.
            loop {
                match self.e.commands.try_recv() {
                    Ok(Cmd::Close) => return Ok(self.close(ws)),
                    Ok(cmd) => self.command(ws, cmd).map_err(err)?,
                    Err(mpsc::TryRecvError::Empty) => break,
                    Err(mpsc::TryRecvError::Disconnected) => return Ok(Outcome::Shutdown),
                }
            }
            // Timers.
            let now = Instant::now();
            if let Some(sent) = self.ping_sent {
                if now.duration_since(sent) > self.e.spec.pong_timeout {
                    return Err("pong timeout".into());
                }
            }
            if let Some(at) = self.next_ping {
                if now >= at && self.ping_sent.is_none() {
                    send(ws, Message::Ping(Vec::new().into())).map_err(err)?;
                    self.ping_sent = Some(now);
                    self.next_ping = self.e.spec.ping_interval.map(|i| now + i);
                }
            }
            if self.renew.as_ref().is_some_and(|(at, _)| now >= *at) {
                let (_, token) = self.renew.take().expect("checked above");
                let params =
                    serde_json::json!({"grant_type": "refresh_token", "refresh_token": token});
                self.request(ws, rpc::AUTH, params, Pending::Renew)
                    .map_err(err)?;
            }
            if let Some(idle) = self.e.spec.idle_timeout {
                if now.duration_since(self.last_rx) > idle {
                    return Err("idle timeout".into());
                }
            }
            // Inbound, for at most one tick: a server that never stops sending bytes (empty
            // continuation frames) must not keep the timers from running.
            ws.get_mut().until = Some(Instant::now() + TICK);
            match ws.read() {
                Ok(msg) => {
                    self.last_rx = Instant::now();
                    if let Some(stop) = self.inbound(ws, msg)? {
                        return Ok(stop);
                    }
                }
                Err(tungstenite::Error::Io(e))
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                    ) => {}
                Err(e) => return Err(e.to_string()),
            }
        }
    }

    fn command(&mut self, ws: &mut WebSocket<Budgeted>, cmd: Cmd) -> io::Result<()> {
        match cmd {
            Cmd::Subscribe(ch) => {
                if !self.e.wanted.contains(&ch) {
                    self.e.wanted.push(ch.clone());
                    if self.phase == Phase::Live {
                        let params = serde_json::json!({ "channels": [ch.clone()] });
                        self.request(ws, rpc::SUBSCRIBE, params, Pending::Subscribe(vec![ch]))?;
                    }
                }
            }
            Cmd::Unsubscribe(ch) => {
                self.e.wanted.retain(|c| *c != ch);
                if self.phase != Phase::Authenticating {
                    let params = serde_json::json!({ "channels": [ch] });
                    self.request(ws, rpc::UNSUBSCRIBE, params, Pending::Other)?;
                }
            }
            Cmd::Send(t) => {
                if self.phase == Phase::Live {
                    send(ws, Message::text(t))?;
                } else {
                    self.e.outbox.push_back(t);
                }
            }
            Cmd::Close => {}
        }
        Ok(())
    }

    fn close(&mut self, ws: &mut WebSocket<Budgeted>) -> Outcome {
        self.e.closed_by_app = true;
        let frame = CloseFrame {
            code: CloseCode::Normal,
            reason: "client close".into(),
        };
        let _ = ws.close(Some(frame));
        let deadline = Instant::now() + Duration::from_millis(500);
        while Instant::now() < deadline {
            match ws.read() {
                Ok(_) => {}
                Err(tungstenite::Error::Io(e))
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                    ) => {}
                Err(_) => break,
            }
        }
        Outcome::Stop(StopKind::Closed, "closed by the application".into())
    }

    fn after_auth(&mut self, ws: &mut WebSocket<Budgeted>) -> io::Result<()> {
        if let Some(hb) = self.e.spec.heartbeat {
            let params = serde_json::json!({ "interval": hb.as_secs_f64() });
            self.request(ws, rpc::SET_HEARTBEAT, params, Pending::Other)?;
        }
        if !self.e.bug(Bug::SUBSCRIBE_BEFORE_AUTH_ACK) {
            self.restore(ws)?;
        }
        if !self
            .pending
            .values()
            .any(|p| matches!(p, Pending::Subscribe(_)))
        {
            self.go_live(ws)?;
        }
        Ok(())
    }

    fn restore(&mut self, ws: &mut WebSocket<Budgeted>) -> io::Result<()> {
        self.phase = Phase::Restoring;
        let channels = self.e.wanted.clone();
        if channels.is_empty() {
            return Ok(());
        }
        let times = if self.e.bug(Bug::RESTORE_TWICE) { 2 } else { 1 };
        for _ in 0..times {
            let params = serde_json::json!({ "channels": channels });
            self.request(
                ws,
                rpc::SUBSCRIBE,
                params,
                Pending::Subscribe(channels.clone()),
            )?;
        }
        Ok(())
    }

    fn go_live(&mut self, ws: &mut WebSocket<Budgeted>) -> io::Result<()> {
        if self.phase == Phase::Live {
            return Ok(());
        }
        self.phase = Phase::Live;
        self.live_at = Some(Instant::now());
        self.e.emit(ClientEvent::Live);
        while let Some(t) = self.e.outbox.pop_front() {
            send(ws, Message::text(t))?;
        }
        Ok(())
    }

    /// Handles one inbound message; `Err` loses the connection, `Ok(Some)` ends the client.
    fn inbound(
        &mut self,
        ws: &mut WebSocket<Budgeted>,
        msg: Message,
    ) -> Result<Option<Outcome>, String> {
        let err = |e: io::Error| e.to_string();
        match msg {
            Message::Text(t) => match rpc::classify(t.as_str()) {
                Inbound::Result { id, result } => {
                    match id.as_u64().and_then(|i| self.pending.remove(&i)) {
                        Some(Pending::Auth) => {
                            self.schedule_renewal(&result);
                            self.e.emit(ClientEvent::Authenticated);
                            self.after_auth(ws).map_err(err)?;
                        }
                        Some(Pending::Renew) => {
                            self.schedule_renewal(&result);
                            self.e.emit(ClientEvent::Other("reauthenticated".into()));
                        }
                        Some(Pending::Subscribe(chs)) => {
                            let acked: Vec<&str> = result
                                .as_array()
                                .map(|a| a.iter().filter_map(Value::as_str).collect())
                                .unwrap_or_default();
                            for ch in &chs {
                                if acked.contains(&ch.as_str()) {
                                    self.e.emit(ClientEvent::Subscribed {
                                        channel: ch.clone(),
                                    });
                                } else {
                                    self.reject(ch, "left out of the ack".into());
                                }
                            }
                            self.maybe_live(ws).map_err(err)?;
                        }
                        _ => {}
                    }
                }
                Inbound::Error { id, code, message } => {
                    match id.as_u64().and_then(|i| self.pending.remove(&i)) {
                        Some(Pending::Auth) => {
                            if code == FATAL_AUTH && !self.e.bug(Bug::RETRY_FATAL) {
                                return Ok(Some(Outcome::Stop(
                                    StopKind::Fatal,
                                    format!("auth: {code} {message}"),
                                )));
                            }
                            return Err(format!("auth rejected: {code} {message}"));
                        }
                        Some(Pending::Renew) => {
                            return Err(format!("renewal refused: {code} {message}"));
                        }
                        Some(Pending::Subscribe(chs)) => {
                            // One error for a whole batch: reject only the channel it names, or
                            // isolate the bad one by asking for each channel alone.
                            let named = rpc::error_channel(t.as_str()).filter(|c| chs.contains(c));
                            let reason = format!("{code} {message}");
                            let named = named.filter(|_| !self.e.bug(Bug::NO_BATCH_ISOLATION));
                            if self.e.bug(Bug::NO_BATCH_ISOLATION) {
                                for ch in &chs {
                                    self.reject(ch, reason.clone());
                                }
                            }
                            let retry: Vec<Vec<String>> = match named {
                                _ if self.e.bug(Bug::NO_BATCH_ISOLATION) => Vec::new(),
                                Some(bad) => {
                                    self.reject(&bad, reason);
                                    vec![chs.iter().filter(|c| **c != bad).cloned().collect()]
                                }
                                None if chs.len() > 1 => {
                                    chs.iter().map(|c| vec![c.clone()]).collect()
                                }
                                None => {
                                    self.reject(&chs[0], reason);
                                    Vec::new()
                                }
                            };
                            for batch in retry.into_iter().filter(|b| !b.is_empty()) {
                                let params = serde_json::json!({ "channels": batch });
                                self.request(ws, rpc::SUBSCRIBE, params, Pending::Subscribe(batch))
                                    .map_err(err)?;
                            }
                            self.maybe_live(ws).map_err(err)?;
                        }
                        _ => {}
                    }
                }
                Inbound::Data { channel, seq } => {
                    let last = self.e.last_seq.get(&channel).copied();
                    match last {
                        Some(l) if seq <= l => {
                            self.e
                                .emit(ClientEvent::Other(format!("duplicate {channel} {seq}")));
                            return Ok(None);
                        }
                        Some(l) if seq > l + 1 && !self.e.bug(Bug::HIDE_GAPS) => {
                            self.e.emit(ClientEvent::Gap {
                                channel: channel.clone(),
                                expected: l + 1,
                                got: seq,
                            });
                        }
                        _ => {}
                    }
                    self.e.last_seq.insert(channel.clone(), seq);
                    self.e.emit(ClientEvent::Message { channel, seq });
                }
                Inbound::TestRequest => {
                    self.request(ws, rpc::TEST, serde_json::json!({}), Pending::Other)
                        .map_err(err)?;
                }
                other => self
                    .e
                    .emit(ClientEvent::Other(format!("ignored {other:?}"))),
            },
            Message::Binary(b) => self.e.emit(ClientEvent::Other(format!(
                "ignored {} binary bytes",
                b.len()
            ))),
            Message::Pong(_) => self.ping_sent = None,
            Message::Close(f) => {
                // Let tungstenite answer; the next read reports the end.
                let code = f.map(|f| u16::from(f.code)).unwrap_or(1005);
                self.e
                    .emit(ClientEvent::Other(format!("server close {code}")));
            }
            Message::Ping(_) | Message::Frame(_) => {}
        }
        Ok(None)
    }

    /// Reports `channel` refused and stops wanting it.
    fn reject(&mut self, channel: &str, reason: String) {
        self.e.wanted.retain(|c| c != channel);
        self.e.emit(ClientEvent::SubscribeRejected {
            channel: channel.to_owned(),
            reason,
        });
    }

    /// With an `expires_in` and a `refresh_token` in an auth result, renews halfway through.
    fn schedule_renewal(&mut self, result: &Value) {
        if self.e.bug(Bug::NO_RENEWAL) {
            return;
        }
        let expires_in = result.get("expires_in").and_then(Value::as_u64);
        let token = result.get("refresh_token").and_then(Value::as_str);
        self.renew = match (expires_in, token) {
            (Some(secs), Some(token)) => Some((
                Instant::now() + Duration::from_secs(secs) / 2,
                token.to_owned(),
            )),
            _ => None,
        };
    }

    fn maybe_live(&mut self, ws: &mut WebSocket<Budgeted>) -> io::Result<()> {
        let restoring = self
            .pending
            .values()
            .any(|p| matches!(p, Pending::Subscribe(_)));
        if !restoring && self.phase == Phase::Restoring {
            self.go_live(ws)?;
        }
        Ok(())
    }
}

impl Outcome {
    fn clone_outcome(&self) -> Outcome {
        match self {
            Outcome::Stop(k, r) => Outcome::Stop(*k, r.clone()),
            Outcome::Shutdown => Outcome::Shutdown,
            Outcome::Retry {
                stable,
                retry_after,
            } => Outcome::Retry {
                stable: *stable,
                retry_after: *retry_after,
            },
        }
    }
}

/// Sends a message; a full socket only means "queued" (tungstenite keeps the frame).
fn send(ws: &mut WebSocket<Budgeted>, msg: Message) -> io::Result<()> {
    match ws.send(msg) {
        Ok(()) => Ok(()),
        Err(tungstenite::Error::Io(e))
            if matches!(
                e.kind(),
                io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
            ) =>
        {
            Ok(())
        }
        Err(e) => Err(io::Error::other(e.to_string())),
    }
}

/// The connection's stream with a read budget: once `until` has passed, reads report
/// `WouldBlock` (tungstenite keeps a partial frame and resumes on the next read), so one
/// `read()` cannot run for as long as the server keeps sending without completing a message.
struct Budgeted {
    inner: ClientStream,
    until: Option<Instant>,
}

impl io::Read for Budgeted {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.until.is_some_and(|t| Instant::now() >= t) {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        self.inner.read(buf)
    }
}

impl io::Write for Budgeted {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.inner.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}
