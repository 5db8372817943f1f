//! A socket-free harness for the core: open users, feed lines, read what each connection
//! was sent. Time is a parameter, so timeouts and flood control are tested without sleeping.

use super::ids::Key;
use super::{Clock, ConnId, Outbox, World};
use crate::config::Config;

pub struct TestWorld {
    pub w: World,
    pub now: Clock,
    next_conn: ConnId,
    /// Lines sent per connection, not yet taken by `take`.
    sent: Vec<Vec<String>>,
    pub closed: Vec<(ConnId, String)>,
    pub rehash: bool,
    /// The last DIE or RESTART the core asked for.
    pub stop: Option<crate::core::Stop>,
    /// Portals reported linked (`Outbox::linked`).
    pub linked: Vec<String>,
    /// Password checks are run as the shell's worker would, at once, unless held (then
    /// [`TestWorld::finish_checks`] runs them, or [`TestWorld::verdict`] decides one).
    pub hold_checks: bool,
    pub held: Vec<crate::core::checks::CheckRequest>,
    /// Connections whose paged reply ended (`Outbox::resume`).
    pub resumed: Vec<ConnId>,
}

pub const BASE_CONFIG: &str =
    "[server]\nname = \"irc.test\"\nid = 1\nnetwork = \"TestNet\"\nmotd = \"Hello\"\n";

impl TestWorld {
    pub fn new() -> TestWorld {
        TestWorld::with_config(BASE_CONFIG)
    }

    /// `extra` is appended to the base config (e.g. an `[[oper]]` table).
    pub fn with_config(toml: &str) -> TestWorld {
        let cfg = Config::parse(toml, "test").expect("test config");
        let now = Clock {
            mono_ms: 1_000_000,
            unix_ms: 1_700_000_000_000,
        };
        TestWorld {
            w: World::new(cfg, now),
            now,
            next_conn: ConnId(0),
            sent: Vec::new(),
            closed: Vec::new(),
            rehash: false,
            stop: None,
            linked: Vec::new(),
            hold_checks: false,
            held: Vec::new(),
            resumed: Vec::new(),
        }
    }

    /// A new connection, not registered.
    pub fn connect(&mut self) -> ConnId {
        let conn = self.next_conn;
        self.next_conn = ConnId(conn.0 + 1);
        self.sent.push(Vec::new());
        let mut out = Outbox::default();
        let ok = self
            .w
            .on_open(conn, "127.0.0.1".parse().unwrap(), self.now, &mut out);
        assert!(ok, "connection refused");
        self.apply(out);
        conn
    }

    /// A new connection given the slot of `conn`, which closed (the shell reuses ids).
    pub fn reopen(&mut self, conn: ConnId) {
        let mut out = Outbox::default();
        let ok = self
            .w
            .on_open(conn, "127.0.0.1".parse().unwrap(), self.now, &mut out);
        assert!(ok, "connection refused");
        self.apply(out);
    }

    /// A registered user `nick` (user name `nick`, shown as `~nick`), welcome burst discarded.
    pub fn user(&mut self, nick: &str) -> ConnId {
        let c = self.connect();
        self.feed(c, &format!("NICK {nick}"));
        self.feed(c, &format!("USER {nick} 0 * :{nick} real"));
        let got = self.take(c);
        assert!(
            got.iter().any(|l| l.contains(" 001 ")),
            "{nick} did not register: {got:?}"
        );
        c
    }

    /// A registered user who negotiated `caps` (a CAP REQ list) before registering; the
    /// welcome burst is not taken.
    pub fn user_with_caps(&mut self, nick: &str, caps: &str) -> ConnId {
        let c = self.connect();
        self.feed(c, &format!("CAP REQ :{caps}"));
        self.feed(c, &format!("NICK {nick}"));
        self.feed(c, &format!("USER {nick} 0 * :{nick} real"));
        self.feed(c, "CAP END");
        c
    }

