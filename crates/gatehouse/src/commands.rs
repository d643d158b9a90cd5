//! One module per subcommand.

pub mod check;
pub mod demo;
pub mod lint;
pub mod run;
pub mod token;
