//! The Mastodon client API in-process, on SQLite and PostgreSQL.

#[path = "../common/mod.rs"]
mod common;

mod accounts;
mod admin;
mod admin_console;
mod announcements;
mod answers;
mod browser;
mod cards;
mod collections;
mod conversations;
mod cors;
mod directory;
mod experts;
mod filters;
mod groups;
mod input;
mod insights;
mod ldap;
mod media;
mod notifications;
mod oauth;
mod openapi;
mod pages;
mod polls;
mod registrations;
mod reports;
mod scim;
mod search;
mod settings;
mod social;
mod sso;
mod statuses;
mod streaming;
mod suggestions;
mod support;
mod tags;
mod trends;
