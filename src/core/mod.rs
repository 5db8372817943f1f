//! The state machine: every client, channel and connection's protocol state, and the
//! handlers that change them. The core never sees a socket or the clock: the shell passes
//! each line, the time and closes in, and applies the [`Outbox`] that comes back.
//!
//! One line's way through it: [`lifecycle`] (`World::on_line`) parses it; a local line gets
//! its [`dispatch::Source`] from its connection, a link line from its prefix
//! ([`portal::remote`], after [`portal::rfc2813`] for ngIRCd). [`dispatch`] looks the verb
//! up in the one command table, whose columns say which sender classes may run it, and
//! calls its one handler ([`handlers`], or a server verb in [`portal`]). The handler changes
//! the state, delivers to local users through [`fanout`] (one encoding per capability and
//! dialect variant, shared by `Rc`), and to other servers through [`portal::relay`].
//!
//! * [`state`] — the records: clients, channels, local connections, servers.
//! * [`modes`] — member statuses and channel modes, one table each; [`isupport`] derives
//!   what clients are told from them and the configuration.
//! * [`caps`] — IRCv3 capabilities and the client dialect bits.
//! * [`labeled`] — IRCv3 labeled-response: the replies to one labeled line, shaped after
//!   its handler ran (ACK, one labeled line, or a `labeled-response` batch).
//! * [`counts`] — the counters LUSERS reads, changed only by `World`'s own methods.
//! * [`metrics`] — those counters and the links' lag as a Prometheus scrape.
//! * [`network`] — the server tree and netsplits.
//! * [`portal`] — links: handshake, burst, remote verbs, relay, the ngIRCd dialect.

pub mod accounts;
pub mod arrivals;
pub mod caps;
pub mod checks;
pub mod cloak;
pub mod cost;
pub mod counts;
pub mod dispatch;
pub mod fanout;
#[cfg(test)]
mod fuzz;
pub mod guard;
pub mod handlers;
pub mod ids;
pub mod isupport;
pub mod labeled;
pub mod lifecycle;
pub mod metrics;
pub mod modes;
pub mod netbatch;
pub mod network;
pub mod owner_view;
pub mod paging;
pub mod portal;
pub mod roster;
pub mod state;
#[cfg(test)]
pub mod testing;

use crate::config::Config;
use crate::proto::line::Line;
use crate::proto::numeric::{Numeric, NumericLine};
use crate::proto::CaseMapping;
use hashbrown::HashMap;
use ids::Key;
use std::net::IpAddr;
use std::rc::Rc;

pub use state::{Channel, Client, Local, Reg, ME};

use ids::Slots;
pub use ids::{ChanId, ClientId, ConnId, ServerId};

/// Time as the shell sees it, passed into every call: monotonic milliseconds for timers,
/// Unix milliseconds for what users see (signon, topic time, server-time).
#[derive(Debug, Clone, Copy, Default)]
pub struct Clock {
    pub mono_ms: u64,
    pub unix_ms: u64,
}

impl Clock {
    pub fn unix_s(&self) -> u64 {
        self.unix_ms / 1000
    }
}

/// How an operator asked the server to stop: one value, so DIE and RESTART cannot both be
/// asked of the shell in one turn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// DIE: shut down.
    Die,
    /// RESTART: shut down as for DIE, then the binary executes itself again.
    Restart,
}

/// What the core asks the shell to do.
#[derive(Default, Debug)]
pub struct Outbox {
    /// Lines to queue, in order; one `Rc` is shared by every recipient of the same line.
    pub sends: Vec<(ConnId, Rc<[u8]>)>,
    /// Connections to close after queuing this last line (an `ERROR`) and flushing.
    pub closes: Vec<(ConnId, Rc<[u8]>)>,
    /// An operator (this connection) asked for REHASH: reload the configuration file and
    /// tell them how it went ([`World::rehashed`]).
    pub rehash: Option<ConnId>,
    /// An operator asked the server to stop (DIE) or to stop and start again (RESTART).
    pub stop: Option<Stop>,
    /// Portals to dial now (oper CONNECT).
    pub connects: Vec<String>,
    /// Portals that just linked: their dialer's backoff starts over.
    pub linked: Vec<String>,
    /// Connections whose paged reply just ended: the input held meanwhile may be read
    /// (`paging::finish`).
    pub resume: Vec<ConnId>,
    /// Indices in `sends` of lines that are no part of the reply to the command being
    /// handled (a message a user sent itself, as delivered): a labeled reply leaves them
    /// out ([`labeled`]). Cleared after each line.
    pub aside: Vec<usize>,
    /// Password checks for the shell's worker thread ([`checks`]); each verdict comes
    /// back through [`World::on_checked`].
    pub checks: Vec<checks::CheckRequest>,
}

