//! A built-in fake server speaking the Deribit-style JSON-RPC 2.0 protocol of the crate's
//! JSON-RPC adapter.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use super::script::{AuthRejection, ServerFault};
use super::server::{ServerCtx, SimServer};
use crate::conn_id::ConnId;
use crate::frame::Frame;

mod config;

pub use config::{BadChannelRefusal, JsonRpcServerConfig};
use config::{AUTH_INVALID_CREDENTIALS, INVALID_PARAMS, TOO_MANY_REQUESTS};

/// The server's heartbeat on one connection (`public/set_heartbeat`).
#[derive(Clone, Debug)]
struct Heartbeat {
    interval: Duration,
    next: Instant,
    /// A `test_request` went out and `public/test` has not come back yet.
    awaiting: bool,
}

#[derive(Clone, Debug, Default)]
struct Client {
    authenticated: bool,
    /// The last refresh token handed out on this connection.
    refresh_token: Option<String>,
    channels: BTreeSet<String>,
    heartbeat: Option<Heartbeat>,
}

/// A fake Deribit-style JSON-RPC 2.0 server for the [`Simulator`](super::Simulator).
///
/// It answers:
/// - `public/auth` with a token result (with `expires_in` and a `refresh_token`, see
///   [`JsonRpcServerConfig`]), or (after [`ServerFault::RejectAuth`]) an error with
///   code [`AUTH_INVALID_CREDENTIALS`](Self::AUTH_INVALID_CREDENTIALS) (fatal) or [`TOO_MANY_REQUESTS`](Self::TOO_MANY_REQUESTS) (transient); a refresh
///   grant (`"grant_type":"refresh_token"`) is accepted only with the connection's last token;
/// - `public/subscribe` / `private/subscribe` with `{"channels": [...]}`, acknowledged with the
///   result array of the channels subscribed (a channel left out after
///   [`ServerFault::Nack`] is a per-channel refusal); `public/unsubscribe` and
///   `private/unsubscribe` likewise. A request with one of the configured
///   [bad channels](JsonRpcServerConfig::bad_channel) is answered as
///   [`BadChannelRefusal`] says: the bad channels left out of the result, or the whole request
///   refused with one error (code [`bad_channel_code`](JsonRpcServerConfig::bad_channel_code)),
///   naming them in `error.data.channel` or not;
/// - `public/set_heartbeat` with `"ok"`, then sends
///   `{"method":"heartbeat","params":{"type":"test_request"}}` every interval and expects
///   `public/test`; `public/test` and `public/hello` with a version;
/// - anything else with error -32601.
///
/// Every `data_interval`, each subscribed channel gets a notification
/// `{"jsonrpc":"2.0","method":"subscription","params":{"channel":"X","data":{"seq":N,...}}}`.
/// Sequence numbers are per channel, start at 1 and continue across connections and restarts;
/// they advance only when a notification is published (so a reconnect alone shows no gap),
/// except after [`ServerFault::SkipSequence`]. [`ServerFault::StopData`] pauses publishing.
///
/// The auth result carries no part of the client's credentials.
///
/// ```
/// use std::time::{Duration, Instant};
/// use reconnect_core::adapters::{JsonRpcAdapter, JsonRpcConfig, SeqPointer};
/// use reconnect_core::sim::{Fault, JsonRpcServer, Script, Simulator};
/// use reconnect_core::{Config, Event, Session};
///
/// let adapter = JsonRpcAdapter::new(
///     JsonRpcConfig::default()
///         .server_heartbeat(Some(Duration::from_secs(10)))
///         .seq_pointer(Some(SeqPointer::parse("/seq").unwrap())),
/// );
/// let mut session = Session::new(Config::new(1), adapter).unwrap();
/// session.set_credentials(JsonRpcAdapter::client_credentials("id", "secret"));
/// let base = Instant::now();
/// session.subscribe(base, "trades.BTC-PERPETUAL.raw").unwrap();
///
/// let script = Script::new().at(Duration::from_secs(60), Fault::skip_sequence("trades.BTC-PERPETUAL.raw", 2));
/// let mut sim = Simulator::new(base, session, JsonRpcServer::new()).script(script);
/// sim.start().unwrap();
/// sim.run_until(Duration::from_secs(120));
///
/// assert_eq!(sim.summary().gaps, 1);
/// assert!(sim.server().requests("public/test") >= 10); // heartbeats answered
/// assert!(sim.events().iter().any(|e| matches!(e.event, Event::Gap { .. })));
/// ```
#[derive(Clone, Debug, Default)]
pub struct JsonRpcServer {
    config: JsonRpcServerConfig,
    clients: BTreeMap<ConnId, Client>,
    /// The last sequence number published per channel.
    seqs: BTreeMap<String, u64>,
    next_data: Option<Instant>,
    data_stopped_until: Option<Instant>,
    auth_rejections: VecDeque<AuthRejection>,
    nacks: Vec<String>,
    skips: BTreeMap<String, u64>,
    requests: BTreeMap<String, u64>,
    published: u64,
    tokens_issued: u64,
    refresh_grants: u64,
}

