//! Random parameters and client lines, and the delivery probe.

use super::checks::show;
use super::harness::Fuzz;
use super::rng::{
    CAPS, CHANS, HOT, JUNK, JUNK_VERBS, MODE_LETTERS, MODE_STRINGS, NICKS, NUMBERS, TAGS,
};
use crate::core::dispatch::COMMANDS;
use crate::core::{ClientId, ConnId};
use std::collections::HashMap;

impl Fuzz {
    pub(super) fn nick(&mut self) -> Vec<u8> {
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

    pub(super) fn chan(&mut self) -> Vec<u8> {
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

    pub(super) fn list(&mut self, item: fn(&mut Fuzz) -> Vec<u8>) -> Vec<u8> {
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

    pub(super) fn mask(&mut self) -> Vec<u8> {
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

    /// ACCESS on a channel, a nick (often the sender's own), `$` or `*`, with every
    /// function, level, mask and timeout form; `$`/`*` rarely, as a DENY there empties
    /// the server.
    fn access_params(&mut self) -> Vec<Vec<u8>> {
        let object = match self.rng.below(10) {
            0..=5 => self.chan(),
            6..=7 => self.nick(),
            8 => b"$".to_vec(),
            _ => b"*".to_vec(),
        };
        let function = *self.rng.pick(&[
            &b"ADD"[..],
            b"ADD",
            b"ADD",
            b"DELETE",
            b"LIST",
            b"CLEAR",
            b"",
            b"FROB",
        ]);
        let mut v = vec![object, function.to_vec()];
        let level = *self.rng.pick(&[
            &b"OWNER"[..],
            b"HOST",
            b"VOICE",
            b"GRANT",
            b"DENY",
            b"deny",
            b"BOSS",
        ]);
        for (i, part) in [level.to_vec(), self.mask(), self.num(), self.text()]
            .into_iter()
            .enumerate()
        {
            if i > 0 && self.rng.chance(1, 3) {
                break;
            }
            v.push(part);
        }
        v
    }

    pub(super) fn num(&mut self) -> Vec<u8> {
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

    pub(super) fn text(&mut self) -> Vec<u8> {
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

    pub(super) fn modes(&mut self) -> Vec<u8> {
        if self.rng.chance(1, 2) {
            return self.rng.pick(MODE_STRINGS).as_bytes().to_vec();
        }
        let n = self.rng.below(12);
        (0..n).map(|_| *self.rng.pick(MODE_LETTERS)).collect()
    }

    fn junk(&mut self) -> Vec<u8> {
        self.rng.pick(JUNK).to_vec()
    }

    pub(super) fn any(&mut self) -> Vec<u8> {
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

    pub(super) fn server_name(&mut self) -> Vec<u8> {
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
    pub(super) fn render(
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

    pub(super) fn tags(&mut self) -> Option<Vec<u8>> {
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
            "MODE" if self.rng.chance(1, 8) => {
                // An oper gagging (or ungagging) someone: IRCX GAG, checked by `feed`.
                let sign = *self.rng.pick(&[&b"+z"[..], b"-z"]);
                vec![self.nick(), sign.to_vec()]
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
            "RENAME" => {
                let mut v = vec![self.chan(), self.chan()];
                if opt {
                    v.push(self.text());
                }
                v
            }
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
                if cmd != "TAGMSG" && self.rng.chance(1, 6) {
                    // IRCX: to chosen members of a channel.
                    v = vec![self.chan(), self.list(Fuzz::nick)];
                }
                if cmd != "TAGMSG" || opt {
                    v.push(self.text());
                }
                v
            }
            "WHISPER" => vec![self.chan(), self.list(Fuzz::nick), self.text()],
            "ACCESS" => self.access_params(),
            "PROP" => {
                let names = [
                    &b"*"[..],
                    b"TOPIC",
                    b"onjoin",
                    b"ONPART",
                    b"MEMBERKEY",
                    b"HOSTKEY",
                    b"OWNERKEY",
                    b"LANGUAGE,SUBJECT,OID",
                    b"PICS",
                    b"LAG",
                    b"BOGUS",
                ];
                let name = self.rng.pick(&names).to_vec();
                let lag = name == b"LAG";
                let mut v = vec![self.chan(), name];
                if opt || lag {
                    let value = match self.rng.below(4) {
                        // Mostly a lag that holds lines back, so probes meet held lines.
                        _ if lag && self.rng.chance(3, 4) => {
                            self.rng.pick(&[&b"0"[..], b"1", b"2", b"2"]).to_vec()
                        }
                        0 => b"k\\nx".to_vec(),
                        1 => Vec::new(),
                        _ => self.text(),
                    };
                    v.push(value);
                }
                v
            }
            "DATA" | "REQUEST" | "REPLY" => {
                let tag = self
                    .rng
                    .pick(&[
                        &b"MYORG.X"[..],
                        b"SYS.AD",
                        b"HST.X",
                        b"OWN.X",
                        b"ADM.X",
                        b"9bad",
                        b"",
                    ])
                    .to_vec();
                let mut v = vec![self.list(Fuzz::chan)];
                if opt {
                    v = vec![self.chan(), self.list(Fuzz::nick)];
                }
                v.push(tag);
                v.push(self.text());
                v
            }
            "CREATE" => {
                let mut v = vec![self.chan()];
                if opt {
                    // Mode letters (c, k, l, flags, and some that are refused) and arguments.
                    v.push(self.modes());
                    v.push(self.num());
                    v.push(self.text());
                }
                v
            }
            "NICK" => vec![self.nick()],
            "USER" => vec![self.any(), b"0".to_vec(), b"*".to_vec(), self.text()],
            "OPER" => vec![
                // boss is a sysop manager: it may set +x and +f.
                self.rng
                    .pick(&[&b"admin"[..], b"Admin", b"boss", b"x"])
                    .to_vec(),
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
            "LISTX" => {
                let mut v = if opt {
                    vec![self.list(Fuzz::chan)]
                } else {
                    // IRCX query terms, some malformed (900).
                    let terms = [
                        &b">1"[..],
                        b"<5",
                        b"C<5",
                        b"c>0",
                        b"T>0",
                        b"T<9",
                        b"N=#*",
                        b"T=*\\b*",
                        b"R=0",
                        b"R=1",
                        b"L=*",
                        b"S=x",
                        b"X<3",
                        b"<abc",
                        b"T=\\",
                        b"n=\\*",
                    ];
                    let n = self.rng.below(4);
                    let q: Vec<&[u8]> = (0..n).map(|_| *self.rng.pick(&terms)).collect();
                    vec![q.join(&b","[..])]
                };
                if self.rng.chance(1, 3) {
                    v.push(self.num());
                }
                v
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
    pub(super) fn client_step(&mut self) {
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
    pub(super) fn count(&self, token: &[u8]) -> HashMap<ConnId, usize> {
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
    pub(super) fn probe(&mut self) {
        let senders: Vec<ClientId> = self
            .w
            .clients
            .iter()
            .filter(|(_, c)| c.conn.is_none_or(|conn| self.open.contains(&conn)))
            .map(|(i, _)| i)
            // A gagged user's messages reach nobody, by design (IRCX GAG, +z).
            .filter(|&i| !self.w.is_gagged(i))
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
        let speakable: Vec<crate::core::ChanId> = self.w.clients[cid]
            .chans
            .iter()
            .copied()
            .filter(|&ch| !local || !self.w.channels[ch].members[&cid].is_empty())
            .collect();
        let target = if !speakable.is_empty() && self.rng.chance(1, 2) {
            let ch = *self.rng.pick(&speakable);
            let chan = &self.w.channels[ch];
            // IRCX AUDITORIUM: an ordinary member reaches the hosts here alone. IRCX LAG:
            // a local ordinary member's line reaches local members later, not now.
            let hosts_only = self.w.in_audience(ch, cid);
            let held = local && self.w.lag_ms(ch, cid).is_some();
            for (&m, flags) in &chan.members {
                let c = &self.w.clients[m];
                let hears = !held && (!hosts_only || flags.is_op());
                match (c.conn, self.w.servers[c.server].via) {
                    (Some(conn), _) if m != cid && hears => *want.entry(conn).or_default() += 1,
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
            // Nothing reaches a user from someone on their own ACCESS block list.
            if route != from && !self.w.blocks(to, cid) {
                want.insert(route, 1);
            }
            self.w.clients[to].nick.to_string()
        };
        let line = if local {
            if self.w.clients[cid].caps & crate::core::caps::ECHO_MESSAGE != 0 {
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
