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
/// IRCv3 batch: `BATCH +ref type` … `BATCH -ref`, the `batch` tag on the lines between.
pub const BATCH: Caps = 1024;
/// IRCv3 labeled-response (needs `batch` too: see `core::labeled`).
pub const LABELED_RESPONSE: Caps = 2048;
/// IRCv3 standard-replies: the client takes any FAIL/WARN/NOTE, so the server may use them
/// where it would otherwise send a NOTICE of its own making.
pub const STANDARD_REPLIES: Caps = 4096;
/// IRCv3 draft/no-implicit-names: JOIN sends no NAMES reply.
pub const NO_IMPLICIT_NAMES: Caps = 8192;
/// IRCv3 extended-monitor: MONITOR also brings the notifications (away, setname…) of
/// monitored users who share no channel with the watcher.
pub const EXTENDED_MONITOR: Caps = 16384;
/// IRCv3 SASL (3.1, and 3.2's value in CAP LS 302): AUTHENTICATE, see `handlers::sasl`.
pub const SASL: Caps = 32768;
/// `ACCOUNT <name|*>` when a user in a shared channel logs in or out.
pub const ACCOUNT_NOTIFY: Caps = 65536;
/// The `account` tag on what logged-in users send.
pub const ACCOUNT_TAG: Caps = 131072;
/// IRCv3 chghost: `CHGHOST <user> <host>` when a user in a shared channel gets a new
/// username or host (others get QUIT, JOIN and MODE instead).
pub const CHGHOST: Caps = 1 << 18;
/// IRCv3 draft/read-marker: MARKREAD after JOIN and when the account's marker moves.
pub const READ_MARKER: Caps = 1 << 19;
/// IRCv3 draft/channel-rename: the client takes `RENAME <old> <new> :<reason>`; others
/// see a renamed channel as a PART and a JOIN ([`crate::core::handlers::rename`]).
pub const CHANNEL_RENAME: Caps = 1 << 20;

/// Not a capability: the connection speaks IRCX (set by the IRCX command, never offered in
/// CAP LS). Lines whose form differs per dialect are rendered once per dialect.
pub const DIALECT_IRCX: Caps = 1 << 31;
/// The bits that select a dialect.
pub const DIALECTS: Caps = DIALECT_IRCX;

/// Every capability offered, in `CAP LS` order.
pub const ALL: &[(&str, Caps)] = &[
    ("account-notify", ACCOUNT_NOTIFY),
    ("account-tag", ACCOUNT_TAG),
    ("away-notify", AWAY_NOTIFY),
    ("batch", BATCH),
    ("cap-notify", CAP_NOTIFY),
    ("chghost", CHGHOST),
    ("draft/channel-rename", CHANNEL_RENAME),
    ("draft/metadata-2", METADATA),
    ("draft/no-implicit-names", NO_IMPLICIT_NAMES),
    ("draft/read-marker", READ_MARKER),
    ("echo-message", ECHO_MESSAGE),
    ("extended-join", EXTENDED_JOIN),
    ("extended-monitor", EXTENDED_MONITOR),
    ("invite-notify", INVITE_NOTIFY),
    ("labeled-response", LABELED_RESPONSE),
    ("message-tags", MESSAGE_TAGS),
    ("multi-prefix", MULTI_PREFIX),
    ("sasl", SASL),
    ("server-time", SERVER_TIME),
    ("setname", SETNAME),
    ("standard-replies", STANDARD_REPLIES),
    ("userhost-in-names", USERHOST_IN_NAMES),
];

/// The values CAP 302 clients see in `CAP LS` (`sasl=PLAIN`: the mechanisms).
const VALUES: &[(Caps, &str)] = &[(SASL, "PLAIN")];

/// Every capability offered, as `CAP LS` lists them; with their values for CAP 302.
pub fn ls(with_values: bool) -> String {
    ALL.iter()
        .map(
            |&(name, bit)| match VALUES.iter().find(|(b, _)| *b == bit) {
                Some((_, value)) if with_values => format!("{name}={value}"),
                _ => name.to_string(),
            },
        )
        .collect::<Vec<_>>()
        .join(" ")
}

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
