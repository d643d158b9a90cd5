//! Durations (`"30s"`) and byte sizes (`"1MiB"`) as written in gatehouse configuration. The
//! gateway's file and the identity providers' settings share this one grammar, so a value is
//! spelled the same way everywhere.

mod duration;
mod size;

pub use duration::{ConfigDuration, parse_duration};
pub use size::{ByteSize, parse_size};
