//! A JSON-RPC feed client riding through a scripted outage, over real sockets on 127.0.0.1.
//!
//! `cargo run -p bind-mio --example demo [-- --seconds N]` (default 20 s). The test kit's
//! in-process server injects, on a schedule: a TCP reset, a silent stall (the socket stays open,
//! nothing moves), a transient auth rejection, a refused subscription, a skipped sequence
//! number, and a restart. The client (a `reconnect_core::Session` with three channels, on a
//! `bind_mio::Driver`) rides through; the timeline shows one line per lifecycle event, and a
//! summary closes the run. While it runs, its metrics (the binding's `metrics` feature) are
//! served in the Prometheus text format on 127.0.0.1, at the URL it prints first.

use std::time::{Duration, Instant};

use bind_mio::{Driver, DriverConfig, Endpoint};
use reconnect_core::adapters::{JsonRpcAdapter, JsonRpcConfig, SeqPointer};
use reconnect_core::{BackoffConfig, Config, DelaySource, Event as CoreEvent, Jitter, Session};
use reconnect_testkit::server::{AuthRejection, Fault, Nack, RpcError, ServerConfig, TestServer};

const CHANNELS: [&str; 3] = [
    "book.BTC-PERPETUAL.100ms",
    "trades.BTC-PERPETUAL.raw",
    "ticker.ETH-PERPETUAL.100ms",
];

/// The faults, at fractions of the run, each with what it means in words.
fn script() -> Vec<(f64, &'static str, Vec<Fault>)> {
    vec![
        (0.10, "TCP reset", vec![Fault::Reset]),
        (
            0.22,
            "silent stall: the socket stays open, nothing moves",
            vec![Fault::SilentStall],
        ),
        (
            0.40,
            "close 1011, and the next auth is refused as too many requests",
            vec![
                Fault::RejectAuth(AuthRejection::Transient),
                Fault::Close {
                    code: 1011,
                    reason: "internal error".into(),
                },
            ],
        ),
        (
            0.55,
            "reset, and the resubscribe request (it holds the ETH ticker) is refused with 10028",
            vec![
                Fault::NackSubscribe {
                    channel: Some(CHANNELS[2].into()),
                    nack: Nack::Error(RpcError::too_many_requests()),
                },
                Fault::Reset,
            ],
        ),
        (
            0.68,
            "a trade goes missing (sequence number skipped)",
            vec![Fault::SkipSeq {
                channel: CHANNELS[1].into(),
            }],
        ),
        (
            0.80,
            "server restart, 1 s down",
            vec![Fault::Restart {
                downtime: Duration::from_secs(1),
            }],
        ),
    ]
}

fn seconds_from_args() -> Result<u64, String> {
    let mut args = std::env::args().skip(1);
    let mut seconds = 20;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--seconds" => {
                seconds = args
                    .next()
                    .and_then(|v| v.parse().ok())
                    .filter(|s| *s >= 5)
                    .ok_or("--seconds needs a whole number, at least 5")?;
            }
            "-h" | "--help" => {
                return Err("usage: demo [--seconds N]   (default 20)".into());
            }
            other => return Err(format!("unknown argument {other:?}; try --help")),
        }
    }
    Ok(seconds)
}

fn secs(d: Duration) -> String {
    format!("{}.{:03}s", d.as_secs(), d.subsec_millis())
}

/// One timeline line for a lifecycle event; `None` for data messages (they are only counted).
fn describe(event: &CoreEvent) -> Option<String> {
    Some(match event {
        CoreEvent::Connecting { conn, attempt } => format!("connect {conn}, attempt {attempt}"),
        CoreEvent::Connected { conn } => format!("connected {conn}"),
        CoreEvent::Authenticated { conn } => format!("authenticated on {conn}"),
        CoreEvent::Subscribed { topic, .. } => format!("subscribed {topic}"),
        CoreEvent::SubscribeRejected {
            topic,
            error,
            retry_in,
        } => match retry_in {
            Some(d) => format!(
                "subscription {topic} refused ({error}), retry in {}",
                secs(*d)
            ),
            None => format!("subscription {topic} refused for good ({error})"),
        },
        CoreEvent::Live {
            conn,
            resubscribed,
            outage,
        } => format!(
            "LIVE on {conn}: {resubscribed} channels resubscribed, {} since the outage began",
            secs(*outage)
        ),
        CoreEvent::Stable { conn } => format!("{conn} stable: backoff reset"),
        CoreEvent::Gap {
            topic,
            expected,
            received,
        } => format!("GAP on {topic}: expected {expected}, got {received}"),
        CoreEvent::Disconnected {
            conn,
            cause,
            uptime,
            disposition,
        } => format!(
            "disconnected {conn} after {}: {cause} -> {disposition:?}",
            secs(*uptime)
        ),
        CoreEvent::AttemptFailed {
            attempt,
            cause,
            disposition,
            ..
        } => format!("attempt {attempt} failed: {cause} -> {disposition:?}"),
        CoreEvent::ReconnectScheduled {
            attempt,
            delay,
            source,
            ..
        } => {
            let why = match source {
                DelaySource::Backoff => format!("backoff, base {}", secs(delay.base)),
                DelaySource::FirstRetry => "first retry after a stable connection".into(),
                DelaySource::RetryAfter { hint } => format!("server asked {}", secs(*hint)),
                DelaySource::CircuitOpen => "circuit open".into(),
                DelaySource::Immediate => "immediate".into(),
            };
            format!(
                "reconnect attempt {attempt} in {} ({why})",
                secs(delay.drawn)
            )
        }
        CoreEvent::ServerError { error, .. } => format!("server error: {error}"),
        CoreEvent::Stopped { reason } => format!("stopped: {reason}"),
        CoreEvent::Message { .. } => return None,
        other => format!("{other:?}"),
    })
}

