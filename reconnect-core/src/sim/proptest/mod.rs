//! Property-test your own adapter (feature `proptest`): strategies for configurations, fault
//! scripts and command sequences, and [`Kit::check`], which runs your [`Protocol`] and your
//! [`SimServer`] through them with the [`Invariants`](super::Invariants) checker attached and
//! shrinks a failure to a short script.
//!
//! Each case builds a fresh session with your adapter, subscribes the kit's topics, starts it
//! against your server on a simulated network, plays the faults and commands, and then lets
//! the network be healthy for [`Scenario::recovery_bound`]. It fails when the checker reports a
//! violation, when the session is not live again by then (and did not stop for a reason of its
//! own: closed, gave up, a fatal answer), or when a second run of the same case gives another
//! transcript.
//!
//! Your server should implement [`SimServer::topics`], so that the checker can compare what the
//! server holds with what the session believes it subscribed (the wire check): that is how a
//! subscribe frame that forgets a topic is caught.
//!
//! ```
//! # #[cfg(feature = "json")] {
//! use reconnect_core::adapters::{JsonRpcAdapter, JsonRpcConfig};
//! use reconnect_core::sim::proptest::Kit;
//! use reconnect_core::sim::JsonRpcServer;
//!
//! let kit = Kit::new(std::time::Instant::now(), ["book.BTC", "trades.BTC"]).cases(4);
//! kit.check(
//!     || JsonRpcAdapter::new(JsonRpcConfig::default()),
//!     JsonRpcServer::new,
//! )
//! .unwrap();
//! # }
//! ```

mod scenario;
mod strategies;

use std::fmt;
use std::time::Instant;

use proptest::strategy::Strategy;
use proptest::test_runner::{
    Config as ProptestConfig, FileFailurePersistence, RngAlgorithm, TestCaseError, TestError,
    TestRng, TestRunner,
};

pub use scenario::{Outcome, RarePath, Scenario};
pub use strategies::{command, command_sequences, configs, fault, fault_scripts, scenarios};

use crate::config::Config;
use crate::credentials::Credentials;
use crate::protocol::Protocol;
use crate::sim::invariants::Violation;
use crate::sim::SimServer;

/// The seed of the kit's default generator: the same cases on every run, so that a CI run
/// reaches what the last one did (override with [`Kit::seed`] for a longer hunt).
const DEFAULT_SEED: [u8; 32] = *b"reconnect-core property kit seed";

/// A property test of one adapter: the topics to subscribe, the base configuration, the
/// number of cases and where failures persist.
#[derive(Clone, Debug)]
pub struct Kit {
    clock: Instant,
    topics: Vec<String>,
    base: Config,
    credentials: Option<Credentials>,
    cases: u32,
    seed: [u8; 32],
    regressions: Option<&'static str>,
    max_shrink_iters: u32,
}

/// Why [`Kit::check`] failed: the shrunk scenario and the violation it causes.
#[derive(Clone, Debug)]
pub struct Failure {
    /// The smallest failing scenario found.
    pub scenario: Box<Scenario>,
    /// The violation it causes (its first).
    pub violation: Violation,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}\nscenario: {}", self.violation, self.scenario)
    }
}

impl std::error::Error for Failure {}

impl Kit {
    /// A kit whose runs start their virtual clocks at `base` (the crate reads no clock: read
    /// one once, `Instant::now()`, and hand it over), and that subscribes `topics` before each
    /// run (commands subscribe and unsubscribe among them too), with 64 cases,
    /// `Config::new(0)` as the base configuration and no persistence.
    pub fn new<T: Into<String>>(base: Instant, topics: impl IntoIterator<Item = T>) -> Self {
        Kit {
            clock: base,
            topics: topics.into_iter().map(Into::into).collect(),
            base: Config::new(0),
            credentials: None,
            cases: 64,
            seed: DEFAULT_SEED,
            regressions: None,
            max_shrink_iters: 2_000,
        }
    }

    /// The configuration the strategies start from: whatever they do not vary (the adapter's
    /// needs: heartbeats, resubscription batches, the credentials policy) comes from here.
    pub fn base_config(mut self, config: Config) -> Self {
        self.base = config;
        self
    }

