//! `wsfeed`: follow a JSON-RPC WebSocket feed from the command line, reconnecting as needed.
//!
//! ```text
//! cargo run -p bind-mio --example wsfeed -- [OPTIONS] URL
//! ```
//!
//! Options: `--channel NAME` (repeatable), `--auth JSON` (params of `public/auth`, sent after
//! every connect), `--heartbeat SECS` (`public/set_heartbeat` as setup), `--ping-interval MS`,
//! `--pong-timeout MS`, `--idle-timeout MS`, `--connect-timeout MS`, `--backoff-initial MS`,
//! `--backoff-max MS`, `--jitter none|full|equal|decorrelated`, `--min-uptime MS`,
//! `--max-attempts N`, `--seed N`, `--seq-pointer POINTER` (JSON pointer into a notification's
//! `data` to its sequence number), `--ca FILE` (an extra root certificate, PEM), `--exit-after
//! MS` (close cleanly after MS and exit).
//!
//! Commands on standard input, one per line: `sub NAME`, `unsub NAME`, `send TEXT`,
//! `reconnect`, `close`.
//!
//! Output: one JSON object per line on standard output, each with `"event"` and `"t_ms"`
//! (milliseconds since start), and a final `stats` object. Exit status 0 after `--exit-after` or
//! `close`, 2 when the session stopped on a fatal error or gave up, 1 on bad usage. Diagnostics
//! go to standard error.

use std::io::{BufRead, Write};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bind_mio::{Driver, DriverConfig, Endpoint, Event, SessionHandle};
use reconnect_core::adapters::{JsonRpcAdapter, JsonRpcConfig, SeqPointer};
use reconnect_core::StopReason;
use reconnect_core::{BackoffConfig, Config, Event as CoreEvent, Frame, Jitter, Session};
use serde_json::{json, Value};

const USAGE: &str = "usage: wsfeed [OPTIONS] URL
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
stdin commands: sub NAME | unsub NAME | send TEXT | reconnect | close";

/// Everything the command line says.
struct Options {
    url: String,
    channels: Vec<String>,
    auth: Option<Value>,
    config: Config,
    adapter: JsonRpcConfig,
    ca: Option<String>,
    exit_after: Option<Duration>,
}

