//! Deterministic fuzzing of the core: thousands of random lines built from a grammar of
//! real commands and interesting parameters, from clients, from a native portal and from
//! an rfc2813 (ngIRCd) portal, mixed with clock ticks and dropped connections. After every
//! step the world's invariants are checked and every line sent is checked for form; now and
//! then a probe message checks that delivery still works. No crate is needed: a xorshift
//! generator with fixed seeds makes every run the same, so a failure names its seed, its
//! step and the inputs that led to it.

use super::dispatch::COMMANDS;
use super::modes::Status;
use super::state::{umode, ME};
use super::testing::BASE_CONFIG;
use super::{ClientId, Clock, ConnId, Outbox, World};
use crate::config::Config;
use crate::limits::{CHANNEL_LEN, MAX_BANS, MAX_BODY, MAX_CHANNELS, MAX_TAGS};
use crate::proto::casemap::{valid_channel, valid_nick};
use crate::proto::message::parse;
use std::collections::{HashMap, HashSet, VecDeque};
use std::net::IpAddr;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::rc::Rc;

// ---- generator --------------------------------------------------------------------------

/// xorshift64*: tiny, fast, and the same everywhere.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed.max(1))
    }
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }
    /// True `num` times in `den`.
    fn chance(&mut self, num: usize, den: usize) -> bool {
        self.below(den) < num
    }
    fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.below(xs.len())]
    }
    fn pick_bytes<'a>(&mut self, xs: &[&'a [u8]]) -> &'a [u8] {
        xs[self.below(xs.len())]
    }
}

const NICKS: &[&str] = &[
    "alice", "bob", "carol", "dave", "Eve", "frank", "g[x]", "h{y}", "i|j", "k\\l", "m^n", "n`o",
    "o_p", "r1", "r2", "r3", "Remote", "zed",
];
const CHANS: &[&str] = &[
    "#a",
    "#b",
    "#Chan",
    "&loc",
    "#[x]",
    "#{X}",
    "#café",
    "#long-channel-name",
    "##",
];
const JUNK: &[&[u8]] = &[
    b"",
    b"*",
    b"0",
    b",",
    b",,,",
    b":",
    b"::",
    b"-",
    b"+",
    b"@",
    b"!",
    b"#",
    b"&",
    b"a,b,c",
    b"\xff\xfe",
    b"\xc3",
    b"\xe9t\xe9",
    "é".as_bytes(),
    b"a\rb",
    b"\x07",
    b"\x01ACTION x\x01",
    b"nick!user@host",
    b"irc.test",
    b"leaf.test",
    b"-1",
    b"18446744073709551616",
];
const HOT: &[&str] = &[
    "JOIN", "JOIN", "JOIN", "MODE", "MODE", "MODE", "MODE", "PRIVMSG", "NOTICE", "TAGMSG", "PART",
    "KICK", "KICK", "TOPIC", "NICK", "NICK", "INVITE", "AWAY", "SETNAME", "WHO", "NAMES", "WHOIS",
];
const MODE_LETTERS: &[u8] = b"+-ovbklimnpstqaehIzZOxyw";
const MODE_STRINGS: &[&str] = &[
    "+ovbklimnpst-ov",
    "+",
    "-",
    "",
    "b",
    "+b",
    "-b",
    "+k",
    "-k",
    "+l",
    "-l",
    "+oooo",
    "+vvvvv",
    "+bbbbbb",
    "+kl",
    "-kl",
    "+imnpst",
    "-imnpst",
    "+i-i+i",
    "+o-o",
    "+iows",
    "-iows",
    "+a",
    "-a",
    "+eIqhaPzM",
];
const NUMBERS: &[&str] = &[
    "0",
    "1",
    "-1",
    "2",
    "5",
    "10",
    "50",
    "255",
    "4095",
    "4096",
    "65535",
    "65536",
    "4294967295",
    "4294967296",
    "18446744073709551615",
    "18446744073709551616",
    "99999999999999999999999999",
    "+3",
    "0x10",
    "1e3",
    "abc",
    "",
    "1700000000",
    "1700000000000",
];
const CAPS: &[&str] = &[
    "message-tags",
    "server-time",
    "echo-message",
    "away-notify",
    "extended-join",
    "multi-prefix",
    "userhost-in-names",
    "invite-notify",
    "setname",
    "cap-notify",
    "-message-tags",
    "bogus",
];
const TAGS: &[&[u8]] = &[
    b"@a=b",
    b"@+typing=active",
    b"@+draft/reply=abc;+x=y",
    b"@label=1",
    b"@;;;",
    b"@",
    b"@+a=\xff\xfe",
    b"@+a=b\rc",
    b"@+=x",
    b"@time=2020-01-01T00:00:00.000Z",
    b"@+a\\:b=c\\sd",
];
const JUNK_VERBS: &[&[u8]] = &[
    b"FOO",
    b"PRIVMSGX",
    b"123",
    b"001",
    b"SJOIN",
    b"NJOIN",
    b"EOB",
    b"TB",
    b"BMASK",
    b"CHANINFO",
    b"ERROR",
    b"\xff\xfe",
    b"\xc3\xa9",
    b"CAP\x01",
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZ",
    b":",
    b"@",
];

/// A line shown in a log: printable ASCII as is, other bytes escaped.
fn show(bytes: &[u8]) -> String {
    let mut s = String::new();
    if bytes.len() > 400 {
        return format!("{}…({} bytes)", show(&bytes[..200]), bytes.len());
    }
    for &b in bytes {
        if (0x20..0x7f).contains(&b) && b != b'\\' {
            s.push(b as char);
        } else {
            s.push_str(&format!("\\x{b:02x}"));
        }
    }
    s
}

/// Checks the form of one line sent: terminated by CR LF and nowhere else, no NUL, a body of
/// at most 510 bytes after an optional tag section of at most 8191, and parseable.
fn check_line(line: &[u8]) -> Result<(), String> {
    let Some(body) = line.strip_suffix(b"\r\n") else {
        return Err("not terminated by CR LF".into());
    };
    if body.iter().any(|&b| matches!(b, b'\r' | b'\n' | 0)) {
        return Err("CR, LF or NUL inside".into());
    }
    let text = match body.first() {
        Some(b'@') => {
            let space = body
                .iter()
                .position(|&b| b == b' ')
                .ok_or("tags without a message")?;
            if space + 1 > MAX_TAGS {
                return Err(format!("tag section of {} bytes", space + 1));
            }
            &body[space + 1..]
        }
        _ => body,
    };
    if text.len() > MAX_BODY {
        return Err(format!("{} bytes without tags", text.len() + 2));
    }
    parse(body).map_err(|e| format!("does not parse: {e:?}"))?;
    Ok(())
}

/// Whether a line is one an RFC 2813 peer understands: none of the native link forms
/// (`World::finish` translates those), no tags.
fn rfc_form(line: &[u8]) -> bool {
    let Ok(msg) = parse(line.strip_suffix(b"\r\n").unwrap_or(line)) else {
        return false;
    };
    let native = matches!(
        msg.command,
        b"SJOIN" | b"TB" | b"BMASK" | b"EOB" | b"CAPAB" | b"TAGMSG" | b"SETNAME"
    ) || msg.command == b"NICK" && msg.len() >= 8;
    !native && msg.tags.is_none()
}

