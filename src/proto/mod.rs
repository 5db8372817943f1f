//! Pure byte-level IRC: framing, parsing, building lines, case mapping. No state, no I/O.
pub mod casemap;
pub mod framer;
pub mod line;
pub mod message;
pub mod numeric;
pub mod spare;
pub mod time;

pub use casemap::CaseMapping;
pub use framer::{Framer, Input};
pub use line::Line;
pub use message::{Message, ParseError};
