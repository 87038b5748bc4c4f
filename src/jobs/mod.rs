//! Jobs: every execution is a run recorded in the warehouse, started by the CLI, the
//! scheduler or the admin API through the same functions.

pub mod collect;
pub mod evaluate;
pub mod remind;
