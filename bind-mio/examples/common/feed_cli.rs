//! What the two feed followers share: bind-mio's `wsfeed` and bind-smol's `feed` take the same
//! options and stdin commands and print the same JSON lines; only the loop that drives the
//! session differs. (bind-smol's example includes this file; nothing here is runtime-specific.)

use std::time::{Duration, Instant};

use bind_mio::Endpoint;
use reconnect_core::adapters::{JsonRpcAdapter, JsonRpcConfig, SeqPointer};
use reconnect_core::{
    BackoffConfig, Command, Config, Event, Frame, Jitter, SendOptions, Session, Stats, StopReason,
    Topic,
};
use serde_json::{json, Value};

/// The usage text of `tool`.
pub fn usage(tool: &str) -> String {
    format!(
        "usage: {tool} [OPTIONS] URL
  --channel NAME            subscribe to NAME (repeatable)
  --auth JSON               params of public/auth, sent after every connect
  --heartbeat SECS          ask for server heartbeats (public/set_heartbeat) and answer them
  --ping-interval MS        WebSocket ping after MS of silence (0: never)
  --pong-timeout MS         dead when nothing arrives MS after a ping
  --idle-timeout MS         dead after MS without data while subscribed
  --connect-timeout MS      TCP + TLS + upgrade deadline
  --backoff-initial MS      first reconnect delay
  --backoff-max MS          largest reconnect delay
  --jitter MODE             none | full | equal | decorrelated
  --min-uptime MS           a connection live this long resets the backoff
  --max-attempts N          give up after N consecutive failed attempts
  --seed N                  jitter seed
  --seq-pointer POINTER     JSON pointer into a notification's data to its sequence number
  --ca FILE                 also trust this root certificate (PEM)
  --exit-after MS           close cleanly after MS and exit
stdin commands: sub NAME | unsub NAME | send TEXT | reconnect | close"
    )
}

/// Everything the command line says.
pub struct Options {
    url: String,
    channels: Vec<String>,
    auth: Option<Value>,
    config: Config,
    adapter: JsonRpcConfig,
    ca: Option<String>,
    /// `--exit-after`.
    pub exit_after: Option<Duration>,
}

