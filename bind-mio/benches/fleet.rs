//! A fleet of sessions on one driver against one local server: memory per idle session, the
//! time to restore all of them after a server restart, and how evenly the reconnects spread
//! (the peak connection rate in any 100 ms window over the mean rate of the restore).
//!
//! `cargo bench -p bind-mio --bench fleet` (optionally `-- --sessions N`, and `--no-budget`
//! to admit every attempt at once instead of the driver's connection budget,
//! `fleet::BENCH_BUDGET`). A plain
//! `harness = false` binary that does nothing without cargo's `--bench` flag.
//!
//! The kit's event-driven `FleetServer` runs in a child process (this same binary,
//! re-executed with `SERVER_FLAG`): its memory and CPU would otherwise land in what is
//! measured, and each process gets its own descriptor limit. While the live fleet idles
//! (`--idle-secs S`, 10 s by default) the bench reads the CPU time of both processes. The child is killed and reaped by
//! `ServerProcess`'s `Drop` on every path.

use std::time::{Duration, Instant};

use bind_mio::{default_websocket_config, Driver, DriverConfig, Endpoint, SessionId};
use reconnect_core::adapters::JsonRpcAdapter;
use reconnect_core::{ConnectBudget, Event as CoreEvent};
// Shared with both bindings' tests and fleet benchmarks.
use bind_support::fleet;

use reconnect_testkit::bench::{peak_over_mean, rss_bytes, PeakAndMean};

/// How long the restarted server keeps its listener closed.
const DOWNTIME: Duration = Duration::from_millis(300);
const WINDOW: Duration = Duration::from_millis(100);

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
                CoreEvent::Live { .. } => lives[index[&id]] += 1,
                CoreEvent::Connected { .. } => connected.push(Instant::now()),
                _ => {}
            }
        }
    }
}

fn main() {
    let Some((sessions, mut server, urls)) = fleet::bench_start("bind-mio") else {
        return;
    };
    let budget = fleet::bench_budget();
    let connect_budget = budget.map(|(per_second, burst)| ConnectBudget::new(per_second, burst));
    let mut driver = Driver::new(DriverConfig::default().connect_budget(connect_budget)).unwrap();
    let rss_before = rss_bytes().unwrap();
    let mut index = std::collections::HashMap::with_capacity(sessions);
    for (i, url) in urls.iter().enumerate() {
        let endpoint = Endpoint::new(url)
            .unwrap()
            .websocket_config(default_websocket_config());
        let session = fleet::fleet_session(i as u64 + 1, &fleet::FleetTiming::BENCH);
        index.insert(driver.add_session(session, endpoint), i);
    }
    let mut lives = vec![0usize; sessions];
    let mut connected = Vec::with_capacity(2 * sessions);
    let first = until_all_live(&mut driver, &mut lives, &index, 1, &mut connected);
    let first_connections = connected.len();
    // Idle: let every buffer settle (acks read, nothing in flight), then read RSS.
    let idle = |driver: &mut Driver<JsonRpcAdapter>, span: Duration| {
        let started = Instant::now();
        while started.elapsed() < span {
            driver.run_once(Some(Duration::from_millis(50))).unwrap();
            while driver.poll_event().is_some() {}
        }
    };
    idle(&mut driver, Duration::from_millis(500));
    let rss_live = rss_bytes().unwrap();
    assert_eq!(driver.sockets(), sessions);
    let open = server.open_connections().unwrap();
    let per_session = rss_live.saturating_sub(rss_before) as f64 / sessions as f64;
    // The idle fleet's CPU, the server's and this process's, over a longer stretch.
    let window = fleet::idle_window();
    let cpu = fleet::CpuWindow::start(&server);
    idle(&mut driver, window);
    let (server_cores, own_cores) = cpu.cores(&server);

    connected.clear();
    let restart = Instant::now();
    server.restart(DOWNTIME).unwrap();
    let restored = until_all_live(&mut driver, &mut lives, &index, 2, &mut connected);
    let done = Instant::now();
    let PeakAndMean { peak, mean } = peak_over_mean(&connected, restart + DOWNTIME, done, WINDOW);
    let open_after = server.open_connections().unwrap();
    println!(
        "fleet/{sessions}: all live in {first:.2?} ({first_connections} connections); idle RSS \
         {:.1} MiB over {:.1} MiB before, {per_session:.0} bytes ({:.1} KiB) per session; server \
         holds {open}",
        rss_live as f64 / 1048576.0,
        rss_before as f64 / 1048576.0,
        per_session / 1024.0,
    );
    println!(
        "fleet/{sessions}: idle for {window:.1?}: the server used {:.4} core, this process {:.4} \
         core",
        server_cores, own_cores,
    );
    println!(
        "fleet/{sessions}: restart ({DOWNTIME:?} downtime, {}): all restored {restored:.2?} after it \
         ({:.2?} after the listener reopened); {} connections, peak {peak} in {WINDOW:?} vs mean \
         {mean:.1} per {WINDOW:?}: peak/mean {:.2}; server holds {open_after}",
        fleet::budget_label(budget),
        restored.saturating_sub(DOWNTIME),
        connected.len(),
        peak as f64 / mean,
    );
    fleet::print_results(
        "mio",
        &fleet::FleetResults {
            sessions,
            cold: first,
            cold_connections: first_connections,
            per_session_bytes: per_session,
            server_idle_cores: server_cores,
            client_idle_cores: own_cores,
            restored,
            restore_connections: connected.len(),
            peak_over_mean: peak as f64 / mean,
        },
    );
}