/// Everything that must hold between any two steps.
fn check_world(w: &World) -> Result<(), String> {
    let fold = |s: &str| w.fold(s);
    // Channels and their members.
    for (ch, chan) in &w.channels {
        if chan.members.is_empty() {
            return Err(format!("channel {} is empty", chan.name));
        }
        if w.chan_names.get(&fold(&chan.name)) != Some(&ch) {
            return Err(format!("channel {} not in chan_names", chan.name));
        }
        if !valid_channel(chan.name.as_bytes(), CHANNEL_LEN) {
            return Err(format!("channel {:?} has a bad name", chan.name));
        }
        if chan.bans.len() > MAX_BANS {
            return Err(format!(
                "channel {} has {} bans",
                chan.name,
                chan.bans.len()
            ));
        }
        // A key must be one a JOIN can give: a word without commas.
        if let Some(k) = &chan.key {
            if k.is_empty() || k.bytes().any(|b| b <= b' ' || b == b',') {
                return Err(format!("channel {} has key {k:?}", chan.name));
            }
        }
        if let Some(f) = chan
            .members
            .values()
            .find(|&&f| f.without(Status::OP.with(Status::VOICE)) != Status::NONE)
        {
            return Err(format!("channel {} has member flags {f:?}", chan.name));
        }
        for &m in chan.members.keys() {
            let Some(c) = w.clients.get(m) else {
                return Err(format!("channel {} has a dead member {m}", chan.name));
            };
            if c.chans.iter().filter(|&&x| x == ch).count() != 1 {
                return Err(format!(
                    "{} is on {} but its chans are {:?}",
                    c.nick, chan.name, c.chans
                ));
            }
        }
        for &i in &chan.invites {
            match w.clients.get(i) {
                Some(c) if c.invited => {}
                Some(c) => return Err(format!("{} invited to {} unflagged", c.nick, chan.name)),
                None => return Err(format!("{} holds an invite for dead {i}", chan.name)),
            }
        }
    }
    if w.chan_names.len() != w.channels.len() {
        return Err(format!(
            "chan_names has {} entries for {} channels",
            w.chan_names.len(),
            w.channels.len()
        ));
    }
    // Clients.
    let mut users = vec![0usize; w.servers.capacity().max(1)];
    let (mut local_users, mut opers, mut invisible) = (0, 0, 0);
    for (cid, c) in &w.clients {
        if w.nicks.get(&fold(&c.nick)) != Some(&cid) {
            return Err(format!("{} not in nicks", c.nick));
        }
        if !valid_nick(c.nick.as_bytes(), 50) {
            return Err(format!("nick {:?} is not valid", c.nick));
        }
        if c.conn.is_some() && c.chans.len() > MAX_CHANNELS {
            return Err(format!("{} is on {} channels", c.nick, c.chans.len()));
        }
        for &ch in &c.chans {
            match w.channels.get(ch) {
                Some(chan) if chan.members.contains_key(&cid) => {}
                _ => return Err(format!("{} lists channel {ch} without membership", c.nick)),
            }
        }
        let Some(server) = w.servers.get(c.server) else {
            return Err(format!("{} is on a removed server {}", c.nick, c.server));
        };
        if users.len() <= c.server {
            users.resize(c.server + 1, 0);
        }
        users[c.server] += 1;
        match c.conn {
            Some(conn) => {
                local_users += 1;
                if c.server != ME {
                    return Err(format!("local {} on server {}", c.nick, server.name));
                }
                if w.local(conn).and_then(|l| l.client) != Some(cid) {
                    return Err(format!("{}'s connection {conn} does not know it", c.nick));
                }
            }
            None => {
                let via = server
                    .via
                    .ok_or(format!("remote {} on this server", c.nick))?;
                if w.link(via).is_none() {
                    return Err(format!("remote {} behind dead link {via}", c.nick));
                }
            }
        }
        opers += usize::from(c.has(umode::OPER));
        invisible += usize::from(c.has(umode::INVISIBLE));
    }
    if w.nicks.len() != w.clients.len() {
        return Err(format!(
            "nicks has {} entries for {} clients",
            w.nicks.len(),
            w.clients.len()
        ));
    }
    for (name, counted, recount) in [
        ("local_users", w.local_users, local_users),
        ("opers", w.opers, opers),
        ("invisible", w.invisible, invisible),
    ] {
        if counted != recount {
            return Err(format!("{name} is {counted}, recount {recount}"));
        }
    }
    // Servers.
    for (i, s) in &w.servers {
        let recount = users.get(i).copied().unwrap_or(0);
        if s.users != recount {
            return Err(format!(
                "server {} counts {} users, recount {recount}",
                s.name, s.users
            ));
        }
        if i == ME {
            continue;
        }
        if !crate::config::valid_server_name(&s.name) || s.sid == 0 {
            return Err(format!("server {:?} (id {}) is malformed", s.name, s.sid));
        }
        if !w.servers.contains(s.uplink) || s.uplink == i {
            return Err(format!("server {} has a bad uplink {}", s.name, s.uplink));
        }
        let via = s.via.ok_or(format!("server {} without a link", s.name))?;
        if w.link(via).is_none() {
            return Err(format!("server {} behind dead link {via}", s.name));
        }
        if s.uplink != ME && w.servers[s.uplink].via != Some(via) {
            return Err(format!("server {} and its uplink differ in link", s.name));
        }
        if w.servers
            .iter()
            .any(|(j, t)| j != i && (t.sid == s.sid || t.name.eq_ignore_ascii_case(&s.name)))
        {
            return Err(format!("server {} (id {}) twice", s.name, s.sid));
        }
    }
    // Local connections.
    let (mut unregistered, mut rfc_links, mut links) = (0, 0, 0);
    let mut per_ip: HashMap<IpAddr, u32> = HashMap::new();
    for (conn, l) in w.locals.iter().enumerate() {
        let Some(l) = l else { continue };
        *per_ip.entry(l.ip).or_default() += 1;
        let states = usize::from(l.client.is_some())
            + usize::from(l.link.is_some())
            + usize::from(l.reg.is_some());
        if states != 1 {
            return Err(format!(
                "connection {conn}: client {:?}, link {}, reg {}",
                l.client,
                l.link.is_some(),
                l.reg.is_some()
            ));
        }
        if l.client.is_none() && l.link.is_none() {
            unregistered += 1;
        }
        if let Some(cid) = l.client {
            if w.clients.get(cid).and_then(|c| c.conn) != Some(conn) {
                return Err(format!("connection {conn}'s client {cid} is not its own"));
            }
        }
        if let Some(link) = &l.link {
            links += 1;
            rfc_links += usize::from(link.rfc.is_some());
            if !w.links.contains(&conn) {
                return Err(format!("link {conn} not in links"));
            }
            match w.servers.get(link.server) {
                Some(s) if s.via == Some(conn) && s.uplink == ME && s.hop == 1 => {}
                _ => return Err(format!("link {conn} points at a wrong server")),
            }
        }
    }
    if unregistered != w.unregistered {
        return Err(format!(
            "unregistered is {}, recount {unregistered}",
            w.unregistered
        ));
    }
    if links != w.links.len() || rfc_links != w.rfc_links {
        return Err(format!(
            "links {} (recount {links}), rfc_links {} (recount {rfc_links})",
            w.links.len(),
            w.rfc_links
        ));
    }
    let mut counted: Vec<(IpAddr, u32)> = w.per_ip.iter().map(|(&k, &v)| (k, v)).collect();
    let mut recount: Vec<(IpAddr, u32)> = per_ip.into_iter().collect();
    counted.sort();
    recount.sort();
    if counted != recount {
        return Err(format!("per_ip {counted:?}, recount {recount:?}"));
    }
    Ok(())
}

// ---- harness ----------------------------------------------------------------------------

const IPS: &[&str] = &["127.0.0.1", "10.1.2.3", "::1", "2001:db8::7"];

const FUZZ_CONFIG: &str = "\
[[oper]]
name = \"admin\"
password = \"pw\"

[[portal]]
name = \"leaf.test\"
id = 2
password = \"linkpw\"

[[portal]]
name = \"hub.test\"
id = 3
password = \"linkpw\"
";

const NG_PORTAL: &str = "
[[portal]]
name = \"ng.test\"
id = 5
password = \"linkpw\"
protocol = \"rfc2813\"
";

/// A world and a make-believe shell around it.
struct Fuzz {
    w: World,
    now: Clock,
    rng: Rng,
    seed: u64,
    next_conn: ConnId,
    /// Connections the shell holds open.
    open: Vec<ConnId>,
    /// Connections the core closed or the shell dropped: nothing may be sent to them later.
    closed: HashSet<ConnId>,
    /// What the last step sent.
    got: Vec<(ConnId, Rc<[u8]>)>,
    log: VecDeque<String>,
    steps: u64,
    fresh: u32,
    probes: u32,
    /// Coverage: the most remote users, servers and channels seen at once, and links made.
    /// Connections that were rfc2813 links: only RFC 2813 forms may go to them.
    rfc_conns: HashSet<ConnId>,
    /// After SIGTERM: every connection got its ERROR and is closing.
    shutting_down: bool,
    max_remote: usize,
    max_servers: usize,
    max_channels: usize,
    linked: usize,
}

impl Fuzz {
    fn new(config: &str, seed: u64) -> Fuzz {
        let cfg = Config::parse(config, "fuzz").expect("fuzz config");
        let now = Clock {
            mono_ms: 1_000_000,
            unix_ms: 1_700_000_000_000,
        };
        Fuzz {
            w: World::new(cfg, now),
            now,
            rng: Rng::new(seed),
            seed,
            next_conn: 0,
            open: Vec::new(),
            closed: HashSet::new(),
            got: Vec::new(),
            log: VecDeque::new(),
            steps: 0,
            fresh: 0,
            probes: 0,
            rfc_conns: HashSet::new(),
            shutting_down: false,
            max_remote: 0,
            max_servers: 0,
            max_channels: 0,
            linked: 0,
        }
    }

    fn fail(&self, what: &str) -> ! {
        let recent: Vec<&str> = self.log.iter().map(String::as_str).collect();
        panic!(
            "fuzz seed {:#x}, step {}: {what}\nlast inputs, oldest first:\n  {}",
            self.seed,
            self.steps,
            recent.join("\n  ")
        );
    }

    fn note_rfc_links(&mut self) {
        for &l in &self.w.links {
            if self.w.link(l).is_some_and(|k| k.rfc.is_some()) {
                self.rfc_conns.insert(l);
            }
        }
    }

