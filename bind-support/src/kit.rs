//! The kit's spec and vocabulary in the core's terms: the session and endpoint a
//! [`ClientSpec`] describes, and a core event in the kit's words.
//!
//! Both bindings' tests use this one module: the mapping is between the kit and the core, and
//! the endpoint is the WebSocket layer's (`reconnect-tungstenite`) in both, so nothing in it is
//! specific to a runtime.

use std::time::Duration;

use reconnect_core::adapters::{JsonRpcAdapter, JsonRpcConfig, SeqPointer};
use reconnect_core::{BackoffConfig, Config, FirstRetry, Jitter, Session, StopReason};
use reconnect_testkit::scenario::{
    ClientError, ClientEvent, ClientSpec, Jitter as KitJitter, StopKind,
};
use reconnect_tungstenite::{default_websocket_config, Endpoint};

/// The session the spec describes, with its channels and credentials, not yet started.
pub fn session_for(spec: &ClientSpec) -> Result<Session<JsonRpcAdapter>, ClientError> {
    let err = |e: &dyn std::fmt::Display| ClientError(e.to_string());
    let jitter = match spec.jitter {
        KitJitter::None => Jitter::None,
        KitJitter::Full => Jitter::Full,
        KitJitter::Equal => Jitter::Equal,
        KitJitter::Decorrelated => Jitter::Decorrelated,
    };
    let mut backoff = BackoffConfig::default();
    backoff.initial = spec.backoff_initial;
    backoff.max = spec.backoff_max;
    backoff.jitter = jitter;
    backoff.min_uptime = spec.min_uptime;
    // The kit's spec has no notion of a quicker first retry: every delay is the backoff's.
    backoff.first_retry = FirstRetry::Jittered;
    let mut config = Config::new(spec.seed);
    config.backoff = backoff;
    config.liveness.ping_interval = spec.ping_interval;
    config.liveness.pong_timeout = spec.pong_timeout;
    config.liveness.idle_timeout = spec.idle_timeout;
    config.timeouts.connect = spec.connect_timeout;
    config.limits.max_attempts = spec.max_attempts;
    // Acks on a loaded test machine are fast; keep the step deadlines short but safe.
    config.timeouts.auth = Duration::from_secs(2);
    config.timeouts.setup = Duration::from_secs(2);
    config.timeouts.subscribe = Duration::from_secs(2);
    config.timeouts.close = Duration::from_secs(1);
    let adapter = JsonRpcAdapter::new(
        JsonRpcConfig::default()
            .server_heartbeat(spec.heartbeat)
            .seq_pointer(Some(SeqPointer::parse("/seq").map_err(|e| err(&e))?)),
    );
    let mut session = Session::new(config, adapter).map_err(|e| err(&e))?;
    if let Some(auth) = &spec.auth {
        session.set_credentials(JsonRpcAdapter::auth_params(auth).map_err(|e| err(&e))?);
    }
    let now = std::time::Instant::now();
    for channel in &spec.channels {
        session
            .subscribe(now, channel.as_str())
            .map_err(|e| err(&e))?;
    }
    Ok(session)
}

/// The endpoint the spec describes.
pub fn endpoint_for(spec: &ClientSpec) -> Result<Endpoint, ClientError> {
    let mut endpoint = Endpoint::new(&spec.url).map_err(|e| ClientError(e.to_string()))?;
    if let Some(pem) = &spec.root_cert_pem {
        let tls = reconnect_tungstenite::tls::config_with_pem_roots(pem)
            .map_err(|e| ClientError(e.to_string()))?;
        endpoint = endpoint.tls_config(tls);
    }
    let websocket = default_websocket_config()
        .max_message_size(Some(spec.max_message_size))
        .max_frame_size(Some(spec.max_message_size));
    Ok(endpoint.websocket_config(websocket))
}

/// A core event in the kit's words (each binding's `kit_event` unwraps its own event type).
pub fn kit_event_of(event: reconnect_core::Event) -> ClientEvent {
    use reconnect_core::Event as E;
    match event {
        E::Connecting { attempt, .. } => ClientEvent::Connecting { attempt },
        E::Connected { .. } => ClientEvent::Connected,
        E::Authenticated { .. } => ClientEvent::Authenticated,
        E::Subscribed { topic, .. } => ClientEvent::Subscribed {
            channel: topic.as_str().to_owned(),
        },
        E::SubscribeRejected {
            topic,
            error,
            retry_in,
        } => ClientEvent::SubscribeRejected {
            channel: topic.as_str().to_owned(),
            reason: match retry_in {
                Some(delay) => format!("{error} (retried in {delay:?})"),
                None => format!("{error} (permanent)"),
            },
        },
        E::Live { .. } => ClientEvent::Live,
        E::Message {
            topic: Some(topic),
            seq: Some(seq),
            ..
        } => ClientEvent::Message {
            channel: topic.as_str().to_owned(),
            seq,
        },
        E::Gap {
            topic,
            expected,
            received,
        } => ClientEvent::Gap {
            channel: topic.as_str().to_owned(),
            expected,
            got: received,
        },
        E::Disconnected { cause, .. } => ClientEvent::Disconnected {
            reason: cause.to_string(),
        },
        E::ReconnectScheduled { attempt, delay, .. } => ClientEvent::ReconnectScheduled {
            attempt,
            delay: delay.drawn,
        },
        E::Stopped { reason } => {
            let kind = match &reason {
                StopReason::Closed { .. } => StopKind::Closed,
                StopReason::Fatal(_) => StopKind::Fatal,
                _ => StopKind::GaveUp,
            };
            ClientEvent::Stopped {
                kind,
                reason: format!("{reason:?}"),
            }
        }
        other => ClientEvent::Other(format!("{other:?}")),
    }
}
