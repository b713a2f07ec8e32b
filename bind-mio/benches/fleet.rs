//! A fleet of sessions on one driver against one local server: memory per idle session, the
//! time to restore all of them after a server restart, and how evenly the reconnects spread
//! (the peak connection rate in any 100 ms window over the mean rate of the restore).
//!
//! `cargo bench -p bind-mio --bench fleet` (optionally `-- --sessions N`). A plain
//! `harness = false` binary that does nothing without cargo's `--bench` flag.
//!
//! The kit's server runs in a child process (this same binary, re-executed with
//! `--fleet-server`): its thread per connection would otherwise land in the RSS being
//! measured, and each process gets its own descriptor limit. The child is killed and reaped by
//! [`ServerProcess`]'s `Drop` on every path.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::{Duration, Instant};

use bind_mio::{default_websocket_config, Driver, DriverConfig, Endpoint, Event, SessionId};
use reconnect_core::adapters::{JsonRpcAdapter, JsonRpcConfig, SeqPointer};
use reconnect_core::{BackoffConfig, Config, Event as CoreEvent, Jitter, Session};
use reconnect_testkit::server::{ServerConfig, TestServer};

const DEFAULT_SESSIONS: usize = 10_000;
/// How long the restarted server keeps its listener closed.
const DOWNTIME: Duration = Duration::from_millis(300);
const WINDOW: Duration = Duration::from_millis(100);

/// The server side, in the child process: serve, print the port, obey stdin.
fn serve() {
    // One thread per connection: a long tick keeps 10,000 idle threads from waking the CPU
    // every 2 ms; a long data interval keeps the sessions idle (a subscription, no traffic).
    let _ = rlimit::increase_nofile_limit(1 << 20);
    let server = TestServer::start(
        ServerConfig::default()
            .tick(Duration::from_millis(100))
            .data_interval(Duration::from_secs(3600)),
    )
    .expect("the server starts");
    println!("{}", server.addr());
    std::io::stdout().flush().unwrap();
    for line in std::io::stdin().lock().lines() {
        match line.as_deref() {
            Ok("restart") => server.restart(DOWNTIME),
            Ok("open") => {
                let open = server.stats().open;
                println!("{open}");
                std::io::stdout().flush().unwrap();
            }
            _ => break,
        }
    }
}

/// The server child process; killed and reaped on drop.
struct ServerProcess {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<std::process::ChildStdout>,
    addr: String,
}

impl ServerProcess {
    fn start() -> ServerProcess {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .arg("--fleet-server")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("the server process starts");
        let stdin = child.stdin.take().unwrap();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut addr = String::new();
        stdout.read_line(&mut addr).unwrap();
        ServerProcess {
            child,
            stdin,
            stdout,
            addr: addr.trim().to_owned(),
        }
    }

    fn command(&mut self, line: &str) {
        writeln!(self.stdin, "{line}").unwrap();
        self.stdin.flush().unwrap();
    }