    /// Runs one call into the core, then checks what it sent and the world it left.
    fn run(&mut self, what: String, f: impl FnOnce(&mut World, Clock, &mut Outbox)) {
        self.steps += 1;
        if self.log.len() == 40 {
            self.log.pop_front();
        }
        self.log.push_back(what);
        self.note_rfc_links();
        let mut out = Outbox::default();
        let (w, now) = (&mut self.w, self.now);
        let result = catch_unwind(AssertUnwindSafe(|| {
            f(w, now, &mut out);
            w.finish(&mut out);
        }));
        if result.is_err() {
            self.fail("the core panicked (message above)");
        }
        self.note_rfc_links();
        for (conn, line) in out.sends.iter().chain(&out.closes) {
            if let Err(e) = check_line(line) {
                self.fail(&format!("bad line to {conn} ({e}): {}", show(line)));
            }
            if self.rfc_conns.contains(conn) && !rfc_form(line) {
                self.fail(&format!(
                    "native line to rfc2813 link {conn}: {}",
                    show(line)
                ));
            }
            if self.closed.contains(conn) && !self.shutting_down {
                self.fail(&format!("sent to closed connection {conn}: {}", show(line)));
            }
        }
        for (conn, _) in &out.closes {
            if self.w.local(*conn).is_some() && !self.shutting_down {
                self.fail(&format!("connection {conn} closed but still known"));
            }
        }
        for (conn, _) in &out.closes {
            self.closed.insert(*conn);
            self.open.retain(|c| c != conn);
        }
        if let Err(e) = check_world(&self.w) {
            self.fail(&e);
        }
        let remote = self.w.clients.len() - self.w.local_users;
        self.max_remote = self.max_remote.max(remote);
        self.max_servers = self.max_servers.max(self.w.servers.len());
        self.max_channels = self.max_channels.max(self.w.channels.len());
        self.got = out.sends;
        self.got.extend(out.closes);
    }

    fn open_conn(&mut self) -> Option<ConnId> {
        let conn = self.next_conn;
        self.next_conn += 1;
        let ip: IpAddr = self.rng.pick(IPS).parse().expect("ip");
        let mut ok = false;
        self.run(format!("open {conn} from {ip}"), |w, now, out| {
            ok = w.on_open(conn, ip, now, out)
        });
        if ok {
            self.open.push(conn);
            Some(conn)
        } else {
            self.closed.insert(conn);
            None
        }
    }

    fn feed(&mut self, conn: ConnId, line: &[u8]) {
        let text = format!("{conn} <- {}", show(line));
        self.run(text, |w, now, out| w.on_line(conn, line, now, out));
    }

    fn tick(&mut self, ms: u64) {
        self.now.mono_ms += ms;
        self.now.unix_ms += ms;
        self.run(format!("tick +{ms} ms"), |w, now, out| w.on_tick(now, out));
        // Peers answer PING, as real ones do; users are left to time out.
        let pinged: Vec<ConnId> = self
            .got
            .iter()
            .filter(|(c, l)| l.starts_with(b"PING") && self.w.link(*c).is_some())
            .map(|(c, _)| *c)
            .collect();
        for link in pinged {
            self.feed(link, b"PONG :irc.test");
        }
    }

    fn drop_conn(&mut self, conn: ConnId) {
        self.run(format!("drop {conn}"), |w, now, out| {
            w.on_close(conn, "Connection reset by peer", now, out)
        });
        self.open.retain(|&c| c != conn);
        self.closed.insert(conn);
    }

    /// SIGTERM: every connection gets its ERROR, then the shell closes each; nothing may
    /// be left behind.
    fn teardown(&mut self) {
        self.shutting_down = true;
        self.run("shutdown".into(), |w, _, out| w.shutdown(out));
        let conns: Vec<ConnId> = (0..self.w.locals.len())
            .filter(|&c| self.w.locals[c].is_some())
            .collect();
        for c in conns {
            self.drop_conn(c);
        }
        let w = &self.w;
        let left = (
            w.clients.len(),
            w.channels.len(),
            w.servers.len(),
            w.links.len(),
            w.unregistered,
            w.local_users,
            w.per_ip.len(),
        );
        if left != (0, 0, 1, 0, 0, 0, 0) {
            self.fail(&format!("after shutdown: {left:?} left"));
        }
    }

    /// Open connections with a registered user.
    fn users(&self) -> Vec<(ConnId, ClientId)> {
        self.open
            .iter()
            .filter_map(|&c| self.w.local(c).and_then(|l| l.client).map(|cid| (c, cid)))
            .collect()
    }

    fn unregistered(&self) -> Vec<ConnId> {
        self.open
            .iter()
            .copied()
            .filter(|&c| {
                self.w
                    .local(c)
                    .is_some_and(|l| l.client.is_none() && l.link.is_none())
            })
            .collect()
    }

    fn links(&self) -> Vec<ConnId> {
        self.w.links.clone()
    }

    /// A registered user `nick` with the capabilities in `caps` (space-separated).
    fn user(&mut self, nick: &str, caps: &str) -> ConnId {
        let conn = self.open_conn().expect("room for a user");
        if !caps.is_empty() {
            self.feed(conn, format!("CAP REQ :{caps}").as_bytes());
        }
        self.feed(conn, format!("NICK {nick}").as_bytes());
        self.feed(conn, format!("USER {nick} 0 * :{nick}").as_bytes());
        self.feed(conn, b"CAP END");
        assert!(self.w.local(conn).is_some_and(|l| l.client.is_some()));
        conn
    }

    /// What `conn` got in the last step.
    fn got_by(&self, conn: ConnId) -> Vec<String> {
        self.got
            .iter()
            .filter(|(c, _)| *c == conn)
            .map(|(_, l)| show(l))
            .collect()
    }

    /// A new registered user (sometimes negotiating capabilities first).
    fn register(&mut self) -> Option<ConnId> {
        let conn = self.open_conn()?;
        self.fresh += 1;
        let nick = if self.rng.chance(1, 2) {
            format!("{}{}", self.rng.pick(NICKS), self.fresh)
        } else {
            self.rng.pick(NICKS).to_string()
        };
        if !self.w.config.server.password.is_empty() {
            let pass = self
                .rng
                .pick_bytes(&[b"PASS srvpw", b"PASS srvpw", b"PASS x"]);
            self.feed(conn, pass);
        }
        let caps = self.rng.chance(1, 2);
        if caps {
            self.feed(conn, b"CAP LS 302");
            let mut req = String::from("CAP REQ :");
            for c in CAPS.iter().take(8) {
                if self.rng.chance(2, 3) {
                    req.push_str(c);
                    req.push(' ');
                }
            }
            self.feed(conn, req.trim_end().as_bytes());
        }
        self.feed(conn, format!("NICK {nick}").as_bytes());
        self.feed(conn, format!("USER {nick} 0 * :{nick} real").as_bytes());
        if caps {
            self.feed(conn, b"CAP END");
        }
        if self.rng.chance(1, 4) {
            self.feed(conn, b"OPER admin pw");
        }
        Some(conn)
    }

    /// Keeps a few users and a few half-open connections around.
    fn replenish(&mut self) {
        if self.users().len() < 6 {
            self.register();
        }
        if self.unregistered().len() < 2 {
            if let Some(c) = self.open_conn() {
                if self.rng.chance(1, 2) {
                    let nick = format!("u{}", self.next_conn);
                    self.feed(c, format!("NICK {nick}").as_bytes());
                }
            }
        }
    }

    /// Ticks and drops now and then.
    fn chaos(&mut self) {
        match self.rng.below(100) {
            0..=2 => {
                let ms = *self
                    .rng
                    .pick(&[1_000, 5_000, 30_000, 61_000, 121_000, 200_000]);
                self.tick(ms);
            }
            4 if !self.open.is_empty() => {
                let c = *self.rng.pick(&self.open);
                self.run(format!("{c} <- (too long)"), |w, now, out| {
                    w.on_too_long(c, now, out)
                });
            }
            3 if !self.open.is_empty() => {
                let c = *self.rng.pick(&self.open);
                // Links are dropped rarely: they take the whole burst with them.
                if self.w.link(c).is_none() || self.rng.chance(1, 4) {
                    self.drop_conn(c);
                }
            }
            _ => {}
        }
    }

    // ---- values ---------------------------------------------------------------------

    fn existing_nick(&mut self) -> Option<String> {
        if self.w.clients.is_empty() {
            return None;
        }
        let ids: Vec<ClientId> = self.w.clients.iter().map(|(i, _)| i).collect();
        let id = *self.rng.pick(&ids);
        let nick = self.w.clients[id].nick.to_string();
        Some(if self.rng.chance(1, 5) {
            nick.to_uppercase()
        } else {
            nick
        })
    }

    fn existing_chan(&mut self) -> Option<String> {
        if self.w.channels.is_empty() {
            return None;
        }
        let ids: Vec<usize> = self.w.channels.iter().map(|(i, _)| i).collect();
        let id = *self.rng.pick(&ids);
        let name = self.w.channels[id].name.to_string();
        Some(if self.rng.chance(1, 5) {
            name.to_uppercase()
        } else {
            name
        })
    }

    fn nick(&mut self) -> Vec<u8> {
        match self.rng.below(12) {
            0..=5 => self
                .existing_nick()
                .unwrap_or_else(|| "nobody".into())
                .into_bytes(),
            6..=7 => self.rng.pick(NICKS).as_bytes().to_vec(),
            8 => b"nobody".to_vec(),
            9 => "n".repeat(self.rng.below(70) + 1).into_bytes(),
            _ => self.junk(),
        }
    }