impl JsonRpcServer {
    /// The error code of a fatal auth rejection (Deribit's `invalid_credentials`).
    pub const AUTH_INVALID_CREDENTIALS: i64 = AUTH_INVALID_CREDENTIALS;
    /// The error code of a transient rejection (Deribit's `too_many_requests`).
    pub const TOO_MANY_REQUESTS: i64 = TOO_MANY_REQUESTS;
    /// The error code of invalid parameters, such as an unknown channel: a permanent subscribe
    /// rejection for the crate's JSON-RPC adapter.
    pub const INVALID_PARAMS: i64 = INVALID_PARAMS;

    /// A server with the default settings.
    pub fn new() -> Self {
        JsonRpcServer::default()
    }

    /// A server with these settings.
    pub fn with_config(config: JsonRpcServerConfig) -> Self {
        JsonRpcServer {
            config,
            ..JsonRpcServer::default()
        }
    }

    /// How many requests with this method arrived (over every connection).
    pub fn requests(&self, method: &str) -> u64 {
        self.requests.get(method).copied().unwrap_or(0)
    }

    /// How many `public/auth` requests used the refresh grant with a valid refresh token.
    pub fn refresh_grants(&self) -> u64 {
        self.refresh_grants
    }

    /// How many data notifications were published.
    pub fn published(&self) -> u64 {
        self.published
    }

    /// The last sequence number published on `channel`.
    pub fn last_seq(&self, channel: &str) -> Option<u64> {
        self.seqs.get(channel).copied()
    }

    /// The connections the server holds open.
    pub fn open_connections(&self) -> usize {
        self.clients.len()
    }

    /// The channels `conn` is subscribed to, in order.
    pub fn channels(&self, conn: ConnId) -> Vec<String> {
        self.clients
            .get(&conn)
            .map(|c| c.channels.iter().cloned().collect())
            .unwrap_or_default()
    }

    fn reply(ctx: &mut ServerCtx<'_>, conn: ConnId, id: &Value, result: Value) {
        let frame = json!({"jsonrpc": "2.0", "id": id, "result": result});
        ctx.send(conn, frame.to_string());
    }

    fn error(ctx: &mut ServerCtx<'_>, conn: ConnId, id: &Value, code: i64, message: &str) {
        let frame = json!({
            "jsonrpc": "2.0",
            "id": id,
            "error": {"code": code, "message": message},
        });
        ctx.send(conn, frame.to_string());
    }

    fn channels_of(params: Option<&Value>) -> Vec<String> {
        params
            .and_then(|p| p.get("channels"))
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|c| c.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    }