    /// A registered user on TLS, as the shell reports one, with a client certificate's
    /// fingerprint if given.
    pub fn secure_user(&mut self, nick: &str, fingerprint: Option<&str>) -> ConnId {
        let c = self.connect();
        self.w.set_secure(c, fingerprint.map(Into::into));
        self.feed(c, &format!("NICK {nick}"));
        self.feed(c, &format!("USER {nick} 0 * :{nick} real"));
        assert!(self.take(c).iter().any(|l| l.contains(" 001 ")));
        c
    }

    /// Feeds a line; its paged reply is then produced to its end, as for a client that reads
    /// everything at once (other connections' pending replies stay where they are) ([`TestWorld::feed_paged`] stops after the first page).
    pub fn feed(&mut self, conn: ConnId, line: &str) {
        self.feed_paged(conn, line);
        while self.w.pages.holds(conn) {
            self.next_page(conn);
        }
    }

    /// Feeds a line and leaves what is paged of its reply for [`TestWorld::next_page`].
    pub fn feed_paged(&mut self, conn: ConnId, line: &str) {
        self.feed_bytes(conn, line.as_bytes());
    }

    /// A line that need not be UTF-8.
    pub fn feed_bytes(&mut self, conn: ConnId, line: &[u8]) {
        let mut out = Outbox::default();
        self.w.on_line(conn, line, self.now, &mut out);
        self.apply(out);
    }

    /// The shell saw `conn`'s send queue drain: its next page. True while more is pending;
    /// the connections whose held input may be read again are in `resumed`.
    pub fn next_page(&mut self, conn: ConnId) -> bool {
        let mut out = Outbox::default();
        let more = self.w.next_page(conn, &mut out);
        self.resumed.append(&mut out.resume);
        self.apply(out);
        more
    }

    pub fn tick(&mut self, advance_ms: u64) {
        self.now.mono_ms += advance_ms;
        self.now.unix_ms += advance_ms;
        let mut out = Outbox::default();
        self.w.on_tick(self.now, &mut out);
        self.apply(out);
    }

    /// SIGTERM: every connection gets its last lines and is closed.
    pub fn shutdown(&mut self) {
        let mut out = Outbox::default();
        self.w.shutdown(&mut out);
        self.apply(out);
    }

    /// The shell closed `conn` (EOF, error).
    /// A reload (REHASH, SIGHUP) with the configuration `toml`.
    pub fn reload(&mut self, toml: &str) {
        let cfg = Config::parse(toml, "test").expect("test config");
        let mut out = Outbox::default();
        let note = self.w.set_config(cfg, &mut out);
        assert!(note.is_ok(), "{note:?}");
        self.apply(out);
    }

    pub fn drop_conn(&mut self, conn: ConnId, reason: &str) {
        let mut out = Outbox::default();
        self.w.on_close(conn, reason, self.now, &mut out);
        self.apply(out);
    }

    fn apply(&mut self, out: Outbox) {
        self.w.check_rosters();
        for (c, line) in out.sends {
            self.sent[c.index()].push(
                String::from_utf8_lossy(&line)
                    .trim_end_matches("\r\n")
                    .to_string(),
            );
        }
        for (c, line) in out.closes {
            let text = String::from_utf8_lossy(&line)
                .trim_end_matches("\r\n")
                .to_string();
            self.sent[c.index()].push(text.clone());
            self.closed.push((c, text));
        }
        self.rehash |= out.rehash.is_some();
        self.stop = out.stop.or(self.stop);
        self.linked.extend(out.linked);
        self.held.extend(out.checks);
        if !self.hold_checks {
            self.finish_checks();
        }
    }

    /// Runs the password checks held so far and feeds their verdicts back.
    pub fn finish_checks(&mut self) {
        use crate::core::checks::Verdict;
        for req in std::mem::take(&mut self.held) {
            let verdict = match crate::config::verify_hash(&req.hash, &req.password) {
                true => Verdict::Match,
                false => Verdict::Mismatch,
            };
            self.verdict(req.ticket, verdict);
        }
    }