fn parse_args(args: impl Iterator<Item = String>) -> Result<Options, String> {
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

/// Trusts the web PKI roots plus the certificates in `pem`.
fn with_extra_root(pem: &str) -> Result<Arc<rustls::ClientConfig>, String> {
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::CertificateDer;
    let mut roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    let mut added = 0;
    for cert in CertificateDer::pem_slice_iter(pem.as_bytes()) {
        let cert = cert.map_err(|e| format!("--ca: bad PEM: {e:?}"))?;
        roots.add(cert).map_err(|e| format!("--ca: {e}"))?;
        added += 1;
    }
    if added == 0 {
        return Err("--ca: no certificate in the file".into());
    }
    Ok(bind_mio::tls::config_with_roots(roots))
}

fn setup(options: Options) -> Result<(Session<JsonRpcAdapter>, Endpoint), String> {
    let mut session = Session::new(options.config, JsonRpcAdapter::new(options.adapter))
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
        endpoint = endpoint.tls_config(with_extra_root(pem)?);
    }
    Ok((session, endpoint))
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
fn line_for(event: &CoreEvent) -> Option<Value> {
    Some(match event {
        CoreEvent::Connecting { conn, attempt } => {
            json!({"event": "connecting", "conn": conn.get(), "attempt": attempt})
        }
        CoreEvent::Connected { conn } => json!({"event": "connected", "conn": conn.get()}),
        CoreEvent::Authenticated { conn } => {
            json!({"event": "authenticated", "conn": conn.get()})
        }
        CoreEvent::Subscribed { conn, topic } => {
            json!({"event": "subscribed", "conn": conn.get(), "channel": topic.as_str()})
        }
        CoreEvent::Live { conn, .. } => json!({"event": "live", "conn": conn.get()}),
        CoreEvent::Message {
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
        CoreEvent::Gap {
            topic,
            expected,
            received,
        } => {
            json!({"event": "gap", "channel": topic.as_str(), "expected": expected, "got": received})
        }
        CoreEvent::Disconnected { conn, cause, .. } => {
            json!({"event": "disconnected", "conn": conn.get(), "reason": cause.to_string()})
        }
        CoreEvent::ReconnectScheduled { attempt, delay, .. } => json!({
            "event": "reconnect_scheduled",
            "attempt": attempt,
            "delay_ms": delay.drawn.as_millis() as u64,
        }),
        CoreEvent::Stopped { reason } => {
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

/// Reads commands from standard input and passes them to the session.
fn read_commands(handle: SessionHandle) {
    let stdin = std::io::stdin();
    for line in stdin.lock().lines() {
        let Ok(line) = line else { return };
        let line = line.trim();
        let (word, rest) = line.split_once(' ').unwrap_or((line, ""));
        let result = match (word, rest.trim()) {
            ("", _) => continue,
            ("sub", name) if !name.is_empty() => handle.subscribe(name),
            ("unsub", name) if !name.is_empty() => handle.unsubscribe(name),
            ("send", text) if !text.is_empty() => handle.send(text),
            ("reconnect", "") => handle.reconnect_now(),
            ("close", "") => handle.close(),
            _ => {
                eprintln!("wsfeed: unknown command {line:?} (sub NAME | unsub NAME | send TEXT | reconnect | close)");
                continue;
            }
        };
        if let Err(e) = result {
            eprintln!("wsfeed: {e}");
            return;
        }
    }
}

fn main() {
    let options = match parse_args(std::env::args().skip(1)) {
        Ok(o) => o,
        Err(e) => {
            if !e.is_empty() {
                eprintln!("wsfeed: {e}");
            }
            eprintln!("{USAGE}");
            std::process::exit(1);
        }
    };
    let exit_after = options.exit_after;
    let (session, endpoint) = match setup(options) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("wsfeed: {e}");
            std::process::exit(1);
        }
    };
    let mut driver = match Driver::new(DriverConfig::default()) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("wsfeed: cannot create the event loop: {e}");
            std::process::exit(1);
        }
    };
    let started = Instant::now();
    let id = driver.add_session(session, endpoint);
    let handle = driver.handle(id).expect("just added");
    std::thread::Builder::new()
        .name("wsfeed-stdin".into())
        .spawn(move || read_commands(handle.clone()))
        .expect("a thread for standard input");

    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let mut emit = |mut line: Value| {
        line["t_ms"] = json!(started.elapsed().as_millis() as u64);
        // A closed stdout (`| head`) ends the tool quietly.
        if writeln!(out, "{line}").and_then(|()| out.flush()).is_err() {
            std::process::exit(0);
        }
    };
    let mut closing = false;
    let status = 'run: loop {
        if let Some(after) = exit_after {
            if !closing && started.elapsed() >= after {
                closing = true;
                let _ = driver.with_session(id, |s, now| s.close(now));
            }
        }
        let wait = match exit_after {
            Some(after) if !closing => after
                .saturating_sub(started.elapsed())
                .min(Duration::from_secs(1)),
            _ => Duration::from_secs(1),
        };
        if let Err(e) = driver.run_once(Some(wait)) {
            eprintln!("wsfeed: the event loop failed: {e}");
            break 'run 1;
        }
        while let Some((_, event)) = driver.poll_event() {
            match event {
                Event::Session(event) => {
                    if let Some(line) = line_for(&event) {
                        emit(line);
                    }
                    if let CoreEvent::Stopped { reason } = event {
                        break 'run match reason {
                            StopReason::Closed { .. } => 0,
                            _ => 2,
                        };
                    }
                }
                Event::Refused(refused) => {
                    eprintln!("wsfeed: {refused}");
                }
                _ => {}
            }
        }
    };
    if let Some(session) = driver.session(id) {
        let s = session.stats();
        emit(json!({
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
        }));
    }
    std::process::exit(status);
}
