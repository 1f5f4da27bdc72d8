//! Live events for Mastodon apps: the signal bus across nodes, the hub of
//! this node's connections, and the WebSocket/SSE endpoints.

pub mod bus;
pub mod http;
pub mod hub;

pub use bus::{Signal, publish};
