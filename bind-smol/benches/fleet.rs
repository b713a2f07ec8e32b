//! A fleet of sessions as smol tasks on one executor thread against one local server: memory
//! per idle session, the time to restore all of them after a server restart, and how evenly
//! the reconnects spread (the peak connection rate in any 100 ms window over the mean rate of
//! the restore). The same measures as bind-mio's fleet bench, on the same fixtures.
//!
//! `cargo bench -p bind-smol --bench fleet` (optionally `-- --sessions N`, and `--no-budget`
//! to let every attempt dial at once instead of sharing one [`SharedConnectBudget`] of
//! `fleet::BENCH_BUDGET`, bind-mio's default). A plain
//! `harness = false` binary that does nothing without cargo's `--bench` flag.
//!
//! The kit's event-driven `FleetServer` runs in a child process (this same binary,
//! re-executed with `SERVER_FLAG`): its memory and CPU would otherwise land in what is
//! measured, and each process gets its own descriptor limit. While the live fleet idles
//! (`--idle-secs S`, 10 s by default) the bench reads the CPU time of both processes. The child is killed and reaped by
//! `ServerProcess`'s `Drop` on every path, panics included.
//!
//! Every session gets the default [`Options`] (plus the shared connection budget) and the
//! binding's default WebSocket config, as an application that changes nothing else would have.

use std::cell::RefCell;
use std::future::Future;
use std::rc::Rc;
use std::time::{Duration, Instant};

use async_io::Timer;
use bind_smol::{Endpoint, EventStream, Options, SessionHandle, SharedConnectBudget};
use futures_lite::StreamExt;
use reconnect_core::{ConnectBudget, Event as CoreEvent};
// Shared with both bindings' tests and fleet benchmarks.
use bind_support::fleet;

use reconnect_testkit::bench::{peak_over_mean, rss_bytes, PeakAndMean};
use smol::LocalExecutor;

/// How long the restarted server keeps its listener closed.
const DOWNTIME: Duration = Duration::from_millis(300);
const WINDOW: Duration = Duration::from_millis(100);
/// How long the live fleet idles before its RSS is read: acks read, nothing in flight.
const IDLE: Duration = Duration::from_millis(500);
/// The bound on every wait of the bench. Generous: it only fires on a real hang.
const LIMIT: Duration = Duration::from_secs(300);
/// How often the measuring task looks at the fleet's progress. The times it reports come from
/// the events themselves, so this only adds to the wall time, not to the results.
const CHECK: Duration = Duration::from_millis(20);

/// The same session as bind-mio's fleet bench: one subscription, pings every 30 s, full-jitter
/// backoff 100 ms .. 2 s.
/// What the event consumers saw, shared with the measuring task. Everything runs on one
/// thread, so a `RefCell` is enough.
struct Progress {
    /// `Live` events per session.
    lives: Vec<u32>,
    /// `live_at_least[k]`: how many sessions have been live more than `k` times.
    live_at_least: [usize; 2],
    /// When the latest `Live` event arrived.
    last_live: Option<Instant>,
    /// When each `Connected` event arrived, in order.
    connected: Vec<Instant>,
}

/// Drains one session's events, recording what the bench measures.
///
/// One task per stream rather than one task merging all of them: a merging task without
/// per-stream wakers (futures-lite has no `select_all`) polls every stream on each wake, so
/// one event would cost 10,000 polls; a task per stream is polled only for its own events, and
/// costs one small task allocation per session, which an application pays too.
async fn consume(i: usize, mut events: EventStream, progress: Rc<RefCell<Progress>>) {
    while let Some(event) = events.next().await {
        let mut progress = progress.borrow_mut();
        match event {
            CoreEvent::Live { .. } => {
                let now = Instant::now();
                progress.lives[i] += 1;
                let times = progress.lives[i] as usize;
                if let Some(count) = progress.live_at_least.get_mut(times - 1) {
                    *count += 1;
                }
                progress.last_live = Some(now);
            }
            CoreEvent::Connected { .. } => progress.connected.push(Instant::now()),
            _ => {}
        }
    }
}

/// Waits until every session has been live `n` times (n = 1 or 2); returns when the last of
/// them went live. Panics after [`LIMIT`].
async fn until_all_live(progress: &RefCell<Progress>, sessions: usize, n: usize) -> Instant {
    let started = Instant::now();
    loop {
        {
            let progress = progress.borrow();
            let behind = sessions - progress.live_at_least[n - 1];
            if behind == 0 {
                return progress.last_live.expect("a session went live");
            }
            assert!(
                started.elapsed() < LIMIT,
                "{behind} sessions not live for the {n}th time after {LIMIT:?}"
            );
        }
        Timer::after(CHECK).await;
    }
}