    fn chan(&mut self) -> Vec<u8> {
        match self.rng.below(12) {
            0..=5 => self
                .existing_chan()
                .unwrap_or_else(|| "#a".into())
                .into_bytes(),
            6..=8 => self.rng.pick(CHANS).as_bytes().to_vec(),
            9 => format!("#{}", "c".repeat(self.rng.below(70))).into_bytes(),
            10 => {
                let mut v = self.chan_simple();
                v.extend_from_slice(b"\x07ov");
                v
            }
            _ => self.junk(),
        }
    }

    fn chan_simple(&mut self) -> Vec<u8> {
        if self.rng.chance(1, 2) {
            if let Some(c) = self.existing_chan() {
                return c.into_bytes();
            }
        }
        self.rng.pick(CHANS).as_bytes().to_vec()
    }

    fn list(&mut self, item: fn(&mut Fuzz) -> Vec<u8>) -> Vec<u8> {
        let n = self.rng.below(5) + 1;
        let mut v = Vec::new();
        for i in 0..n {
            if i > 0 {
                v.push(b',');
            }
            v.extend(item(self));
        }
        v
    }

    fn mask(&mut self) -> Vec<u8> {
        match self.rng.below(8) {
            0 => b"*!*@*".to_vec(),
            1 => b"*".to_vec(),
            2 => {
                let n = self.nick();
                [n, b"!*@*".to_vec()].concat()
            }
            3 => b"*@127.0.0.1".to_vec(),
            4 => b"*!*@*.test".to_vec(),
            5 => "x".repeat(self.rng.below(300)).into_bytes(),
            6 => self.nick(),
            _ => self.junk(),
        }
    }

    fn num(&mut self) -> Vec<u8> {
        match self.rng.below(6) {
            0 => self.now.unix_ms.to_string().into_bytes(),
            1 => self.now.unix_s().to_string().into_bytes(),
            2 => {
                let ts = self.existing_chan().and_then(|c| {
                    self.w
                        .find_channel(c.as_bytes())
                        .map(|ch| self.w.channels[ch].created_ms)
                });
                let d = *self.rng.pick(&[-1i64, 0, 1]);
                ts.map_or(0, |t| (t as i64 + d).max(0) as u64)
                    .to_string()
                    .into_bytes()
            }
            _ => self.rng.pick(NUMBERS).as_bytes().to_vec(),
        }
    }

    fn text(&mut self) -> Vec<u8> {
        match self.rng.below(12) {
            0..=3 => b"hello world".to_vec(),
            4 => "x".repeat(self.rng.below(520)).into_bytes(),
            5 => "é".repeat(self.rng.below(260)).into_bytes(),
            6 => b"\xff\xfe\xfd invalid".to_vec(),
            7 => b"a\rb\x07c\x01".to_vec(),
            8 => b"".to_vec(),
            9 => b" leading and trailing ".to_vec(),
            _ => self.junk(),
        }
    }

    fn modes(&mut self) -> Vec<u8> {
        if self.rng.chance(1, 2) {
            return self.rng.pick(MODE_STRINGS).as_bytes().to_vec();
        }
        let n = self.rng.below(12);
        (0..n).map(|_| *self.rng.pick(MODE_LETTERS)).collect()
    }

    fn junk(&mut self) -> Vec<u8> {
        self.rng.pick(JUNK).to_vec()
    }

    fn any(&mut self) -> Vec<u8> {
        match self.rng.below(8) {
            0 => self.nick(),
            1 => self.chan(),
            2 => self.mask(),
            3 => self.num(),
            4 => self.text(),
            5 => self.modes(),
            _ => self.junk(),
        }
    }

    fn server_name(&mut self) -> Vec<u8> {
        if self.rng.chance(1, 2) {
            let names: Vec<String> = self
                .w
                .servers
                .iter()
                .map(|(_, s)| s.name.to_string())
                .collect();
            return self.rng.pick(&names).clone().into_bytes();
        }
        self.rng
            .pick(&[
                "deep1.test",
                "deep2.test",
                "irc.test",
                "leaf.test",
                "hub.test",
                "ng.test",
                "x",
                "*",
                "*.test",
            ])
            .as_bytes()
            .to_vec()
    }

    // ---- lines ----------------------------------------------------------------------

    /// `[@tags] [:prefix] VERB params…`, the last parameter written as trailing when it has
    /// to be (or at random).
    fn render(
        &mut self,
        tags: Option<Vec<u8>>,
        prefix: Option<Vec<u8>>,
        verb: &[u8],
        params: &[Vec<u8>],
    ) -> Vec<u8> {
        let mut line = Vec::new();
        if let Some(t) = tags {
            line.extend(t);
            line.push(b' ');
        }
        if let Some(p) = prefix {
            line.push(b':');
            line.extend(p);
            line.push(b' ');
        }
        line.extend_from_slice(verb);
        for (i, p) in params.iter().enumerate() {
            line.push(b' ');
            if self.rng.chance(1, 30) {
                line.push(b' ');
            }
            let last = i + 1 == params.len();
            let needs = p.is_empty() || p.contains(&b' ') || p.first() == Some(&b':');
            if last && (needs || self.rng.chance(1, 3)) {
                line.push(b':');
            }
            line.extend_from_slice(p);
        }
        line
    }

    fn tags(&mut self) -> Option<Vec<u8>> {
        if !self.rng.chance(1, 8) {
            return None;
        }
        if self.rng.chance(1, 10) {
            let mut t = b"@+long=".to_vec();
            let n = *self
                .rng
                .pick(&[100, 4000, 4087, 4100, 8150, 8175, 8183, 9000]);
            t.extend("v".repeat(n).into_bytes());
            return Some(t);
        }
        Some(self.rng.pick(TAGS).to_vec())
    }

    /// A line a client might send.
    fn client_line(&mut self) -> Vec<u8> {
        let tags = self.tags();
        let prefix = self.rng.chance(1, 12).then(|| {
            if self.rng.chance(1, 2) {
                self.nick()
            } else {
                self.server_name()
            }
        });
        if self.rng.chance(1, 10) {
            let verb = self.rng.pick(JUNK_VERBS).to_vec();
            let n = self.rng.below(6);
            let params: Vec<Vec<u8>> = (0..n).map(|_| self.any()).collect();
            return self.render(tags, prefix, &verb, &params);
        }
        // Half the time a command that changes state, so channels fill and empty.
        let name = if self.rng.chance(1, 2) {
            *self.rng.pick(HOT)
        } else {
            self.rng.pick(COMMANDS).name
        };
        let verb = if self.rng.chance(1, 10) {
            name.to_ascii_lowercase()
        } else {
            name.to_string()
        };
        let params = if self.rng.chance(1, 5) {
            let n = self.rng.below(17);
            (0..n).map(|_| self.any()).collect()
        } else {
            self.client_params(name)
        };
        self.render(tags, prefix, verb.as_bytes(), &params)
    }

