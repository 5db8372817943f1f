//! Portals: this server's links to the others of its network. One concern a file:
//!
//! * [`handshake`] — PASS/CAPAB/SERVER on any listener, version and capability
//!   negotiation, refusals, crossing dials, oper CONNECT.
//! * [`burst`] — what a new link is told (servers, users, channels) and how a received
//!   channel burst (SJOIN, TB, BMASK) merges by channel timestamp.
//! * [`remote`] — where a line from a link enters: its source resolved, then the one
//!   command table; the server-only verbs (SERVER, SQUIT, NICK introductions, collisions).
//! * [`oid`] — channel OIDs (the `OID` burst line) between servers with `IRCX`.
//! * [`props`] — IRCX channel properties (PROP, BPROP) between servers with `IRCX`.
//! * [`access`] — channel and network ACCESS entries (ACCESS, BACCESS), `IRCX` only.
//! * [`relay`] — [`relay::LinkMsg`], the one way a message leaves for other servers.
//! * [`rfc2813`] — the ngIRCd dialect: inbound lines become native messages once, outbound
//!   ones are rendered by an allow-list.
//!
//! Commands that users and servers share (PART, KICK, TOPIC, PRIVMSG…) have one handler in
//! `core/handlers`, which runs for a local user and for a remote one alike. Wire forms:
//! docs/PROTOCOL.md.

pub mod access;
pub mod burst;
pub mod handshake;
pub mod lag;
pub mod oid;
pub mod owners;
pub mod props;
pub mod relay;
pub mod remote;
pub mod rename;
pub mod rfc2813;
#[cfg(test)]
mod tests;

use super::state::{Server, ME};
use super::{ClientId, ConnId, ServerId, World};
pub use relay::LinkMsg;

/// Portal protocol versions this build speaks. Version 2 added IRCv3 client tags and
/// TAGMSG across links; a version-1 peer gets neither.
pub const PROTO_MIN: u8 = 1;
pub const PROTO_MAX: u8 = 2;

/// Portal capabilities: a feature is used on a link only when both ends offer it.
pub mod cap {
    /// Explicit end of burst.
    pub const EOB: u32 = 1;
    /// AWAY state in the burst and as it changes.
    pub const AWAY: u32 = 2;
    /// Realname changes (IRCv3 setname).
    pub const SETNAME: u32 = 4;
    /// Topic with setter and time in the burst (TB).
    pub const TB: u32 = 8;
    /// Ban lists in the burst (BMASK).
    pub const BMASK: u32 = 16;
    /// IRCX state: owners (`~` in SJOIN, MODE `q`). Without it owners travel as ops.
    pub const IRCX: u32 = 32;
    /// Users' account names in the burst and as they change (`ACCOUNT <name|*>`).
    pub const ACCOUNT: u32 = 64;
    /// Users' draft/metadata-2 keys (channels' travel as IRCX properties).
    pub const METADATA: u32 = 128;
    /// A user's new username and host (`:<nick> CHGHOST <user> <host>`).
    pub const CHGHOST: u32 = 256;
    /// Channel renames (`RENAME`) and which servers are reached over links without it
    /// (`NORENAME`): a rename needs every server of the network to have it.
    pub const RENAME: u32 = 512;
    pub const ALL: &[(&str, u32)] = &[
        ("ACCOUNT", ACCOUNT),
        ("AWAY", AWAY),
        ("BMASK", BMASK),
        ("CHGHOST", CHGHOST),
        ("EOB", EOB),
        ("IRCX", IRCX),
        ("METADATA", METADATA),
        ("RENAME", RENAME),
        ("SETNAME", SETNAME),
        ("TB", TB),
    ];

    pub fn parse(tokens: &[Box<str>]) -> u32 {
        tokens
            .iter()
            .filter_map(|t| crate::core::caps::bit_named(ALL, t))
            .fold(0, |a, b| a | b)
    }

    pub fn names(bits: u32) -> String {
        crate::core::caps::names_in(ALL, bits)
    }
}

/// The language a link speaks.
#[derive(Debug)]
pub enum Dialect {
    /// Portico's own portal protocol.
    Native,
    /// RFC 2813 as ngIRCd speaks it, with the state the translation keeps.
    Rfc2813(Box<rfc2813::RfcLink>),
}

/// What a peer said about itself during the portal handshake.
#[derive(Debug, Default, Clone)]
pub struct Hello {
    pub password: Option<Box<[u8]>>,
    /// PASS's version field (e.g. `0210-PORTICO`).
    pub version: Box<str>,
    /// Protocol range and capabilities from CAPAB; `None` if the peer sent none.
    pub capab: Option<(u8, u8, Vec<Box<str>>)>,
}

/// A registered portal link.
#[derive(Debug)]
pub struct Link {
    /// The peer's entry in `World::servers`.
    pub server: ServerId,
    /// Negotiated protocol version and capabilities (bits of [`cap`]).
    pub proto: u8,
    pub caps: u32,
    /// The peer's burst has ended (EOB).
    pub synced: bool,
    /// Fanout dedup stamp (see `World::next_serial`): served once per message.
    pub serial: std::cell::Cell<u64>,
    pub linked_ms: u64,
    pub dialect: Dialect,
    /// PING round trips ([`lag`]).
    pub lag: lag::Lag,
    /// The peer's burst, once it has ended.
    pub burst: Option<lag::Burst>,
    /// Lines queued on this link (a `Cell`: the relay counts through `&Link`).
    pub lines_out: std::cell::Cell<u64>,
    /// Its send queue in bytes, as the shell last said ([`World::set_link_sendq`]).
    pub sendq_bytes: usize,
}

impl Link {
    pub fn new(server: ServerId, proto: u8, caps: u32, linked_ms: u64, dialect: Dialect) -> Link {
        Link {
            server,
            proto,
            caps,
            synced: false,
            serial: Default::default(),
            linked_ms,
            dialect,
            lag: Default::default(),
            burst: None,
            lines_out: Default::default(),
            sendq_bytes: 0,
        }
    }

    pub fn is_rfc2813(&self) -> bool {
        matches!(self.dialect, Dialect::Rfc2813(_))
    }
}

impl World {
    pub fn me(&self) -> &Server {
        &self.servers[ME]
    }

    pub fn link(&self, conn: ConnId) -> Option<&Link> {
        self.local(conn).and_then(|l| l.link.as_deref())
    }

    pub fn link_mut(&mut self, conn: ConnId) -> Option<&mut Link> {
        self.local_mut(conn).and_then(|l| l.link.as_deref_mut())
    }

    pub fn find_server(&self, name: &[u8]) -> Option<ServerId> {
        self.servers
            .iter()
            .find(|(_, s)| s.name.as_bytes().eq_ignore_ascii_case(name))
            .map(|(i, _)| i)
    }

    /// The local connection a message for `cid` leaves through.
    pub fn route(&self, cid: ClientId) -> Option<ConnId> {
        let c = &self.clients[cid];
        c.conn.or(self.servers[c.server].via)
    }

    /// The capabilities offered on portals (all, unless a test restricts them).
    pub fn offered_caps(&self) -> u32 {
        match &self.config.testing.portal_caps {
            Some(list) => cap::parse(&list.iter().map(|s| s.as_str().into()).collect::<Vec<_>>()),
            None => cap::ALL.iter().fold(0, |a, &(_, b)| a | b),
        }
    }

    pub fn offered_proto_max(&self) -> u8 {
        self.config
            .testing
            .portal_protocol_max
            .unwrap_or(PROTO_MAX)
            .clamp(PROTO_MIN, PROTO_MAX)
    }
}