/// `future`, or a panic naming `what` after [`LIMIT`].
async fn bounded<T>(what: &str, future: impl Future<Output = T>) -> T {
    let timeout = async {
        Timer::after(LIMIT).await;
        panic!("{what}: not done after {LIMIT:?}");
    };
    futures_lite::future::or(future, timeout).await
}

fn main() {
    let Some((sessions, mut server, urls)) = fleet::bench_start("bind-smol") else {
        return;
    };
    // The bench's own bookkeeping is allocated before the first RSS reading, so that it is not
    // charged to the sessions.
    let progress = Rc::new(RefCell::new(Progress {
        lives: vec![0; sessions],
        live_at_least: [0; 2],
        last_live: None,
        connected: Vec::with_capacity(4 * sessions),
    }));
    let mut handles: Vec<SessionHandle> = Vec::with_capacity(sessions);
    let budget = fleet::bench_budget();
    // One budget for the whole fleet: every session gets a clone of the handle.
    let mut options = Options::default();
    if let Some((rate, burst)) = budget {
        options = options.connect_budget(Some(SharedConnectBudget::new(ConnectBudget::new(
            rate, burst,
        ))));
    }
    // Every session task, every consumer and this measuring task run on this one thread: the
    // executor is driven by `block_on`, which also polls async-io's reactor while it waits.
    let executor = LocalExecutor::new();
    smol::block_on(executor.run(async {
        // Start the reactor and the timer machinery before the first reading.
        Timer::after(Duration::from_millis(10)).await;
        let rss_before = rss_bytes().unwrap();
        for (i, url) in urls.iter().enumerate() {
            let (handle, events, task) = bind_smol::connect(
                fleet::fleet_session(i as u64 + 1, &fleet::FleetTiming::BENCH),
                Endpoint::new(url).unwrap(),
                options.clone(),
            );
            executor.spawn(task).detach();
            executor
                .spawn(consume(i, events, progress.clone()))
                .detach();
            handles.push(handle);
        }
        // The tasks start running once this task yields.
        let started = Instant::now();
        let first = until_all_live(&progress, sessions, 1).await - started;
        let first_connections = progress.borrow().connected.len();
        Timer::after(IDLE).await;
        let rss_live = rss_bytes().unwrap();
        // Blocks this thread (every session with it) for the round trip to the child: the
        // fleet is idle, and the reading above is already taken.
        let open = server.open_connections().unwrap();
        let per_session = rss_live.saturating_sub(rss_before) as f64 / sessions as f64;
        // The idle fleet's CPU, the server's and this process's, over a longer stretch.
        let window = fleet::idle_window();
        let cpu = fleet::CpuWindow::start(&server);
        Timer::after(window).await;
        let (server_cores, own_cores) = cpu.cores(&server);

        progress.borrow_mut().connected.clear();
        let restart = Instant::now();
        server.restart(DOWNTIME).unwrap();
        let done = until_all_live(&progress, sessions, 2).await;
        let restored = done - restart;
        let PeakAndMean { peak, mean } = {
            let progress = progress.borrow();
            peak_over_mean(&progress.connected, restart + DOWNTIME, done, WINDOW)
        };
        let connections = progress.borrow().connected.len();
        let open_after = server.open_connections().unwrap();
        println!(
            "fleet/{sessions}: all live in {first:.2?} ({first_connections} connections); idle \
             RSS {:.1} MiB over {:.1} MiB before, {per_session:.0} bytes ({:.1} KiB) per \
             session; server holds {open}",
            rss_live as f64 / 1048576.0,
            rss_before as f64 / 1048576.0,
            per_session / 1024.0,
        );
        println!(
            "fleet/{sessions}: idle for {window:.1?}: the server used {server_cores:.4} core, \
             this process {own_cores:.4} core"
        );
        println!(
            "fleet/{sessions}: restart ({DOWNTIME:?} downtime, {}): all restored {restored:.2?} \
             after it ({:.2?} after the listener reopened); {connections} connections, peak {peak} in \
             {WINDOW:?} vs mean {mean:.1} per {WINDOW:?}: peak/mean {:.2}; server holds \
             {open_after}",
            fleet::budget_label(budget),
            restored.saturating_sub(DOWNTIME),
            peak as f64 / mean,
        );
        fleet::print_results(
            "smol",
            &fleet::FleetResults {
                sessions,
                cold: first,
                cold_connections: first_connections,
                per_session_bytes: per_session,
                server_idle_cores: server_cores,
                client_idle_cores: own_cores,
                restored,
                restore_connections: connections,
                peak_over_mean: peak as f64 / mean,
            },
        );

        // A clean end: every session sends its close frame and its task ends, sockets released.
        bounded("closing every session", async {
            for handle in &handles {
                let _ = handle.try_close();
            }
            for handle in &handles {
                handle.close().await.ok(); // Err(Gone) if it had stopped already
                handle.closed().await;
            }
        })
        .await;
    }));
}
