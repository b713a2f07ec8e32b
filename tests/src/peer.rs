//! The independent peer: `python/peer.py`, a server on the Python `websockets` library that
//! speaks the same JSON-RPC subset, run as a child process.
//!
//! Tests find an interpreter that has `websockets` through the `RECONNECT_PYTHON` environment
//! variable (`python/setup.sh` makes one). Without it, [`python_or_skip`] prints a loud
//! `SKIPPED:` line and the test returns — unless `CI` is set, where a missing peer is a failure.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// The environment variable naming the Python interpreter.
pub const PYTHON_ENV: &str = "RECONNECT_PYTHON";

/// The peer script (absolute path inside this crate).
pub fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("python")
        .join("peer.py")
}

/// The interpreter from `RECONNECT_PYTHON`, or `None` after printing
/// `SKIPPED: <test>: ...` to stderr.
///
/// # Panics
/// Panics when the variable is absent and `CI` is set: CI must run the peer tests.
pub fn python_or_skip(test: &str) -> Option<PathBuf> {
    match std::env::var_os(PYTHON_ENV) {
        Some(p) if !p.is_empty() => Some(PathBuf::from(p)),
        _ if std::env::var_os("CI").is_some() => panic!(
            "{test}: {PYTHON_ENV} is not set but CI is: run tests/python/setup.sh and export it"
        ),
        _ => {
            // Straight to the stderr handle, not `eprintln!`: the test harness captures the
            // macros, and a skip must be visible in every run.
            use std::io::Write;
            let _ = writeln!(
                std::io::stderr(),
                "SKIPPED: {test}: set {PYTHON_ENV} to a Python with `websockets` \
                 (tests/python/setup.sh prints one) to run it"
            );
            None
        }
    }
}

/// A running peer process; dropping it kills and reaps the process.
#[derive(Debug)]
pub struct PythonPeer {
    child: Child,
    addr: SocketAddr,
}

impl PythonPeer {
    /// Starts `python peer.py ARGS...` and waits (up to 20 s) for it to print its port.
    ///
    /// # Errors
    /// Fails if the process cannot start, exits early or prints no port in time; the process is
    /// killed and reaped in every error case.
    pub fn start(python: &Path, args: &[&str]) -> std::io::Result<PythonPeer> {
        let mut child = Command::new(python)
            .arg(script())
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()?;
        let stdout = child.stdout.take().expect("stdout is piped");
        let (tx, rx) = mpsc::channel();
        // A reader thread, because a pipe read cannot time out; it ends with the first line (or
        // when the child dies and the pipe closes).
        let reader = std::thread::spawn(move || {
            let mut line = String::new();
            let _ = tx.send(BufReader::new(stdout).read_line(&mut line).map(|_| line));
        });
        let first = rx.recv_timeout(Duration::from_secs(20));
        let port = match first {
            Ok(Ok(ref line)) => line.trim().parse::<u16>().ok(),
            _ => None,
        };
        let Some(port) = port else {
            let _ = child.kill();
            let _ = child.wait();
            let _ = reader.join();
            return Err(std::io::Error::other(format!(
                "the peer printed no port (got {first:?})"
            )));
        };
        let _ = reader.join();
        Ok(PythonPeer {
            child,
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
        })
    }

    /// The peer's address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `ws://127.0.0.1:PORT/ws?client=NAME`.
    pub fn url(&self, client: &str) -> String {
        format!("ws://{}/ws?client={client}", self.addr)
    }

    /// The child's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for PythonPeer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