    fn client_params(&mut self, cmd: &str) -> Vec<Vec<u8>> {
        let r = &mut self.rng;
        let opt = r.chance(1, 2);
        let mut p: Vec<Vec<u8>> = match cmd {
            "JOIN" => {
                let mut v = vec![if self.rng.chance(1, 10) {
                    b"0".to_vec()
                } else {
                    self.list(Fuzz::chan)
                }];
                if opt {
                    v.push(self.list(Fuzz::any));
                }
                v
            }
            "PART" => {
                let mut v = vec![self.list(Fuzz::chan)];
                if opt {
                    v.push(self.text());
                }
                v
            }
            "MODE" => {
                let target = if self.rng.chance(3, 4) {
                    self.chan()
                } else {
                    self.nick()
                };
                let mut v = vec![target];
                if self.rng.chance(4, 5) {
                    v.push(self.modes());
                    for _ in 0..self.rng.below(7) {
                        let a = match self.rng.below(4) {
                            0 => self.nick(),
                            1 => self.mask(),
                            2 => self.num(),
                            _ => self.any(),
                        };
                        v.push(a);
                    }
                }
                v
            }
            "KICK" => {
                let mut v = vec![self.list(Fuzz::chan), self.list(Fuzz::nick)];
                if opt {
                    v.push(self.text());
                }
                v
            }
            "INVITE" => vec![self.nick(), self.chan()],
            "TOPIC" => {
                let mut v = vec![self.chan()];
                if opt {
                    v.push(self.text());
                }
                v
            }
            "PRIVMSG" | "NOTICE" | "TAGMSG" => {
                let target = match self.rng.below(6) {
                    0 => {
                        let mut t = vec![*self.rng.pick(b"@+")];
                        t.extend(self.chan());
                        t
                    }
                    1 => self.list(Fuzz::nick),
                    2 => self.list(Fuzz::chan),
                    3 => self.chan(),
                    _ => self.nick(),
                };
                let mut v = vec![target];
                if cmd != "TAGMSG" || opt {
                    v.push(self.text());
                }
                v
            }
            "NICK" => vec![self.nick()],
            "USER" => vec![self.any(), b"0".to_vec(), b"*".to_vec(), self.text()],
            "OPER" => vec![
                self.rng.pick(&[&b"admin"[..], b"Admin", b"x"]).to_vec(),
                self.rng.pick(&[&b"pw"[..], b"bad"]).to_vec(),
            ],
            "KILL" => vec![self.nick(), self.text()],
            "WHO" => {
                let mut v = vec![match self.rng.below(3) {
                    0 => self.chan(),
                    1 => self.mask(),
                    _ => self.nick(),
                }];
                if opt {
                    v.push(b"o".to_vec());
                }
                v
            }
            "WHOIS" => {
                if opt {
                    vec![self.server_name(), self.list(Fuzz::nick)]
                } else {
                    vec![self.list(Fuzz::nick)]
                }
            }
            "WHOWAS" => vec![self.nick(), self.num()],
            "NAMES" | "LIST" => {
                if opt {
                    vec![self.list(Fuzz::chan)]
                } else {
                    vec![self
                        .rng
                        .pick(&[&b">1"[..], b"<5", b"", b"*", b"#*"])
                        .to_vec()]
                }
            }
            "ISON" | "USERHOST" => (0..self.rng.below(8)).map(|_| self.nick()).collect(),
            "CAP" => match self.rng.below(5) {
                0 => vec![b"LS".to_vec(), self.num()],
                1 => {
                    let n = self.rng.below(4) + 1;
                    let caps: Vec<&str> = (0..n).map(|_| *self.rng.pick(CAPS)).collect();
                    vec![b"REQ".to_vec(), caps.join(" ").into_bytes()]
                }
                2 => vec![b"END".to_vec()],
                3 => vec![b"LIST".to_vec()],
                _ => vec![self.any()],
            },
            "AWAY" | "SETNAME" | "WALLOPS" | "QUIT" => {
                if opt || cmd == "SETNAME" {
                    vec![self.text()]
                } else {
                    vec![]
                }
            }
            "STATS" => vec![self
                .rng
                .pick(&[&b"u"[..], b"m", b"l", b"o", b"", b"\xff"])
                .to_vec()],
            "SQUIT" | "CONNECT" => vec![self.server_name(), self.text()],
            "PING" | "PONG" => vec![self.any()],
            "PASS" => {
                let mut v = vec![self.rng.pick(&[&b"linkpw"[..], b"x", b""]).to_vec()];
                if opt {
                    v.push(b"0210-PORTICO".to_vec());
                    v.push(b"portico|0.1.0".to_vec());
                }
                v
            }
            "SERVER" => vec![self.server_name(), self.num(), self.num(), self.text()],
            "CAPAB" => vec![
                self.num(),
                self.num(),
                b"EOB AWAY TB BMASK SETNAME".to_vec(),
            ],
            _ => (0..self.rng.below(3)).map(|_| self.any()).collect(),
        };
        if self.rng.chance(1, 10) && !p.is_empty() {
            let keep = self.rng.below(p.len());
            p.truncate(keep);
        }
        p
    }

    /// A client step: a random line from a user or a registering connection.
    fn client_step(&mut self) {
        let users = self.users();
        let conn = if !users.is_empty() && self.rng.chance(5, 6) {
            self.rng.pick(&users).0
        } else {
            let unreg = self.unregistered();
            if unreg.is_empty() {
                return;
            }
            *self.rng.pick(&unreg)
        };
        let line = self.client_line();
        self.feed(conn, &line);
    }

    // ---- probes ---------------------------------------------------------------------

    /// Counts, per connection, lines of the last step that contain `token`.
    fn count(&self, token: &[u8]) -> HashMap<ConnId, usize> {
        let mut n = HashMap::new();
        for (c, l) in &self.got {
            if l.windows(token.len()).any(|w| w == token) {
                *n.entry(*c).or_default() += 1;
            }
        }
        n
    }

    /// A message from a user (local, or remote through its link) to another user, or to a
    /// channel it may speak in, must reach every recipient (or the link toward it) exactly
    /// once, and nobody else.
    fn probe(&mut self) {
        let senders: Vec<ClientId> = self
            .w
            .clients
            .iter()
            .filter(|(_, c)| c.conn.is_none_or(|conn| self.open.contains(&conn)))
            .map(|(i, _)| i)
            .collect();
        if senders.is_empty() {
            return;
        }
        let cid = *self.rng.pick(&senders);
        let from = self.w.route(cid).expect("routable");
        let local = self.w.clients[cid].conn.is_some();
        self.probes += 1;
        let token = format!("probe{}x{}", self.seed, self.probes);
        let mut want: HashMap<ConnId, usize> = HashMap::new();
        let speakable: Vec<usize> = self.w.clients[cid]
            .chans
            .iter()
            .copied()
            .filter(|&ch| !local || !self.w.channels[ch].members[&cid].is_empty())
            .collect();
        let target = if !speakable.is_empty() && self.rng.chance(1, 2) {
            let ch = *self.rng.pick(&speakable);
            let chan = &self.w.channels[ch];
            for &m in chan.members.keys() {
                let c = &self.w.clients[m];
                match (c.conn, self.w.servers[c.server].via) {
                    (Some(conn), _) if m != cid => *want.entry(conn).or_default() += 1,
                    (None, Some(link)) if link != from => {
                        want.insert(link, 1);
                    }
                    _ => {}
                }
            }
            chan.name.to_string()
        } else {
            let others: Vec<ClientId> = self
                .w
                .clients
                .iter()
                .map(|(i, _)| i)
                .filter(|&i| i != cid)
                .collect();
            if others.is_empty() {
                return;
            }
            let to = *self.rng.pick(&others);
            let route = self.w.route(to).expect("routable");
            if route != from {
                want.insert(route, 1);
            }
            self.w.clients[to].nick.to_string()
        };
        let line = if local {
            if self.w.clients[cid].caps & super::caps::ECHO_MESSAGE != 0 {
                *want.entry(from).or_default() += 1;
            }
            format!("PRIVMSG {target} :{token}")
        } else {
            format!(":{} PRIVMSG {target} :{token}", self.w.clients[cid].nick)
        };
        self.feed(from, line.as_bytes());
        let got = self.count(token.as_bytes());
        if got != want {
            let lines: Vec<String> = self
                .got
                .iter()
                .map(|(c, l)| format!("{c}: {}", show(l)))
                .collect();
            self.fail(&format!(
                "probe {line:?} from {from}: wanted {want:?}, got {got:?}\n{}",
                lines.join("\n")
            ));
        }
    }
}

// ---- portal side ------------------------------------------------------------------------

const NG_MODE_LETTERS: &[u8] = b"+-eIbhqaovklimnpstPzMORrVcCNQ";

impl Fuzz {
    /// A connection for a portal: dialed by us (our handshake goes first) or by the peer.
    fn portal_conn(&mut self, name: &str) -> Option<ConnId> {
        if !self.rng.chance(1, 3) {
            return self.open_conn();
        }
        let conn = self.next_conn;
        self.next_conn += 1;
        let ip: IpAddr = self.rng.pick(IPS).parse().expect("ip");
        let mut ok = false;
        self.run(format!("dial {conn} to {name}"), |w, now, out| {
            ok = w.on_dial(conn, name, ip, now, out)
        });
        if ok {
            self.open.push(conn);
            Some(conn)
        } else {
            self.closed.insert(conn);
            None
        }
    }

    /// Links a native portal; `None` if it was refused.
    fn link_native(&mut self, name: &str, sid: u16) -> Option<ConnId> {
        let conn = self.portal_conn(name)?;
        self.feed(conn, b"PASS linkpw 0210-PORTICO portico|0.1.0");
        let capab = self.rng.pick_bytes(&[
            &b"CAPAB 1 2 :EOB AWAY TB BMASK SETNAME"[..],
            b"CAPAB 1 2 :EOB AWAY TB BMASK SETNAME",
            b"CAPAB 1 1 :EOB",
            b"CAPAB 1 2 :",
        ]);
        self.feed(conn, capab);
        self.feed(conn, format!("SERVER {name} 1 {sid} :x").as_bytes());
        self.w.link(conn)?;
        self.feed(conn, format!(":{name} EOB").as_bytes());
        self.linked += 1;
        Some(conn)
    }

    /// Links the ngIRCd portal: its PASS and SERVER, then the enhanced handshake.
    fn link_rfc(&mut self) -> Option<ConnId> {
        let conn = self.portal_conn("ng.test")?;
        self.feed(conn, b"PASS linkpw 0210-IRC+ ngIRCd|26.1:CHLMSXZo PZ");
        self.feed(conn, b"SERVER ng.test 1 :x");
        self.w.link(conn)?;
        self.feed(
            conn,
            b":ng.test 005 irc.test NICKLEN=30 CASEMAPPING=rfc1459 :are supported on this server",
        );
        self.feed(conn, b":ng.test 376 irc.test :End of MOTD command");
        self.linked += 1;
        Some(conn)
    }

