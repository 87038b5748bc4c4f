//! Workbooks chiso writes: the agency reporting template (and later the quarterly report).

pub mod export;
pub mod template;
