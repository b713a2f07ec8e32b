//! The independent peer: `python/peer.py`, a server on the Python `websockets` library that
//! speaks the same JSON-RPC subset, run as a child process.
//!
//! [`python()`] is the interpreter the tests run it with: `RECONNECT_PYTHON` if set (CI sets it
//! to the venv `.ci/run` makes), else a virtualenv that `python/setup.sh` makes on first use in
//! the cargo target directory, once per target directory and shared by every test binary and
//! thread (`src/peer/venv.rs` lists the files it keeps there and how the processes agree on who
//! makes it). A test that needs the peer runs it or fails; it never passes without having run.

mod venv;

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{mpsc, OnceLock};
use std::time::Duration;

/// The environment variable naming the Python interpreter.
pub const PYTHON_ENV: &str = "RECONNECT_PYTHON";

/// The peer script (absolute path inside this crate).
pub fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("python")
        .join("peer.py")
}

/// The Python interpreter (with `websockets` and `prometheus_client`) the peer tests run.
///
/// `RECONNECT_PYTHON` if it is set; otherwise the venv in the cargo target directory
/// (`python-venv/`), which the first caller makes by running `tests/python/setup.sh` (it needs
/// `python3` with its `venv` module, or the interpreter `PYTHON` names, and PyPI the first time).
/// Every later call, in this process or another, reuses it.
///
/// # Panics
/// When there is no such interpreter and none can be made; the message says how to fix it.
pub fn python() -> PathBuf {
    static PYTHON: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    let found = PYTHON.get_or_init(|| match std::env::var_os(PYTHON_ENV) {
        Some(p) if !p.is_empty() => from_env(PathBuf::from(p)),
        _ => venv::interpreter(),
    });
    match found {
        Ok(python) => python.clone(),
        Err(message) => panic!("{message}"),
    }
}

/// `RECONNECT_PYTHON`, checked when it names a path: a typo should fail here, saying so, not
/// as a peer that "printed no port".
fn from_env(python: PathBuf) -> Result<PathBuf, String> {
    let is_path = python.components().count() > 1;
    if is_path && !python.is_file() {
        return Err(format!(
            "{PYTHON_ENV}={} is not a file. Point it at a Python 3 that has the packages of \
             tests/python/requirements.txt, or unset it and the tests make a venv of their own.",
            python.display(),
        ));
    }
    Ok(python)
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