    /// Relinks portals that split off (not every step: a split is worth some traffic), and
    /// now and then links one twice (a duplicate, or connections crossing).
    fn ensure_links(&mut self, portals: &[(&str, u16)]) {
        for &(name, sid) in portals {
            let linked = self.w.find_server(name.as_bytes()).is_some();
            if linked && !self.rng.chance(1, 200) || !linked && !self.rng.chance(1, 3) {
                continue;
            }
            // Sometimes the second connection comes right after the first: within the
            // crossing window, the one dialed by the lower ID is kept.
            let times = if self.rng.chance(1, 8) { 2 } else { 1 };
            for _ in 0..times {
                if name == "ng.test" {
                    self.link_rfc();
                } else {
                    self.link_native(name, sid);
                }
            }
        }
    }

    /// REHASH as the shell does it: a configuration with a portal changed or removed, or
    /// the original one back.
    fn rehash(&mut self, base: &str) {
        let cfg = match self.rng.below(4) {
            0 => base.replace("name = \"hub.test\"", "name = \"gone.test\""),
            1 => base.replacen("password = \"linkpw\"", "password = \"newpw\"", 1),
            2 => base.replace("id = 5", "id = 6"),
            _ => base.to_string(),
        };
        let cfg = Config::parse(&cfg, "fuzz").expect("fuzz config");
        self.run("rehash".into(), |w, _, out| {
            let _ = w.set_config(cfg, out);
        });
    }

    fn behind(&self, link: ConnId) -> (Vec<usize>, Vec<ClientId>) {
        let servers = self
            .w
            .servers
            .iter()
            .filter(|(_, s)| s.via == Some(link))
            .map(|(i, _)| i)
            .collect();
        let clients = self
            .w
            .clients
            .iter()
            .filter(|(i, _)| self.w.route(*i) == Some(link) && self.w.clients[*i].conn.is_none())
            .map(|(i, _)| i)
            .collect();
        (servers, clients)
    }

    /// A prefix for a line from `link`: mostly a user (or server) behind it, sometimes none,
    /// one from the wrong direction or an unknown one.
    fn link_prefix(&mut self, link: ConnId, user: bool) -> Option<Vec<u8>> {
        let (servers, clients) = self.behind(link);
        match self.rng.below(24) {
            0 => None,
            1 => Some(
                self.users()
                    .first()
                    .map_or("irc.test".to_string(), |&(_, c)| {
                        self.w.clients[c].nick.to_string()
                    })
                    .into_bytes(),
            ),
            2 => Some(b"irc.test".to_vec()),
            3 => Some(b"ghost".to_vec()),
            4 => Some(self.nick()),
            5 => Some(self.server_name()),
            _ if user && !clients.is_empty() => {
                let c = *self.rng.pick(&clients);
                let nick = self.w.clients[c].nick.to_string();
                Some(if self.rng.chance(1, 4) {
                    format!("{nick}!u@h").into_bytes()
                } else {
                    nick.into_bytes()
                })
            }
            _ if !servers.is_empty() => {
                let s = *self.rng.pick(&servers);
                Some(self.w.servers[s].name.as_bytes().to_vec())
            }
            _ => None,
        }
    }

    /// A nick for a user introduced by a link: often new, sometimes colliding.
    fn remote_nick(&mut self) -> Vec<u8> {
        match self.rng.below(10) {
            0..=4 => format!("{}{}", self.rng.pick(NICKS), self.rng.below(30)).into_bytes(),
            5..=6 => self.rng.pick(NICKS).as_bytes().to_vec(),
            7..=8 => self.existing_nick().unwrap_or_default().into_bytes(),
            _ => self.nick(),
        }
    }

    /// A member of a link's channel burst: mostly its own users.
    fn remote_member(&mut self, link: ConnId) -> Vec<u8> {
        let (_, clients) = self.behind(link);
        if !clients.is_empty() && self.rng.chance(3, 4) {
            let c = *self.rng.pick(&clients);
            return self.w.clients[c].nick.as_bytes().to_vec();
        }
        self.nick()
    }

    fn sid_behind(&mut self, link: ConnId) -> Vec<u8> {
        let (servers, _) = self.behind(link);
        if !servers.is_empty() && self.rng.chance(4, 5) {
            let s = *self.rng.pick(&servers);
            return self.w.servers[s].sid.to_string().into_bytes();
        }
        self.num()
    }

    fn nick_ts(&mut self) -> Vec<u8> {
        match self.rng.below(6) {
            0 => b"0".to_vec(),
            1 => (self.now.unix_ms - 10_000).to_string().into_bytes(),
            2 => (self.now.unix_ms + 10_000).to_string().into_bytes(),
            3 => {
                // Equal to an existing user's: both lose.
                let ts = self.w.clients.iter().next().map_or(1, |(_, c)| c.ts);
                ts.to_string().into_bytes()
            }
            _ => self.num(),
        }
    }

    fn chan_modes(&mut self, with_args: bool) -> Vec<Vec<u8>> {
        if self.rng.chance(1, 3) {
            return vec![b"+".to_vec()];
        }
        let mut modes = b"+".to_vec();
        let mut args = Vec::new();
        for _ in 0..self.rng.below(6) {
            let c = *self.rng.pick(b"ntmispklbx");
            modes.push(c);
            if with_args && matches!(c, b'k' | b'l' | b'b') {
                args.push(match c {
                    b'l' => self.num(),
                    b'k' => self.any(),
                    _ => self.mask(),
                });
            }
        }
        let mut v = vec![modes];
        v.extend(args);
        v
    }

    /// An unknown verb, or now and then an ERROR (which ends the link).
    fn link_junk_verb(&mut self) -> Vec<u8> {
        let mut verb = self.rng.pick(JUNK_VERBS).to_vec();
        while verb == b"ERROR" && self.rng.chance(3, 4) {
            verb = self.rng.pick(JUNK_VERBS).to_vec();
        }
        verb
    }

    /// A random line a native peer could send.
    fn native_line(&mut self, link: ConnId) -> Vec<u8> {
        const VERBS: &[&str] = &[
            "NICK", "NICK", "NICK", "NICK", "NICK", "NICK", "NICK", "NICK", "NICKCHG", "NICKCHG",
            "SERVER", "SERVER", "SJOIN", "SJOIN", "SJOIN", "SJOIN", "SJOIN", "MODE", "MODE",
            "MODE", "UMODE", "KICK", "KICK", "PART", "TOPIC", "TB", "BMASK", "KILL", "PRIVMSG",
            "PRIVMSG", "NOTICE", "TAGMSG", "AWAY", "INVITE", "WALLOPS", "SETNAME", "EOB", "QUIT",
            "PING", "PONG", "JUNK", "SQUIT",
        ];
        let mut verb = *self.rng.pick(VERBS);
        if verb == "SQUIT" && self.rng.chance(5, 6) {
            verb = "PING";
        }
        if matches!(verb, "QUIT" | "KILL") && self.rng.chance(1, 2) {
            verb = "AWAY";
        }
        let tags = self.tags();
        let server_src = matches!(verb, "NICK" | "SERVER" | "SJOIN" | "TB" | "BMASK");
        let prefix = self.link_prefix(link, !server_src);
        let mut p: Vec<Vec<u8>> = match verb {
            "NICK" => vec![
                self.remote_nick(),
                self.rng.pick(&[&b"2"[..], b"1", b"x"]).to_vec(),
                self.nick_ts(),
                self.rng
                    .pick(&[&b"~u"[..], b"user", b"~u", b"user", b"\xff", b"a@b"])
                    .to_vec(),
                self.rng
                    .pick(&[&b"h.test"[..], b"10.0.0.9", b"::1", b"h.test", b"\xe9"])
                    .to_vec(),
                self.sid_behind(link),
                self.rng
                    .pick(&[&b"+"[..], b"+i", b"+o", b"+iosw", b"+x", b"", b"i"])
                    .to_vec(),
                self.text(),
            ],
            "NICKCHG" => vec![self.remote_nick(), self.nick_ts()],
            "SERVER" => {
                self.fresh += 1;
                // Mostly a new server: a known one drops the link (a loop).
                let name = if self.rng.chance(9, 10) {
                    format!("s{}.test", self.fresh).into_bytes()
                } else {
                    self.server_name()
                };
                let sid = if self.rng.chance(9, 10) {
                    (100 + self.fresh).to_string().into_bytes()
                } else {
                    self.num()
                };
                vec![name, b"2".to_vec(), sid, self.text()]
            }
            "SJOIN" => {
                let mut v = vec![self.num(), self.chan()];
                v.extend(self.chan_modes(true));
                let n = self.rng.below(6);
                let mut members = Vec::new();
                for i in 0..n {
                    if i > 0 {
                        members.push(b' ');
                    }
                    members.extend_from_slice(self.rng.pick_bytes(&[
                        &b""[..],
                        b"@",
                        b"+",
                        b"@+",
                        b"+@",
                    ]));
                    members.extend(self.remote_member(link));
                }
                v.push(members);
                v
            }
            "MODE" => {
                let mut v = vec![self.chan(), self.modes()];
                for _ in 0..self.rng.below(6) {
                    let a = if self.rng.chance(1, 2) {
                        self.remote_member(link)
                    } else {
                        self.mask()
                    };
                    v.push(a);
                }
                v
            }
            "UMODE" => {
                let target = match &prefix {
                    Some(p) if self.rng.chance(3, 4) => p.clone(),
                    _ => self.nick(),
                };
                vec![target, self.modes()]
            }
            "KICK" => vec![self.chan(), self.nick(), self.text()],
            "PART" => vec![self.chan(), self.text()],
            "TOPIC" => vec![self.chan(), self.num(), self.text()],
            "TB" => vec![self.chan(), self.num(), self.mask(), self.text()],
            "BMASK" => {
                let masks: Vec<Vec<u8>> = (0..self.rng.below(12)).map(|_| self.mask()).collect();
                vec![
                    self.num(),
                    self.chan(),
                    self.rng.pick(&[&b"b"[..], b"b", b"e", b""]).to_vec(),
                    masks.join(&b' '),
                ]
            }
            "KILL" => vec![self.nick(), self.text()],
            "PRIVMSG" | "NOTICE" | "TAGMSG" => {
                let target = match self.rng.below(4) {
                    0 => {
                        let mut t = vec![*self.rng.pick(b"@+")];
                        t.extend(self.chan());
                        t
                    }
                    1 => self.chan(),
                    _ => self.nick(),
                };
                vec![target, self.text()]
            }
            "AWAY" | "WALLOPS" | "SETNAME" | "QUIT" | "PING" | "PONG" => {
                if self.rng.chance(1, 4) {
                    vec![]
                } else {
                    vec![self.text()]
                }
            }
            "INVITE" => vec![self.nick(), self.chan()],
            "SQUIT" => vec![self.server_name(), self.text()],
            _ => (0..self.rng.below(4)).map(|_| self.any()).collect(),
        };
        // Too few parameters, or too many.
        match self.rng.below(12) {
            0 if !p.is_empty() => {
                let keep = self.rng.below(p.len());
                p.truncate(keep);
            }
            1 => p.push(self.any()),
            _ => {}
        }
        let verb: Vec<u8> = match verb {
            "NICKCHG" => b"NICK".to_vec(),
            "UMODE" => b"MODE".to_vec(),
            "JUNK" => self.link_junk_verb(),
            v => v.as_bytes().to_vec(),
        };
        self.render(tags, prefix, &verb, &p)
    }

