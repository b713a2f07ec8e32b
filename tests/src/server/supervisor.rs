//! The supervisor thread: owns the listener (closing and re-binding it on the same port),
//! applies the accept rate, runs scheduled faults and spawns one thread per connection.

use std::net::TcpListener;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Instant;

use super::session;
use super::state::Shared;

pub(crate) fn run(shared: Arc<Shared>, listener: TcpListener) {
    let mut listener = Some(listener);
    let mut conns: Vec<JoinHandle<()>> = Vec::new();
    let mut last_accept: Option<Instant> = None;
    while !shared.is_shutdown() {
        let now = Instant::now();
        let (want_open, interval) = shared.supervise(now);
        if want_open && listener.is_none() {
            match bind(&shared) {
                Ok(l) => {
                    listener = Some(l);
                    shared.set_listening(true, true);
                }
                Err(e) => shared.bind_error(e.to_string()),
            }
        } else if !want_open && listener.is_some() {
            // Dropping the listener closes it: new connections get ECONNREFUSED, and any still
            // in the backlog are reset by the kernel.
            listener = None;
            shared.set_listening(false, false);
        }
        let mut accepted = false;
        let gate_open = match (interval, last_accept) {
            (Some(i), Some(t)) => now.duration_since(t) >= i,
            _ => true,
        };
        if let (Some(l), true) = (&listener, gate_open) {
            if let Ok((tcp, peer)) = l.accept() {
                // The moment of the accept itself: `now` was read before the (possibly long)
                // supervision step, and a connection must never look older than a mark a test
                // took before the client connected.
                let id = shared.register_conn(peer, Instant::now());
                let shared = shared.clone();
                let spawned = std::thread::Builder::new()
                    .name(format!("testkit-conn-{id}"))
                    .spawn(move || session::run(shared, id, tcp));
                match spawned {
                    Ok(h) => conns.push(h),
                    Err(e) => panic!("cannot spawn a connection thread: {e}"),
                }
                last_accept = Some(now);
                accepted = true;
            }
        }
        // Reap finished threads so hundreds of reconnect cycles do not pile up handles.
        conns.retain(|h| !h.is_finished());
        if !accepted {
            std::thread::sleep(shared.config.tick);
        }
    }
    drop(listener);
    shared.set_listening(false, false);
    for h in conns {
        // A connection thread that panicked already recorded nothing more; shutdown goes on.
        let _ = h.join();
    }
}

fn bind(shared: &Shared) -> std::io::Result<TcpListener> {
    // std sets SO_REUSEADDR on Unix, so the port can be bound again while old connections
    // linger in TIME_WAIT.
    let l = TcpListener::bind(shared.addr)?;
    l.set_nonblocking(true)?;
    Ok(l)
}
