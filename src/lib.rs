//! Portico: a small-footprint IRC server.
//!
//! Module map (the dependency rule: `proto` depends on nothing, `core` on `proto` and
//! `config`, `net` on all three plus mio; nothing in `core` touches a socket or the clock):
//!
//! * [`proto`] — pure byte-level IRC: line framing, parsing, line building, case mapping,
//!   numerics.
//! * [`config`] — the TOML configuration, its built-in default and its validation.
//! * [`limits`] — named limits with the reason for each.
//! * [`core`] — the state machine: `World` (clients, channels, servers, local connections),
//!   one command table whose columns are sender classes (a local user and a remote one run
//!   the same handler), the mode tables, and the portals (`core::portal`, with ngIRCd as a
//!   dialect of the link); takes lines and the time, returns an `Outbox`.
//! * [`net`] — the mio shell: one thread, one `Poll`, every socket in a slab; moves bytes
//!   between sockets and the core, enforces send queues, owns time and signals.
//! * [`logging`] — the binary's logger: control characters escaped, repeated WARNs counted.
pub mod config;
pub mod core;
pub mod limits;
pub mod logging;
pub mod net;
pub mod proto;