    /// Credentials the session starts with and the simulator hands out when asked.
    pub fn credentials(mut self, credentials: Credentials) -> Self {
        self.credentials = Some(credentials);
        self
    }

    /// How many cases [`check`](Self::check) runs.
    pub fn cases(mut self, cases: u32) -> Self {
        self.cases = cases;
        self
    }

    /// The generator's seed (the default is fixed, so every run tries the same cases).
    pub fn seed(mut self, seed: [u8; 32]) -> Self {
        self.seed = seed;
        self
    }

    /// Persists failing cases in this file and replays them first on every run; check it in.
    /// A relative path is taken from the working directory (for `cargo test`, the package's
    /// root); `concat!(env!("CARGO_MANIFEST_DIR"), "/tests/my.proptest-regressions")` is the
    /// same file whatever the working directory.
    pub fn regressions(mut self, path: &'static str) -> Self {
        self.regressions = Some(path);
        self
    }

    /// Bounds shrinking (default 2000 iterations).
    pub fn max_shrink_iters(mut self, iters: u32) -> Self {
        self.max_shrink_iters = iters;
        self
    }

    /// The scenarios the kit generates.
    pub fn scenarios(&self) -> impl Strategy<Value = Scenario> {
        scenarios(self.base.clone(), self.topics.clone())
    }

    /// A proptest runner with the kit's cases, seed and persistence.
    pub fn runner(&self) -> TestRunner {
        let config = ProptestConfig {
            cases: self.cases,
            max_shrink_iters: self.max_shrink_iters,
            // Never proptest's default, which derives a file from the test's source path and
            // leaves it untracked beside the source: the file the user named, or none.
            failure_persistence: Some(Box::new(match self.regressions {
                Some(path) => FileFailurePersistence::Direct(path),
                None => FileFailurePersistence::Off,
            })),
            ..ProptestConfig::default()
        };
        TestRunner::new_with_rng(config, TestRng::from_seed(RngAlgorithm::ChaCha, &self.seed))
    }

    /// Runs one scenario with a fresh adapter and server and the checker attached; `Ok(None)`
    /// when the adapter refuses the scenario's configuration.
    pub fn run<P: Protocol, S: SimServer>(
        &self,
        scenario: &Scenario,
        adapter: impl Fn() -> P,
        server: impl Fn() -> S,
    ) -> Result<Option<Outcome>, Violation> {
        let pieces = scenario::Pieces {
            base: self.clock,
            topics: &self.topics,
            credentials: self.credentials.as_ref(),
            adapter: &adapter,
            server: &server,
        };
        scenario::run_twice(scenario, &pieces)
    }

    /// Runs the kit's cases against `adapter` and `server` (each called for a fresh one per
    /// run) and returns the shrunk failure, if any.
    pub fn check<P: Protocol, S: SimServer>(
        &self,
        adapter: impl Fn() -> P,
        server: impl Fn() -> S,
    ) -> Result<(), Failure> {
        let mut runner = self.runner();
        let result = runner.run(&self.scenarios(), |scenario| {
            match self.run(&scenario, &adapter, &server) {
                Ok(Some(_)) => Ok(()),
                Ok(None) => Err(TestCaseError::reject(
                    "the adapter refuses this configuration",
                )),
                Err(v) => Err(TestCaseError::fail(v.to_string())),
            }
        });
        match result {
            Ok(()) => Ok(()),
            Err(TestError::Fail(_, scenario)) => {
                let violation = match self.run(&scenario, &adapter, &server) {
                    Err(v) => v,
                    // Runs are deterministic unless the adapter or the server is not.
                    Ok(_) => Violation::new(
                        0,
                        std::time::Duration::ZERO,
                        crate::sim::Invariant::Determinism,
                        "the shrunk case failed, then passed when run again: the adapter or the \
                         server is not deterministic",
                    ),
                };
                Err(Failure {
                    scenario: Box::new(scenario),
                    violation,
                })
            }
            Err(TestError::Abort(why)) => panic!("the property run aborted: {why}"),
        }
    }
}
