//! The plan catalogue and the agency directory: what must be done, by whom, by when.

pub mod appendix;
pub mod assign;
pub mod check;
pub mod directory;
pub mod plan;

pub use directory::{Agency, Directory, Level};