    fn on_request(
        &mut self,
        ctx: &mut ServerCtx<'_>,
        conn: ConnId,
        id: &Value,
        method: &str,
        params: Option<&Value>,
    ) {
        *self.requests.entry(method.to_owned()).or_default() += 1;
        match method {
            "public/auth" => match self.auth_rejections.pop_front() {
                Some(AuthRejection::Fatal) => {
                    ctx.note(format!("rejects auth on {conn} (fatal)"));
                    Self::error(
                        ctx,
                        conn,
                        id,
                        AUTH_INVALID_CREDENTIALS,
                        "invalid_credentials",
                    );
                }
                Some(AuthRejection::Transient) => {
                    ctx.note(format!("rejects auth on {conn} (transient)"));
                    Self::error(ctx, conn, id, TOO_MANY_REQUESTS, "too_many_requests");
                }
                None => self.grant(ctx, conn, id, params),
            },
            "public/subscribe" | "private/subscribe" => {
                let channels = Self::channels_of(params);
                if self.refuse_whole_request(ctx, conn, id, &channels) {
                    return;
                }
                let mut accepted = Vec::new();
                for channel in channels {
                    if self.config.bad_channels.contains(&channel) {
                        ctx.note(format!("refuses bad channel {channel} on {conn}"));
                        continue;
                    }
                    if let Some(i) = self.nacks.iter().position(|n| *n == channel) {
                        self.nacks.remove(i);
                        ctx.note(format!("refuses {channel} on {conn}"));
                        continue;
                    }
                    self.seqs.entry(channel.clone()).or_default();
                    if let Some(client) = self.clients.get_mut(&conn) {
                        client.channels.insert(channel.clone());
                    }
                    accepted.push(channel);
                }
                if !accepted.is_empty() && self.next_data.is_none() {
                    self.next_data = Some(ctx.now() + self.config.data_interval);
                }
                Self::reply(ctx, conn, id, json!(accepted));
            }
            "public/unsubscribe" | "private/unsubscribe" => {
                let mut removed = Vec::new();
                if let Some(client) = self.clients.get_mut(&conn) {
                    for channel in Self::channels_of(params) {
                        if client.channels.remove(&channel) {
                            removed.push(channel);
                        }
                    }
                }
                Self::reply(ctx, conn, id, json!(removed));
            }
            "public/set_heartbeat" => {
                let interval = params
                    .and_then(|p| p.get("interval"))
                    .and_then(Value::as_f64)
                    .and_then(|s| Duration::try_from_secs_f64(s).ok())
                    .filter(|d| !d.is_zero());
                let Some(interval) = interval else {
                    Self::error(ctx, conn, id, -32602, "invalid_params");
                    return;
                };
                if let Some(client) = self.clients.get_mut(&conn) {
                    client.heartbeat = Some(Heartbeat {
                        interval,
                        next: ctx.now() + interval,
                        awaiting: false,
                    });
                }
                Self::reply(ctx, conn, id, json!("ok"));
            }
            "public/disable_heartbeat" => {
                if let Some(client) = self.clients.get_mut(&conn) {
                    client.heartbeat = None;
                }
                Self::reply(ctx, conn, id, json!("ok"));
            }
            "public/test" | "public/hello" => {
                if let Some(hb) = self
                    .clients
                    .get_mut(&conn)
                    .and_then(|c| c.heartbeat.as_mut())
                {
                    hb.awaiting = false;
                }
                Self::reply(ctx, conn, id, json!({"version": "sim"}));
            }
            _ => Self::error(ctx, conn, id, -32601, "Method not found"),
        }
    }

    /// Answers an auth request that was not scripted to fail: a refresh grant must carry the
    /// last refresh token handed out on `conn`; the result never echoes the client's secrets.
    fn grant(&mut self, ctx: &mut ServerCtx<'_>, conn: ConnId, id: &Value, params: Option<&Value>) {
        let param = |name: &str| params.and_then(|p| p.get(name)).and_then(Value::as_str);
        let Some(client) = self.clients.get_mut(&conn) else {
            return;
        };
        if param("grant_type") == Some("refresh_token") {
            let valid = self.config.refresh_tokens
                && client.refresh_token.is_some()
                && param("refresh_token") == client.refresh_token.as_deref();
            if !valid {
                ctx.note(format!("refuses a refresh grant on {conn}: unknown token"));
                Self::error(
                    ctx,
                    conn,
                    id,
                    AUTH_INVALID_CREDENTIALS,
                    "invalid_credentials",
                );
                return;
            }
            self.refresh_grants += 1;
        }
        client.authenticated = true;
        let mut result = json!({
            "access_token": "sim-access-token",
            "scope": "session:sim",
            "token_type": "bearer",
        });
        if let Some(lifetime) = self.config.token_lifetime {
            let seconds = lifetime.as_secs_f64();
            result["expires_in"] = if lifetime.subsec_nanos() == 0 {
                json!(lifetime.as_secs())
            } else {
                json!(seconds)
            };
        }
        client.refresh_token = None;
        if self.config.refresh_tokens {
            self.tokens_issued += 1;
            let token = format!("sim-refresh-{}", self.tokens_issued);
            result["refresh_token"] = json!(token);
            client.refresh_token = Some(token);
        }
        Self::reply(ctx, conn, id, result);
    }

