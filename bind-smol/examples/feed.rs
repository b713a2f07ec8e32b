//! `feed`: follow a JSON-RPC WebSocket feed, reconnecting as needed, written the async way.
//!
//! ```text
//! cargo run -p bind-smol --example feed -- [--channel NAME]... [--auth JSON] [--ca FILE] \
//!     [--exit-after MS] URL
//! ```
//!
//! `--channel` subscribes (repeatable; restored on every connection), `--auth` gives the params
//! of `public/auth` (sent first on every connection), `--ca` trusts an extra root certificate
//! (PEM) for `wss://`, `--exit-after` closes cleanly after MS and exits.
//!
//! Output: one JSON object per line on standard output, each with `"event"` and `"t_ms"`.
//! Exit status 0 after a clean close, 2 when the session stopped on a fatal error or gave up,
//! 1 on bad usage.

use std::time::{Duration, Instant};

use bind_smol::{Endpoint, Event, Options};
use futures_lite::StreamExt;
use reconnect_core::adapters::{JsonRpcAdapter, JsonRpcConfig, SeqPointer};
use reconnect_core::{Config, Event as CoreEvent, Session, StopReason};
use serde_json::{json, Value};

const USAGE: &str =
    "usage: feed [--channel NAME]... [--auth JSON] [--ca FILE] [--exit-after MS] URL";

struct Args {
    url: String,
    channels: Vec<String>,
    auth: Option<Value>,
    ca: Option<String>,
    exit_after: Option<Duration>,
}

fn parse_args(mut args: impl Iterator<Item = String>) -> Result<Args, String> {
    let mut parsed = Args {
        url: String::new(),
        channels: Vec::new(),
        auth: None,
        ca: None,
        exit_after: None,
    };
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or(format!("{arg} needs a value"));
        match arg.as_str() {
            "--channel" => parsed.channels.push(value()?),
            "--auth" => {
                let v = value()?;
                parsed.auth =
                    Some(serde_json::from_str(&v).map_err(|e| format!("--auth: not JSON: {e}"))?);
            }
            "--ca" => {
                let path = value()?;
                parsed.ca = Some(
                    std::fs::read_to_string(&path)
                        .map_err(|e| format!("--ca: cannot read {path}: {e}"))?,
                );
            }
            "--exit-after" => {
                let v = value()?;
                let ms = v.parse().map_err(|_| format!("--exit-after: {v:?}"))?;
                parsed.exit_after = Some(Duration::from_millis(ms));
            }
            url if !url.starts_with("--") && parsed.url.is_empty() => parsed.url = url.to_owned(),
            other => return Err(format!("unexpected argument {other:?}")),
        }
    }
    if parsed.url.is_empty() {
        return Err("no URL".into());
    }
    Ok(parsed)
}

fn setup(args: &Args) -> Result<(Session<JsonRpcAdapter>, Endpoint), String> {
    let adapter = JsonRpcAdapter::new(
        JsonRpcConfig::default().seq_pointer(Some(SeqPointer::parse("/seq").expect("valid"))),
    );
    // A seed derived from the URL: stable per feed, different across feeds.
    let mut session =
        Session::new(Config::for_client(&args.url), adapter).map_err(|e| e.to_string())?;
    if let Some(auth) = &args.auth {
        session.set_credentials(JsonRpcAdapter::auth_params(auth).map_err(|e| e.to_string())?);
    }
    let now = Instant::now();
    for channel in &args.channels {
        session
            .subscribe(now, channel.as_str())
            .map_err(|e| e.to_string())?;
    }
    let mut endpoint = Endpoint::new(&args.url).map_err(|e| e.to_string())?;
    if let Some(pem) = &args.ca {
        endpoint = endpoint
            .tls_config(bind_smol::tls::config_with_pem_roots(pem).map_err(|e| e.to_string())?);
    }
    Ok((session, endpoint))
}

/// The JSON line for an event, if it is worth one.
fn line_for(event: &CoreEvent) -> Option<Value> {
    Some(match event {
        CoreEvent::Connecting { attempt, .. } => json!({"event": "connecting", "attempt": attempt}),
        CoreEvent::Connected { .. } => json!({"event": "connected"}),
        CoreEvent::Live {
            restored, outage, ..
        } => {
            json!({"event": "live", "restored": restored, "outage_ms": outage.as_millis() as u64})
        }
        CoreEvent::Message {
            topic, seq, frame, ..
        } => {
            let data = frame
                .as_text()
                .and_then(|t| serde_json::from_str::<Value>(t).ok())
                .and_then(|v| v.pointer("/params/data").cloned())
                .unwrap_or(Value::Null);
            json!({"event": "message", "channel": topic.as_ref().map(|t| t.as_str()), "seq": seq, "data": data})
        }
        CoreEvent::Gap {
            topic,
            expected,
            received,
        } => {
            json!({"event": "gap", "channel": topic.as_str(), "expected": expected, "received": received})
        }
        CoreEvent::Disconnected { cause, .. } => {
            json!({"event": "disconnected", "cause": cause.to_string()})
        }
        CoreEvent::ReconnectScheduled { attempt, delay, .. } => {
            json!({"event": "reconnect_scheduled", "attempt": attempt, "delay_ms": delay.drawn.as_millis() as u64})
        }
        CoreEvent::Stopped { reason } => {
            json!({"event": "stopped", "reason": format!("{reason:?}")})
        }
        _ => return None,
    })
}

fn main() {
    let args = match parse_args(std::env::args().skip(1)) {
        Ok(args) => args,
        Err(e) => {
            eprintln!("{e}\n{USAGE}");
            std::process::exit(1);
        }
    };
    let (session, endpoint) = match setup(&args) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(1);
        }
    };
    let started = Instant::now();
    let status = smol::block_on(async {
        let (handle, mut events, task) = bind_smol::connect(session, endpoint, Options::default());
        smol::spawn(task).detach();
        if let Some(after) = args.exit_after {
            let handle = handle.clone();
            smol::spawn(async move {
                async_io::Timer::after(after).await;
                handle.close().await;
            })
            .detach();
        }
        let mut status = 0;
        while let Some(event) = events.next().await {
            let Event::Session(event) = event else {
                eprintln!("{event:?}");
                continue;
            };
            if let CoreEvent::Stopped { reason } = &event {
                if !matches!(reason, StopReason::Closed { .. }) {
                    status = 2;
                }
            }
            if let Some(mut line) = line_for(&event) {
                line["t_ms"] = json!(started.elapsed().as_millis() as u64);
                println!("{line}");
            }
        }
        status
    });
    std::process::exit(status);
}
