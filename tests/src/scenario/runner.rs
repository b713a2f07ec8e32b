//! Runs scenarios: a fresh server (and proxy) per scenario, the client under test driven through
//! [`ScenarioClient`], every event recorded with the time it was observed, and every check
//! turned into a readable [`ScenarioFailure`].

use std::collections::HashMap;
use std::fmt::Write as _;
use std::time::{Duration, Instant};

use super::checks;
use super::{Await, ClientEvent, ClientSpec, Invariant, ProxyAction, Scenario, ScenarioClient};
use super::{Step, Transport};
use crate::proxy::FaultProxy;
use crate::server::{Credentials, ServerConfig, Stats, TestServer};

/// How to run the suite.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RunOptions {
    /// Serve `wss://` (scenarios pinned to a transport ignore this).
    pub tls: bool,
    /// Put the fault proxy between client and server in every scenario.
    pub proxy: bool,
    /// Scenarios run at once by [`run_suite`] (0 or 1: one after the other).
    pub parallel: usize,
}

/// What a passing scenario observed.
#[derive(Debug, Clone)]
pub struct Report {
    /// The scenario.
    pub name: &'static str,
    /// How long it ran.
    pub elapsed: Duration,
    /// Client events observed.
    pub events: usize,
    /// Connections the server accepted.
    pub connections: u64,
}

/// Why a scenario failed, with enough context to read without re-running it.
#[derive(Debug, Clone)]
pub struct ScenarioFailure {
    /// The scenario.
    pub scenario: &'static str,
    /// The failed step (index and description), or `None` for an invariant checked at the end.
    pub step: Option<(usize, String)>,
    /// What went wrong.
    pub what: String,
    /// The last client events, with their time since the scenario started.
    pub recent_events: Vec<(Duration, ClientEvent)>,
    /// A summary of what the server saw.
    pub server: String,
}

impl std::fmt::Display for ScenarioFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "scenario `{}` failed", self.scenario)?;
        match &self.step {
            Some((i, s)) => writeln!(f, " at step {i} ({s}):")?,
            None => writeln!(f, " an invariant:")?,
        }
        writeln!(f, "  {}", self.what)?;
        writeln!(f, "  last client events:")?;
        for (t, e) in &self.recent_events {
            writeln!(f, "    {:>7.3}s {e:?}", t.as_secs_f64())?;
        }
        write!(f, "  server: {}", self.server)
    }
}

impl std::error::Error for ScenarioFailure {}

/// The outcome of [`run_suite`].
#[derive(Debug)]
pub struct SuiteReport {
    /// Each scenario's outcome, in list order.
    pub results: Vec<(&'static str, Result<Report, ScenarioFailure>)>,
    /// Wall time of the whole suite.
    pub elapsed: Duration,
}

impl SuiteReport {
    /// The failures.
    pub fn failures(&self) -> Vec<&ScenarioFailure> {
        self.results
            .iter()
            .filter_map(|(_, r)| r.as_ref().err())
            .collect()
    }