    /// A random line an ngIRCd peer could send.
    fn rfc_line(&mut self, link: ConnId) -> Vec<u8> {
        const VERBS: &[&str] = &[
            "NICK", "NICK", "NICK", "NICK", "NICK", "NICK", "NICK", "NICK", "NICKCHG", "SERVER",
            "SERVER", "NJOIN", "NJOIN", "NJOIN", "NJOIN", "CHANINFO", "CHANINFO", "JOIN", "JOIN",
            "METADATA", "MODE", "MODE", "MODE", "UMODE", "UMODE", "TOPIC", "TOPIC", "PRIVMSG",
            "NOTICE", "KICK", "PART", "QUIT", "KILL", "INVITE", "WALLOPS", "PING", "PONG", "005",
            "376", "NUMERIC", "SERVICE", "JUNK", "SQUIT", "AWAY",
        ];
        let mut verb = *self.rng.pick(VERBS);
        if verb == "SQUIT" && self.rng.chance(5, 6) {
            verb = "PING";
        }
        if matches!(verb, "QUIT" | "KILL") && self.rng.chance(1, 2) {
            verb = "AWAY";
        }
        let tags = self.rng.chance(1, 20).then(|| self.rng.pick(TAGS).to_vec());
        let server_src = matches!(
            verb,
            "NICK" | "SERVER" | "NJOIN" | "CHANINFO" | "005" | "376"
        );
        let prefix = self.link_prefix(link, !server_src);
        let token = |f: &mut Fuzz| -> Vec<u8> {
            match f.rng.below(4) {
                0 => b"1".to_vec(),
                1 => f.num(),
                _ => (2 + f.rng.below(8)).to_string().into_bytes(),
            }
        };
        let mut p: Vec<Vec<u8>> = match verb {
            "NICK" => vec![
                self.remote_nick(),
                self.rng.pick(&[&b"1"[..], b"2", b"x"]).to_vec(),
                self.rng
                    .pick(&[&b"~u"[..], b"user", b"~u", b"\xff"])
                    .to_vec(),
                self.rng
                    .pick(&[&b"h.ng"[..], b"10.0.0.9", b"h.ng", b"\xe9"])
                    .to_vec(),
                token(self),
                self.rng
                    .pick(&[
                        &b"+"[..],
                        b"+a",
                        b"+ai",
                        b"+iwo",
                        b"+x",
                        b"a",
                        b"+aaa",
                        b"-a",
                    ])
                    .to_vec(),
                self.text(),
            ],
            "NICKCHG" => vec![self.remote_nick()],
            "SERVER" => {
                self.fresh += 1;
                let name = if self.rng.chance(9, 10) {
                    format!("n{}.ng", self.fresh).into_bytes()
                } else {
                    self.server_name()
                };
                vec![name, b"2".to_vec(), token(self), self.text()]
            }
            "NJOIN" => {
                let n = self.rng.below(6);
                let mut members = Vec::new();
                for i in 0..n {
                    if i > 0 {
                        members.push(b',');
                    }
                    members.extend_from_slice(self.rng.pick_bytes(&[
                        &b""[..],
                        b"@@",
                        b"@",
                        b"+",
                        b"%",
                        b"~",
                        b"&",
                        b"@+",
                        b",,",
                    ]));
                    members.extend(self.remote_member(link));
                }
                vec![self.chan(), members]
            }
            "CHANINFO" => {
                let modes = self
                    .rng
                    .pick(&[
                        &b"+nt"[..],
                        b"+ntkl",
                        b"+k",
                        b"+l",
                        b"+Pntz",
                        b"+",
                        b"",
                        b"+imnpstkl",
                    ])
                    .to_vec();
                let mut v = vec![self.chan(), modes, self.any(), self.num(), self.text()];
                v.truncate(2 + self.rng.below(4));
                v
            }
            "JOIN" => {
                let n = self.rng.below(4) + 1;
                let mut items = Vec::new();
                for i in 0..n {
                    if i > 0 {
                        items.push(b',');
                    }
                    items.extend(self.chan());
                    items.extend_from_slice(self.rng.pick_bytes(&[
                        &b""[..],
                        b"",
                        b"\x07o",
                        b"\x07v",
                        b"\x07ov",
                        b"\x07",
                    ]));
                }
                vec![items]
            }
            "METADATA" => vec![self.nick(), b"cloakhost".to_vec(), self.text()],
            "MODE" => {
                let n = self.rng.below(10);
                let mut modes = vec![*self.rng.pick(b"+-")];
                modes.extend((0..n).map(|_| *self.rng.pick(NG_MODE_LETTERS)));
                let mut v = vec![self.chan(), modes];
                for _ in 0..self.rng.below(7) {
                    let a = if self.rng.chance(1, 2) {
                        self.remote_member(link)
                    } else {
                        self.any()
                    };
                    v.push(a);
                }
                v
            }
            "UMODE" => {
                let target = match &prefix {
                    Some(p) if self.rng.chance(3, 4) => p.clone(),
                    _ => self.nick(),
                };
                let m = self
                    .rng
                    .pick(&[
                        &b"+a"[..],
                        b"-a",
                        b"+ai",
                        b"-ai+w",
                        b"+o",
                        b"+xcrRB",
                        b"a",
                        b"",
                    ])
                    .to_vec();
                vec![target, m]
            }
            "TOPIC" => vec![self.chan(), self.text()],
            "PRIVMSG" | "NOTICE" => vec![self.nick(), self.text()],
            "KICK" => vec![self.chan(), self.nick(), self.text()],
            "PART" => vec![self.list(Fuzz::chan), self.text()],
            "QUIT" | "WALLOPS" | "PING" | "PONG" | "AWAY" => vec![self.text()],
            "KILL" => vec![self.nick(), self.text()],
            "INVITE" => vec![self.nick(), self.chan()],
            "SQUIT" => vec![self.server_name(), self.text()],
            "005" => {
                let nicklen: &[u8] = if self.rng.chance(1, 20) {
                    b"NICKLEN=9"
                } else {
                    b"NICKLEN=30"
                };
                let cm: &[u8] = if self.rng.chance(1, 20) {
                    b"CASEMAPPING=ascii"
                } else {
                    b"CASEMAPPING=rfc1459"
                };
                vec![
                    b"irc.test".to_vec(),
                    nicklen.to_vec(),
                    cm.to_vec(),
                    b"are supported".to_vec(),
                ]
            }
            "376" | "NUMERIC" => vec![b"irc.test".to_vec(), self.text()],
            _ => (0..self.rng.below(4)).map(|_| self.any()).collect(),
        };
        match self.rng.below(12) {
            0 if !p.is_empty() => {
                let keep = self.rng.below(p.len());
                p.truncate(keep);
            }
            1 => p.push(self.any()),
            _ => {}
        }
        let verb: Vec<u8> = match verb {
            "NICKCHG" => b"NICK".to_vec(),
            "UMODE" => b"MODE".to_vec(),
            "NUMERIC" => self
                .rng
                .pick(&[&b"432"[..], b"001", b"999", b"000"])
                .to_vec(),
            "SERVICE" => self
                .rng
                .pick(&[&b"SERVICE"[..], b"GLINE", b"SERVLIST", b"PASS"])
                .to_vec(),
            "JUNK" => self.link_junk_verb(),
            v => v.as_bytes().to_vec(),
        };
        self.render(tags, prefix, &verb, &p)
    }