impl Outbox {
    pub fn send(&mut self, conn: ConnId, line: Rc<[u8]>) {
        self.sends.push((conn, line));
    }

    /// Queues a line that is no part of the reply to the command being handled (see
    /// [`Outbox::aside`]).
    pub fn send_aside(&mut self, conn: ConnId, line: Rc<[u8]>) {
        self.aside.push(self.sends.len());
        self.sends.push((conn, line));
    }
}

/// Counters for STATS m.
#[derive(Default, Debug, Clone, Copy)]
pub struct CmdStat {
    pub count: u64,
    pub bytes: u64,
}

/// Network-wide state plus this server's local connections.
pub struct World {
    pub config: Rc<Config>,
    pub cm: CaseMapping,
    /// Local connections, indexed by [`ConnId`] (dense, like the shell's slab).
    pub locals: Vec<Option<Local>>,
    pub clients: Slots<ClientId, Client>,
    /// The network's servers; this one is `state::ME` (index 0).
    pub servers: Slots<ServerId, state::Server>,
    /// Registered portal links (local connections), in link order.
    pub links: Vec<ConnId>,
    pub nicks: HashMap<Box<str>, ClientId>,
    pub channels: Slots<ChanId, Channel>,
    pub chan_names: HashMap<Box<str>, ChanId>,
    /// Channels by OID.
    oids_index: HashMap<u32, ChanId>,
    pub whowas: std::collections::VecDeque<state::WhoWas>,
    /// The counter of channel OIDs (see `create_channel`).
    oids: u32,
    /// Stamp for "already sent this one" during fanout to common channels.
    serial: std::cell::Cell<u64>,
    /// Per command, by its place in [`dispatch::COMMANDS`] (counted on every line: an
    /// index, not a hash of the name).
    pub stats: Vec<CmdStat>,
    pub started_unix: u64,
    /// Start time in milliseconds and the message counter: the parts of a `msgid`.
    started_unix_ms: u64,
    msgids: u64,
    pub started_mono_ms: u64,
    /// Changed only by the methods that add and remove what they count.
    counts: counts::Counts,
    pub isupport: Vec<String>,
    /// Per-IP connection counts, for `max_clients_per_ip`.
    pub per_ip: HashMap<IpAddr, u32>,
    /// Recent connections per address (`connects_per_ip_per_min`, flood debt carried).
    pub arrivals: arrivals::Arrivals,
    /// IRCX EVENT subscriptions and raised events not yet flushed.
    events: handlers::ircx::event::Events,
    /// IRCX ACCESS lists of `$`, `*` and users (channels keep their own).
    pub access: handlers::ircx::access::Access,
    /// The privileges of each local operator, from the `[[oper]]` block they used (kept
    /// here, not in `Client`, which every idle user pays for).
    pub oper_privileges: std::collections::HashMap<ClientId, u16>,
    /// Channels holding back messages for their IRCX LAG (`handlers::ircx::lag`).
    pub lagging: Vec<ChanId>,
    /// Failed secrets (PASS, OPER, link passwords, AUTH PLAIN) per address.
    pub auth_guard: guard::Guard,
    /// Local connections over TLS, with their client certificate's SHA-256 fingerprint
    /// (lowercase hex) if one was shown. A side table: plain connections pay nothing.
    pub secure: HashMap<ConnId, Option<Box<str>>>,
    /// The port of the first TLS listener, which IRCv3 STS points plain clients at (the
    /// shell tells it once bound).
    pub sts_port: Option<u16>,
    /// MONITOR lists and who watches which nick.
    pub monitor: handlers::monitor::Monitors,
    /// Replies still being produced a page at a time (a side table).
    pub pages: paging::Pages,
    /// Labeled replies in progress (IRCv3 labeled-response).
    pub labels: labeled::Labels,
    /// Netjoin batches open while a new link's burst comes in ([`netbatch`]).
    pub netbatches: netbatch::NetBatches,
    /// The account each logged-in user (local or remote) is logged in to: a side table,
    /// few users have one ([`accounts`]).
    pub accounts: HashMap<ClientId, Box<str>>,
    /// Password checks in flight on the shell's worker ([`checks`]).
    pub checks: checks::Checks,
    /// SASL exchanges in progress, per connection ([`handlers::sasl`]).
    pub sasl: HashMap<ConnId, handlers::sasl::Exchange>,
    /// Users' metadata and subscriptions (draft/metadata-2), beside the client records.
    pub metadata: handlers::metadata::store::Metadata,
    /// IRCv3 draft/read-marker: accounts' read markers ([`handlers::read_marker`]).
    pub read_markers: handlers::read_marker::ReadMarkers,
    /// Channels renamed lately, by their old names (`portal::rename`).
    pub renames: portal::rename::Recent,
    pub now: Clock,
}

