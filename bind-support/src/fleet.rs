//! What every many-session test and benchmark of both bindings sets up the same way: the fleet
//! session (JSON-RPC, one subscription, full-jitter backoff, pings) and the descriptor limit.
//! Included by both bindings' test support and fleet benchmarks.

use std::time::{Duration, Instant};

use reconnect_core::adapters::{JsonRpcAdapter, JsonRpcConfig, SeqPointer};
use reconnect_core::{BackoffConfig, Config, Jitter, Session};
use reconnect_testkit::bench::{run_server_child, ServerProcess, SERVER_FLAG};

/// The timing of one fleet's sessions.
pub struct FleetTiming {
    /// The backoff's first and largest delays (full jitter).
    pub backoff: (Duration, Duration),
    /// The ping interval and the pong timeout.
    pub liveness: (Duration, Duration),
    /// The connect deadline.
    pub connect: Duration,
}

impl FleetTiming {
    /// Quick enough for a test: 50..500 ms backoff, pings every 2 s.
    pub const TEST: FleetTiming = FleetTiming {
        backoff: (Duration::from_millis(50), Duration::from_millis(500)),
        liveness: (Duration::from_secs(2), Duration::from_secs(3)),
        connect: Duration::from_secs(5),
    };

    /// A production-like fleet at rest: 100 ms..2 s backoff, pings every 30 s.
    pub const BENCH: FleetTiming = FleetTiming {
        backoff: (Duration::from_millis(100), Duration::from_secs(2)),
        liveness: (Duration::from_secs(30), Duration::from_secs(10)),
        connect: Duration::from_secs(10),
    };
}

/// A JSON-RPC session subscribed to `a`, with sequence numbers at `/seq`. Per-session seeds
/// spread the reconnects over the backoff window.
pub fn fleet_session(seed: u64, timing: &FleetTiming) -> Session<JsonRpcAdapter> {
    let mut backoff = BackoffConfig::default();
    backoff.initial = timing.backoff.0;
    backoff.max = timing.backoff.1;
    backoff.jitter = Jitter::Full;
    backoff.min_uptime = Duration::from_secs(1);
    let mut config = Config::new(seed);
    config.backoff = backoff;
    config.liveness.ping_interval = Some(timing.liveness.0);
    config.liveness.pong_timeout = timing.liveness.1;
    config.timeouts.connect = timing.connect;
    let adapter = JsonRpcAdapter::new(
        JsonRpcConfig::default().seq_pointer(Some(SeqPointer::parse("/seq").unwrap())),
    );
    let mut session = Session::new(config, adapter).unwrap();
    session
        .subscribe(Instant::now(), "a")
        .expect("an empty registry takes a topic");
    session
}

/// Raises `RLIMIT_NOFILE` for `per_session` descriptors per session plus room for the runtime;
/// panics if the system does not allow at least `needed_per_session` each.
pub fn raise_fd_limit(sessions: usize, per_session: usize, needed_per_session: usize) {
    let wanted = (per_session * sessions + 1024) as u64;
    let got = rlimit::increase_nofile_limit(wanted).unwrap();
    assert!(
        got >= (needed_per_session * sessions + 64) as u64,
        "RLIMIT_NOFILE only {got}: cannot hold {sessions} sessions"
    );
}

/// The connection budget of a fleet bench, the same for both bindings (bind-mio's default):
/// attempts per second and burst.
pub const BENCH_BUDGET: (u32, u32) = (1000, 100);

/// The fleet bench's connection budget: [`BENCH_BUDGET`], or `None` with `--no-budget`.
pub fn bench_budget() -> Option<(u32, u32)> {
    let off = std::env::args().any(|a| a == "--no-budget");
    (!off).then_some(BENCH_BUDGET)
}

/// How a fleet bench names its budget in what it prints.
pub fn budget_label(budget: Option<(u32, u32)>) -> String {
    match budget {
        Some((rate, burst)) => format!("connect budget {rate}/s, burst {burst}"),
        None => "no connect budget".to_owned(),
    }
}

/// The value of `--sessions N` among `args`, or `default`.
fn sessions_arg(args: &[String], default: usize) -> usize {
    args.iter()
        .position(|a| a == "--sessions")
        .and_then(|i| args.get(i + 1))
        .map_or(default, |n| n.parse().expect("--sessions N"))
}

/// A fleet bench's start, for `package`'s bench binary `fleet`. As the server child (the
/// binary re-executed with [`SERVER_FLAG`]) it serves until told to stop and returns `None`;
/// without cargo's `--bench` it says how to run it and returns `None`. Otherwise it raises the
/// descriptor limit for `--sessions N` (default 10,000) sessions, starts the server child, and
/// returns the session count, the server and one client URL per session.
pub fn bench_start(package: &str) -> Option<(usize, ServerProcess, Vec<String>)> {
    let args: Vec<String> = std::env::args().collect();
    if args.iter().any(|a| a == SERVER_FLAG) {
        run_server_child();
        return None;
    }
    if !args.iter().any(|a| a == "--bench") {
        println!("fleet: run with `cargo bench -p {package} --bench fleet`");
        return None;
    }
    let sessions = sessions_arg(&args, 10_000);
    // One descriptor per session in this process (the server's are in the child).
    raise_fd_limit(sessions, 1, 1);
    let server = ServerProcess::start().expect("the server process starts");
    let urls = (0..sessions)
        .map(|i| server.url(&format!("c{i}")))
        .collect();
    Some((sessions, server, urls))
}
