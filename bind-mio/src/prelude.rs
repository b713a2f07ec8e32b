//! Everything a typical application names, in one import: `use bind_mio::prelude::*;`.
//!
//! The binding's own types (the driver, its handles, the endpoint) and the core's types a
//! session is made of and speaks in (its [`Config`], the [`Session`], the adapters, the
//! [`Event`]s it reports, the [`Frame`]s and [`Topic`]s it carries, [`Credentials`], the
//! [`HandleError`] of its handles). The same names as bind-smol's prelude wherever the concept
//! is the same. Anything else of the core is under [`bind_mio::core`](crate::core).

pub use crate::{
    Driver, DriverConfig, DriverHandle, Endpoint, EndpointError, SessionHandle, SessionId,
};
pub use reconnect_core::adapters::{JsonRpcAdapter, JsonRpcConfig, RawAdapter};
pub use reconnect_core::{
    BackoffConfig, Config, ConnectBudget, Credentials, Event, Frame, HandleError, Jitter, Refused,
    Session, StopReason, Topic,
};
