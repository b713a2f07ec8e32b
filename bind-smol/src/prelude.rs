//! Everything a typical application names, in one import: `use bind_smol::prelude::*;`.
//!
//! The binding's own types (the handle, the event stream, the endpoint, the [`Options`]), the
//! core's types a session is made of and speaks in (its [`Config`], the [`Session`], the
//! adapters, the [`Event`]s it reports, the [`Frame`]s and [`Topic`]s it carries,
//! [`Credentials`], the [`HandleError`] of its handles), and `futures_lite::StreamExt` for
//! `events.next().await`. The same names as bind-mio's prelude wherever the concept is the
//! same. Anything else of the core is under [`bind_smol::core`](crate::core).

pub use crate::{
    Endpoint, EndpointError, EventStream, Options, SessionHandle, SessionTask, SharedConnectBudget,
};
pub use futures_lite::StreamExt;
pub use reconnect_core::adapters::{JsonRpcAdapter, JsonRpcConfig, RawAdapter};
pub use reconnect_core::{
    BackoffConfig, Config, ConnectBudget, Credentials, Event, Frame, HandleError, Jitter, Refused,
    Session, StopReason, Topic,
};
