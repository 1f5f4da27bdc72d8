//! HTTP endpoints that are neither federation nor web pages.

pub mod health;