    /// Panics with every failure explained, if there is any.
    ///
    /// # Panics
    /// When at least one scenario failed.
    pub fn assert_all_passed(&self) {
        let failures = self.failures();
        if failures.is_empty() {
            return;
        }
        let mut msg = format!(
            "{} of {} scenarios failed:\n",
            failures.len(),
            self.results.len()
        );
        for f in failures {
            let _ = writeln!(msg, "\n{f}");
        }
        panic!("{msg}");
    }
}

/// The whole list ([`all()`](super::all)) with client type `C`, three scenarios at a time, one
/// suite at a time per process (each suite already runs several scenarios at once, and the
/// scenarios' detection bounds assume a machine that is busy, not oversubscribed); prints each
/// passing scenario's figures and the suite's time, and panics with every failure explained.
/// What a binding's `every_scenario_passes_*` tests call.
pub fn assert_suite_passes<C: ScenarioClient>(options: RunOptions) {
    assert_scenarios_pass::<C>(&super::all(), options);
}

/// [`assert_suite_passes`] for a part of the list: for a client that documents which scenarios
/// it cannot play.
pub fn assert_scenarios_pass<C: ScenarioClient>(scenarios: &[Scenario], options: RunOptions) {
    static ONE_SUITE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _turn = ONE_SUITE_AT_A_TIME
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    let report = run_suite::<C>(
        scenarios,
        &RunOptions {
            parallel: 3,
            ..options
        },
    );
    for (name, r) in &report.results {
        if let Ok(r) = r {
            eprintln!(
                "{name}: ok in {:?} ({} events, {} connections)",
                r.elapsed, r.events, r.connections
            );
        }
    }
    eprintln!("suite took {:?}", report.elapsed);
    report.assert_all_passed();
}

/// Runs every scenario of `scenarios` (e.g. [`all()`](super::all)) with client type `C`.
///
/// With `options.parallel > 1`, that many scenarios run at once on separate threads; each has
/// its own server, so they cannot disturb each other except through CPU time (every bound in
/// the scenarios has a margin for that).
pub fn run_suite<C: ScenarioClient>(scenarios: &[Scenario], options: &RunOptions) -> SuiteReport {
    let started = Instant::now();
    let workers = options.parallel.max(1).min(scenarios.len().max(1));
    let next = std::sync::atomic::AtomicUsize::new(0);
    let slots: Vec<std::sync::Mutex<Option<Result<Report, ScenarioFailure>>>> = scenarios
        .iter()
        .map(|_| std::sync::Mutex::new(None))
        .collect();
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some(sc) = scenarios.get(i) else { break };
                let r = run_scenario::<C>(sc, options);
                *slots[i].lock().unwrap_or_else(|e| e.into_inner()) = Some(r);
            });
        }
    });
    let results = scenarios
        .iter()
        .zip(slots)
        .map(|(sc, slot)| {
            let r = slot.into_inner().unwrap_or_else(|e| e.into_inner());
            (sc.name, r.expect("every scenario ran"))
        })
        .collect();
    SuiteReport {
        results,
        elapsed: started.elapsed(),
    }
}

/// The server configuration every scenario starts from: credentials must equal
/// [`default_auth`](super::client::default_auth) and subscribing requires auth.
pub fn scenario_server_config(tls: bool) -> ServerConfig {
    ServerConfig::default()
        .tls(tls)
        .credentials(Credentials::Exactly(super::client::default_auth()))
        .require_auth(true)
}

/// Runs one scenario against a fresh server with client type `C`.
pub fn run_scenario<C: ScenarioClient>(
    scenario: &Scenario,
    options: &RunOptions,
) -> Result<Report, ScenarioFailure> {
    let tls = match scenario.transport {
        Transport::Tls => true,
        _ => options.tls,
    };
    let use_proxy = scenario.transport == Transport::Proxy || options.proxy;
    let fail_setup = |what: String| ScenarioFailure {
        scenario: scenario.name,
        step: None,
        what,
        recent_events: Vec::new(),
        server: String::new(),
    };
    let server = TestServer::start((scenario.server)(scenario_server_config(tls)))
        .map_err(|e| fail_setup(format!("cannot start the server: {e}")))?;
    let proxy = if use_proxy {
        Some(FaultProxy::start(server.addr()).map_err(|e| fail_setup(format!("proxy: {e}")))?)
    } else {
        None
    };
    let client_id = scenario.name.replace('_', "-");
    let mut url = server.url(&client_id);
    if let Some(p) = &proxy {
        url = p.url(&url);
    }
    let mut spec = ClientSpec::new(url, client_id);
    spec.root_cert_pem = server.root_cert_pem();
    (scenario.client)(&mut spec);

    let mut ctx = Ctx {
        spec,
        server,
        proxy,
        client: None::<C>,
        log: Vec::new(),
        cursor: 0,
        marks: HashMap::new(),
        started: Instant::now(),
    };
    let result = ctx.run(scenario);
    // Stop the client first (its drop must release everything), then check that it did,
    // then tear down the proxy and the server.
    let dropped_at = Instant::now();
    let had_client = ctx.client.is_some();
    drop(ctx.client.take());
    let result = result.and_then(|report| {
        if had_client && !scenario.relax.contains(&Invariant::ReleasedOnDrop) {
            ctx.released_on_drop(dropped_at)
                .map_err(|what| ctx.failure(scenario, None, what))?;
        }
        Ok(report)
    });
    drop(ctx.proxy.take());
    result
}

pub(crate) struct Mark {
    pub(crate) at: Instant,
    pub(crate) accepted: u64,
    pub(crate) fds: Option<usize>,
    pub(crate) rss: Option<u64>,
}