    /// Refuses a subscribe request with bad channels as a whole, when so configured; returns
    /// whether it did.
    fn refuse_whole_request(
        &self,
        ctx: &mut ServerCtx<'_>,
        conn: ConnId,
        id: &Value,
        channels: &[String],
    ) -> bool {
        let bad: Vec<&String> = channels
            .iter()
            .filter(|c| self.config.bad_channels.contains(*c))
            .collect();
        let mut error = json!({"code": self.config.bad_channel_code, "message": "invalid channel"});
        match (self.config.bad_channel_refusal, bad.as_slice()) {
            (BadChannelRefusal::PerChannel, _) | (_, []) => return false,
            (BadChannelRefusal::WholeRequest, _) => {}
            (BadChannelRefusal::WholeRequestNamed, [one]) => {
                error["data"] = json!({"channel": one});
            }
            (BadChannelRefusal::WholeRequestNamed, several) => {
                error["data"] = json!({"channel": several});
            }
        }
        ctx.note(format!(
            "refuses request {id} on {conn}: bad channel {}",
            bad.iter().map(|c| c.as_str()).collect::<Vec<_>>().join(",")
        ));
        let frame = json!({"jsonrpc": "2.0", "id": id, "error": error});
        ctx.send(conn, frame.to_string());
        true
    }

    /// Publishes one notification per subscribed channel, unless data is stopped.
    fn publish(&mut self, ctx: &mut ServerCtx<'_>) {
        let now = ctx.now();
        if self.data_stopped_until.is_some_and(|until| now < until) {
            return;
        }
        self.data_stopped_until = None;
        let wanted: BTreeSet<&String> = self.clients.values().flat_map(|c| &c.channels).collect();
        for channel in wanted {
            let skipped = self.skips.remove(channel).unwrap_or(0);
            let seq = self.seqs.entry(channel.clone()).or_default();
            *seq += 1 + skipped;
            let seq = *seq;
            let frame = json!({
                "jsonrpc": "2.0",
                "method": "subscription",
                "params": {
                    "channel": channel,
                    "data": {"seq": seq, "price": 100 + seq % 50, "amount": 1 + seq % 7},
                },
            })
            .to_string();
            for (conn, client) in &self.clients {
                if client.channels.contains(channel) {
                    ctx.send(*conn, frame.clone());
                    self.published += 1;
                }
            }
        }
    }

    fn any_subscription(&self) -> bool {
        self.clients.values().any(|c| !c.channels.is_empty())
    }

    fn run_heartbeats(&mut self, ctx: &mut ServerCtx<'_>) {
        let now = ctx.now();
        let mut missed = Vec::new();
        for (conn, client) in &mut self.clients {
            let Some(hb) = client.heartbeat.as_mut() else {
                continue;
            };
            if hb.next > now {
                continue;
            }
            hb.next = (hb.next + hb.interval).max(now + Duration::from_nanos(1));
            if hb.awaiting && self.config.close_on_missed_heartbeat {
                missed.push(*conn);
                continue;
            }
            hb.awaiting = true;
            let frame = json!({
                "jsonrpc": "2.0",
                "method": "heartbeat",
                "params": {"type": "test_request"},
            });
            ctx.send(*conn, frame.to_string());
        }
        for conn in missed {
            ctx.note(format!("closes {conn}: heartbeat not answered"));
            ctx.close(conn, 1000, "heartbeat not answered");
            self.clients.remove(&conn);
        }
    }
}

impl SimServer for JsonRpcServer {
    fn on_connect(&mut self, _ctx: &mut ServerCtx<'_>, conn: ConnId) {
        self.clients.insert(conn, Client::default());
    }

    fn on_frame(&mut self, ctx: &mut ServerCtx<'_>, conn: ConnId, frame: &Frame) {
        let Ok(value) = serde_json::from_slice::<Value>(frame.as_bytes()) else {
            Self::error(ctx, conn, &Value::Null, -32700, "Parse error");
            return;
        };
        let id = value.get("id").cloned().unwrap_or(Value::Null);
        let Some(method) = value.get("method").and_then(Value::as_str) else {
            Self::error(ctx, conn, &id, -32600, "Invalid Request");
            return;
        };
        self.on_request(ctx, conn, &id, method, value.get("params"));
    }

    fn on_disconnect(&mut self, _ctx: &mut ServerCtx<'_>, conn: ConnId) {
        self.clients.remove(&conn);
        if !self.any_subscription() {
            self.next_data = None;
        }
    }