    /// A line from one of the links, in its own protocol.
    fn link_step(&mut self) {
        let links = self.links();
        if links.is_empty() {
            return;
        }
        let link = *self.rng.pick(&links);
        let line = if self.w.link(link).is_some_and(|l| l.rfc.is_some()) {
            self.rfc_line(link)
        } else {
            self.native_line(link)
        };
        self.feed(link, &line);
    }
}

fn portal_fuzz(config: &str, portals: &[(&str, u16)], seed: u64, steps: usize) -> Fuzz {
    let mut f = Fuzz::new(config, seed);
    for _ in 0..4 {
        f.register();
    }
    for i in 0..steps {
        f.replenish();
        f.ensure_links(portals);
        f.chaos();
        if f.rng.chance(3, 5) {
            f.link_step();
        } else {
            f.client_step();
        }
        if f.rng.chance(1, 500) {
            f.rehash(config);
        }
        if i % 20 == 0 {
            f.probe();
        }
    }
    f.teardown();
    f
}

const NATIVE: &[(&str, u16)] = &[("leaf.test", 2), ("hub.test", 3)];
const MIXED: &[(&str, u16)] = &[("ng.test", 5), ("leaf.test", 2)];

// ---- client side ------------------------------------------------------------------------

/// A server with a password, ASCII case mapping, short nicks and room for few clients.
const STRICT_CONFIG: &str = "\
[server]
name = \"irc.test\"
id = 1
network = \"TestNet\"
password = \"srvpw\"

[limits]
casemapping = \"ascii\"
max_clients = 12
max_clients_per_ip = 4
nick_length = 9

[[oper]]
name = \"admin\"
password = \"pw\"
";

fn client_fuzz(config: &str, seed: u64, steps: usize) -> Fuzz {
    let mut f = Fuzz::new(config, seed);
    for _ in 0..4 {
        f.register();
    }
    for i in 0..steps {
        f.replenish();
        f.chaos();
        f.client_step();
        if i % 20 == 0 {
            f.probe();
        }
    }
    f.teardown();
    f
}

/// The inputs that found each bug, replayed through the same checks.
#[test]
fn fuzz_regressions() {
    let config = format!("{BASE_CONFIG}{FUZZ_CONFIG}{NG_PORTAL}");
    let mut f = Fuzz::new(&config, 1);
    let a = f.user("alice", "");
    let b = f.user("bob", "message-tags server-time");
    let leaf = f.link_native("leaf.test", 2).expect("leaf links");
    let hub = f.link_native("hub.test", 3).expect("hub links");
    let ng = f.link_rfc().expect("ng links");

    // A client tag with a raw CR was relayed as is: the line broke in two.
    f.feed(a, b"@+a=b\rc;+ok=1 PRIVMSG bob :hi");
    assert_eq!(f.got_by(b).len(), 1);
    assert!(f.got_by(b)[0].contains("+ok=1") && !f.got_by(b)[0].contains("+a="));
    // Client tags near 8191 bytes plus server-time overflowed the tag section.
    let long = format!("@+long={} PRIVMSG bob :hi", "v".repeat(8180));
    f.feed(a, long.as_bytes());
    assert_eq!(f.got_by(b).len(), 1);

    // An SJOIN naming no known member left an empty channel behind.
    f.feed(leaf, b":leaf.test SJOIN 1 #ghosts + :@ghost alice");
    assert!(f.w.find_channel(b"#ghosts").is_none());
    assert!(f.got_by(hub).is_empty() && f.got_by(ng).is_empty());

    // A relayed line with a raw CR (in a parameter or in the tags) reached other links.
    f.feed(leaf, b":leaf.test NEWTHING a\rb");
    assert_eq!(f.got_by(hub), vec![":leaf.test NEWTHING ab\\x0d\\x0a"]);
    f.feed(leaf, b"@+a=b\rc :leaf.test NEWTHING x");
    assert_eq!(
        f.got_by(hub),
        vec!["@+a=bc :leaf.test NEWTHING x\\x0d\\x0a"]
    );

    // Servers without a usable name or ID were added to the network.
    let servers = f.w.servers.len();
    for line in [
        &b":leaf.test SERVER *.test 2 7 :x"[..],
        b":leaf.test SERVER",
        b":leaf.test SERVER x.test 2 0 :x",
        b":leaf.test SERVER x.test 2 :x",
    ] {
        f.feed(leaf, line);
    }
    assert_eq!(f.w.servers.len(), servers);

    // A channel key from an SJOIN was kept raw: `a,b` can never be given in a JOIN.
    f.feed(
        leaf,
        b":leaf.test NICK rem 2 1700000000000 ~u h.test 2 + :Rem",
    );
    f.feed(leaf, b":leaf.test SJOIN 1 #k +k a,b :@rem");
    let ch = f.w.find_channel(b"#k").expect("#k exists");
    assert_eq!(f.w.channels[ch].key.as_deref(), Some("ab"));

    // Tags of a relayed line, a short BMASK or TB, reached ngIRCd in native form.
    f.feed(leaf, b"@+x=y :rem MODE #k +i");
    assert_eq!(f.got_by(ng), vec![":rem MODE #k +i\\x0d\\x0a"]);
    f.feed(leaf, b":leaf.test BMASK 1 #k b");
    f.feed(leaf, b":leaf.test TB #k 5");
    assert!(f.got_by(ng).is_empty());

    // Something that is no command at all was relayed to every link.
    f.feed(leaf, b"@+x=y :leaf.test @ x");
    f.feed(leaf, b":leaf.test \xff\xfe x");
    assert!(f.got_by(hub).is_empty() && f.got_by(ng).is_empty());
    f.teardown();
}

/// Steps per seed (each a line, a tick or a drop, plus a probe every 20).
const STEPS: usize = 5000;

/// A run that never got far (no remote users, no relinks) tests little: the generator
/// must keep reaching the interesting states.
fn assert_coverage(f: &Fuzz, remote: bool) {
    let ok = f.probes > 100
        && f.max_channels >= 5
        && (!remote || f.max_remote >= 5 && f.max_servers >= 5 && f.linked >= 3);
    assert!(
        ok,
        "seed {:#x}: {} probes, at most {} channels, {} remote users, {} servers; {} links made",
        f.seed, f.probes, f.max_channels, f.max_remote, f.max_servers, f.linked
    );
}

#[test]
fn fuzz_clients() {
    let config = format!("{BASE_CONFIG}{FUZZ_CONFIG}");
    for seed in [0x5eed_0001, 0xdead_beef, 0x1234_5678_9abc] {
        assert_coverage(&client_fuzz(&config, seed, STEPS), false);
    }
    assert_coverage(&client_fuzz(STRICT_CONFIG, 0x5eed_0002, STEPS), false);
}

#[test]
fn fuzz_native_portals() {
    let config = format!("{BASE_CONFIG}{FUZZ_CONFIG}");
    for seed in [0x11_0001, 0xfeed_f00d, 0x2222_3333_4444] {
        assert_coverage(&portal_fuzz(&config, NATIVE, seed, STEPS), true);
    }
}

#[test]
fn fuzz_rfc2813_portal() {
    let config = format!("{BASE_CONFIG}{FUZZ_CONFIG}{NG_PORTAL}");
    for seed in [0x33_0001, 0xabad_1dea, 0x5555_6666_7777] {
        assert_coverage(&portal_fuzz(&config, MIXED, seed, STEPS), true);
    }
}

/// A longer search, off by default: `FUZZ_SEEDS=50 FUZZ_WHICH=client|strict|native|rfc2813
/// cargo test --release --lib fuzz_search -- --ignored`.
#[test]
#[ignore]
fn fuzz_search() {
    let n: u64 = std::env::var("FUZZ_SEEDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10);
    let which = std::env::var("FUZZ_WHICH").unwrap_or_default();
    let native = format!("{BASE_CONFIG}{FUZZ_CONFIG}");
    let mixed = format!("{BASE_CONFIG}{FUZZ_CONFIG}{NG_PORTAL}");
    for seed in 1..=n {
        let seed = seed * 7919;
        match which.as_str() {
            "client" => drop(client_fuzz(&native, seed, 20 * STEPS)),
            "strict" => drop(client_fuzz(STRICT_CONFIG, seed, 20 * STEPS)),
            "native" => drop(portal_fuzz(&native, NATIVE, seed, 20 * STEPS)),
            _ => drop(portal_fuzz(&mixed, MIXED, seed, 20 * STEPS)),
        }
    }
}
