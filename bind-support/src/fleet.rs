//! What every many-session test and benchmark of both bindings sets up the same way: the fleet
//! session (JSON-RPC, one subscription, full-jitter backoff, pings) and the descriptor limit.
//! Included by both bindings' test support and fleet benchmarks.

use std::time::{Duration, Instant};

use reconnect_core::adapters::{JsonRpcAdapter, JsonRpcConfig, SeqPointer};
use reconnect_core::{BackoffConfig, Config, Jitter, Session};
use reconnect_testkit::bench::{
    process_cpu_time, result, run_server_child, ServerProcess, SERVER_FLAG,
};

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

/// The value of `--idle-secs S` among the arguments (how long a fleet bench idles while it
/// reads the CPU time of both processes), or 10 s.
pub fn idle_window() -> Duration {
    let args: Vec<String> = std::env::args().collect();
    let secs = args
        .iter()
        .position(|a| a == "--idle-secs")
        .and_then(|i| args.get(i + 1))
        .map_or(10.0, |s| s.parse::<f64>().expect("--idle-secs S"));
    Duration::from_secs_f64(secs)
}

/// CPU readings of the server child and of the bench's own process, to tell how much of a
/// core each uses over a stretch of wall time.
pub struct CpuWindow {
    at: Instant,
    server: Duration,
    own: Duration,
}

impl CpuWindow {
    /// Takes the first readings.
    pub fn start(server: &ServerProcess) -> CpuWindow {
        CpuWindow {
            at: Instant::now(),
            server: server.cpu_time().expect("the server's /proc/PID/stat"),
            own: process_cpu_time(std::process::id()).expect("this process's /proc/PID/stat"),
        }
    }

    /// The cores used since [`start`](CpuWindow::start) (CPU time over wall time), by the
    /// server and by this process.
    pub fn cores(&self, server: &ServerProcess) -> (f64, f64) {
        let wall = self.at.elapsed().as_secs_f64();
        let server_now = server.cpu_time().expect("the server's /proc/PID/stat");
        let own_now = process_cpu_time(std::process::id()).expect("this process's /proc/PID/stat");
        (
            (server_now - self.server).as_secs_f64() / wall,
            (own_now - self.own).as_secs_f64() / wall,
        )
    }
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

/// What a fleet bench measured, for [`print_results`].
pub struct FleetResults {
    /// The fleet's size.
    pub sessions: usize,
    /// From the first session added to the last one live.
    pub cold: Duration,
    /// `Connected` events during the cold start.
    pub cold_connections: usize,
    /// RSS growth per idle, live session, in bytes.
    pub per_session_bytes: f64,
    /// Cores the server child used while the fleet idled.
    pub server_idle_cores: f64,
    /// Cores the bench's own process used meanwhile.
    pub client_idle_cores: f64,
    /// From the restart command to the last session live again.
    pub restored: Duration,
    /// `Connected` events during the restore.
    pub restore_connections: usize,
    /// The restore's busiest 100 ms over its mean per 100 ms.
    pub peak_over_mean: f64,
}

/// Prints `r` as `RESULT <binding>.fleet.<measure>=<value>` lines for `.ci/bench`.
pub fn print_results(binding: &str, r: &FleetResults) {
    let n = r.sessions as f64;
    let key = |measure: &str| format!("{binding}.fleet.{measure}");
    result(&key("sessions"), r.sessions);
    result(&key("cold_s"), format!("{:.3}", r.cold.as_secs_f64()));
    result(
        &key("cold_connections_per_session"),
        format!("{:.3}", r.cold_connections as f64 / n),
    );
    result(
        &key("kib_per_session"),
        format!("{:.2}", r.per_session_bytes / 1024.0),
    );
    result(
        &key("server_idle_cores"),
        format!("{:.4}", r.server_idle_cores),
    );
    result(
        &key("client_idle_cores"),
        format!("{:.4}", r.client_idle_cores),
    );
    result(
        &key("restore_s"),
        format!("{:.3}", r.restored.as_secs_f64()),
    );
    result(
        &key("restore_connections_per_session"),
        format!("{:.3}", r.restore_connections as f64 / n),
    );
    result(&key("peak_over_mean"), format!("{:.3}", r.peak_over_mean));
}
