//! The mio shell.
