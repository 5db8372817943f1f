//! IRCv3 capabilities, one bit each.

pub const MULTI_PREFIX: u16 = 1;
pub const USERHOST_IN_NAMES: u16 = 2;
pub const SERVER_TIME: u16 = 4;
pub const MESSAGE_TAGS: u16 = 8;
pub const ECHO_MESSAGE: u16 = 16;
pub const AWAY_NOTIFY: u16 = 32;
pub const EXTENDED_JOIN: u16 = 64;
pub const INVITE_NOTIFY: u16 = 128;
pub const SETNAME: u16 = 256;
pub const CAP_NOTIFY: u16 = 512;

/// Every capability offered, in `CAP LS` order.
pub const ALL: &[(&str, u16)] = &[
    ("away-notify", AWAY_NOTIFY),
    ("cap-notify", CAP_NOTIFY),
    ("echo-message", ECHO_MESSAGE),
    ("extended-join", EXTENDED_JOIN),
    ("invite-notify", INVITE_NOTIFY),
    ("message-tags", MESSAGE_TAGS),
    ("multi-prefix", MULTI_PREFIX),
    ("server-time", SERVER_TIME),
    ("setname", SETNAME),
    ("userhost-in-names", USERHOST_IN_NAMES),
];

pub fn by_name(name: &str) -> Option<u16> {
    ALL.iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|&(_, b)| b)
}

pub fn names(bits: u16) -> String {
    ALL.iter()
        .filter(|(_, b)| bits & b != 0)
        .map(|(n, _)| *n)
        .collect::<Vec<_>>()
        .join(" ")
}
