//! What happens when an activity arrives: verify, then one domain call.

pub mod follow;
pub mod inbox;
pub mod interactions;
pub mod note;
pub mod undo;
