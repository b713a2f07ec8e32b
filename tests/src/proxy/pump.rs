//! The two pump threads of one proxied connection, one per direction.
//!
//! Each pump reads from its source with a short timeout, stamps every chunk with the time it may
//! be delivered (now + latency), and writes due chunks to its destination within the bandwidth
//! budget. Both pumps share the pair's sockets, so the sockets close (or reset) only when both
//! pumps are done.

use std::collections::VecDeque;
use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::{Shared, TICK};

/// At most this many bytes wait in one direction's queue; beyond it the pump stops reading, so
/// a slow destination pushes back on the source like a real network would.
const MAX_QUEUED: usize = 1 << 20;

struct Pair {
    client: TcpStream,
    server: TcpStream,
    /// Set when either side failed or a cut happened: both pumps stop.
    dead: AtomicBool,
}

pub(crate) fn reset(tcp: &TcpStream) {
    let _ = socket2::SockRef::from(tcp).set_linger(Some(Duration::ZERO));
}

pub(crate) fn spawn_pair(
    shared: Arc<Shared>,
    client: TcpStream,
    server: TcpStream,
    epoch: u64,
) -> io::Result<Vec<JoinHandle<()>>> {
    for s in [&client, &server] {
        s.set_read_timeout(Some(TICK))?;
        s.set_write_timeout(Some(TICK))?;
        s.set_nodelay(true)?;
    }
    let pair = Arc::new(Pair {
        client,
        server,
        dead: AtomicBool::new(false),
    });
    let alive = Arc::new(AtomicBool::new(true)); // cleared by the last pump to finish
    let mut handles = Vec::new();
    for up in [true, false] {
        let (pair, shared, alive) = (pair.clone(), shared.clone(), alive.clone());
        let h = std::thread::Builder::new()
            .name(format!("testkit-proxy-{}", if up { "up" } else { "down" }))
            .spawn(move || {
                Pump {
                    shared: &shared,
                    pair: &pair,
                    up,
                    epoch,
                }
                .run();
                // The last pump to finish updates the open count.
                if !alive.swap(false, Ordering::AcqRel) {
                    shared.lock().stats.open -= 1;
                }
            })?;
        handles.push(h);
    }
    Ok(handles)
}

struct Pump<'a> {
    shared: &'a Shared,
    pair: &'a Pair,
    /// Client → server when true.
    up: bool,
    epoch: u64,
}

impl Pump<'_> {
    fn run(&self) {
        let (mut src, mut dst) = if self.up {
            (&self.pair.client, &self.pair.server)
        } else {
            (&self.pair.server, &self.pair.client)
        };
        let mut queue: VecDeque<(Instant, Vec<u8>)> = VecDeque::new();
        let mut queued = 0usize;
        let mut tokens = 0f64;
        let mut last_refill = Instant::now();
        let mut eof = false;
        let mut buf = vec![0u8; 16 * 1024];
        loop {
            if self.shared.is_shutdown() || self.pair.dead.load(Ordering::Acquire) {
                return;
            }
            if self.shared.lock().cut_epoch != self.epoch {
                self.kill();
                return;
            }
            let mut got = 0;
            if !eof && queued < MAX_QUEUED {
                match src.read(&mut buf) {
                    Ok(0) => eof = true,
                    Ok(n) => got = n,
                    Err(e) if is_timeout(&e) => {}
                    Err(_) => {
                        // The source broke (usually a reset): pass the reset on.
                        self.kill();
                        return;
                    }
                }
            } else {
                std::thread::sleep(TICK);
            }
            // Read the conditions after the read, so bytes that arrive right after a change are
            // already treated under the new conditions.
            let conditions = self.shared.lock().conditions;
            if got > 0 {
                if conditions.blackhole {
                    self.shared.lock().stats.dropped += got as u64;
                } else {
                    queue.push_back((Instant::now() + conditions.latency, buf[..got].to_vec()));
                    queued += got;
                }
            }
            // Deliver what is due, within the bandwidth budget.
            let now = Instant::now();
            if let Some(bw) = conditions.bandwidth {
                let cap = (bw as f64 / 20.0).max(1024.0);
                tokens =
                    (tokens + now.duration_since(last_refill).as_secs_f64() * bw as f64).min(cap);
            }
            last_refill = now;
            while let Some((due, chunk)) = queue.front_mut() {
                if *due > now {
                    break;
                }
                if conditions.blackhole {
                    // Bytes already in flight when the blackhole started are lost too.
                    self.shared.lock().stats.dropped += chunk.len() as u64;
                    queued -= chunk.len();
                    queue.pop_front();
                    continue;
                }
                let allowed = match conditions.bandwidth {
                    Some(_) => (tokens as usize).min(chunk.len()),
                    None => chunk.len(),
                };
                if allowed == 0 {
                    break;
                }
                match dst.write(&chunk[..allowed]) {
                    Ok(n) => {
                        tokens -= n as f64;
                        queued -= n;
                        chunk.drain(..n);
                        let mut s = self.shared.lock();
                        if self.up {
                            s.stats.bytes_up += n as u64;
                        } else {
                            s.stats.bytes_down += n as u64;
                        }
                        drop(s);
                        if chunk.is_empty() {
                            queue.pop_front();
                        }
                    }
                    Err(e) if is_timeout(&e) => break,
                    Err(_) => {
                        self.kill();
                        return;
                    }
                }
            }
            if eof && queue.is_empty() {
                // Pass the half-close on; the other direction keeps going until its own EOF.
                let _ = dst.shutdown(Shutdown::Write);
                return;
            }
            let _ = dst.flush();
        }
    }

    /// Stops both pumps; both sockets reset when the last pump drops them.
    fn kill(&self) {
        if !self.pair.dead.swap(true, Ordering::AcqRel) {
            reset(&self.pair.client);
            reset(&self.pair.server);
            let cut = self.shared.lock().cut_epoch != self.epoch;
            if cut {
                self.shared.lock().stats.cut += 1;
            }
        }
    }
}

fn is_timeout(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut | io::ErrorKind::Interrupted
    )
}
