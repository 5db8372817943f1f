//! The `Fuzz` harness: a world, a make-believe shell, and the calls into the core.

use super::checks::{check_line, check_world, rfc_form, show};
use super::rng::{Rng, CAPS, NICKS};
use crate::config::Config;
use crate::core::ids::Key;
use crate::core::portal::cap;
use crate::core::{ChanId, ClientId, Clock, ConnId, Outbox, World};
use std::collections::{HashSet, VecDeque};
use std::net::IpAddr;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::rc::Rc;

// ---- harness ----------------------------------------------------------------------------

pub(super) const IPS: &[&str] = &["127.0.0.1", "10.1.2.3", "::1", "2001:db8::7"];

pub(super) const FUZZ_CONFIG: &str = "\
[[oper]]
name = \"admin\"
password = \"pw\"

[ircx]
max_access = 4
[[oper]]
name = \"boss\"
password = \"pw\"
level = \"manager\"

[[portal]]
name = \"leaf.test\"
id = 2
password = \"linkpw\"

[[portal]]
name = \"hub.test\"
id = 3
password = \"linkpw\"

[[channel]]
name = \"#b\"
topic = \"Registered\"
hostkey = \"hk\"

# Its wrong passwords would soon lock its few addresses out of linking and OPER.
[testing]
auth_window_ms = 0
";

pub(super) const NG_PORTAL: &str = "
[[portal]]
name = \"ng.test\"
id = 5
password = \"linkpw\"
protocol = \"rfc2813\"
";

/// A world and a make-believe shell around it.
pub(super) struct Fuzz {
    pub(super) w: World,
    pub(super) now: Clock,
    pub(super) rng: Rng,
    pub(super) seed: u64,
    pub(super) next_conn: ConnId,
    /// Connections the shell holds open.
    pub(super) open: Vec<ConnId>,
    /// Connections the core closed or the shell dropped: nothing may be sent to them later.
    pub(super) closed: HashSet<ConnId>,
    /// What the last step sent.
    pub(super) got: Vec<(ConnId, Rc<[u8]>)>,
    log: VecDeque<String>,
    pub(super) steps: u64,
    pub(super) fresh: u32,
    pub(super) probes: u32,
    /// Coverage: the most remote users, servers and channels seen at once, and links made.
    /// Connections that were rfc2813 links: only RFC 2813 forms may go to them.
    rfc_conns: HashSet<ConnId>,
    /// After SIGTERM: every connection got its ERROR and is closing.
    shutting_down: bool,
    pub(super) max_remote: usize,
    pub(super) max_servers: usize,
    pub(super) max_channels: usize,
    /// Lines from links that changed a channel's IRCX properties (PROP, BPROP applied).
    pub(super) remote_props: usize,
    /// Lines from links that changed a channel's or the network's access entries.
    pub(super) remote_access: usize,
    pub(super) linked: usize,
}

