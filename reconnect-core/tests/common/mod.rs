//! What the core's test crates share: the line protocol's adapter, the test rig (a virtual
//! clock and a readable transcript), and a simulator server that speaks the line protocol.
//!
//! Each test crate includes it with `mod common;` and uses a different part of it.
#![allow(dead_code)]

pub mod line_adapter;
pub mod line_server;
pub mod rig;
