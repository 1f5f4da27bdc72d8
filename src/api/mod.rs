//! The client API (Mastodon-compatible) and other non-federation HTTP.

pub mod extract;
pub mod health;
pub mod mastodon;
pub mod oauth;
