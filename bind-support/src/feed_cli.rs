//! The feed tool's command line (the tool itself is the `reconnect-feed` crate, run as `feed`,
//! or as bind-mio's `wsfeed` and bind-smol's `feed` examples): options, stdin commands and
//! their parsing. Nothing here is runtime-specific; `--runtime` only names the binding.

use std::time::{Duration, Instant};

use reconnect_core::adapters::{JsonRpcAdapter, JsonRpcConfig, SeqPointer};
use reconnect_core::{
    BackoffConfig, CircuitBreaker, Command, Config, Credentials, Frame, Jitter, SendOptions,
    Session, Topic,
};
use reconnect_tungstenite::Endpoint;
use serde_json::Value;

use crate::stdin_lines::{Line, MAX_LINE};

/// The longest duration any option takes: a year. Longer ones are typing mistakes, and the
/// deadlines they would make are past what a clock can add.
const MAX_MS: u64 = 365 * 24 * 3600 * 1000;

/// The most commands `--command-queue` lets wait.
const MAX_COMMAND_QUEUE: usize = 1 << 20;

/// The binding that drives the session: the one difference between the tool's runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Runtime {
    /// bind-mio: the session on a `mio` driver thread, stdin on a thread of its own.
    Mio,
    /// bind-smol: the session as a `smol` task, stdin on smol's blocking pool.
    Smol,
}

impl Runtime {
    /// The name `--runtime` takes.
    pub fn name(self) -> &'static str {
        match self {
            Runtime::Mio => "mio",
            Runtime::Smol => "smol",
        }
    }
}