pub(crate) struct Ctx<C> {
    pub(crate) spec: ClientSpec,
    pub(crate) server: TestServer,
    pub(crate) proxy: Option<FaultProxy>,
    pub(crate) client: Option<C>,
    /// Every client event with the time the runner received it.
    pub(crate) log: Vec<(Instant, ClientEvent)>,
    /// Index of the first event the next `Await` may match.
    pub(crate) cursor: usize,
    pub(crate) marks: HashMap<&'static str, Mark>,
    pub(crate) started: Instant,
}

impl<C: ScenarioClient> Ctx<C> {
    fn run(&mut self, scenario: &Scenario) -> Result<Report, ScenarioFailure> {
        for (i, step) in scenario.steps.iter().enumerate() {
            self.step(step)
                .map_err(|what| self.failure(scenario, Some((i, step)), what))?;
        }
        // Collect stragglers, then check every invariant the scenario keeps.
        self.pump_until(Instant::now() + Duration::from_millis(50), |_| false);
        for inv in Invariant::ALL {
            if inv == Invariant::ReleasedOnDrop || scenario.relax.contains(&inv) {
                continue;
            }
            checks::invariant(self, inv).map_err(|what| self.failure(scenario, None, what))?;
        }
        Ok(Report {
            name: scenario.name,
            elapsed: self.started.elapsed(),
            events: self.log.len(),
            connections: self.server.stats().accepted,
        })
    }

    pub(crate) fn failure(
        &self,
        scenario: &Scenario,
        step: Option<(usize, &Step)>,
        what: String,
    ) -> ScenarioFailure {
        // Data messages drown everything else; keep the last 30 other events and the last 5
        // messages.
        let mut recent: Vec<(Duration, ClientEvent)> = Vec::new();
        let mut messages = 0;
        for (t, e) in self.log.iter().rev() {
            let is_msg = matches!(e, ClientEvent::Message { .. });
            if is_msg {
                messages += 1;
                if messages > 5 {
                    continue;
                }
            }
            recent.push((t.duration_since(self.started), e.clone()));
            if recent.len() >= 35 {
                break;
            }
        }
        recent.reverse();
        let s = self.server.stats();
        ScenarioFailure {
            scenario: scenario.name,
            step: step.map(|(i, st)| (i, format!("{st:?}"))),
            what,
            recent_events: recent,
            server: summarize(&s, self.started),
        }
    }

    fn step(&mut self, step: &Step) -> Result<(), String> {
        match step {
            Step::Start => {
                let c = C::start(&self.spec).map_err(|e| format!("start failed: {e}"))?;
                self.client = Some(c);
            }
            Step::Await(what, within) => self.await_(what, *within)?,
            Step::Inject(fault, persist) => self.server.inject_with(fault.clone(), *persist),
            Step::Proxy(action) => {
                let p = self.proxy.as_ref().ok_or("this scenario has no proxy")?;
                match *action {
                    ProxyAction::Latency(d) => p.set_latency(d),
                    ProxyAction::Bandwidth(b) => p.set_bandwidth(b),
                    ProxyAction::Blackhole(on) => p.set_blackhole(on),
                    ProxyAction::Cut => p.cut(),
                    ProxyAction::Clear => p.clear(),
                }
            }
            Step::Subscribe(ch) => self.client()?.subscribe(ch).map_err(|e| e.0)?,
            Step::Unsubscribe(ch) => self.client()?.unsubscribe(ch).map_err(|e| e.0)?,
            Step::Send(text) => self.client()?.send(text).map_err(|e| e.0)?,
            Step::Close => self.client()?.close().map_err(|e| e.0)?,
            Step::Sleep(d) => self.pump_until(Instant::now() + *d, |_| false),
            Step::Mark(name) => {
                let mark = Mark {
                    at: Instant::now(),
                    accepted: self.server.stats().accepted,
                    fds: crate::fds::open_fds().ok(),
                    rss: crate::bench::rss_bytes().ok(),
                };
                self.marks.insert(name, mark);
            }
            Step::Expect(e) => checks::expect(self, e)?,
        }
        Ok(())
    }

    fn client(&mut self) -> Result<&mut C, String> {
        self.client
            .as_mut()
            .ok_or_else(|| "the client was not started".to_owned())
    }

    /// Collects client events until `done` holds or `deadline` passes (returns whether `done`
    /// held). Without a client, just waits.
    pub(crate) fn pump_until(&mut self, deadline: Instant, mut done: impl FnMut(&Self) -> bool) {
        let _ = self.pump(deadline, &mut done);
    }

