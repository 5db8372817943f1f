//! The records the core keeps: clients, channels, local connections.

use super::modes::Status;
use super::{ChanId, ClientId, ConnId, ServerId};
use hashbrown::HashMap;
use std::net::IpAddr;

/// User modes, one bit each.
pub mod umode {
    pub const INVISIBLE: u16 = 1;
    pub const OPER: u16 = 2;
    pub const WALLOPS: u16 = 4;
    pub const SNOTICE: u16 = 8;
    /// The connection speaks IRCX: set by the server on the IRCX command, never by MODE, and
    /// not carried to other servers (it describes this connection, not the user).
    pub const IRCX: u16 = 16;
    /// IRCX sysop manager (`[[oper]] level = "manager"`): set by OPER, with +o.
    pub const MANAGER: u16 = 32;
    /// IRCX GAG: set by a sysop on another user, who is not told; their messages reach
    /// nobody.
    pub const GAG: u16 = 64;
    /// IRCv3 bot mode (`BOT=B`): the user is a bot, and says so in WHOIS, WHO and the `bot`
    /// tag on its messages. Set by the user, carried to other servers (ngIRCd has it too).
    pub const BOT: u16 = 128;
    /// The connection is TLS: set by the server at registration, never by MODE, and kept
    /// to this server like +x (it describes the connection).
    pub const SECURE: u16 = 256;
    /// Not a mode of ours, never listed nor sent: ngIRCd cloaks the user (the +x of its NICK
    /// or of a MODE), so ngIRCd's real host for it (`METADATA host`) is not shown until
    /// ngIRCd says it is uncloaked (`-x`), and a CHGHOST reaches ngIRCd as its `cloakhost`.
    /// See `portal::rfc2813` (`RfcLink::hidden` keeps the host not shown).
    pub const NGIRCD_CLOAK: u16 = 512;
    /// In the order `MODE nick` lists them.
    pub const ALL: &[(u8, u16)] = &[
        (b'B', BOT),
        (b'a', MANAGER),
        (b'i', INVISIBLE),
        (b'o', OPER),
        (b's', SNOTICE),
        (b'w', WALLOPS),
        (b'x', IRCX),
        (b'z', GAG),
        (b'Z', SECURE),
    ];
    /// The modes other servers are told of in NICK and user MODE lines. Left out on purpose:
    /// +x (a property of the connection), the IRCX level +a (this server's own), and the gag
    /// +z, which travels on its own line to `IRCX` links only (`handlers/mode/gag.rs`).
    pub const LINKED: u16 = INVISIBLE | OPER | SNOTICE | WALLOPS | BOT;
}

/// Channel flag modes, one bit each, their bits taken from the mode table.
pub mod cmode {
    use crate::core::modes::flag_bit;
    pub const INVITE: u32 = flag_bit(b'i');
    pub const MODERATED: u32 = flag_bit(b'm');
    pub const NO_EXTERNAL: u32 = flag_bit(b'n');
    pub const PRIVATE: u32 = flag_bit(b'p');
    pub const SECRET: u32 = flag_bit(b's');
    pub const TOPIC_OPS: u32 = flag_bit(b't');
    pub const KNOCK: u32 = flag_bit(b'u');
    pub const HIDDEN: u32 = flag_bit(b'h');
    pub const NOWHISPER: u32 = flag_bit(b'w');
    pub const AUTHONLY: u32 = flag_bit(b'a');
    pub const REGISTERED: u32 = flag_bit(b'r');
    pub const AUDITORIUM: u32 = flag_bit(b'x');
    pub const CLONEABLE: u32 = flag_bit(b'd');
    pub const CLONE: u32 = flag_bit(b'E');
    pub const NO_CTCP: u32 = flag_bit(b'C');
}

/// A user of the network. Fields are boxed slices, not `String`s, to keep idle users small.
#[derive(Debug)]
pub struct Client {
    pub nick: Box<str>,
    pub user: Box<str>,
    pub host: Box<str>,
    pub realname: Box<[u8]>,
    pub umodes: u16,
    pub caps: crate::core::caps::Caps,
    pub away: Option<Box<[u8]>>,
    pub chans: Vec<ChanId>,
    /// The local connection, if the user is on this server.
    pub conn: Option<ConnId>,
    /// The server the user is on (index in `World::servers`; [`ME`] for local users).
    pub server: ServerId,
    /// Nick timestamp in Unix milliseconds: the older nick wins a collision.
    pub ts: u64,
    pub signon: u64,
    /// Fanout dedup stamp (see `World::serial`).
    pub serial: u64,
    /// Some channel holds an invitation for this client: clear them when it leaves, or the
    /// next client given the same id would inherit them.
    pub invited: bool,
}

impl Client {
    pub fn has(&self, m: u16) -> bool {
        self.umodes & m != 0
    }
    /// A line from this client (`:nick!user@host COMMAND`), without building the mask.
    pub fn line(&self, command: &str) -> crate::proto::line::Line {
        let mask = [&*self.nick, "!", &*self.user, "@", &*self.host];
        crate::proto::line::Line::with_prefix(&mask, command)
    }

