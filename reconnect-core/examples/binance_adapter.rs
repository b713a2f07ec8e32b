//! A Binance-style adapter in a few dozen lines (`binance/adapter.rs`), fed canned frames
//! through a `Session` (no network): `cargo run -p reconnect-core --example binance_adapter`.
//!
//! Binance market streams: `{"method":"SUBSCRIBE","params":["btcusdt@trade"],"id":1}` is
//! answered `{"result":null,"id":1}` (or `{"error":{"code":2,"msg":"…"},"id":1}`), and data
//! arrives on the combined endpoint as `{"stream":"btcusdt@trade","data":{…}}`. Topics are the
//! stream names.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use reconnect_core::{Action, Config, Frame, Input, Output, Session};
use serde_json::{json, Value};

// The adapter lives in `binance/adapter.rs`, shared with the `binance_property` example.
#[path = "binance/adapter.rs"]
mod adapter;

use adapter::Binance;

/// The server's side of the conversation: acknowledges every request by its id.
fn server_answers(frame: &Frame) -> Vec<String> {
    let Some(Ok(request)) = frame.as_text().map(serde_json::from_str::<Value>) else {
        return vec![];
    };
    vec![json!({"result": null, "id": request["id"]}).to_string()]
}

fn main() {
    let start = Instant::now(); // the only clock reading: the rest is virtual time
    let mut config = Config::new(1);
    config.liveness.ping_interval = None;
    let mut session = Session::new(config, Binance).expect("a valid config");
    session
        .subscribe(start, "btcusdt@trade")
        .expect("subscribed");
    session
        .subscribe(start, "btcusdt@depth@100ms")
        .expect("subscribed");
    session.start(start).expect("started");

    let data = [
        r#"{"stream":"btcusdt@trade","data":{"e":"trade","E":1,"s":"BTCUSDT","t":1001,"p":"65000.10","q":"0.01","T":1,"m":true}}"#,
        r#"{"stream":"btcusdt@depth@100ms","data":{"e":"depthUpdate","E":2,"s":"BTCUSDT","U":500,"u":504,"b":[["64999.9","1.2"]],"a":[]}}"#,
        r#"{"stream":"btcusdt@trade","data":{"e":"trade","E":3,"s":"BTCUSDT","t":1004,"p":"65000.20","q":"0.02","T":3,"m":false}}"#,
    ];
    let mut inbox = VecDeque::new();
    let mut data = data.iter();
    let mut ms = 0;
    loop {
        for output in session.drain() {
            println!("{ms:>3} ms  {output:?}");
            match output {
                Output::Action(Action::Connect { conn, .. }) => {
                    inbox.push_back(Input::Opened { conn });
                }
                Output::Action(Action::Send { conn, frame, .. }) => {
                    for answer in server_answers(&frame) {
                        inbox.push_back(Input::Frame {
                            conn,
                            frame: answer.into(),
                        });
                    }
                }
                Output::Event(reconnect_core::Event::Live { conn, .. }) => {
                    for frame in data.by_ref() {
                        inbox.push_back(Input::Frame {
                            conn,
                            frame: (*frame).into(),
                        });
                    }
                }
                _ => {}
            }
        }
        let Some(input) = inbox.pop_front() else {
            break;
        };
        ms += 5;
        session.handle_input(start + Duration::from_millis(ms), input);
    }
    println!("gaps reported: {}", session.stats().gaps);
}
