//! Tests that run the built `meetfield` binary as separate processes.
//! (Federation scenarios across several instances join here.)

#[path = "../tests/common/mod.rs"]
mod common;

mod clients;
mod corpus;
mod delivery;
mod directory;
mod discovery;
mod follows;
mod groups;
mod harness;
mod media;
mod partner_feed;
mod polls;
mod posts;
mod process;
mod processes;
mod rejections;
mod relays;
mod reports;
mod suggestions;
