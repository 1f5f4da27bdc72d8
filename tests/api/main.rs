//! The Mastodon client API in-process, on SQLite and PostgreSQL.

#[path = "../common/mod.rs"]
mod common;

mod accounts;
mod lists;
mod notifications;
mod oauth;
mod openapi;
mod statuses;
mod support;