    pub(crate) fn pump(&mut self, deadline: Instant, done: &mut impl FnMut(&Self) -> bool) -> bool {
        loop {
            if done(self) {
                return true;
            }
            let now = Instant::now();
            if now >= deadline {
                return false;
            }
            let wait = (deadline - now).min(Duration::from_millis(5));
            match self.client.as_mut() {
                Some(c) => {
                    if let Some(ev) = c.next_event(wait) {
                        self.log.push((Instant::now(), ev));
                    }
                }
                None => std::thread::sleep(wait),
            }
        }
    }

    fn await_(&mut self, what: &Await, within: Duration) -> Result<(), String> {
        let deadline = Instant::now() + within;
        let mut found = None;
        let cursor = self.cursor;
        let ok = self.pump(deadline, &mut |ctx: &Self| {
            found = find(&ctx.log[cursor..], what).map(|i| i + cursor);
            found.is_some()
        });
        if !ok {
            return Err(format!("no {what:?} within {within:?}"));
        }
        self.cursor = found.expect("found when ok") + 1;
        Ok(())
    }

    fn released_on_drop(&self, dropped_at: Instant) -> Result<(), String> {
        let id = self.spec.client_id.clone();
        self.server
            .wait_until(Duration::from_secs(2), |s| {
                s.connections_of(&id).all(|c| c.end.is_some()) && s.client(&id).open == 0
            })
            .map(|_| ())
            .map_err(|e| {
                let open: Vec<u64> = e
                    .last
                    .connections_of(&id)
                    .filter(|c| c.end.is_none())
                    .map(|c| c.id)
                    .collect();
                format!(
                    "connections {open:?} still open 2 s after the client was dropped \
                     (dropped {:.3}s into the scenario)",
                    dropped_at.duration_since(self.started).as_secs_f64()
                )
            })
    }
}

/// Index (in `events`) of the event that completes `what`.
fn find(events: &[(Instant, ClientEvent)], what: &Await) -> Option<usize> {
    let nth = |n: usize, pred: &dyn Fn(&ClientEvent) -> bool| {
        events
            .iter()
            .enumerate()
            .filter(|(_, (_, e))| pred(e))
            .nth(n.saturating_sub(1))
            .map(|(i, _)| i)
    };
    match what {
        Await::Live => nth(1, &|e| matches!(e, ClientEvent::Live)),
        Await::Connected => nth(1, &|e| matches!(e, ClientEvent::Connected)),
        Await::Disconnected => nth(1, &|e| matches!(e, ClientEvent::Disconnected { .. })),
        Await::Stopped => nth(1, &|e| matches!(e, ClientEvent::Stopped { .. })),
        Await::ReconnectScheduled => {
            nth(1, &|e| matches!(e, ClientEvent::ReconnectScheduled { .. }))
        }
        Await::Reconnects(n) => nth(*n, &|e| matches!(e, ClientEvent::ReconnectScheduled { .. })),
        Await::Gap => nth(1, &|e| matches!(e, ClientEvent::Gap { .. })),
        Await::Subscribed(ch) => nth(
            1,
            &|e| matches!(e, ClientEvent::Subscribed { channel } if channel == ch),
        ),
        Await::Rejected(ch) => nth(
            1,
            &|e| matches!(e, ClientEvent::SubscribeRejected { channel, .. } if channel == ch),
        ),
        Await::Messages(ch, n) => nth(
            *n,
            &|e| matches!(e, ClientEvent::Message { channel, .. } if channel == ch),
        ),
    }
}

fn summarize(s: &Stats, started: Instant) -> String {
    let mut out = format!(
        "accepted {}, handshakes {}, open {}, listening {}",
        s.accepted, s.handshakes, s.open, s.listening
    );
    for c in s.connections.iter().rev().take(8).rev() {
        let t = |i: Option<Instant>| {
            i.map(|i| format!("{:.3}", i.saturating_duration_since(started).as_secs_f64()))
                .unwrap_or_else(|| "-".into())
        };
        let _ = write!(
            out,
            "\n    conn {} accepted {} handshake {} ended {} {:?}: {:?}",
            c.id,
            t(Some(c.accepted_at)),
            t(c.handshake_at),
            t(c.ended_at),
            c.end,
            c.methods()
        );
    }
    out
}