#[derive(Default)]
struct Tally {
    lives: u64,
    restore_total: Duration,
    restore_max: Duration,
    messages: u64,
    gaps: u64,
    attempts: u64,
    failed: u64,
}

impl Tally {
    fn observe(&mut self, event: &CoreEvent) {
        match event {
            CoreEvent::Live { outage, .. } => {
                if self.lives > 0 {
                    self.restore_total += *outage;
                    self.restore_max = self.restore_max.max(*outage);
                }
                self.lives += 1;
            }
            CoreEvent::Message { .. } => self.messages += 1,
            CoreEvent::Gap { .. } => self.gaps += 1,
            CoreEvent::Connecting { .. } => self.attempts += 1,
            CoreEvent::AttemptFailed { .. } => self.failed += 1,
            _ => {}
        }
    }
}

fn main() {
    let seconds = match seconds_from_args() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(1);
        }
    };
    let run = Duration::from_secs(seconds);
    let server =
        TestServer::start(ServerConfig::default().data_interval(Duration::from_millis(100)))
            .expect("a local server on 127.0.0.1");

    let mut backoff = BackoffConfig::default();
    backoff.initial = Duration::from_millis(100);
    backoff.max = Duration::from_secs(2);
    backoff.jitter = Jitter::Full;
    backoff.min_uptime = Duration::from_secs(1);
    let mut config = Config::for_client("bind-mio-demo");
    config.backoff = backoff;
    config.liveness.ping_interval = Some(Duration::from_millis(500));
    config.liveness.pong_timeout = Duration::from_millis(700);
    config.timeouts.connect = Duration::from_secs(2);
    config.resubscribe.nack_retry_initial = Duration::from_millis(500);
    let adapter = JsonRpcAdapter::new(
        JsonRpcConfig::default()
            .seq_pointer(Some(SeqPointer::parse("/seq").expect("a valid pointer"))),
    );
    let mut session = Session::new(config, adapter).expect("a valid config");
    session.set_credentials(JsonRpcAdapter::client_credentials("demo", "demo-secret"));
    let now = Instant::now();
    for channel in CHANNELS {
        session
            .subscribe(now, channel)
            .expect("room for three topics");
    }

    let mut driver = Driver::new(DriverConfig::default()).expect("a mio poll");
    let endpoint = Endpoint::new(&server.url("demo")).expect("the kit's URL is valid");

    println!(
        "A JSON-RPC feed on {} ({} channels, 10 messages per channel per second) for {seconds} s, \
         through scripted faults.\n",
        server.addr(),
        CHANNELS.len()
    );
    // Installed before the session is added, whose metrics are registered with it.
    match bind_support::metrics_http::start(([127, 0, 0, 1], 0).into()) {
        Ok(url) => println!("Metrics (Prometheus text) while it runs: curl {url}\n"),
        Err(e) => eprintln!("no metrics: {e}"),
    }
    let started = Instant::now();
    let id = driver.add_named_session(session, endpoint, "demo");
    let mut faults = script().into_iter().peekable();
    let mut tally = Tally::default();
    let mut faults_injected = 0;
    let mut closing = false;
    loop {
        let elapsed = started.elapsed();
        if let Some((at, _, _)) = faults.peek() {
            if elapsed >= run.mul_f64(*at) {
                let (_, what, list) = faults.next().expect("peeked");
                println!("+{:>8}  !! fault: {what}", secs(elapsed));
                for fault in list {
                    server.inject(fault);
                }
                faults_injected += 1;
            }
        }
        if !closing && elapsed >= run {
            println!("+{:>8}  closing", secs(elapsed));
            driver
                .handle(id)
                .expect("the session is there")
                .close()
                .expect("the driver is running");
            closing = true;
        }
        driver
            .run_once(Some(Duration::from_millis(20)))
            .expect("the poll does not fail");
        let mut stopped = false;
        while let Some((_, event)) = driver.poll_event() {
            tally.observe(&event);
            stopped |= matches!(event, CoreEvent::Stopped { .. });
            if let Some(line) = describe(&event) {
                println!("+{:>8}  {line}", secs(started.elapsed()));
            }
        }
        if stopped {
            break;
        }
    }

    let survived = tally.lives.saturating_sub(1);
    let mean = match u32::try_from(survived) {
        Ok(0) | Err(_) => Duration::ZERO,
        Ok(n) => tally.restore_total / n,
    };
    println!();
    println!("wall time           {}", secs(started.elapsed()));
    println!("faults injected     {faults_injected}");
    println!("outages survived    {survived}");
    println!(
        "time to resubscribe mean {}, max {}",
        secs(mean),
        secs(tally.restore_max)
    );
    println!(
        "attempts            {} ({} failed)",
        tally.attempts, tally.failed
    );
    println!("messages received   {}", tally.messages);
    println!("gaps reported       {}", tally.gaps);
}