use handlers::ircx::event::EventType;

impl World {
    pub fn new(config: Config, now: Clock) -> World {
        let mut w = World {
            cm: config.limits.casemapping,
            config: Rc::new(config),
            locals: Vec::new(),
            clients: Slots::new(),
            servers: Slots::new(),
            links: Vec::new(),
            nicks: HashMap::new(),
            channels: Slots::new(),
            chan_names: HashMap::new(),
            whowas: Default::default(),
            oids: 0,
            oids_index: HashMap::new(),
            serial: Default::default(),
            stats: vec![CmdStat::default(); dispatch::COMMANDS.len()],
            started_unix: now.unix_s(),
            started_unix_ms: now.unix_ms,
            msgids: 0,
            started_mono_ms: now.mono_ms,
            counts: Default::default(),
            isupport: Vec::new(),
            per_ip: HashMap::new(),
            arrivals: Default::default(),
            events: Default::default(),
            access: Default::default(),
            oper_privileges: Default::default(),
            lagging: Vec::new(),
            auth_guard: Default::default(),
            secure: HashMap::new(),
            sts_port: None,
            monitor: Default::default(),
            pages: Default::default(),
            labels: Default::default(),
            netbatches: Default::default(),
            accounts: HashMap::new(),
            checks: Default::default(),
            sasl: HashMap::new(),
            metadata: Default::default(),
            read_markers: Default::default(),
            renames: Default::default(),
            now,
        };
        w.isupport = isupport::tokens(&w.config);
        let me = state::Server {
            name: w.config.server.name.as_str().into(),
            sid: w.config.server.id,
            description: w.config.server.description.as_str().into(),
            hop: 0,
            uplink: state::ME,
            via: None,
            users: 0,
            no_rename: false,
            seen_ms: 0,
        };
        w.servers.insert(me);
        let channels = w.config.channel.clone();
        // Nobody is here yet to be told of them.
        w.apply_channels(&[], &channels, &mut Outbox::default());
        w
    }

    /// Applies a reloaded configuration. The case mapping of a running server cannot change
    /// (every key is folded with it); the caller is told so.
    pub fn set_config(&mut self, config: Config, out: &mut Outbox) -> Result<(), String> {
        // Links whose portal is gone or changed (id, password) are dropped: the shell dials
        // the new settings again.
        for conn in self.links.clone() {
            let name = self.servers[self.link(conn).expect("links holds links").server]
                .name
                .clone();
            let old = self
                .config
                .portal
                .iter()
                .find(|p| p.name.eq_ignore_ascii_case(&name));
            let new = config
                .portal
                .iter()
                .find(|p| p.name.eq_ignore_ascii_case(&name));
            let reason = match (old, new) {
                (_, None) => Some("Portal removed from the configuration"),
                (Some(o), Some(n)) if o.id != n.id || o.password != n.password => {
                    Some("Portal changed in the configuration")
                }
                _ => None,
            };
            if let Some(reason) = reason {
                log::info!("rehash: portal {name}: {reason}; SQUIT");
                self.close_conn(conn, reason, out);
            }
        }
        let (old, new) = (self.config.channel.clone(), config.channel.clone());
        let note = self.replace_config(config);
        self.apply_channels(&old, &new, out);
        note
    }

    fn replace_config(&mut self, mut config: Config) -> Result<(), String> {
        let mut note = Ok(());
        if config.limits.casemapping != self.cm {
            config.limits.casemapping = self.cm;
            note = Err("casemapping cannot change while running; kept the old one".into());
        }
        self.isupport = isupport::tokens(&config);
        self.config = Rc::new(config);
        note
    }

    pub fn name(&self) -> &str {
        &self.config.server.name
    }

    pub fn fold(&self, s: &str) -> Box<str> {
        self.cm.fold(s)
    }

    pub fn find_nick(&self, nick: &[u8]) -> Option<ClientId> {
        self.lookup(&self.nicks, nick)
    }

    /// A channel by name, or by its OID (IRCX: `0` and eight hex digits stand for the
    /// channel wherever a command takes one; no channel name starts with `0`).
    pub fn find_channel(&self, name: &[u8]) -> Option<ChanId> {
        match parse_oid(name) {
            Some(oid) => self.oids_index.get(&oid).copied(),
            None => self.lookup(&self.chan_names, name),
        }
    }

