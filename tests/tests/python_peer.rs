//! The independent Python peer speaks the same protocol: a plain tungstenite client
//! authenticates, subscribes and receives numbered data from it.
//!
//! Runs the peer with [`python()`]: `RECONNECT_PYTHON`, or a venv made on first use in the
//! target directory; a machine that can make neither fails these tests, saying how to fix it.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use reconnect_testkit::peer::{python, PythonPeer};
use reconnect_testkit::rpc::{self, Inbound};
use reconnect_testkit::wsclient::{self, ClientStream};
use serde_json::json;
use tungstenite::WebSocket;

const T: Duration = Duration::from_secs(10);

/// [`wsclient::call`], but the frames read before the response go to `early`, not away.
fn call_keeping(
    ws: &mut WebSocket<ClientStream>,
    id: u64,
    request: &str,
    early: &mut VecDeque<String>,
) -> Inbound {
    wsclient::send(ws, request).unwrap();
    let deadline = Instant::now() + T;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let text = wsclient::next_text(ws, left).unwrap();
        let inbound = rpc::classify(&text);
        if let Inbound::Result { id: got, .. } | Inbound::Error { id: got, .. } = &inbound {
            if got.as_u64() == Some(id) {
                return inbound;
            }
        }
        early.push_back(text);
    }
}

#[test]
fn plain_client_talks_to_the_python_peer() {
    let python = python();
    let peer = PythonPeer::start(&python, &["--data-interval", "0.01"]).unwrap();
    let mut ws = wsclient::connect(&peer.url("py"), None, T).unwrap();

    // Data flows from the subscribe on, also while the set_heartbeat answer is awaited: those
    // frames are kept for the loop below, which counts every number from 1.
    let mut early = VecDeque::new();
    let auth = call_keeping(&mut ws, 1, &rpc::auth(1, json!({"key": "k"})), &mut early);
    assert!(matches!(&auth, Inbound::Result { result, .. } if result["access_token"] == "peer-py"));
    let ack = call_keeping(&mut ws, 2, &rpc::subscribe(2, &["a", "b"]), &mut early);
    assert_eq!(
        ack,
        Inbound::Result {
            id: json!(2),
            result: json!(["a", "b"])
        }
    );
    let hb = call_keeping(&mut ws, 3, &rpc::set_heartbeat(3, 0.05), &mut early);
    assert_eq!(
        hb,
        Inbound::Result {
            id: json!(3),
            result: json!("ok")
        }
    );

    let mut next = [("a", 1u64), ("b", 1u64)];
    let mut test_requests = 0;
    let mut id = 10;
    while next.iter().any(|(_, n)| *n <= 5) || test_requests < 2 {
        let text = match early.pop_front() {
            Some(text) => text,
            None => wsclient::next_text(&mut ws, T).unwrap(),
        };
        match rpc::classify(&text) {
            Inbound::Data { channel, seq } => {
                let slot = next
                    .iter_mut()
                    .find(|(c, _)| *c == channel)
                    .expect("subscribed");
                assert_eq!(seq, slot.1, "numbered from 1 without gaps on {channel}");
                slot.1 += 1;
            }
            Inbound::TestRequest => {
                test_requests += 1;
                id += 1;
                wsclient::send(&mut ws, &rpc::test(id)).unwrap();
            }
            _ => {}
        }
    }
    let unknown =
        wsclient::call(&mut ws, 4, &rpc::request(4, "public/nope", json!({})), T).unwrap();
    assert!(matches!(
        unknown,
        Inbound::Error {
            code: rpc::METHOD_NOT_FOUND,
            ..
        }
    ));

    // Sequence numbers continue on a new connection of the same client.
    let last_a = next[0].1 - 1;
    drop(ws);
    let mut ws = wsclient::connect(&peer.url("py"), None, T).unwrap();
    wsclient::call(&mut ws, 1, &rpc::subscribe(1, &["a"]), T).unwrap();
    loop {
        if let Inbound::Data { seq, .. } = rpc::classify(&wsclient::next_text(&mut ws, T).unwrap())
        {
            assert!(seq > last_a, "continues after {last_a}, got {seq}");
            break;
        }
    }
}

#[test]
fn the_peer_process_is_reaped_on_drop() {
    let python = python();
    let peer = PythonPeer::start(&python, &[]).unwrap();
    let proc_dir = format!("/proc/{}", peer.pid());
    assert!(std::path::Path::new(&proc_dir).exists());
    drop(peer);
    // Killed and waited for: not even a zombie entry remains.
    assert!(
        !std::path::Path::new(&proc_dir).exists(),
        "{proc_dir} still exists"
    );
}
