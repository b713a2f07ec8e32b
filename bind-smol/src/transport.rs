//! One transport attempt: resolve, TCP connect, TLS (for `wss://`), WebSocket upgrade, as a
//! future the session's task polls and drops when the session releases the attempt.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use async_net::TcpStream;
use async_tungstenite::WebSocketStream;
use futures_rustls::client::TlsStream;
use futures_rustls::TlsConnector;
use reconnect_core::{TransportError, TransportErrorKind};
use reconnect_tungstenite::close::CloseTap;
use reconnect_tungstenite::errors;
use rustls_pki_types::ServerName;
use tungstenite::handshake::client::Request;
use tungstenite::protocol::WebSocketConfig;

use crate::SharedConnectBudget;

/// The byte stream under a WebSocket: plain TCP or TLS over TCP.
pub(crate) enum ByteStream {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
}

impl futures_lite::AsyncRead for ByteStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            ByteStream::Plain(s) => Pin::new(s).poll_read(cx, buf),
            ByteStream::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl futures_lite::AsyncWrite for ByteStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            ByteStream::Plain(s) => Pin::new(s).poll_write(cx, buf),
            ByteStream::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            ByteStream::Plain(s) => Pin::new(s).poll_flush(cx),
            ByteStream::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            ByteStream::Plain(s) => Pin::new(s).poll_close(cx),
            ByteStream::Tls(s) => Pin::new(s.as_mut()).poll_close(cx),
        }
    }
}

/// The byte stream with a [`CloseTap`] on everything read from it (the upgrade response
/// included), so that the close code the server really sent can be told.
pub(crate) struct Tapped {
    stream: ByteStream,
    pub(crate) tap: CloseTap,
}

impl futures_lite::AsyncRead for Tapped {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let read = Pin::new(&mut this.stream).poll_read(cx, buf);
        if let Poll::Ready(Ok(n)) = read {
            this.tap.observe(&buf[..n]);
        }
        read
    }
}

impl futures_lite::AsyncWrite for Tapped {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_flush(cx)
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_close(cx)
    }
}

/// An open WebSocket.
pub(crate) type Ws = WebSocketStream<Tapped>;

/// An attempt in flight. Dropping it closes whatever socket it had opened so far.
pub(crate) type Attempt = Pin<Box<dyn Future<Output = Result<Box<Ws>, TransportError>> + Send>>;

/// What an attempt needs, taken from the endpoint when the session asks for a connection.
pub(crate) struct AttemptPlan {
    pub(crate) host: String,
    pub(crate) port: u16,
    pub(crate) tls: Option<Arc<rustls::ClientConfig>>,
    pub(crate) request: Request,
    pub(crate) websocket: WebSocketConfig,
    /// The fleet's connection budget: a token is waited for before anything else.
    pub(crate) budget: Option<SharedConnectBudget>,
}

/// Starts an attempt. Nothing happens until it is polled; the session's connect deadline bounds
/// it (the task drops it on `Action::Release`), so it has no timeout of its own.
pub(crate) fn start(plan: AttemptPlan) -> Attempt {
    Box::pin(async move {
        if let Some(budget) = &plan.budget {
            budget.wait_for_token().await;
        }
        // async-net resolves names on its blocking pool, so the task never blocks on DNS.
        let tcp = TcpStream::connect((plan.host.as_str(), plan.port))
            .await
            .map_err(|e| {
                let mut error = errors::from_io(&e);
                // A name that does not resolve surfaces as a generic IO error from the resolver.
                if error.kind == TransportErrorKind::Io
                    && plan.host.parse::<std::net::IpAddr>().is_err()
                {
                    error.kind = TransportErrorKind::Dns;
                }
                error
            })?;
        // Small frames (orders, acks, pongs) must not wait for Nagle.
        tcp.set_nodelay(true).map_err(|e| errors::from_io(&e))?;
        let stream = match plan.tls {
            None => ByteStream::Plain(tcp),
            Some(config) => {
                let name = ServerName::try_from(plan.host.clone()).map_err(|_| {
                    TransportError::new(TransportErrorKind::InvalidUrl, "not a TLS server name")
                })?;
                let tls = TlsConnector::from(config)
                    .connect(name, tcp)
                    .await
                    .map_err(|e| errors::from_io(&e))?;
                ByteStream::Tls(Box::new(tls))
            }
        };
        let stream = Tapped {
            stream,
            tap: CloseTap::new(),
        };
        let (ws, _response) =
            async_tungstenite::client_async_with_config(plan.request, stream, Some(plan.websocket))
                .await
                .map_err(|e| errors::from_ws(&e))?;
        Ok(Box::new(ws))
    })
}