    /// Looks a name up by its folded form, folded on the stack: every PRIVMSG does this, so
    /// it must not allocate.
    fn lookup<V: Copy>(&self, map: &HashMap<Box<str>, V>, name: &[u8]) -> Option<V> {
        let mut buf = [0u8; 64];
        map.get(self.fold_on_stack(name, &mut buf)?).copied()
    }

    /// `name` folded into `buf`; `None` if it does not fit or is not UTF-8.
    fn fold_on_stack<'b>(&self, name: &[u8], buf: &'b mut [u8; 64]) -> Option<&'b str> {
        let folded = buf.get_mut(..name.len())?;
        for (d, &s) in folded.iter_mut().zip(name) {
            *d = self.cm.fold_byte(s);
        }
        // Folding changes only ASCII bytes, so valid UTF-8 stays valid and invalid stays invalid.
        std::str::from_utf8(folded).ok()
    }

    /// Takes `nick` out of the nick index (a NICK or a QUIT), folded on the stack.
    pub fn forget_nick(&mut self, nick: &str) {
        let mut buf = [0u8; 64];
        match self.fold_on_stack(nick.as_bytes(), &mut buf) {
            Some(key) => self.nicks.remove(key),
            None => self.nicks.remove(&*self.cm.fold(nick)),
        };
    }

    pub fn local(&self, conn: ConnId) -> Option<&Local> {
        self.locals.get(conn.index()).and_then(Option::as_ref)
    }

    pub fn local_mut(&mut self, conn: ConnId) -> Option<&mut Local> {
        self.locals.get_mut(conn.index()).and_then(Option::as_mut)
    }

    /// The nick to address numerics to: the client's nick, or `*` before registration.
    pub fn target_nick(&self, conn: ConnId) -> &str {
        match self.local(conn) {
            Some(Local {
                client: Some(c), ..
            }) => &self.clients[*c].nick,
            Some(Local { reg: Some(r), .. }) => r.nick.as_deref().unwrap_or("*"),
            _ => "*",
        }
    }

    /// A numeric reply from this server to a connection: `:server CODE nick …`.
    pub fn num(&self, conn: ConnId, num: Numeric) -> NumericLine {
        num.to(self.name(), self.target_nick(conn))
    }

    /// A numeric reply with its fixed text.
    pub fn reply(&self, out: &mut Outbox, conn: ConnId, num: Numeric, args: &[&[u8]]) {
        out.send(conn, self.num(conn, num).args(args).finish());
    }

    /// An IRCv3 standard reply from this server: `FAIL <command> <code> <context…> :<text>`.
    pub fn fail_line(&self, command: &str, code: &str, context: &[&[u8]], text: &str) -> Rc<[u8]> {
        context
            .iter()
            .fold(
                Line::new(self.name(), "FAIL").arg(command).arg(code),
                |l, c| l.arg(c),
            )
            .trailing(text)
            .finish()
    }

    /// The capabilities a local connection negotiated (registered or not yet).
    pub fn conn_caps(&self, conn: ConnId) -> caps::Caps {
        match self.local(conn) {
            Some(Local {
                client: Some(c), ..
            }) => self.clients[*c].caps,
            Some(Local { reg: Some(r), .. }) => r.caps,
            _ => 0,
        }
    }

    /// Whether the user on this connection is an IRC operator.
    pub fn is_oper_conn(&self, conn: ConnId) -> bool {
        self.local(conn)
            .and_then(|l| l.client)
            .is_some_and(|c| self.clients[c].has(state::umode::OPER))
    }

    /// Whether this local connection's shown host is not where it connects from: a cloak
    /// (`[cloak] secret`) or a host an operator set (CHGHOST).
    pub fn is_cloaked(&self, conn: ConnId) -> bool {
        self.local(conn).is_some_and(|l| {
            (!self.config.cloak.secret.is_empty() && *l.host != *l.ip.to_string())
                || l.client.is_some_and(|c| *self.clients[c].host != *l.host)
        })
    }

    /// Whether a local operator's `[[oper]]` block gave them `p`.
    pub fn has_privilege(&self, cid: ClientId, p: crate::config::Privilege) -> bool {
        self.oper_privileges
            .get(&cid)
            .is_some_and(|bits| bits & p.bit() != 0)
    }

    /// A NOTICE from this server to a connection (addressed as numerics are).
    pub fn server_notice(&self, out: &mut Outbox, conn: ConnId, text: &str) {
        let line = Line::new(self.name(), "NOTICE")
            .arg(self.target_nick(conn))
            .trailing(text)
            .finish();
        out.send(conn, line);
    }

    /// Sets a user's modes, keeping the operator and invisible counts right.
    pub fn set_umodes(&mut self, cid: ClientId, new: u16) {
        let old = std::mem::replace(&mut self.clients[cid].umodes, new);
        if new & state::umode::OPER == 0 {
            self.oper_privileges.remove(&cid);
            self.drop_events(cid);
        }
        self.counts.umodes_changed(old, new);
    }

    /// What LUSERS and STATS report, kept as things change.
    pub fn counts(&self) -> &counts::Counts {
        &self.counts
    }

    /// The IRCX object ID of the user on connection `conn` (AUTH tells it): this server's
    /// 12-bit ID, then the connection's slot with the top bit of the 20 set, so it never
    /// meets a channel's OID; it costs no memory per user.
    pub fn user_oid(&self, conn: ConnId) -> String {
        let server = u32::from(self.config.server.id & 0xFFF) << 20;
        let slot = conn.index() as u32 & 0x7_FFFF;
        format!("0{:08X}", server | 0x8_0000 | slot)
    }

    /// Creates an empty channel (the one place channels are born), with its OID.
    pub fn create_channel(&mut self, name: &str, created_ms: u64) -> ChanId {
        // A 19-bit counter under this server's 12-bit ID (the upper half of the 20 bits
        // below the ID is the users', see `user_oid`), skipping OIDs still in use after it
        // wraps: unique on this server, and in the network while IDs are.
        let server = u32::from(self.config.server.id & 0xFFF) << 20;
        loop {
            self.oids = (self.oids + 1) & 0x7_FFFF;
            if !self.oids_index.contains_key(&(server | self.oids)) {
                break;
            }
        }
        let mut chan = Channel::new(name, created_ms);
        chan.oid = server | self.oids;
        let ch = self.channels.insert(chan);
        self.oids_index.insert(self.channels[ch].oid, ch);
        let key = self.fold(name);
        self.chan_names.insert(key, ch);
        ch
    }

    /// Gives a channel the OID another server holds for it (a merge), keeping OID lookups
    /// right. Refused (false) when another channel here has that OID already.
    pub fn adopt_oid(&mut self, ch: ChanId, oid: u32, oid_ms: u64) -> bool {
        if self.oids_index.get(&oid).is_some_and(|&other| other != ch) {
            return false;
        }
        let chan = &mut self.channels[ch];
        self.oids_index.remove(&chan.oid);
        chan.oid = oid;
        chan.oid_ms = oid_ms;
        self.oids_index.insert(oid, ch);
        true
    }

    pub fn remove_channel(&mut self, ch: ChanId) {
        let chan = self.channels.remove(ch);
        if self.events_wanted() {
            let oid = chan.oid_str();
            let params: &[&str] = &[&chan.name, &oid];
            self.raise_event(EventType::Channel, "DESTROY", None, params, None);
        }
        self.chan_names.remove(&*self.cm.fold(&chan.name));
        self.oids_index.remove(&chan.oid);
    }

    /// A user joins the network: a local one's connection is registered, a remote one
    /// came in a NICK from a link.
    pub fn add_client(&mut self, client: Client) -> ClientId {
        let (nick, conn, server) = (client.nick.clone(), client.conn, client.server);
        let cid = self.clients.insert(client);
        let key = self.fold(&nick);
        self.nicks.insert(key, cid);
        self.servers[server].users += 1;
        if let Some(l) = conn.and_then(|c| self.local_mut(c)) {
            l.client = Some(cid);
            self.counts.registered();
        }
        self.counts.user_seen(self.clients.len());
        self.monitor_online(cid);
        cid
    }

    /// A new stamp for "already sent this one" during a fanout. A `Cell`, so a fanout that
    /// only reads the world can still stamp the links it served.
    pub fn next_serial(&self) -> u64 {
        let s = self.serial.get() + 1;
        self.serial.set(s);
        s
    }
}

/// Whether a target names a channel by its OID rather than a user.
pub fn is_oid(name: &[u8]) -> bool {
    parse_oid(name).is_some()
}

/// `0` and eight hex digits: a channel's OID as IRCX writes it.
pub fn parse_oid(name: &[u8]) -> Option<u32> {
    match name {
        [b'0', hex @ ..] if hex.len() == 8 && hex.iter().all(u8::is_ascii_hexdigit) => {
            u32::from_str_radix(std::str::from_utf8(hex).ok()?, 16).ok()
        }
        _ => None,
    }
}