    fn poll_timeout(&self) -> Option<Instant> {
        let heartbeats = self
            .clients
            .values()
            .filter_map(|c| c.heartbeat.as_ref().map(|h| h.next))
            .min();
        match (self.next_data, heartbeats) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    fn handle_timeout(&mut self, ctx: &mut ServerCtx<'_>) {
        let now = ctx.now();
        self.run_heartbeats(ctx);
        if let Some(at) = self.next_data.filter(|at| *at <= now) {
            self.publish(ctx);
            let next = (at + self.config.data_interval).max(now + Duration::from_nanos(1));
            self.next_data = self.any_subscription().then_some(next);
        }
    }

    fn inject(&mut self, ctx: &mut ServerCtx<'_>, fault: &ServerFault) -> bool {
        match fault {
            ServerFault::RejectAuth(rejection) => self.auth_rejections.push_back(*rejection),
            ServerFault::Nack { topic } => self.nacks.push(topic.clone()),
            ServerFault::SkipSequence { topic, count } => {
                *self.skips.entry(topic.clone()).or_default() += count;
            }
            ServerFault::StopData(d) => self.data_stopped_until = Some(ctx.now() + *d),
        }
        true
    }

    fn on_restart(&mut self, _ctx: &mut ServerCtx<'_>) {
        // Sessions and heartbeats are gone with the connections; the channels' sequence
        // numbers live on, as an exchange's do.
        self.clients.clear();
        self.next_data = None;
    }

    fn topics(&self, conn: ConnId) -> Option<Vec<String>> {
        Some(self.channels(conn))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::server::ServerOp;

    /// The frames the server sends when `conn` asks for `channels` with request 1.
    fn answer(config: JsonRpcServerConfig, channels: &[&str]) -> Vec<Value> {
        let mut server = JsonRpcServer::with_config(config);
        let mut ops = Vec::new();
        let now = Instant::now();
        let conn = ConnId(1);
        let request = json!({"jsonrpc": "2.0", "id": 1, "method": "public/subscribe",
            "params": {"channels": channels}});
        let mut ctx = ServerCtx::new(now, Duration::ZERO, &mut ops);
        server.on_connect(&mut ctx, conn);
        server.on_frame(&mut ctx, conn, &Frame::from(request.to_string()));
        ops.into_iter()
            .filter_map(|op| match op {
                ServerOp::Send(_, frame) => serde_json::from_slice(frame.as_bytes()).ok(),
                _ => None,
            })
            .collect()
    }

    fn config(refusal: BadChannelRefusal) -> JsonRpcServerConfig {
        JsonRpcServerConfig::default()
            .bad_channel("x")
            .bad_channel("y")
            .bad_channel_refusal(refusal)
    }

    #[test]
    fn bad_channels_are_refused_each_configured_way() {
        let per_channel = answer(config(BadChannelRefusal::PerChannel), &["a", "x", "b"]);
        assert_eq!(
            per_channel,
            [json!({"jsonrpc": "2.0", "id": 1, "result": ["a", "b"]})]
        );
        let error = |data: Option<Value>| {
            let mut error = json!({"code": INVALID_PARAMS, "message": "invalid channel"});
            if let Some(data) = data {
                error["data"] = data;
            }
            vec![json!({"jsonrpc": "2.0", "id": 1, "error": error})]
        };
        let silent = answer(config(BadChannelRefusal::WholeRequest), &["a", "x"]);
        assert_eq!(silent, error(None));
        let one = answer(config(BadChannelRefusal::WholeRequestNamed), &["a", "x"]);
        assert_eq!(one, error(Some(json!({"channel": "x"}))));
        let two = answer(
            config(BadChannelRefusal::WholeRequestNamed),
            &["y", "a", "x"],
        );
        assert_eq!(two, error(Some(json!({"channel": ["y", "x"]}))));
        // A request without a bad channel is answered as usual.
        let fine = answer(config(BadChannelRefusal::WholeRequest), &["a"]);
        assert_eq!(fine, [json!({"jsonrpc": "2.0", "id": 1, "result": ["a"]})]);
        let code = config(BadChannelRefusal::WholeRequest).bad_channel_code(TOO_MANY_REQUESTS);
        assert_eq!(
            answer(code, &["x"])[0]["error"]["code"],
            json!(TOO_MANY_REQUESTS)
        );
    }
}