/// The usage text of `tool`, whose default runtime is `runtime`.
pub fn usage(tool: &str, runtime: Runtime, event_lines: &str) -> String {
    format!(
        "usage: {tool} [OPTIONS] URL
  --runtime mio|smol        the binding that drives the session (default: {runtime})
  --channel NAME            subscribe to NAME (repeatable)
  --auth JSON               params of public/auth, sent after every connect; also the answer
                            when the server asks for new credentials (once per refusal: a
                            second refusal in a row stops the tool with status 2)
  --heartbeat SECS          ask for server heartbeats (public/set_heartbeat) and answer them
                            (0.001 to 31536000 seconds)
  --ping-interval MS        WebSocket ping after MS of silence (0: never)
  --pong-timeout MS         dead when nothing arrives MS after a ping
  --idle-timeout MS         dead after MS without data while subscribed
  --connect-timeout MS      TCP + TLS + upgrade deadline
  --close-timeout MS        how long a close waits for the server's close frame (default 5000)
  --backoff-initial MS      first reconnect delay (at least 1)
  --backoff-max MS          largest reconnect delay
  --jitter MODE             none | full | equal | decorrelated
  --min-uptime MS           a connection live this long resets the backoff
  --max-attempts N          give up after N consecutive failed attempts (at least 1)
  --circuit-threshold N     open the circuit breaker after N consecutive failures
  --circuit-cooldown MS     how long it stays open before a probe (default 30000)
  --seed N                  jitter seed
  --seq-pointer POINTER     JSON pointer into a notification's data to its sequence number
  --max-frame-len BYTES     the largest frame the session writes (sends, and the requests it
                            builds itself: a larger one is refused with its reason)
  --ca FILE                 also trust this root certificate (PEM)
  --command-queue N         stdin commands that may wait for the session (default: the
                            binding's); the reader waits for room, it never drops one
  --exit-after MS           close cleanly after MS and exit
  --metrics ADDR            serve the session's metrics (Prometheus text) at
                            http://ADDR/metrics; ADDR is IP:PORT (port 0: any free port;
                            the URL is printed on stderr)
  Every MS is whole milliseconds, at most 31536000000 (a year); the timeouts at least 1.

stdin commands, one per line: sub NAME | unsub NAME | send TEXT | reconnect | close
  reconnect sends a close frame and connects again at once; a refused command (a send too
  large, a command after the end) is a `refused` line on stdout.
  A line that is not UTF-8 or not a command, or longer than {max_kib} KiB (reported by its
  length), is reported on stderr and skipped.

close and --exit-after: the session sends a close frame and waits for the server's close
  frame at most --close-timeout (5000 ms unless set); then, answered or not, it releases the
  socket, prints `stopped` (clean: false when the server never answered) and the final
  `stats`, and exits with status 0. Exit status 2: the session stopped on a fatal error or
  gave up; 1: bad usage.

{event_lines}",
        runtime = runtime.name(),
        max_kib = MAX_LINE / 1024
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
    /// `--command-queue`: how many stdin commands may wait for the session.
    pub command_queue: Option<usize>,
    /// `--exit-after`.
    pub exit_after: Option<Duration>,
    /// `--metrics`: where to serve the metrics.
    pub metrics: Option<std::net::SocketAddr>,
    /// `--runtime`: the binding, when the command line names one.
    pub runtime: Option<Runtime>,
}

impl Options {
    /// The `--auth` credentials, the answer to the session's requests for new ones.
    ///
    /// # Errors
    /// `--auth` is not a JSON object the adapter can send.
    pub fn credentials(&self) -> Result<Option<Credentials>, String> {
        self.auth
            .as_ref()
            .map(|auth| JsonRpcAdapter::auth_params(auth).map_err(|e| format!("--auth: {e}")))
            .transpose()
    }
}

/// `value` of `option` as an integer in `min..=max`; the error names both.
fn integer<T>(option: &str, value: &str, min: T, max: T) -> Result<T, String>
where
    T: std::str::FromStr + PartialOrd + std::fmt::Display + Copy,
{
    // `parse` takes a leading `+`; a number on the command line does not need one.
    let parsed = (!value.starts_with('+'))
        .then(|| value.parse::<T>().ok())
        .flatten();
    match parsed {
        Some(n) if n >= min && n <= max => Ok(n),
        _ => Err(format!(
            "{option}: {value:?} is not a whole number from {min} to {max}"
        )),
    }
}

/// `value` of `option` as whole milliseconds, at least `min_ms`.
fn millis(option: &str, value: &str, min_ms: u64) -> Result<Duration, String> {
    integer(option, value, min_ms, MAX_MS).map(Duration::from_millis)
}

/// `value` of `option` as seconds (a decimal number), from a millisecond to a year.
fn seconds(option: &str, value: &str) -> Result<Duration, String> {
    let max = Duration::from_millis(MAX_MS);
    value
        .parse::<f64>()
        .ok()
        .and_then(|s| Duration::try_from_secs_f64(s).ok())
        .filter(|d| *d >= Duration::from_millis(1) && *d <= max)
        .ok_or(format!(
            "{option}: {value:?} is not a number of seconds from 0.001 to {}",
            max.as_secs()
        ))
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
    let mut command_queue = None;
    let mut exit_after = None;
    let mut metrics = None;
    let mut seed = None;
    let mut circuit_threshold = None;
    let mut circuit_cooldown = None;
    let mut runtime = None;
    while let Some(arg) = args.next() {
        if !arg.starts_with("--") {
            if url.replace(arg).is_some() {
                return Err("only one URL".into());
            }
            continue;
        }
        let option = arg.as_str();
        let mut value = || args.next().ok_or(format!("{option} needs a value"));
        match option {
            "--channel" => channels.push(value()?),
            "--auth" => {
                let v = value()?;
                auth =
                    Some(serde_json::from_str(&v).map_err(|e| format!("--auth: not JSON: {e}"))?);
            }
            "--heartbeat" => {
                let interval = seconds(option, &value()?)?;
                adapter = adapter.server_heartbeat(Some(interval));
            }
            "--ping-interval" => {
                let d = millis(option, &value()?, 0)?;
                config.liveness.ping_interval = (!d.is_zero()).then_some(d);
            }
            "--pong-timeout" => config.liveness.pong_timeout = millis(option, &value()?, 1)?,
            "--idle-timeout" => {
                config.liveness.idle_timeout = Some(millis(option, &value()?, 1)?);
            }
            "--connect-timeout" => config.timeouts.connect = millis(option, &value()?, 1)?,
            "--close-timeout" => config.timeouts.close = millis(option, &value()?, 1)?,
            "--backoff-initial" => backoff.initial = millis(option, &value()?, 1)?,
            "--backoff-max" => backoff.max = millis(option, &value()?, 1)?,
            "--min-uptime" => backoff.min_uptime = millis(option, &value()?, 0)?,
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
                config.limits.max_attempts = Some(integer(option, &value()?, 1, u32::MAX)?);
            }
            "--circuit-threshold" => {
                circuit_threshold = Some(integer(option, &value()?, 1, u32::MAX)?);
            }
            "--circuit-cooldown" => circuit_cooldown = Some(millis(option, &value()?, 1)?),
            "--seed" => seed = Some(integer(option, &value()?, 0, u64::MAX)?),
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
            "--command-queue" => {
                command_queue = Some(integer(option, &value()?, 1, MAX_COMMAND_QUEUE)?);
            }
            "--exit-after" => exit_after = Some(millis(option, &value()?, 0)?),
            "--metrics" => {
                let v = value()?;
                metrics = Some(v.parse().map_err(|_| {
                    format!("--metrics: {v:?} is not an address IP:PORT (127.0.0.1:9100, [::1]:0)")
                })?);
            }
            "--runtime" => {
                runtime = Some(match value()?.as_str() {
                    "mio" => Runtime::Mio,
                    "smol" => Runtime::Smol,
                    other => return Err(format!("--runtime: {other:?} is not mio or smol")),
                })
            }
            "--max-frame-len" => {
                config.max_frame_len = integer(option, &value()?, 1, usize::MAX)?;
            }
            "--help" => return Err(String::new()),
            other => return Err(format!("unknown option {other}")),
        }
    }
    let url = url.ok_or("a URL is required")?;
    if backoff.initial > backoff.max {
        return Err(format!(
            "--backoff-initial ({} ms) must not exceed --backoff-max ({} ms)",
            backoff.initial.as_millis(),
            backoff.max.as_millis()
        ));
    }
    config.limits.circuit_breaker = match (circuit_threshold, circuit_cooldown) {
        (Some(threshold), cooldown) => Some(CircuitBreaker {
            threshold,
            cooldown: cooldown.unwrap_or(Duration::from_secs(30)),
        }),
        (None, Some(_)) => return Err("--circuit-cooldown needs --circuit-threshold".into()),
        (None, None) => None,
    };
    // Without --seed, the seed comes from the URL: stable per feed, different across feeds.
    config.seed = seed.unwrap_or_else(|| Config::for_client(&url).seed);
    config.backoff = backoff;
    config.validate().map_err(|e| e.to_string())?;
    Ok(Options {
        url,
        channels,
        auth,
        config,
        adapter,
        ca,
        command_queue,
        exit_after,
        metrics,
        runtime,
    })
}

