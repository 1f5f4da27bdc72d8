//! Meetfield: a federated ActivityPub server for organizational communities.

pub mod api;
pub mod app;
pub mod cli;
pub mod config;
pub mod db;
pub mod delivery;
pub mod domain;
pub mod error;
pub mod federation;
pub mod jobs;
pub mod media;
pub mod metrics;
pub mod org;
pub mod server;
pub mod sso;
pub mod stream;
pub mod web;
