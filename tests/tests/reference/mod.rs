//! A deliberately plain reconnecting client, used only to validate the scenario suite itself:
//! if the suite's checks are right, a careful client passes all of them, and each planted bug
//! (see [`Bug`]) makes at least one scenario fail.
//!
//! It is not a model for the bindings (no event loop, one thread, 5 ms polling); it shares no
//! code with `reconnect-core`.

mod engine;

use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::Duration;

use reconnect_testkit::scenario::{ClientError, ClientEvent, ClientSpec, ScenarioClient};

/// Bugs that can be planted, as bit flags of the const parameter of [`RefClient`].
pub struct Bug;

#[allow(dead_code)] // each test binary uses a different subset
impl Bug {
    /// Sends the subscribe request right after the auth request, without waiting for the ack.
    pub const SUBSCRIBE_BEFORE_AUTH_ACK: u32 = 1;
    /// Treats a fatal auth rejection as transient.
    pub const RETRY_FATAL: u32 = 2;
    /// Never sends pings.
    pub const NO_PING: u32 = 4;
    /// Keeps a lost connection's socket open while reconnecting.
    pub const KEEP_OLD_SOCKET: u32 = 8;
    /// Subscribes every channel twice on each connection.
    pub const RESTORE_TWICE: u32 = 16;
    /// Resets the backoff on every successful handshake, ignoring min_uptime.
    pub const RESET_BACKOFF_ON_CONNECT: u32 = 32;
    /// Does not report gaps.
    pub const HIDE_GAPS: u32 = 64;
    /// Reconnects after the application closed it.
    pub const RECONNECT_AFTER_CLOSE: u32 = 128;
    /// Rejects every channel of a batch the server refused whole.
    pub const NO_BATCH_ISOLATION: u32 = 256;
    /// Ignores `expires_in`: never renews a token.
    pub const NO_RENEWAL: u32 = 512;
}

/// The reference client; `BUGS` = 0 is the correct one.
pub struct RefClient<const BUGS: u32> {
    commands: Option<mpsc::Sender<engine::Cmd>>,
    events: mpsc::Receiver<ClientEvent>,
    thread: Option<JoinHandle<()>>,
}

/// The correct reference client.
#[allow(dead_code)]
pub type Reference = RefClient<0>;

impl<const BUGS: u32> RefClient<BUGS> {
    fn cmd(&self, cmd: engine::Cmd) -> Result<(), ClientError> {
        // A stopped client ignores commands, like a real one.
        if let Some(c) = &self.commands {
            let _ = c.send(cmd);
        }
        Ok(())
    }
}

impl<const BUGS: u32> ScenarioClient for RefClient<BUGS> {
    fn start(spec: &ClientSpec) -> Result<Self, ClientError> {
        let (cmd_tx, cmd_rx) = mpsc::channel();
        let (ev_tx, ev_rx) = mpsc::channel();
        let engine = engine::Engine::new(spec.clone(), BUGS, cmd_rx, ev_tx);
        let thread = std::thread::Builder::new()
            .name("reference-client".into())
            .spawn(move || engine.run())
            .map_err(|e| ClientError(e.to_string()))?;
        Ok(RefClient {
            commands: Some(cmd_tx),
            events: ev_rx,
            thread: Some(thread),
        })
    }

    fn subscribe(&mut self, channel: &str) -> Result<(), ClientError> {
        self.cmd(engine::Cmd::Subscribe(channel.to_owned()))
    }

    fn unsubscribe(&mut self, channel: &str) -> Result<(), ClientError> {
        self.cmd(engine::Cmd::Unsubscribe(channel.to_owned()))
    }

    fn send(&mut self, text: &str) -> Result<(), ClientError> {
        self.cmd(engine::Cmd::Send(text.to_owned()))
    }

    fn close(&mut self) -> Result<(), ClientError> {
        self.cmd(engine::Cmd::Close)
    }

    fn next_event(&mut self, timeout: Duration) -> Option<ClientEvent> {
        match self.events.recv_timeout(timeout) {
            Ok(e) => Some(e),
            Err(mpsc::RecvTimeoutError::Timeout) => None,
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                // The engine ended (stopped); keep the promise of waiting `timeout`.
                std::thread::sleep(timeout);
                None
            }
        }
    }
}

impl<const BUGS: u32> Drop for RefClient<BUGS> {
    fn drop(&mut self) {
        // Closing the command channel tells the engine to drop everything and return.
        self.commands.take();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