/// The session (credentials set, channels wanted) and the endpoint the options describe.
pub fn setup(options: &Options) -> Result<(Session<JsonRpcAdapter>, Endpoint), String> {
    let mut session = Session::new(
        options.config.clone(),
        JsonRpcAdapter::new(options.adapter.clone()),
    )
    .map_err(|e| e.to_string())?;
    if let Some(credentials) = options.credentials()? {
        session.set_credentials(credentials);
    }
    let now = Instant::now();
    for channel in &options.channels {
        session
            .subscribe(now, channel.as_str())
            .map_err(|e| e.to_string())?;
    }
    let mut endpoint = Endpoint::new(&options.url).map_err(|e| e.to_string())?;
    if let Some(pem) = &options.ca {
        let tls = reconnect_tungstenite::tls::config_with_extra_pem_roots(pem)
            .map_err(|e| format!("--ca: {e}"))?;
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
        ("unsub", name) if !name.is_empty() => Command::Unsubscribe(Topic::from(name)),
        ("send", text) if !text.is_empty() => {
            Command::Send(Frame::from(text), SendOptions::default())
        }
        ("reconnect", "") => Command::ReconnectNow,
        ("close", "") => Command::Close,
        _ => {
            return Err(format!(
                "unknown command {} (sub NAME | unsub NAME | send TEXT | reconnect | close)",
                excerpt(line)
            ))
        }
    }))
}