    /// The shell's worker answers check `ticket`.
    pub fn verdict(&mut self, ticket: u64, verdict: crate::core::checks::Verdict) {
        let mut out = Outbox::default();
        self.w.on_checked(ticket, verdict, self.now, &mut out);
        self.apply(out);
    }

    /// Everything sent to `conn` since the last call, without CR LF, and without `msgid`
    /// tags: every message has its own, and the tests that are about them use
    /// [`TestWorld::take_raw`].
    pub fn take(&mut self, conn: ConnId) -> Vec<String> {
        let lines = self.take_raw(conn);
        lines.iter().map(|l| without_msgid(l)).collect()
    }

    /// Everything sent to `conn` since the last call, as sent (without CR LF).
    pub fn take_raw(&mut self, conn: ConnId) -> Vec<String> {
        std::mem::take(&mut self.sent[conn.index()])
    }

    /// Feeds a line and returns what `conn` got back.
    pub fn ask(&mut self, conn: ConnId, line: &str) -> Vec<String> {
        self.feed(conn, line);
        self.take(conn)
    }
}

/// Portals for link tests: native `peer.test` (id 2) and `far.test` (id 3), and the
/// rfc2813 (ngIRCd) portal `ng.test` (id 9), all with password `pw`.
pub const PORTALS: &str = "
[[portal]]
name = \"peer.test\"
id = 2
password = \"pw\"

[[portal]]
name = \"far.test\"
id = 3
password = \"pw\"

[[portal]]
name = \"ng.test\"
id = 9
password = \"pw\"
protocol = \"rfc2813\"
";

impl TestWorld {
    /// [`BASE_CONFIG`] with the [`PORTALS`].
    pub fn with_portals() -> TestWorld {
        TestWorld::with_portals_and("")
    }

    /// [`BASE_CONFIG`], then `extra` (`[[oper]]`, `[limits]`, `[testing]` tables…), then the
    /// [`PORTALS`].
    pub fn with_portals_and(extra: &str) -> TestWorld {
        TestWorld::with_config(&format!("{BASE_CONFIG}\n{extra}\n{PORTALS}"))
    }

    /// A native portal dialing in: the peer's `PASS pw 0210-PORTICO portico|0.1.0`,
    /// `CAPAB 1 <proto_max> :<caps>` and `SERVER <name> 1 <sid> :<name> server`. The link
    /// must be accepted; what this server answered (handshake and burst) stays for `take`.
    pub fn link(&mut self, name: &str, sid: u16, caps: &str, proto_max: u8) -> ConnId {
        let c = self.connect();
        self.feed(c, "PASS pw 0210-PORTICO portico|0.1.0");
        self.feed(c, &format!("CAPAB 1 {proto_max} :{caps}"));
        self.feed(c, &format!("SERVER {name} 1 {sid} :{name} server"));
        assert!(
            !self.closed.iter().any(|(conn, _)| *conn == c),
            "link {name} refused: {:?}",
            self.closed
        );
        c
    }

    /// ngIRCd dialing in on the rfc2813 portal `name`: its PASS and SERVER, then its side of
    /// the enhanced handshake (005 with our NICKLEN and CASEMAPPING, 376). What this server
    /// answered stays for `take`.
    pub fn link_ngircd(&mut self, name: &str) -> ConnId {
        let c = self.connect();
        self.feed(c, "PASS pw 0210-IRC+ ngIRCd|26.1:CHLMSX P");
        self.feed(c, &format!("SERVER {name} 1 :{name} server"));
        let me = self.w.name().to_string();
        let nicklen = self.w.config.limits.nick_length;
        let cm = self.w.cm.name();
        self.feed(
            c,
            &format!(
                ":{name} 005 {me} NICKLEN={nicklen} CASEMAPPING={cm} :are supported on this server"
            ),
        );
        self.feed(c, &format!(":{name} 376 {me} :End of MOTD command"));
        assert!(
            !self.closed.iter().any(|(conn, _)| *conn == c),
            "link {name} refused: {:?}",
            self.closed
        );
        c
    }
}

