//! What a binding's `tracing` feature logs on a real connection: the lifecycle, and never a
//! secret. A session authenticates with a client secret (and carries a token in its URL's
//! query) against the kit's server, goes live, loses its connection, reconnects, and closes;
//! every event logged meanwhile, at every level, is captured by a process-wide subscriber.
//! One body for both bindings: each runs it on its own [`Harness`] with
//! [`trace_suite!`](crate::trace_suite!), as the only test of its binary, since the subscriber
//! is process-wide (the bindings' executors and driver threads log from other threads).

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use reconnect_core::{Command, Event};
use reconnect_testkit::scenario::ClientSpec;
use reconnect_testkit::server::{Fault, ServerConfig, TestServer};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Level, Metadata, Subscriber};

use crate::harness::{count, Harness};
use crate::kit::{endpoint_for, session_for};

const LIMIT: Duration = Duration::from_secs(10);

/// The client secret the kit's server accepts (in [`ClientSpec::new`]'s default auth params).
const CLIENT_SECRET: &str = "s3cret";

/// A token in the URL's query, which the server ignores and no log may show.
const URL_TOKEN: &str = "urltok-5e1f";

/// The test as a `#[test]` function on the harness type `$harness`.
#[macro_export]
macro_rules! trace_suite {
    ($harness:ty) => {
        #[test]
        fn the_lifecycle_is_logged_and_no_secret_is() {
            $crate::trace_suite::lifecycle_without_secrets::<$harness>();
        }
    };
}

/// One event or span as it was emitted: level, target and every field as text.
#[derive(Clone, Debug)]
pub struct Captured {
    /// The level.
    pub level: Level,
    /// The target.
    pub target: String,
    /// Every field in order, the message included (as `message`); strings without quotes. A
    /// span's fields come after its name, as `span`.
    pub fields: Vec<(String, String)>,
}

impl Captured {
    /// The value of the field `name`, if the event has it.
    pub fn field(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// A subscriber that keeps every event and every span's fields, at every level.
#[derive(Clone, Default)]
pub struct Capture {
    seen: Arc<Mutex<Vec<Captured>>>,
    next_span: Arc<AtomicU64>,
}

impl Capture {
    /// The process-wide capture, installed as the global default on first use.
    pub fn global() -> &'static Capture {
        static GLOBAL: OnceLock<Capture> = OnceLock::new();
        GLOBAL.get_or_init(|| {
            let capture = Capture::default();
            tracing::subscriber::set_global_default(capture.clone())
                .expect("no other global subscriber in this test binary");
            capture
        })
    }

    /// What was captured so far, taken out.
    pub fn take(&self) -> Vec<Captured> {
        std::mem::take(&mut *self.seen.lock().unwrap())
    }

    fn keep(&self, level: Level, target: &str, record: impl FnOnce(&mut dyn Visit)) {
        let mut fields = Fields(Vec::new());
        record(&mut fields);
        self.seen.lock().unwrap().push(Captured {
            level,
            target: target.to_owned(),
            fields: fields.0,
        });
    }
}

struct Fields(Vec<(String, String)>);

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.push((field.name().to_owned(), value.to_owned()));
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.0.push((field.name().to_owned(), format!("{value:?}")));
    }
}

impl Subscriber for Capture {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }

    fn new_span(&self, span: &Attributes<'_>) -> Id {
        // A span's fields are logged with every event inside it: they must be clean too.
        let metadata = span.metadata();
        let mut fields = Fields(vec![("span".to_owned(), metadata.name().to_owned())]);
        span.record(&mut fields);
        self.seen.lock().unwrap().push(Captured {
            level: *metadata.level(),
            target: metadata.target().to_owned(),
            fields: fields.0,
        });
        Id::from_u64(self.next_span.fetch_add(1, Ordering::Relaxed) + 1)
    }

    fn record(&self, _: &Id, values: &Record<'_>) {
        // Fields recorded on a span later: kept as their own entry, with no target.
        self.keep(Level::TRACE, "", |v| values.record(v));
    }

    fn record_follows_from(&self, _: &Id, _: &Id) {}

    fn event(&self, event: &tracing::Event<'_>) {
        let metadata = event.metadata();
        self.keep(*metadata.level(), metadata.target(), |v| event.record(v));
    }

    fn enter(&self, _: &Id) {}

    fn exit(&self, _: &Id) {}
}

