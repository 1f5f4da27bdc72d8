//! Wire formats: the JSON we send and accept, and nothing else.

pub mod activities;
pub mod actor;
pub mod context;
pub mod helpers;
pub mod note;
