//! Command handlers, one module per family.
pub mod bans;
pub mod channel;
pub mod chghost;
pub mod help;
pub mod ircx;
pub mod message;
pub mod metadata;
pub mod mode;
pub mod monitor;
pub mod oper;
pub mod query;
pub mod read_marker;
pub mod register;
pub mod rename;
pub mod sasl;
#[cfg(test)]
mod sasl_tests;
