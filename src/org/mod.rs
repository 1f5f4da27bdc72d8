//! The organization layer: what makes Meetfield an organization's network
//! rather than one more fediverse server. The organization's profile schema
//! and the searchable terms of every profile (`profile`), the directory
//! (`directory`), "who knows X?" (`expertise`) and partners' directories
//! read and served without a central host (`partners`); insights join them
//! here.

pub mod directory;
pub mod expertise;
pub mod graph;
pub mod insights;
pub mod partners;
pub mod profile;
pub mod suggestions;