    fn open_connections(&mut self) -> usize {
        self.command("open");
        let mut line = String::new();
        self.stdout.read_line(&mut line).unwrap();
        line.trim().parse().unwrap()
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn session(seed: u64) -> Session<JsonRpcAdapter> {
    let backoff = BackoffConfig::default()
        .initial(Duration::from_millis(100))
        .max(Duration::from_secs(2))
        .jitter(Jitter::Full)
        .min_uptime(Duration::from_secs(1));
    let config = Config::new(seed)
        .backoff(backoff)
        .ping_interval(Some(Duration::from_secs(30)))
        .pong_timeout(Duration::from_secs(10))
        .connect_timeout(Duration::from_secs(10));
    let adapter = JsonRpcAdapter::new(
        JsonRpcConfig::default().seq_pointer(Some(SeqPointer::parse("/seq").unwrap())),
    );
    let mut session = Session::new(config, adapter).unwrap();
    session.subscribe(Instant::now(), "a").unwrap();
    session
}

/// Resident set size of this process, in bytes (`/proc/self/statm`, field 2, in pages).
fn rss_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap();
    let pages: u64 = statm.split_whitespace().nth(1).unwrap().parse().unwrap();
    // 4 KiB pages on every Linux this runs on; no unsafe `sysconf` call for the page size.
    pages * 4096
}

/// Runs the driver until every session has been live `n` times; the instants of the
/// `Connected` events seen meanwhile are appended to `connected`.
fn until_all_live(
    driver: &mut Driver<JsonRpcAdapter>,
    lives: &mut [usize],
    index: &std::collections::HashMap<SessionId, usize>,
    n: usize,
    connected: &mut Vec<Instant>,
) -> Duration {
    let started = Instant::now();
    let limit = Duration::from_secs(120);
    loop {
        let behind = lives.iter().filter(|l| **l < n).count();
        if behind == 0 {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < limit,
            "{behind} sessions not live for the {n}th time after {limit:?}"
        );
        driver.run_once(Some(Duration::from_millis(50))).unwrap();
        while let Some((id, event)) = driver.poll_event() {
            match event {
                Event::Session(CoreEvent::Live { .. }) => lives[index[&id]] += 1,
                Event::Session(CoreEvent::Connected { .. }) => connected.push(Instant::now()),
                _ => {}
            }
        }
    }
}

/// Peak connections in any `WINDOW` (sliding over the event instants) over the mean per
/// `WINDOW` across `[from, to]`.
fn peak_over_mean(connected: &[Instant], from: Instant, to: Instant) -> (usize, f64) {
    let mut peak = 0;
    let mut start = 0;
    for end in 0..connected.len() {
        while connected[end].duration_since(connected[start]) >= WINDOW {
            start += 1;
        }
        peak = peak.max(end - start + 1);
    }
    let windows = to.duration_since(from).as_secs_f64() / WINDOW.as_secs_f64();
    (peak, connected.len() as f64 / windows)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.iter().any(|a| a == "--fleet-server") {
        return serve();
    }
    if !args.iter().any(|a| a == "--bench") {
        println!("fleet: run with `cargo bench -p bind-mio --bench fleet`");
        return;
    }
    let sessions = args
        .iter()
        .position(|a| a == "--sessions")
        .and_then(|i| args.get(i + 1))
        .map(|n| n.parse().expect("--sessions N"))
        .unwrap_or(DEFAULT_SESSIONS);
    let limit = rlimit::increase_nofile_limit(sessions as u64 + 1024).unwrap();
    assert!(
        limit >= sessions as u64 + 64,
        "RLIMIT_NOFILE only {limit}: cannot hold {sessions} sessions"
    );

    let mut server = ServerProcess::start();
    let url = |i: usize| format!("ws://{}/ws?client=c{i}", server.addr);
    let urls: Vec<String> = (0..sessions).map(url).collect();
    let mut driver = Driver::new(DriverConfig::default()).unwrap();
    let rss_before = rss_bytes();
    let mut index = std::collections::HashMap::with_capacity(sessions);
    for (i, url) in urls.iter().enumerate() {
        let endpoint = Endpoint::new(url)
            .unwrap()
            .websocket_config(default_websocket_config());
        index.insert(driver.add_session(session(i as u64 + 1), endpoint), i);
    }
    let mut lives = vec![0usize; sessions];
    let mut connected = Vec::with_capacity(2 * sessions);
    let first = until_all_live(&mut driver, &mut lives, &index, 1, &mut connected);
    // Idle: let every buffer settle (acks read, nothing in flight), then read RSS.
    let settle = Instant::now();
    while settle.elapsed() < Duration::from_millis(500) {
        driver.run_once(Some(Duration::from_millis(50))).unwrap();
        while driver.poll_event().is_some() {}
    }
    let rss_live = rss_bytes();
    assert_eq!(driver.sockets(), sessions);
    let open = server.open_connections();
    let per_session = rss_live.saturating_sub(rss_before) as f64 / sessions as f64;

    connected.clear();
    let restart = Instant::now();
    server.command("restart");
    let restored = until_all_live(&mut driver, &mut lives, &index, 2, &mut connected);
    let done = Instant::now();
    let (peak, mean) = peak_over_mean(&connected, restart + DOWNTIME, done);
    let open_after = server.open_connections();
    println!(
        "fleet/{sessions}: all live in {first:.2?}; idle RSS {:.1} MiB over {:.1} MiB before, \
         {per_session:.0} bytes ({:.1} KiB) per session; server holds {open}",
        rss_live as f64 / 1048576.0,
        rss_before as f64 / 1048576.0,
        per_session / 1024.0,
    );
    println!(
        "fleet/{sessions}: restart ({DOWNTIME:?} downtime): all restored {restored:.2?} after it \
         ({:.2?} after the listener reopened); {} connections, peak {peak} in {WINDOW:?} vs mean \
         {mean:.1} per {WINDOW:?}: peak/mean {:.2}; server holds {open_after}",
        restored.saturating_sub(DOWNTIME),
        connected.len(),
        peak as f64 / mean,
    );
}
