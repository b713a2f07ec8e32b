//! Standard output: one JSON line per event, written whole by whichever thread has one (the
//! session's loop, or the stdin reader reporting a command the handle refused at once).

use std::io::{BufWriter, Stdout};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use bind_support::feed_lines;
use serde_json::Value;

/// The tool's standard output; cheap to clone, every clone writes to the same stream.
#[derive(Clone)]
pub struct Out {
    started: Instant,
    stdout: Arc<Mutex<BufWriter<Stdout>>>,
}

impl Out {
    /// Standard output, with times counted from `started`.
    pub fn new(started: Instant) -> Self {
        Out {
            started,
            stdout: Arc::new(Mutex::new(BufWriter::new(std::io::stdout()))),
        }
    }

    /// Writes `line` with its `t_ms` and flushes it (a reader sees every event as it happens).
    /// A closed standard output ends the process, as a pipe's reader going away should.
    pub fn emit(&self, line: Value) {
        let mut stdout = self.stdout.lock().unwrap_or_else(PoisonError::into_inner);
        feed_lines::emit(&mut *stdout, self.started, line);
    }
}