    /// `f` of `nick!user@host`, made on the stack when it fits: ban checks run on every
    /// message to a channel with bans.
    pub fn with_mask<R>(&self, f: impl FnOnce(&[u8]) -> R) -> R {
        let parts = [&*self.nick, "!", &*self.user, "@", &*self.host];
        let len: usize = parts.iter().map(|p| p.len()).sum();
        let mut buf = [0u8; 256];
        let Some(out) = buf.get_mut(..len) else {
            return f(self.mask().as_bytes());
        };
        let mut at = 0;
        for p in parts {
            out[at..at + p.len()].copy_from_slice(p.as_bytes());
            at += p.len();
        }
        f(out)
    }

    /// `nick!user@host`.
    pub fn mask(&self) -> String {
        let mut s = String::with_capacity(self.nick.len() + self.user.len() + self.host.len() + 2);
        s.push_str(&self.nick);
        s.push('!');
        s.push_str(&self.user);
        s.push('@');
        s.push_str(&self.host);
        s
    }
}

#[derive(Debug, Clone)]
pub struct Topic {
    pub text: Box<[u8]>,
    pub setter: Box<str>,
    pub time: u64,
}

#[derive(Debug, Clone)]
pub struct Ban {
    pub mask: Box<str>,
    pub setter: Box<str>,
    pub time: u64,
}

#[derive(Debug)]
pub struct Channel {
    pub name: Box<str>,
    /// Creation time (Unix seconds, RPL_CREATIONTIME).
    pub created: u64,
    /// Channel timestamp (Unix milliseconds): on a merge the older channel's modes win.
    pub created_ms: u64,
    /// IRCX object ID: the creating server's 12-bit ID and a 19-bit counter.
    pub oid: u32,
    /// The timestamp of the channel the OID was made for: a merge keeps the OID of the
    /// older channel, so this stays when `created_ms` moves back. `u64::MAX` for a channel
    /// first heard of from a link: any OID the network gives it wins over ours.
    pub oid_ms: u64,
    pub topic: Option<Topic>,
    pub modes: u32,
    pub key: Option<Box<str>>,
    pub limit: u32,
    pub bans: Vec<Ban>,
    pub invites: Vec<ClientId>,
    pub members: HashMap<ClientId, Status>,
    /// The local members again, dense, for channel messages (`core::roster`).
    pub local: Vec<crate::core::roster::LocalMember>,
    /// IRCX properties (PROP), allocated when the first one is set.
    pub props: Option<Box<crate::core::handlers::ircx::prop::Props>>,
    /// IRCX ACCESS entries, allocated with the first one.
    pub access: Option<Box<crate::core::handlers::ircx::access::AccessList>>,
    /// Ban exceptions (`+e`) and invite exceptions (`+I`), allocated with the first entry.
    pub exceptions: Option<Box<Exceptions>>,
}

/// A channel's `+e` and `+I` lists.
#[derive(Debug, Clone, Default)]
pub struct Exceptions {
    pub excepts: Vec<Ban>,
    pub invex: Vec<Ban>,
}

impl Channel {
    pub fn new(name: &str, created_ms: u64) -> Channel {
        Channel {
            name: name.into(),
            created: created_ms / 1000,
            created_ms,
            oid: 0,
            oid_ms: created_ms,
            topic: None,
            modes: 0,
            key: None,
            limit: 0,
            bans: Vec::new(),
            invites: Vec::new(),
            members: HashMap::new(),
            local: Vec::new(),
            props: None,
            access: None,
            exceptions: None,
        }
    }
    /// The mask list of a list mode: `b`, `e` or `I`.
    pub fn list(&self, letter: u8) -> &[Ban] {
        match (letter, &self.exceptions) {
            (b'b', _) => &self.bans,
            (b'e', Some(x)) => &x.excepts,
            (b'I', Some(x)) => &x.invex,
            _ => &[],
        }
    }
    /// The mask list of a list mode, to change (`e` and `I` allocated on first use).
    pub fn list_mut(&mut self, letter: u8) -> &mut Vec<Ban> {
        if letter == b'b' {
            return &mut self.bans;
        }
        let x = self.exceptions.get_or_insert_with(Default::default);
        if letter == b'e' {
            &mut x.excepts
        } else {
            &mut x.invex
        }
    }
    pub fn has(&self, m: u32) -> bool {
        self.modes & m != 0
    }
    pub fn is_op(&self, c: ClientId) -> bool {
        self.members.get(&c).is_some_and(|s| s.is_op())
    }
    /// IRCX AUDITORIUM (+x): `c` is an ordinary member (or an outsider), so what it does
    /// is for the hosts' eyes only.
    pub fn in_audience(&self, c: ClientId) -> bool {
        self.has(cmode::AUDITORIUM) && !self.is_op(c)
    }
    pub fn is_owner(&self, c: ClientId) -> bool {
        self.members
            .get(&c)
            .is_some_and(|s| s.at_least(super::modes::Status::OWNER))
    }
    /// The OID as IRCX shows it: `0` and eight hex digits.
    pub fn oid_str(&self) -> String {
        format!("0{:08X}", self.oid)
    }
    /// IRCX REGISTERED (`+r`, from a `[[channel]]` of the configuration): kept while empty.
    pub fn is_registered(&self) -> bool {
        self.has(cmode::REGISTERED)
    }
    pub fn is_secret(&self) -> bool {
        self.modes & (cmode::SECRET | cmode::PRIVATE) != 0
    }
}