fn is_live(e: &Event) -> bool {
    matches!(e, Event::Live { .. })
}

/// Connect, authenticate with a secret, lose the connection, reconnect, close: the logged
/// lifecycle is complete and at its levels, and no captured text contains a secret.
pub fn lifecycle_without_secrets<H: Harness>() {
    let capture = Capture::global();
    let server = TestServer::start(ServerConfig::default()).unwrap();
    let mut spec = ClientSpec::new(
        format!("{}&token={URL_TOKEN}", server.url("traced")),
        "traced",
    );
    let auth = spec.auth.as_ref().expect("the default spec authenticates");
    assert!(
        auth.to_string().contains(CLIENT_SECRET),
        "the session really sends the secret: {auth}"
    );
    spec.backoff_initial = Duration::from_millis(30);
    let mut client = H::start(session_for(&spec).unwrap(), endpoint_for(&spec).unwrap());
    let mut seen = Vec::new();
    client.run_until(&mut seen, LIMIT, |s| count(s, is_live) == 1);
    server.inject(Fault::Drop);
    client.run_until(&mut seen, LIMIT, |s| count(s, is_live) == 2);
    client.command(Command::Close);
    client.run_until(&mut seen, LIMIT, |s| {
        s.iter().any(|e| matches!(e, Event::Stopped { .. }))
    });
    client.assert_released();
    assert_eq!(
        count(&seen, |e| matches!(e, Event::Authenticated { .. })),
        2,
        "both connections authenticated with the secret: {seen:#?}"
    );

    let logged = capture.take();
    let text = format!("{logged:#?}");
    for secret in [CLIENT_SECRET, URL_TOKEN] {
        assert!(!text.contains(secret), "{secret:?} was logged:\n{text}");
    }

    let ours: Vec<&Captured> = logged
        .iter()
        .filter(|c| c.target == "reconnect" && c.field("span").is_none())
        .collect();
    let named = |message: &str| -> Vec<&Captured> {
        ours.iter()
            .copied()
            .filter(|c| c.field("message") == Some(message))
            .collect()
    };
    let levels = |message: &str| -> Vec<Level> { named(message).iter().map(|c| c.level).collect() };
    // Two connections: each connecting, connected, authenticated and live once, at info.
    for message in ["connecting", "connected", "authenticated", "live"] {
        assert_eq!(levels(message), [Level::INFO; 2], "{message}:\n{text}");
    }
    // Both subscriptions (a and b) confirmed on each connection.
    assert_eq!(levels("subscribed"), [Level::INFO; 4], "{text}");
    // The dropped connection is a warning; the closed one is what the application asked for.
    assert_eq!(levels("disconnected"), [Level::WARN, Level::INFO], "{text}");
    // A dropped TCP connection reads as a reset or an end of stream, depending on timing: a
    // transport word, the same the metrics' `cause` label uses.
    assert!(
        matches!(
            named("disconnected")[0].field("cause_kind"),
            Some("reset" | "eof")
        ),
        "{text}"
    );
    let scheduled = named("reconnect scheduled");
    assert_eq!(scheduled.len(), 1, "{text}");
    assert_eq!(scheduled[0].level, Level::INFO);
    // The attempt it schedules is the one the second "connecting" names.
    assert_eq!(
        scheduled[0].field("attempt"),
        named("connecting")[1].field("attempt"),
        "{text}"
    );
    assert!(scheduled[0].field("delay_ms").is_some(), "{text}");
    assert_eq!(levels("stopped"), [Level::INFO], "{text}");
    assert_eq!(named("stopped")[0].field("reason"), Some("closed"));
    // Every event names the same session, and the log holds one event per session event.
    let sessions: Vec<_> = ours.iter().map(|c| c.field("session")).collect();
    assert!(sessions[0].is_some_and(|s| !s.is_empty()), "{text}");
    assert!(sessions.iter().all(|s| *s == sessions[0]), "{text}");
    assert_eq!(
        ours.len(),
        seen.len(),
        "one log event per session event:\n{text}"
    );
    // A binding that runs the session in a `session` span names it as its events do.
    for span in logged.iter().filter(|c| c.field("span") == Some("session")) {
        assert_eq!(span.field("session"), sessions[0], "{text}");
    }
    // Data is logged at debug only.
    assert!(
        named("message received")
            .iter()
            .all(|c| c.level == Level::DEBUG),
        "{text}"
    );
}
