//! Name resolution off the event loop: `getaddrinfo` blocks, so a small pool of threads does it
//! and hands results back through a channel and the driver's waker.
//!
//! The threads start with the first lookup (endpoints with IP literals never need them) and end
//! when the driver is dropped and the job channel closes (after the lookup in progress, which
//! the system resolver bounds). A result for an attempt the session has already abandoned (its
//! connect timeout passed) finds no connection and is dropped.

use std::io;
use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex};

use crate::wake::Wake;

/// What a lookup is for: the connection slot and the attempt serial that asked.
pub(crate) type LookupKey = (usize, u64);

/// One lookup, tagged with what it is for.
struct Job {
    key: LookupKey,
    host: String,
    port: u16,
}

/// A finished lookup.
pub(crate) struct Resolved {
    /// The key given to [`Resolver::lookup`].
    pub(crate) key: LookupKey,
    /// The addresses, in the system's order of preference.
    pub(crate) addrs: io::Result<Vec<SocketAddr>>,
}

/// The pool.
pub(crate) struct Resolver {
    threads: usize,
    jobs: Option<Sender<Job>>,
    results_tx: Sender<Resolved>,
    results_rx: Receiver<Resolved>,
    wake: Arc<Wake>,
}

impl Resolver {
    pub(crate) fn new(threads: usize, wake: Arc<Wake>) -> Self {
        let (results_tx, results_rx) = mpsc::channel();
        Resolver {
            threads: threads.max(1),
            jobs: None,
            results_tx,
            results_rx,
            wake,
        }
    }

    /// Starts resolving `host`; the result comes back from [`Resolver::try_next`] under `key`.
    pub(crate) fn lookup(&mut self, key: LookupKey, host: &str, port: u16) -> io::Result<()> {
        if self.jobs.is_none() {
            self.jobs = Some(self.spawn()?);
        }
        let job = Job {
            key,
            host: host.to_owned(),
            port,
        };
        self.jobs
            .as_ref()
            .expect("started above")
            .send(job)
            .map_err(|_| io::Error::other("the resolver threads are gone"))
    }

    /// A finished lookup, if any.
    pub(crate) fn try_next(&self) -> Option<Resolved> {
        self.results_rx.try_recv().ok()
    }

    fn spawn(&self) -> io::Result<Sender<Job>> {
        let (tx, rx) = mpsc::channel::<Job>();
        let rx = Arc::new(Mutex::new(rx));
        for i in 0..self.threads {
            let rx = Arc::clone(&rx);
            let results = self.results_tx.clone();
            let wake = Arc::clone(&self.wake);
            std::thread::Builder::new()
                .name(format!("bind-mio-dns-{i}"))
                .spawn(move || loop {
                    // The lock is held only while waiting for the next job, never while resolving.
                    let job = match rx.lock() {
                        Ok(rx) => rx.recv(),
                        Err(_) => return,
                    };
                    let Ok(job) = job else { return };
                    let addrs = (job.host.as_str(), job.port)
                        .to_socket_addrs()
                        .map(Iterator::collect::<Vec<_>>);
                    if results
                        .send(Resolved {
                            key: job.key,
                            addrs,
                        })
                        .is_err()
                    {
                        return;
                    }
                    wake.wake();
                })?;
        }
        Ok(tx)
    }
}
