//! A connection budget many sessions share: the core's [`ConnectBudget`] behind a lock, and the
//! wait for a token before a session's attempt dials.

use std::fmt;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::Instant;

use async_io::Timer;
use reconnect_core::ConnectBudget;

/// New connection attempts admitted across every session given this handle (through
/// [`Options::connect_budget`](crate::Options::connect_budget)): the core's [`ConnectBudget`]
/// (the same knob as bind-mio's `DriverConfig::connect_budget`), shared. Cheap to clone; the
/// clones share one budget.
///
/// Every session whose options keep the default shares
/// [`process_default`](Self::process_default): one budget of [`ConnectBudget::default`] for
/// the whole process, as bind-mio's default is one per driver.
///
/// Admission control, not policy: each session's backoff and seeded jitter still decide when it
/// wants to connect. The budget only spreads a reconnect storm (a server restart seen by
/// thousands of sessions at once) over time. An attempt books the next free token when the
/// session asks for a connection and waits for it on its own timer, before it resolves or dials;
/// the session's connect timeout keeps running meanwhile, so a wait that outlasts it ends as an
/// ordinary connect timeout (and the booked token is spent unused).
///
/// ```
/// use bind_smol::{Options, SharedConnectBudget};
/// use bind_smol::core::ConnectBudget;
///
/// // 200 attempts a second, 50 at once, for the whole fleet.
/// let budget = SharedConnectBudget::new(ConnectBudget::new(200, 50));
/// let options = Options::default().connect_budget(Some(budget.clone()));
/// assert_eq!(options.connect_budget, Some(budget));
/// ```
#[derive(Clone)]
pub struct SharedConnectBudget {
    budget: Arc<Mutex<ConnectBudget>>,
    /// The budget as it was given, for [`limits`](Self::limits).
    limits: Arc<ConnectBudget>,
}

impl SharedConnectBudget {
    /// Shares `budget` among every session given a clone of the result.
    pub fn new(budget: ConnectBudget) -> Self {
        SharedConnectBudget {
            limits: Arc::new(budget.clone()),
            budget: Arc::new(Mutex::new(budget)),
        }
    }

    /// The process's default budget, [`ConnectBudget::default`], which every session whose
    /// [`Options`](crate::Options) keep the default shares.
    pub fn process_default() -> Self {
        static DEFAULT: OnceLock<SharedConnectBudget> = OnceLock::new();
        DEFAULT
            .get_or_init(|| SharedConnectBudget::new(ConnectBudget::default()))
            .clone()
    }

    /// The budget as it was given (its rate and burst), whatever has been spent since.
    pub fn limits(&self) -> &ConnectBudget {
        &self.limits
    }

    /// Books a token and waits until it is due. Attempts wait in the order they booked.
    pub(crate) async fn wait_for_token(&self) {
        let now = Instant::now();
        let due = self
            .budget
            .lock()
            // The budget's methods do not panic; a poisoned lock still holds a valid budget.
            .unwrap_or_else(PoisonError::into_inner)
            .reserve(now);
        if due > now {
            Timer::at(due).await;
        }
    }
}

impl fmt::Debug for SharedConnectBudget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SharedConnectBudget")
            .field(
                "interval",
                &self
                    .budget
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .interval(),
            )
            .finish_non_exhaustive()
    }
}

/// Two handles are equal when they share one budget.
impl PartialEq for SharedConnectBudget {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.budget, &other.budget)
    }
}

impl Eq for SharedConnectBudget {}
