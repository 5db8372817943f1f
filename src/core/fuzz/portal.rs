//! Portals: linking, relinking, and lines from a native peer.

use super::harness::{Fuzz, IPS};
use super::rng::{JUNK_VERBS, NICKS};
use crate::config::Config;
use crate::core::{ClientId, ConnId};
use std::net::IpAddr;

// ---- portal side ------------------------------------------------------------------------

impl Fuzz {
    /// A connection for a portal: dialed by us (our handshake goes first) or by the peer.
    fn portal_conn(&mut self, name: &str) -> Option<ConnId> {
        if !self.rng.chance(1, 3) {
            return self.open_conn();
        }
        let conn = self.next_conn;
        self.next_conn = ConnId(self.next_conn.0 + 1);
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
    pub(super) fn link_native(&mut self, name: &str, sid: u16) -> Option<ConnId> {
        let conn = self.portal_conn(name)?;
        self.feed(conn, b"PASS linkpw 0210-PORTICO portico|0.1.0");
        let capab = self.rng.pick_bytes(&[
            &b"CAPAB 1 2 :EOB AWAY TB BMASK SETNAME IRCX RENAME"[..],
            b"CAPAB 1 2 :EOB AWAY TB BMASK SETNAME IRCX",
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
    pub(super) fn link_rfc(&mut self) -> Option<ConnId> {
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
    pub(super) fn ensure_links(&mut self, portals: &[(&str, u16)]) {
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
    pub(super) fn rehash(&mut self, base: &str) {
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

    fn behind(&self, link: ConnId) -> (Vec<crate::core::ServerId>, Vec<ClientId>) {
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
    pub(super) fn link_prefix(&mut self, link: ConnId, user: bool) -> Option<Vec<u8>> {
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
    pub(super) fn remote_nick(&mut self) -> Vec<u8> {
        match self.rng.below(10) {
            0..=4 => format!("{}{}", self.rng.pick(NICKS), self.rng.below(30)).into_bytes(),
            5..=6 => self.rng.pick(NICKS).as_bytes().to_vec(),
            7..=8 => self.existing_nick().unwrap_or_default().into_bytes(),
            _ => self.nick(),
        }
    }

    /// A member of a link's channel burst: mostly its own users.
    pub(super) fn remote_member(&mut self, link: ConnId) -> Vec<u8> {
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

    /// An IRCX property name: mostly one that travels, sometimes one that does not.
    fn prop_name(&mut self) -> Vec<u8> {
        self.rng
            .pick_bytes(&[
                &b"SUBJECT"[..],
                b"lag",
                b"HOSTKEY",
                b"OWNERKEY",
                b"ONJOIN",
                b"LANGUAGE",
                b"TOPIC",
                b"OID",
                b"NOSUCH",
            ])
            .to_vec()
    }

    /// A property time: near now, far ahead, or junk.
    fn prop_ts(&mut self) -> Vec<u8> {
        match self.rng.below(4) {
            0 => (self.now.unix_ms + 10_000_000_000).to_string().into_bytes(),
            1 => self.now.unix_ms.to_string().into_bytes(),
            _ => self.num(),
        }
    }

    fn prop_value(&mut self) -> Vec<u8> {
        match self.rng.below(5) {
            0 => Vec::new(),
            1 => self.rng.pick_bytes(&[&b"0"[..], b"1", b"2", b"9"]).to_vec(),
            2 => vec![b'x'; 40],
            _ => self.any(),
        }
    }

    /// A channel OID: one of a channel here (a clash), one of a few under the peers' IDs,
    /// or not one at all.
    fn oid(&mut self) -> Vec<u8> {
        match self.rng.below(4) {
            0 => match self
                .existing_chan()
                .and_then(|c| self.w.find_channel(c.as_bytes()))
            {
                Some(ch) => self.w.channels[ch].oid_str().into_bytes(),
                None => b"000100001".to_vec(),
            },
            1 => self
                .rng
                .pick_bytes(&[&b"0ZZZZZZZZ"[..], b"", b"1"])
                .to_vec(),
            _ => {
                let server = *self.rng.pick(&[1u32, 2, 3, 5]);
                let n = self.rng.below(6) as u32;
                format!("0{:08X}", server << 20 | n).into_bytes()
            }
        }
    }

    /// A channel, or now and then the network list (`*`), or `$` (never carried).
    fn access_object(&mut self) -> Vec<u8> {
        match self.rng.below(8) {
            0..=1 => b"*".to_vec(),
            2 => b"$".to_vec(),
            _ => self.chan(),
        }
    }

    /// The parameters of a live ACCESS from a link: ADD, DELETE or something else.
    fn access_change(&mut self) -> Vec<Vec<u8>> {
        let object = self.access_object();
        match self.rng.below(6) {
            0..=2 => [vec![object, b"ADD".to_vec()], self.access_entry()].concat(),
            3..=4 => {
                let (level, mask) = (self.access_level(), self.access_mask());
                vec![object, b"delete".to_vec(), level, mask]
            }
            _ => vec![object, self.any()],
        }
    }

    /// `<level> <mask> <expires-ms> <set-at> <0|1> <setter> <reason>`, mostly valid.
    fn access_entry(&mut self) -> Vec<Vec<u8>> {
        let expires = match self.rng.below(4) {
            0 => b"0".to_vec(),
            1 => (self.now.unix_ms + 60_000).to_string().into_bytes(),
            _ => self.num(),
        };
        let by_owner = self.rng.pick_bytes(&[&b"0"[..], b"1", b"2"]).to_vec();
        let setter = self
            .rng
            .pick_bytes(&[&b"a!b@c"[..], b"peer.test", b"", b"\x01x"])
            .to_vec();
        vec![
            self.access_level(),
            self.access_mask(),
            expires,
            self.num(),
            by_owner,
            setter,
            self.text(),
        ]
    }

    fn access_level(&mut self) -> Vec<u8> {
        self.rng
            .pick_bytes(&[&b"DENY"[..], b"grant", b"HOST", b"OWNER", b"VOICE", b"BOSS"])
            .to_vec()
    }

    /// Mostly masks of remote users, so that a `*` DENY from a link seldom refuses every
    /// later local connection (junk, `*` included, still tries that now and then).
    fn access_mask(&mut self) -> Vec<u8> {
        match self.rng.below(4) {
            0 => self.nick(),
            1 => b"*!*@*.test".to_vec(),
            2 => "x".repeat(self.rng.below(300)).into_bytes(),
            _ => self.any(),
        }
    }

    /// A comma list of nicks (chosen members).
    fn members(&mut self) -> Vec<u8> {
        let nicks: Vec<Vec<u8>> = (0..1 + self.rng.below(3)).map(|_| self.nick()).collect();
        nicks.join(&b',')
    }

    /// An unknown verb, or now and then an ERROR (which ends the link).
    pub(super) fn link_junk_verb(&mut self) -> Vec<u8> {
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
            "PING", "PONG", "JUNK", "SQUIT", "PROP", "PROP", "BPROP", "WHISPER", "DATA", "GAG",
            "OID", "OID", "KNOCK", "ACCESS", "ACCESS", "BACCESS", "RENAME", "NORENAME",
        ];
        let mut verb = *self.rng.pick(VERBS);
        if verb == "SQUIT" && self.rng.chance(5, 6) {
            verb = "PING";
        }
        if matches!(verb, "QUIT" | "KILL") && self.rng.chance(1, 2) {
            verb = "AWAY";
        }
        let tags = self.tags();
        let server_src = matches!(
            verb,
            "NICK" | "SERVER" | "SJOIN" | "TB" | "BMASK" | "BPROP" | "OID" | "BACCESS" | "NORENAME"
        );
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
                        b"~",
                        b"~@",
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
            "RENAME" => vec![self.num(), self.chan(), self.chan(), self.text()],
            "NORENAME" => vec![self.server_name()],
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
                if self.rng.chance(1, 6) && verb != "TAGMSG" {
                    // IRCX: to chosen members of a channel.
                    let p = [self.chan(), self.members(), self.text()];
                    return self.render(tags, prefix, verb.as_bytes(), &p);
                }
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
            "PROP" => vec![
                self.chan(),
                self.prop_name(),
                self.prop_ts(),
                self.prop_value(),
            ],
            "BPROP" => vec![
                self.num(),
                self.chan(),
                self.prop_name(),
                self.prop_ts(),
                self.prop_value(),
            ],
            "ACCESS" => self.access_change(),
            "BACCESS" => {
                let object = self.access_object();
                let ts = if object == b"*" && self.rng.chance(3, 4) {
                    b"*".to_vec()
                } else {
                    self.num()
                };
                [vec![ts, object], self.access_entry()].concat()
            }
            "WHISPER" => vec![self.chan(), self.members(), self.text()],
            "DATA" => {
                let tag = self
                    .rng
                    .pick_bytes(&[&b"Tag"[..], b"ADMx", b"9bad", b""])
                    .to_vec();
                if self.rng.chance(1, 2) {
                    vec![self.chan(), self.members(), tag, self.text()]
                } else {
                    let target = if self.rng.chance(1, 2) {
                        self.chan()
                    } else {
                        self.nick()
                    };
                    vec![target, tag, self.text()]
                }
            }
            "GAG" => vec![
                self.nick(),
                self.rng
                    .pick_bytes(&[&b"+z"[..], b"-z", b"+zi", b"z"])
                    .to_vec(),
            ],
            "OID" => vec![self.prop_ts(), self.chan(), self.oid()],
            "KNOCK" => vec![
                self.chan(),
                self.rng
                    .pick_bytes(&[&b"473"[..], b"474", b"471", b"47x", b""])
                    .to_vec(),
            ],
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
            "UMODE" | "GAG" => b"MODE".to_vec(),
            "JUNK" => self.link_junk_verb(),
            v => v.as_bytes().to_vec(),
        };
        self.render(tags, prefix, &verb, &p)
    }

    /// A line from one of the links, in its own protocol.
    pub(super) fn link_step(&mut self) {
        let links = self.links();
        if links.is_empty() {
            return;
        }
        let link = *self.rng.pick(&links);
        let line = if self.w.link(link).is_some_and(|l| l.is_rfc2813()) {
            self.rfc_line(link)
        } else {
            self.native_line(link)
        };
        let (props, access) = (props_digest(&self.w), access_digest(&self.w));
        self.feed(link, &line);
        self.remote_props += usize::from(props_digest(&self.w) != props);
        self.remote_access += usize::from(access_digest(&self.w) != access);
    }
}

/// Every channel's stored properties and lag, to see whether a line changed any.
fn props_digest(w: &crate::core::World) -> Vec<(String, Vec<u8>)> {
    use crate::core::handlers::ircx::prop::Prop;
    let mut all = Vec::new();
    for (_, chan) in w.channels.iter().filter(|(_, c)| c.props.is_some()) {
        let lag = chan.props.as_ref().map_or(0, |p| p.lag.secs);
        let mut v = vec![lag];
        for p in Prop::all() {
            v.extend_from_slice(chan.prop(p).unwrap_or_default());
            v.push(0);
        }
        all.push((chan.name.to_string(), v));
    }
    all
}

/// Every channel's and the network's access entries, to see whether a line changed any.
fn access_digest(w: &crate::core::World) -> Vec<String> {
    let lists = w.channels.iter().filter_map(|(_, c)| c.access_list());
    lists
        .chain([&w.access.network])
        .flat_map(|l| &l.entries)
        .map(|e| format!("{:?} {} {}", e.level, e.mask, e.expires_ms))
        .collect()
}
