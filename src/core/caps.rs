//! IRCv3 capabilities, one bit each, and the client dialect bits that share the word (they
//! change how lines are rendered for a client, so the fanout keys its variants on both).

/// A set of capabilities (and dialect bits). 32 bits: IRCv3 and the IRCX dialect need more
/// than the 16 the first ten capabilities fitted in.
pub type Caps = u32;

pub const MULTI_PREFIX: Caps = 1;
pub const USERHOST_IN_NAMES: Caps = 2;
pub const SERVER_TIME: Caps = 4;
pub const MESSAGE_TAGS: Caps = 8;
pub const ECHO_MESSAGE: Caps = 16;
pub const AWAY_NOTIFY: Caps = 32;
pub const EXTENDED_JOIN: Caps = 64;
pub const INVITE_NOTIFY: Caps = 128;
pub const SETNAME: Caps = 256;
pub const CAP_NOTIFY: Caps = 512;
/// IRCv3 draft/metadata-2 (a high bit: other capabilities are being added below it).
pub const METADATA: Caps = 1 << 24;

/// Not a capability: the connection speaks IRCX (set by the IRCX command, never offered in
/// CAP LS). Lines whose form differs per dialect are rendered once per dialect.
pub const DIALECT_IRCX: Caps = 1 << 31;
/// The bits that select a dialect.
pub const DIALECTS: Caps = DIALECT_IRCX;

/// Every capability offered, in `CAP LS` order.
pub const ALL: &[(&str, Caps)] = &[
    ("away-notify", AWAY_NOTIFY),
    ("cap-notify", CAP_NOTIFY),
    ("draft/metadata-2", METADATA),
    ("echo-message", ECHO_MESSAGE),
    ("extended-join", EXTENDED_JOIN),
    ("invite-notify", INVITE_NOTIFY),
    ("message-tags", MESSAGE_TAGS),
    ("multi-prefix", MULTI_PREFIX),
    ("server-time", SERVER_TIME),
    ("setname", SETNAME),
    ("userhost-in-names", USERHOST_IN_NAMES),
];

pub fn by_name(name: &str) -> Option<Caps> {
    bit_named(ALL, name)
}

pub fn names(bits: Caps) -> String {
    names_in(ALL, bits)
}

/// The bit a name stands for in a table of named bits (case-insensitive).
pub fn bit_named(table: &[(&str, u32)], name: &str) -> Option<u32> {
    table
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|&(_, b)| b)
}

/// The names of the bits set in `bits`, in table order, space-separated.
pub fn names_in(table: &[(&str, u32)], bits: u32) -> String {
    table
        .iter()
        .filter(|(_, b)| bits & b != 0)
        .map(|(n, _)| *n)
        .collect::<Vec<_>>()
        .join(" ")
}
