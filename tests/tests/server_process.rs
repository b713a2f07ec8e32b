//! The benchmarks' server child process: it serves on 127.0.0.1, counts connections, restarts
//! on the same port, resets every connection, and is reaped when its handle drops.
//!
//! A `harness = false` test, because the binary re-executes itself with the server flag.

use std::net::TcpStream;
use std::time::{Duration, Instant};

use reconnect_testkit::bench::{run_server_child, ServerProcess, SERVER_FLAG};
use reconnect_testkit::wsclient;

const T: Duration = Duration::from_secs(10);

/// Polls the child until it holds `open` connections, or panics after `T`.
fn until_open(server: &mut ServerProcess, open: usize) {
    let started = Instant::now();
    loop {
        let now = server.open_connections().unwrap();
        if now == open {
            return;
        }
        assert!(started.elapsed() < T, "{now} open, not {open}, after {T:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn main() {
    if std::env::args().any(|a| a == SERVER_FLAG) {
        return run_server_child();
    }
    let mut server = ServerProcess::start().unwrap();
    assert!(server.addr().ip().is_loopback());
    assert_eq!(server.open_connections().unwrap(), 0);

    let ws = wsclient::connect(&server.url("a"), None, T).unwrap();
    until_open(&mut server, 1);

    // The restart drops the connection and keeps the port.
    let addr = server.addr();
    server.restart(Duration::from_millis(100)).unwrap();
    until_open(&mut server, 0);
    drop(ws);
    let started = Instant::now();
    let again = loop {
        match wsclient::connect(&server.url("a"), None, T) {
            Ok(ws) => break ws,
            Err(_) if started.elapsed() < T => {
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(e) => panic!("no connection after the restart: {e}"),
        }
    };
    assert_eq!(server.addr(), addr);
    until_open(&mut server, 1);
    assert_eq!(server.accepted().unwrap(), 2);
    // Reset-all resets the one connection; the listener stays.
    assert_eq!(server.reset_all().unwrap(), 1);
    until_open(&mut server, 0);
    drop(again);
    // The child's CPU time is readable (its value is the benchmark's business).
    server.cpu_time().unwrap();

    // Dropping the handle kills and reaps the child: its pid is gone from /proc.
    let pid = server.pid();
    assert!(std::path::Path::new(&format!("/proc/{pid}")).exists());
    drop(server);
    assert!(!std::path::Path::new(&format!("/proc/{pid}")).exists());
    assert!(TcpStream::connect(addr).is_err(), "nobody listens any more");
    println!("server_process: ok");
}