impl Fuzz {
    pub(super) fn new(config: &str, seed: u64) -> Fuzz {
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
            next_conn: ConnId(0),
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
            remote_props: 0,
            remote_access: 0,
            linked: 0,
        }
    }

    pub(super) fn fail(&self, what: &str) -> ! {
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
            if self.w.link(l).is_some_and(|k| k.is_rfc2813()) {
                self.rfc_conns.insert(l);
            }
        }
    }

    /// Runs one call into the core, then checks what it sent and the world it left.
    pub(super) fn run(&mut self, what: String, f: impl FnOnce(&mut World, Clock, &mut Outbox)) {
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
            // IRCX numerics (801-999) only ever reach IRCX connections (other dialects give
            // them other meanings: SASL's 900s, ngIRCd's 8xx). 800 answers the discovery.
            let body = line.strip_suffix(b"\r\n").unwrap_or(line);
            let ircx_numeric = crate::proto::message::parse(body).is_ok_and(|m| {
                m.command.len() == 3
                    && m.command.iter().all(u8::is_ascii_digit)
                    && m.command >= &b"801"[..]
                    && !is_sasl_reply(&m)
            });
            // (ngIRCd's own founders, `~` between two ngIRCd links, are theirs to pass.)
            let native = !self.rfc_conns.contains(conn);
            let without = self.w.link(*conn).is_some_and(|l| l.caps & cap::IRCX == 0);
            if native && without && names_owner(body) {
                self.fail(&format!(
                    "owner status to a link without IRCX {conn}: {}",
                    show(line)
                ));
            }
            if ircx_numeric && self.w.local(*conn).is_some() && !self.w.is_ircx(*conn) {
                self.fail(&format!(
                    "IRCX numeric to a non-IRCX connection {conn}: {}",
                    show(line)
                ));
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
        let remote = self.w.clients.len() - self.w.counts().local_users;
        self.max_remote = self.max_remote.max(remote);
        self.max_servers = self.max_servers.max(self.w.servers.len());
        self.max_channels = self.max_channels.max(self.w.channels.len());
        self.got = out.sends;
        self.got.extend(out.closes);
    }

    pub(super) fn open_conn(&mut self) -> Option<ConnId> {
        let conn = self.next_conn;
        self.next_conn = ConnId(self.next_conn.0 + 1);
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

    pub(super) fn feed(&mut self, conn: ConnId, line: &[u8]) {
        let text = format!("{conn} <- {}", show(line));
        // A gagged user's messages reach no one else (IRCX GAG, +z): checked on what the
        // line sent to every other connection.
        let gagged = self
            .w
            .local(conn)
            .and_then(|l| l.client)
            .filter(|&c| self.w.is_gagged(c))
            .map(|c| self.w.clients[c].nick.to_string());
        self.run(text, |w, now, out| w.on_line(conn, line, now, out));
        let Some(gagged_nick) = gagged else { return };
        let messages = [
            "PRIVMSG", "NOTICE", "TAGMSG", "WHISPER", "DATA", "REQUEST", "REPLY",
        ];
        let leaked = self.got.iter().find(|(to, l)| {
            let l = String::from_utf8_lossy(l);
            // Past a tag section, if any: `:nick!user@host VERB …`.
            let body = match l.strip_prefix('@') {
                Some(tagged) => tagged.split_once(' ').map_or("", |x| x.1),
                None => &l,
            };
            let mut words = body.split(' ');
            // `:nick!user@host` to users, `:nick` to links.
            let from = words.next().unwrap_or_default();
            let verb = words.next().unwrap_or_default();
            let nick = from.strip_prefix(':').unwrap_or_default();
            let ours = nick.split('!').next() == Some(gagged_nick.as_str());
            *to != conn && ours && messages.contains(&verb)
        });
        if let Some((to, l)) = leaked {
            let what = format!("gagged user's message reached {to}: {}", show(l));
            self.fail(&what);
        }
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
    pub(super) fn teardown(&mut self) {
        self.shutting_down = true;
        self.run("shutdown".into(), |w, _, out| w.shutdown(out));
        let conns: Vec<ConnId> = (0..self.w.locals.len())
            .filter(|&c| self.w.locals[c].is_some())
            .map(ConnId::from_index)
            .collect();
        for c in conns {
            self.drop_conn(c);
        }
        let w = &self.w;
        // Registered channels stay, empty.
        let left = (
            w.clients.len(),
            w.channels
                .iter()
                .filter(|(_, c)| !(c.is_registered() && c.members.is_empty()))
                .count(),
            w.servers.len(),
            w.links.len(),
            w.counts().unregistered,
            w.counts().local_users,
            w.per_ip.len(),
        );
        if left != (0, 0, 1, 0, 0, 0, 0) {
            self.fail(&format!("after shutdown: {left:?} left"));
        }
    }

    /// Open connections with a registered user.
    pub(super) fn users(&self) -> Vec<(ConnId, ClientId)> {
        self.open
            .iter()
            .filter_map(|&c| self.w.local(c).and_then(|l| l.client).map(|cid| (c, cid)))
            .collect()
    }

    pub(super) fn unregistered(&self) -> Vec<ConnId> {
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

    pub(super) fn links(&self) -> Vec<ConnId> {
        self.w.links.clone()
    }

    /// A registered user `nick` with the capabilities in `caps` (space-separated).
    pub(super) fn user(&mut self, nick: &str, caps: &str) -> ConnId {
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
    pub(super) fn got_by(&self, conn: ConnId) -> Vec<String> {
        self.got
            .iter()
            .filter(|(c, _)| *c == conn)
            .map(|(_, l)| show(l))
            .collect()
    }

    /// A new registered user (sometimes negotiating capabilities first).
    pub(super) fn register(&mut self) -> Option<ConnId> {
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
    pub(super) fn replenish(&mut self) {
        if self.users().len() < 6 {
            let refused = self.register().is_none_or(|c| !self.open.contains(&c));
            // A fuzzed manager's `ACCESS $|* ADD DENY *` (or a lone GRANT) refuses every
            // newcomer, and with nobody left to delete it the rest of the run would test
            // nothing: clear the server lists, as an operator would from the config.
            if refused && self.users().is_empty() {
                self.w.access.server = Default::default();
                self.w.access.network = Default::default();
            }
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
    pub(super) fn chaos(&mut self) {
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

    pub(super) fn existing_nick(&mut self) -> Option<String> {
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

    pub(super) fn existing_chan(&mut self) -> Option<String> {
        if self.w.channels.is_empty() {
            return None;
        }
        let ids: Vec<ChanId> = self.w.channels.iter().map(|(i, _)| i).collect();
        let id = *self.rng.pick(&ids);
        let name = self.w.channels[id].name.to_string();
        Some(if self.rng.chance(1, 5) {
            name.to_uppercase()
        } else {
            name
        })
    }
}

/// Whether a link line carries owner status (`~` in an SJOIN member list, `q` in a channel
/// MODE): what a native link without IRCX must never get. (NJOIN is not native: one on a
/// native link is an unknown verb passed on as it came.)
fn names_owner(body: &[u8]) -> bool {
    let Ok(m) = crate::proto::message::parse(body) else {
        return false;
    };
    let last = m.param(m.len().saturating_sub(1));
    match m.command {
        b"SJOIN" => last
            .split(|&b| b == b' ')
            .any(|t| t.starts_with(b"~") || t.starts_with(b"@~") || t.starts_with(b"+~")),
        b"MODE" => crate::proto::casemap::is_channel(m.param(0)) && m.param(1).contains(&b'q'),
        _ => false,
    }
}

/// A SASL numeric (900-908 share codes with IRCX errors): told apart by its text.
fn is_sasl_reply(m: &crate::proto::Message<'_>) -> bool {
    let text = m.param(m.len().saturating_sub(1));
    let has = |needle: &[u8]| text.windows(needle.len()).any(|w| w == needle);
    matches!(
        m.command,
        b"900" | b"903" | b"904" | b"905" | b"906" | b"907" | b"908"
    ) && (has(b"SASL") || text.starts_with(b"You are now logged in as "))
}