/// Index of this server in `World::servers`.
pub const ME: ServerId = ServerId(0);

/// A server of the network (this one is [`ME`]).
#[derive(Debug)]
pub struct Server {
    pub name: Box<str>,
    pub sid: u16,
    pub description: Box<str>,
    /// Hops from this server (0 for this one, 1 for a direct peer).
    pub hop: u32,
    /// The server that introduced this one (itself for [`ME`]).
    pub uplink: ServerId,
    /// The local link it is reached through (`None` for this server).
    pub via: Option<ConnId>,
    /// Users on it, for LUSERS and MAP.
    pub users: usize,
    /// The server that introduced it said its way there crosses a link without `RENAME`
    /// (`NORENAME`; `portal::rename`).
    pub no_rename: bool,
    /// When it appeared here (monotonic ms): lines from a server that came after a rename
    /// are not racing it (`portal::rename`).
    pub seen_ms: u64,
}

/// A connection still registering.
#[derive(Debug, Default)]
pub struct Reg {
    /// A server handshake in progress (PASS with version, CAPAB, SERVER).
    pub hello: Option<Box<crate::core::portal::Hello>>,
    /// We dialed this connection for the named portal and already sent our handshake.
    pub dialed: Option<Box<str>>,
    pub nick: Option<Box<str>>,
    pub user: Option<(Box<str>, Box<[u8]>)>,
    pub pass: Option<Box<[u8]>>,
    /// CAP LS/REQ was seen and CAP END not yet: registration waits.
    pub cap_negotiating: bool,
    pub caps: crate::core::caps::Caps,
    /// A successful IRCX AUTH (any package): a second one gets 909.
    pub authed: bool,
    /// The account of a successful `AUTH PLAIN` or SASL login, carried into
    /// `World::accounts` at registration.
    pub account: Option<Box<str>>,
}

/// Protocol state of one local connection.
#[derive(Debug)]
pub struct Local {
    pub ip: IpAddr,
    pub host: Box<str>,
    pub client: Option<ClientId>,
    /// Set once a portal link is registered.
    pub link: Option<Box<crate::core::portal::Link>>,
    pub reg: Option<Box<Reg>>,
    pub connected_ms: u64,
    /// Last time anything arrived (ping timeout).
    pub last_rx_ms: u64,
    pub ping_sent: bool,
    /// Flood control: the theoretical time of the next line (GCRA).
    pub flood_tat_ms: u64,
    /// Unix time of the last PRIVMSG/NOTICE (WHOIS idle).
    pub last_msg: u64,
    /// CAP version the client asked for (302 enables cap values).
    pub cap_version: u16,
    pub lines_in: u64,
    pub lines_out: u64,
}

/// A user as WHOWAS remembers them: nick, user, host, server and realname in one buffer,
/// one allocation per entry, and that one reused when the oldest entry makes room (every
/// NICK and QUIT adds an entry).
#[derive(Debug, Clone, Default)]
pub struct WhoWas {
    text: Vec<u8>,
    /// Where the nick, user, host and server (312 in WHOWAS) end in `text`; the realname
    /// is the rest.
    ends: [u32; 4],
    pub time: u64,
}

impl WhoWas {
    /// Makes this entry `c`'s, on `server` at `time`, in the buffer it has when that fits
    /// without wasting much.
    pub fn set(&mut self, c: &Client, server: &str, time: u64) {
        let parts = [&*c.nick, &*c.user, &*c.host, server];
        let need = parts.iter().map(|p| p.len()).sum::<usize>() + c.realname.len();
        if self.text.capacity() > 2 * need + 64 {
            self.text = Vec::new();
        }
        self.text.clear();
        self.text.reserve_exact(need);
        for (end, p) in self.ends.iter_mut().zip(parts) {
            self.text.extend_from_slice(p.as_bytes());
            *end = self.text.len() as u32;
        }
        self.text.extend_from_slice(&c.realname);
        self.time = time;
    }

    fn part(&self, i: usize) -> &[u8] {
        let start = i.checked_sub(1).map_or(0, |p| self.ends[p] as usize);
        let end = self.ends.get(i).map_or(self.text.len(), |&e| e as usize);
        &self.text[start..end]
    }

    /// Part `i` as text (it was copied from a `&str`).
    fn text_part(&self, i: usize) -> &str {
        std::str::from_utf8(self.part(i)).unwrap_or_default()
    }

    pub fn nick(&self) -> &str {
        self.text_part(0)
    }
    pub fn user(&self) -> &str {
        self.text_part(1)
    }
    pub fn host(&self) -> &str {
        self.text_part(2)
    }
    pub fn server(&self) -> &str {
        self.text_part(3)
    }
    pub fn realname(&self) -> &[u8] {
        self.part(4)
    }
}
