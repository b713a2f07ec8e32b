//! Everything a typical application names, in one import: `use bind_mio::prelude::*;`.
//!
//! The binding's own types (the driver, its handles, the endpoint, its [`Event`]) and the
//! core's types a session is made of (its [`Config`], the [`Session`], the adapters, the
//! [`Frame`]s and [`Topic`]s it carries, [`Credentials`]). The core's event enum is here as
//! [`SessionEvent`], since `Event` is the binding's. Anything else of the core is under
//! [`bind_mio::core`](crate::core).

pub use crate::{
    ConnectRate, Driver, DriverConfig, DriverHandle, Endpoint, EndpointError, Event, HandleError,
    SessionHandle, SessionId,
};
pub use reconnect_core::adapters::{JsonRpcAdapter, JsonRpcConfig, RawAdapter};
/// The core's event (inside [`Event::Session`]), named apart from the binding's [`Event`].
pub use reconnect_core::Event as SessionEvent;
pub use reconnect_core::{
    BackoffConfig, Config, Credentials, Frame, Jitter, Refused, Session, StopReason, Topic,
};