/// Parses the arguments (without the program name). `Err("")` means `--help`.
pub fn parse_args(args: impl Iterator<Item = String>) -> Result<Options, String> {
    let mut args = args.peekable();
    let mut url = None;
    let mut channels = Vec::new();
    let mut auth = None;
    let mut config = Config::new(1);
    let mut backoff = BackoffConfig::default();
    let mut adapter = JsonRpcConfig::default();
    let mut ca = None;
    let mut exit_after = None;
    let mut seed = None;
    while let Some(arg) = args.next() {
        if !arg.starts_with("--") {
            if url.replace(arg).is_some() {
                return Err("only one URL".into());
            }
            continue;
        }
        let mut value = || args.next().ok_or(format!("{arg} needs a value"));
        let ms = |v: String| -> Result<Duration, String> {
            v.parse::<u64>()
                .map(Duration::from_millis)
                .map_err(|_| format!("{arg}: {v:?} is not a number of milliseconds"))
        };
        match arg.as_str() {
            "--channel" => channels.push(value()?),
            "--auth" => {
                let v = value()?;
                auth =
                    Some(serde_json::from_str(&v).map_err(|e| format!("--auth: not JSON: {e}"))?);
            }
            "--heartbeat" => {
                let v = value()?;
                let secs: f64 = v
                    .parse()
                    .ok()
                    .filter(|s: &f64| s.is_finite() && *s > 0.0)
                    .ok_or(format!("--heartbeat: {v:?} is not a positive number"))?;
                adapter = adapter.server_heartbeat(Some(Duration::from_secs_f64(secs)));
            }
            "--ping-interval" => {
                let d = ms(value()?)?;
                config.liveness.ping_interval = (!d.is_zero()).then_some(d);
            }
            "--pong-timeout" => config.liveness.pong_timeout = ms(value()?)?,
            "--idle-timeout" => config.liveness.idle_timeout = Some(ms(value()?)?),
            "--connect-timeout" => config.timeouts.connect = ms(value()?)?,
            "--backoff-initial" => backoff.initial = ms(value()?)?,
            "--backoff-max" => backoff.max = ms(value()?)?,
            "--min-uptime" => backoff.min_uptime = ms(value()?)?,
            "--jitter" => {
                backoff.jitter = match value()?.as_str() {
                    "none" => Jitter::None,
                    "full" => Jitter::Full,
                    "equal" => Jitter::Equal,
                    "decorrelated" => Jitter::Decorrelated,
                    other => return Err(format!("--jitter: unknown mode {other:?}")),
                }
            }
            "--max-attempts" => {
                let v = value()?;
                config.limits.max_attempts =
                    Some(v.parse().map_err(|_| format!("--max-attempts: {v:?}"))?);
            }
            "--seed" => {
                let v = value()?;
                seed = Some(v.parse().map_err(|_| format!("--seed: {v:?}"))?);
            }
            "--seq-pointer" => {
                let v = value()?;
                let pointer = SeqPointer::parse(&v).map_err(|e| format!("--seq-pointer: {e:?}"))?;
                adapter = adapter.seq_pointer(Some(pointer));
            }
            "--ca" => {
                let path = value()?;
                ca = Some(
                    std::fs::read_to_string(&path)
                        .map_err(|e| format!("--ca: cannot read {path}: {e}"))?,
                );
            }
            "--exit-after" => exit_after = Some(ms(value()?)?),
            "--help" => return Err(String::new()),
            other => return Err(format!("unknown option {other}")),
        }
    }
    let url = url.ok_or("a URL is required")?;
    // Without --seed, the seed comes from the URL: stable per feed, different across feeds.
    config.seed = seed.unwrap_or_else(|| reconnect_core::seed_from_client_id(&url));
    config.backoff = backoff;
    config.validate().map_err(|e| e.to_string())?;
    Ok(Options {
        url,
        channels,
        auth,
        config,
        adapter,
        ca,
        exit_after,
    })
}

/// The session (credentials set, channels wanted) and the endpoint the options describe.
pub fn setup(options: &Options) -> Result<(Session<JsonRpcAdapter>, Endpoint), String> {
    let mut session = Session::new(
        options.config.clone(),
        JsonRpcAdapter::new(options.adapter.clone()),
    )
    .map_err(|e| e.to_string())?;
    if let Some(auth) = &options.auth {
        session.set_credentials(JsonRpcAdapter::auth_params(auth).map_err(|e| e.to_string())?);
    }
    let now = Instant::now();
    for channel in &options.channels {
        session
            .subscribe(now, channel.as_str())
            .map_err(|e| e.to_string())?;
    }
    let mut endpoint = Endpoint::new(&options.url).map_err(|e| e.to_string())?;
    if let Some(pem) = &options.ca {
        let tls =
            bind_mio::tls::config_with_extra_pem_roots(pem).map_err(|e| format!("--ca: {e}"))?;
        endpoint = endpoint.tls_config(tls);
    }
    Ok((session, endpoint))
}

/// A line of standard input as a command: `Ok(None)` for a blank line, `Err` (the message to
/// print) for anything else that is not a command.
pub fn parse_command(line: &str) -> Result<Option<Command>, String> {
    let line = line.trim();
    let (word, rest) = line.split_once(' ').unwrap_or((line, ""));
    Ok(Some(match (word, rest.trim()) {
        ("", _) => return Ok(None),
        ("sub", name) if !name.is_empty() => Command::Subscribe(Topic::from(name)),
        ("unsub", name) if !name.is_empty() => Command::Unsubscribe(name.to_owned()),
        ("send", text) if !text.is_empty() => {
            Command::Send(Frame::from(text), SendOptions::default())
        }
        ("reconnect", "") => Command::ReconnectNow,
        ("close", "") => Command::Close,
        _ => {
            return Err(format!(
                "unknown command {line:?} (sub NAME | unsub NAME | send TEXT | reconnect | close)"
            ))
        }
    }))
}

