//! A fake Binance market-stream server for the simulator: answers `SUBSCRIBE` and
//! `UNSUBSCRIBE` by id, publishes a trade a second on every subscribed stream (trade ids
//! consecutive per stream), and applies the scripted server faults it understands.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use reconnect_core::sim::{ServerCtx, ServerFault, SimServer};
use reconnect_core::{ConnId, Frame};
use serde_json::{json, Value};

/// The server. Deterministic: ordered maps, no clock but the simulator's.
#[derive(Debug, Default)]
pub struct BinanceServer {
    /// The streams each open connection is subscribed to.
    clients: BTreeMap<ConnId, BTreeSet<String>>,
    /// The last trade id per stream.
    trade_ids: BTreeMap<String, u64>,
    /// Streams whose next subscribe is refused.
    refuse: Vec<String>,
    next_tick: Option<Instant>,
    silent_until: Option<Instant>,
}

impl BinanceServer {
    /// A server with no clients.
    pub fn new() -> Self {
        BinanceServer::default()
    }
}

impl SimServer for BinanceServer {
    fn on_connect(&mut self, ctx: &mut ServerCtx<'_>, conn: ConnId) {
        self.clients.insert(conn, BTreeSet::new());
        self.next_tick
            .get_or_insert(ctx.now() + Duration::from_secs(1));
    }

    fn on_frame(&mut self, ctx: &mut ServerCtx<'_>, conn: ConnId, frame: &Frame) {
        let Some(Ok(request)) = frame.as_text().map(serde_json::from_str::<Value>) else {
            return;
        };
        let id = request["id"].clone();
        let streams: Vec<String> = request["params"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|s| s.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        let Some(held) = self.clients.get_mut(&conn) else {
            return;
        };
        let answer = match request["method"].as_str() {
            Some("SUBSCRIBE") => {
                if let Some(i) = self.refuse.iter().position(|s| streams.contains(s)) {
                    let stream = self.refuse.remove(i);
                    json!({"error": {"code": 2, "msg": format!("Invalid request: {stream}")}, "id": id})
                } else {
                    held.extend(streams);
                    json!({"result": null, "id": id})
                }
            }
            Some("UNSUBSCRIBE") => {
                for s in &streams {
                    held.remove(s);
                }
                json!({"result": null, "id": id})
            }
            _ => json!({"error": {"code": 1, "msg": "Unknown method"}, "id": id}),
        };
        ctx.send(conn, answer.to_string());
    }

    fn on_disconnect(&mut self, _ctx: &mut ServerCtx<'_>, conn: ConnId) {
        self.clients.remove(&conn);
        if self.clients.is_empty() {
            self.next_tick = None;
        }
    }

    fn poll_timeout(&self) -> Option<Instant> {
        self.next_tick
    }

    fn handle_timeout(&mut self, ctx: &mut ServerCtx<'_>) {
        self.next_tick = Some(ctx.now() + Duration::from_secs(1));
        if self.silent_until.is_some_and(|until| ctx.now() < until) {
            return;
        }
        let streams: BTreeSet<String> = self.clients.values().flatten().cloned().collect();
        for stream in streams {
            let t = self.trade_ids.entry(stream.clone()).or_insert(1000);
            *t += 1;
            let data = json!({"stream": stream, "data": {"e": "trade", "t": *t, "p": "65000.10"}})
                .to_string();
            for (conn, held) in &self.clients {
                if held.contains(&stream) {
                    ctx.send(*conn, data.as_str());
                }
            }
        }
    }

    fn inject(&mut self, ctx: &mut ServerCtx<'_>, fault: &ServerFault) -> bool {
        match fault {
            ServerFault::Nack { topic } => self.refuse.push(topic.clone()),
            ServerFault::SkipSequence { topic, count } => {
                *self.trade_ids.entry(topic.clone()).or_insert(1000) += count;
            }
            ServerFault::StopData(d) => self.silent_until = Some(ctx.now() + *d),
            _ => return false,
        }
        true
    }

    fn on_restart(&mut self, _ctx: &mut ServerCtx<'_>) {
        self.clients.clear();
        self.next_tick = None;
    }

    fn topics(&self, conn: ConnId) -> Option<Vec<String>> {
        Some(self.clients.get(&conn)?.iter().cloned().collect())
    }
}
