//! Inbound throughput of a bind-smol session against a raw async-tungstenite client, both
//! reading from the same local flood server, for 64 B and 4 KiB messages; prints the ratio.
//!
//! ```text
//! cargo run --release -p bind-smol --example throughput
//! ```

use std::time::{Duration, Instant};

use async_net::TcpListener;
use bind_smol::{Endpoint, Event, Options};
use futures_lite::StreamExt;
use futures_sink::Sink;
use reconnect_core::adapters::RawAdapter;
use reconnect_core::{Config, Event as CoreEvent, Session};
use tungstenite::Message;

const MESSAGES: usize = 200_000;

/// Accepts connections forever; sends each one `MESSAGES` text messages of `size` bytes.
async fn flood_server(listener: TcpListener, size: usize) {
    loop {
        let Ok((tcp, _)) = listener.accept().await else {
            return;
        };
        smol::spawn(async move {
            let Ok(mut ws) = async_tungstenite::accept_async(tcp).await else {
                return;
            };
            let payload = "x".repeat(size);
            for _ in 0..MESSAGES {
                if std::future::poll_fn(|cx| std::pin::Pin::new(&mut ws).poll_ready(cx))
                    .await
                    .is_err()
                    || std::pin::Pin::new(&mut ws)
                        .start_send(Message::text(payload.clone()))
                        .is_err()
                {
                    return;
                }
            }
            let _ = std::future::poll_fn(|cx| std::pin::Pin::new(&mut ws).poll_flush(cx)).await;
            // Keep the connection open until the client leaves.
            while let Some(Ok(_)) = ws.next().await {}
        })
        .detach();
    }
}

async fn raw(url: &str) -> Duration {
    // The same transport and WebSocket limits as the binding's, without the session.
    let addr = url.trim_start_matches("ws://").trim_end_matches('/');
    let tcp = async_net::TcpStream::connect(addr).await.unwrap();
    tcp.set_nodelay(true).unwrap();
    let (mut ws, _) = async_tungstenite::client_async_with_config(
        url,
        tcp,
        Some(bind_smol::default_websocket_config()),
    )
    .await
    .unwrap();
    let started = Instant::now();
    let mut n = 0;
    while n < MESSAGES {
        match ws.next().await {
            Some(Ok(Message::Text(_))) => n += 1,
            Some(Ok(_)) => {}
            other => panic!("{other:?}"),
        }
    }
    started.elapsed()
}

async fn binding(url: &str) -> Duration {
    let config = Config::new(1).ping_interval(None);
    let session = Session::new(config, RawAdapter::new()).unwrap();
    let (handle, mut events, task) =
        bind_smol::connect(session, Endpoint::new(url).unwrap(), Options::default());
    smol::spawn(task).detach();
    let mut n = 0;
    let mut started = None;
    while n < MESSAGES {
        match events.next().await {
            Some(Event::Session(CoreEvent::Connected { .. })) => started = Some(Instant::now()),
            Some(Event::Session(CoreEvent::Message { .. })) => n += 1,
            Some(_) => {}
            None => panic!("the session ended"),
        }
    }
    let elapsed = started.expect("connected first").elapsed();
    handle.close().await;
    elapsed
}

fn main() {
    smol::block_on(async {
        for size in [64, 4096] {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let url = format!("ws://{}/", listener.local_addr().unwrap());
            smol::spawn(flood_server(listener, size)).detach();
            let raw = raw(&url).await;
            let ours = binding(&url).await;
            let rate = |d: Duration| MESSAGES as f64 / d.as_secs_f64();
            println!(
                "{size:>5} B: raw async-tungstenite {:>10.0} msg/s, bind-smol {:>10.0} msg/s, ratio {:.2}",
                rate(raw),
                rate(ours),
                rate(ours) / rate(raw)
            );
        }
    });
}
