//! Lines from an ngIRCd (RFC 2813) peer.

use super::harness::Fuzz;
use super::rng::TAGS;
use crate::core::ConnId;

const NG_MODE_LETTERS: &[u8] = b"+-eIbhqaovklimnpstPzMORrVcCNQ";

impl Fuzz {
    /// A random line an ngIRCd peer could send.
    pub(super) fn rfc_line(&mut self, link: ConnId) -> Vec<u8> {
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
}