impl Default for TestWorld {
    fn default() -> Self {
        TestWorld::new()
    }
}

/// The lines an outbox holds (for any connection), without CR LF: for tests that call a
/// `World` method with an outbox of their own.
pub fn lines(out: &Outbox) -> Vec<String> {
    out.sends
        .iter()
        .map(|(_, l)| String::from_utf8_lossy(l).trim_end().to_string())
        .collect()
}

/// A line with its `msgid` tag taken out (and its tag section, if that was all of it).
pub fn without_msgid(line: &str) -> String {
    let Some((tags, rest)) = line.strip_prefix('@').and_then(|l| l.split_once(' ')) else {
        return line.to_string();
    };
    let kept: Vec<&str> = tags
        .split(';')
        .filter(|t| !t.starts_with("msgid="))
        .collect();
    if kept.is_empty() {
        rest.to_string()
    } else {
        format!("@{} {rest}", kept.join(";"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn welcome_burst() {
        let mut t = TestWorld::new();
        let c = t.connect();
        t.feed(c, "NICK alice");
        assert!(t.take(c).is_empty());
        let got = t.ask(c, "USER alice 0 * :Alice A");
        assert_eq!(got[0], ":irc.test 001 alice :Welcome to the TestNet Internet Relay Chat Network alice!~alice@127.0.0.1");
        assert_eq!(
            got[1],
            ":irc.test 002 alice :Your host is irc.test, running version portico-0.1.0"
        );
        assert!(got[3].starts_with(
            ":irc.test 004 alice irc.test portico-0.1.0 BZaioswxz CEIabdefhiklmnopqrstuvwxz Ibekloqv"
        ));
        assert!(got
            .iter()
            .any(|l| l.starts_with(":irc.test 005 alice ") && l.contains("CASEMAPPING=rfc1459")));
    }

    #[test]
    fn channel_message_reaches_members_once_and_not_the_sender() {
        let mut t = TestWorld::new();
        let a = t.user("alice");
        let b = t.user("bob");
        let c = t.user("carol");
        t.feed(a, "JOIN #c");
        t.feed(b, "JOIN #c");
        t.take(a);
        t.take(b);
        t.feed(a, "PRIVMSG #c :hi");
        assert!(t.take(a).is_empty());
        assert_eq!(t.take(b), vec![":alice!~alice@127.0.0.1 PRIVMSG #c :hi"]);
        assert!(t.take(c).is_empty());
        assert_eq!(
            t.ask(c, "PRIVMSG #c :x"),
            vec![":irc.test 404 carol #c :Cannot send to channel"]
        );
    }

    #[test]
    fn quit_reaches_each_peer_once() {
        let mut t = TestWorld::new();
        let a = t.user("alice");
        let b = t.user("bob");
        for ch in ["#a", "#b", "#c"] {
            t.feed(a, &format!("JOIN {ch}"));
            t.feed(b, &format!("JOIN {ch}"));
        }
        t.take(b);
        t.feed(a, "QUIT :bye");
        assert_eq!(t.take(b), vec![":alice!~alice@127.0.0.1 QUIT :Quit: bye"]);
        assert_eq!(
            t.closed,
            vec![(a, "ERROR :Closing Link: 127.0.0.1 (Quit: bye)".to_string())]
        );
    }

    #[test]
    fn an_invitation_dies_with_its_user() {
        let mut t = TestWorld::new();
        let a = t.user("alice");
        t.feed(a, "JOIN #c");
        t.feed(a, "MODE #c +i");
        let b = t.user("bob");
        t.feed(a, "INVITE bob #c");
        t.feed(b, "QUIT");
        // mallory is given bob's freed client slot.
        let m = t.user("mallory");
        assert_eq!(
            t.ask(m, "JOIN #c"),
            vec![":irc.test 473 mallory #c :Cannot join channel (+i)"]
        );
    }
}
