//! The subcommands other than the demo, one module each; all make their links through
//! [`crate::runner::Runner`].

pub mod bridge;
pub mod chat;
pub mod decode;
pub mod firmware;
pub mod listen;
pub mod ports;
pub mod send;