/// The most characters of a line a message quotes.
const EXCERPT: usize = 60;

/// `line` quoted for a message, its start only when it is long: a line may be up to 64 KiB,
/// and a diagnostic that repeats it whole floods standard error.
fn excerpt(line: &str) -> String {
    match line.char_indices().nth(EXCERPT) {
        None => format!("{line:?}"),
        Some((cut, _)) => format!("{:?}... ({} bytes)", &line[..cut], line.len()),
    }
}

/// A line of standard input, as [`BoundedLines`](crate::stdin_lines::BoundedLines) read it,
/// as a command: `Ok(None)` for a blank line, `Err` (the message to print; the reader skips the
/// line and goes on) for a line that is not UTF-8, not a command, or too long (the message
/// gives its length, never its content). `number` counts lines from 1, for the message.
pub fn command_of(number: u64, line: &Line) -> Result<Option<Command>, String> {
    match line {
        Line::Text(text) => {
            parse_command(text).map_err(|e| format!("stdin line {number}: {e}; skipped"))
        }
        Line::NotUtf8(_) => Err(format!("stdin line {number} is not UTF-8; skipped")),
        Line::TooLong { len } => Err(format!(
            "stdin line {number} is {len} bytes, longer than the {MAX_LINE} a line may have; skipped"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stdin_line_is_a_command_or_a_message_that_names_it_by_number() {
        let line = Line::Text("sub trades\r".to_owned());
        assert!(matches!(
            command_of(1, &line),
            Ok(Some(Command::Subscribe(topic))) if topic == Topic::from("trades")
        ));
        assert!(matches!(
            command_of(2, &Line::Text("  ".to_owned())),
            Ok(None)
        ));
        let not_utf8 = command_of(3, &Line::NotUtf8(b"sub \xff".to_vec())).unwrap_err();
        assert_eq!(not_utf8, "stdin line 3 is not UTF-8; skipped");
        let unknown = command_of(4, &Line::Text("frobnicate".to_owned())).unwrap_err();
        assert!(
            unknown.starts_with("stdin line 4: unknown command \"frobnicate\""),
            "{unknown}"
        );
    }

    #[test]
    fn an_unknown_command_is_quoted_whole_when_short_and_by_its_start_when_long() {
        let short = "x".repeat(EXCERPT);
        let message = parse_command(&short).unwrap_err();
        assert!(
            message.starts_with(&format!("unknown command \"{short}\" (")),
            "{message}"
        );
        // Multi-byte characters: the cut falls between characters.
        let long = "é".repeat(1000);
        let message = parse_command(&long).unwrap_err();
        let quoted = "é".repeat(EXCERPT);
        assert!(
            message.starts_with(&format!("unknown command \"{quoted}\"... (2000 bytes) (")),
            "{message}"
        );
    }

    #[test]
    fn a_too_long_line_is_reported_by_its_length_only() {
        let message = command_of(5, &Line::TooLong { len: 104_857_600 }).unwrap_err();
        assert_eq!(
            message,
            "stdin line 5 is 104857600 bytes, longer than the 65536 a line may have; skipped"
        );
    }
}
