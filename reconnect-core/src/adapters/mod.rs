//! Built-in protocol adapters.
//!
//! - [`RawAdapter`]: subscriptions are literal frames, replayed after every connect, without
//!   acknowledgements. Fits any protocol whose subscribe message is fixed text.
//! - `JsonRpcAdapter` (feature `json`): JSON-RPC 2.0 in the Deribit style, with its
//!   `JsonRpcConfig`.

#[cfg(feature = "json")]
mod jsonrpc;
mod raw;

#[cfg(feature = "json")]
pub use jsonrpc::{AuthParamsError, JsonRpcAdapter, JsonRpcConfig, PointerError, SeqPointer};
pub use raw::RawAdapter;