/// The `data` of a notification (or the whole frame, as JSON if it is JSON, else as text).
fn message_data(frame: &Frame) -> Value {
    let text = match frame {
        Frame::Text(t) => t.as_str(),
        Frame::Binary(b) => return json!({ "binary_bytes": b.len() }),
    };
    match serde_json::from_str::<Value>(text) {
        Ok(v) => match v.pointer("/params/data") {
            Some(data) => data.clone(),
            None => v,
        },
        Err(_) => Value::String(text.to_owned()),
    }
}

/// The JSON line for an event, if it is one the tool reports.
pub fn line_for(event: &Event) -> Option<Value> {
    Some(match event {
        Event::Connecting { conn, attempt } => {
            json!({"event": "connecting", "conn": conn.get(), "attempt": attempt})
        }
        Event::Connected { conn } => json!({"event": "connected", "conn": conn.get()}),
        Event::Authenticated { conn } => {
            json!({"event": "authenticated", "conn": conn.get()})
        }
        Event::Subscribed { conn, topic } => {
            json!({"event": "subscribed", "conn": conn.get(), "channel": topic.as_str()})
        }
        Event::Live { conn, .. } => json!({"event": "live", "conn": conn.get()}),
        Event::Message {
            topic, seq, frame, ..
        } => {
            let mut line = json!({
                "event": "message",
                "channel": topic.as_ref().map(|t| t.as_str()),
                "data": message_data(frame),
            });
            if let Some(seq) = seq {
                line["seq"] = json!(seq);
            }
            line
        }
        Event::Gap {
            topic,
            expected,
            received,
        } => {
            json!({"event": "gap", "channel": topic.as_str(), "expected": expected, "got": received})
        }
        Event::Disconnected { conn, cause, .. } => {
            json!({"event": "disconnected", "conn": conn.get(), "reason": cause.to_string()})
        }
        Event::ReconnectScheduled { attempt, delay, .. } => json!({
            "event": "reconnect_scheduled",
            "attempt": attempt,
            "delay_ms": delay.drawn.as_millis() as u64,
        }),
        Event::Stopped { reason } => {
            json!({"event": "stopped", "reason": stop_text(reason)})
        }
        _ => return None,
    })
}

fn stop_text(reason: &StopReason) -> String {
    match reason {
        StopReason::Closed { clean } => format!("closed (clean: {clean})"),
        StopReason::Fatal(cause) => format!("fatal: {cause}"),
        StopReason::GaveUp { attempts } => format!("gave up after {attempts} attempts"),
        StopReason::OutageTooLong { outage } => format!("outage too long: {outage:?}"),
    }
}

/// The exit status for how the session stopped: 0 after a close, 2 otherwise.
pub fn exit_status(reason: &StopReason) -> i32 {
    match reason {
        StopReason::Closed { .. } => 0,
        _ => 2,
    }
}

/// The last line: the session's counters.
pub fn stats_line(s: &Stats) -> Value {
    json!({
        "event": "stats",
        "attempts": s.attempts,
        "successes": s.successes,
        "disconnects": s.disconnects,
        "reconnects": s.reconnects,
        "frames_in": s.frames_in,
        "frames_out": s.frames_out,
        "gaps": s.gaps,
        "uptime_ms": s.uptime.as_millis() as u64,
        "downtime_ms": s.downtime.as_millis() as u64,
    })
}

/// Writes one line with its `t_ms`; a closed standard output (`| head`) ends the tool quietly.
pub fn emit(out: &mut impl std::io::Write, started: Instant, mut line: Value) {
    line["t_ms"] = json!(started.elapsed().as_millis() as u64);
    if writeln!(out, "{line}").and_then(|()| out.flush()).is_err() {
        std::process::exit(0);
    }
}
