//! The organization layer: what makes Meetfield an organization's network
//! rather than one more fediverse server. The organization's profile schema
//! and the searchable terms of every profile (`profile`), the directory
//! (`directory`); expertise ranking, partner directory sync and insights
//! join them here.

pub mod directory;
pub mod expertise;
pub mod profile;
