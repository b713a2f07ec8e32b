//! Everything a typical application names, in one import: `use bind_smol::prelude::*;`.
//!
//! The binding's own types (the handle, the event stream, the endpoint, its [`Event`], the
//! [`Options`]), the core's types a session is made of (its [`Config`], the [`Session`], the
//! adapters, the [`Frame`]s and [`Topic`]s it carries, [`Credentials`]), and
//! `futures_lite::StreamExt` for `events.next().await`. The core's event enum is here as
//! [`SessionEvent`], since `Event` is the binding's. Anything else of the core is under
//! [`bind_smol::core`](crate::core).

pub use crate::{
    Endpoint, EndpointError, Event, EventStream, HandleError, Options, SessionHandle, SessionTask,
    SharedConnectBudget,
};
pub use futures_lite::StreamExt;
pub use reconnect_core::adapters::{JsonRpcAdapter, JsonRpcConfig, RawAdapter};
/// The core's event (inside [`Event::Session`]), named apart from the binding's [`Event`].
pub use reconnect_core::Event as SessionEvent;
pub use reconnect_core::{
    BackoffConfig, Config, Credentials, Frame, Jitter, Refused, Session, StopReason, Topic,
};
