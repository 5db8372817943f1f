//! ACCESS lists (draft §5.1, IRCX.md §3): the entries, their masks, and how they are
//! evaluated. The ACCESS command itself is in [`super::access_cmd`].
//!
//! Where lists live, so that nobody pays for what is not used:
//! * a channel's: `Channel::access`, one `Option<Box<_>>`, `None` while empty;
//! * a user's own (a block list): `Access::nicks`, keyed by the local client, dropped on quit
//!   (the idle `Client` does not grow);
//! * this server's (`$`) and the network's (`*`): `Access::server`, `Access::network`.
//!
//! Evaluation (draft §5.1.4): the levels in the order OWNER, HOST, VOICE, GRANT, DENY; the
//! first level with a matching entry decides. When nothing matches, an object with GRANT
//! entries and no DENY entries is closed to whoever is not granted.
//!
//! `$` lists are this server's own. Channel lists and the `*` list travel over portals
//! with `IRCX` (`portal::access`, docs/PROTOCOL.md).

use crate::core::modes::Status;
use crate::core::{ChanId, Channel, ClientId, ConnId, World};
use crate::proto::casemap::{wild_match, CaseMapping};
use std::collections::HashMap;

/// An access level, in evaluation order.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
pub enum Level {
    Owner,
    Host,
    Voice,
    Grant,
    Deny,
}

pub const LEVELS: [Level; 5] = [
    Level::Owner,
    Level::Host,
    Level::Voice,
    Level::Grant,
    Level::Deny,
];

impl Level {
    pub fn name(self) -> &'static str {
        match self {
            Level::Owner => "OWNER",
            Level::Host => "HOST",
            Level::Voice => "VOICE",
            Level::Grant => "GRANT",
            Level::Deny => "DENY",
        }
    }

    pub fn parse(s: &[u8]) -> Option<Level> {
        LEVELS
            .into_iter()
            .find(|l| l.name().as_bytes().eq_ignore_ascii_case(s))
    }

    /// The member status a channel entry of this level gives on JOIN.
    pub fn status(self) -> Status {
        match self {
            Level::Owner => Status::OWNER,
            Level::Host => Status::OP,
            Level::Voice => Status::VOICE,
            Level::Grant | Level::Deny => Status::NONE,
        }
    }
}

/// One access entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    pub level: Level,
    /// Always the full `nick!user@host$server` form (see [`normalize_mask`]).
    pub mask: Box<str>,
    /// When it goes away (Unix ms); 0 for never.
    pub expires_ms: u64,
    /// Who added it (`nick!user@host`, or the server name for configured entries).
    pub setter: Box<str>,
    /// When it was added (Unix s).
    pub set_at: u64,
    /// Added by a channel owner (or a sysop manager): hosts may not delete it.
    pub by_owner: bool,
    /// From the `access` of a `[[channel]]`: replaced by a reload, never in the state file.
    pub from_config: bool,
    pub reason: Box<str>,
}

impl Entry {
    /// Minutes left, rounded up, as 801/804 show it (0 for a permanent entry).
    pub fn minutes_left(&self, now_ms: u64) -> u64 {
        if self.expires_ms == 0 {
            return 0;
        }
        self.expires_ms
            .saturating_sub(now_ms)
            .div_ceil(60_000)
            .max(1)
    }
}

/// The entries of one object.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AccessList {
    pub entries: Vec<Entry>,
}

/// What a list says about one user.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Verdict<'a> {
    /// The first level with a matching entry, and that entry.
    Match(&'a Entry),
    /// No entry matched, and GRANT entries without DENY entries close the object.
    Closed,
    /// No entry matched; the object's other rules apply.
    Open,
}

impl AccessList {
    pub fn find(&self, cm: CaseMapping, level: Level, mask: &str) -> Option<usize> {
        self.entries
            .iter()
            .position(|e| e.level == level && cm.fold(&e.mask) == cm.fold(mask))
    }

    pub fn evaluate(&self, cm: CaseMapping, who: &str) -> Verdict<'_> {
        self.evaluate_any(cm, &[who])
    }

    /// As [`AccessList::evaluate`] for a user known by several masks (a cloaked host and
    /// the address behind it): an entry matching any of them counts.
    pub fn evaluate_any(&self, cm: CaseMapping, whos: &[&str]) -> Verdict<'_> {
        for level in LEVELS {
            let hit = self.entries.iter().find(|e| {
                e.level == level && whos.iter().any(|who| mask_matches(cm, &e.mask, who))
            });
            if let Some(e) = hit {
                return Verdict::Match(e);
            }
        }
        let has = |l: Level| self.entries.iter().any(|e| e.level == l);
        if has(Level::Grant) && !has(Level::Deny) {
            Verdict::Closed
        } else {
            Verdict::Open
        }
    }

    /// Removes expired entries; true if any went.
    fn expire(&mut self, now_ms: u64) -> bool {
        let before = self.entries.len();
        self.entries
            .retain(|e| e.expires_ms == 0 || e.expires_ms > now_ms);
        self.entries.len() != before
    }

    fn next_expiry(&self) -> Option<u64> {
        self.entries
            .iter()
            .map(|e| e.expires_ms)
            .filter(|&t| t != 0)
            .min()
    }
}

/// Refused by a `$`/`*` list or a user's block list: a DENY matched, or the list is closed.
pub fn refuses(v: Verdict<'_>) -> Option<&str> {
    match v {
        Verdict::Match(e) if e.level == Level::Deny => Some(&e.reason),
        Verdict::Closed => Some(""),
        _ => None,
    }
}

/// What a channel's list means for a JOIN.
#[derive(Clone, Copy, Default, PartialEq, Eq, Debug)]
pub struct OnJoin {
    /// The status the joiner gets (OWNER, HOST or VOICE entries). Owners and hosts pass
    /// every restriction, as with OWNERKEY and HOSTKEY.
    pub status: Status,
    /// Let past `+i`, `+k` and bans (GRANT, and VOICE, which implies it); not past `+l`.
    pub grant: bool,
    /// Refused like a ban (DENY, or a closed list).
    pub deny: bool,
}

pub fn on_join(v: Verdict<'_>) -> OnJoin {
    match v {
        Verdict::Match(e) => OnJoin {
            status: e.level.status(),
            grant: matches!(e.level, Level::Voice | Level::Grant),
            deny: e.level == Level::Deny,
        },
        Verdict::Closed => OnJoin {
            deny: true,
            ..OnJoin::default()
        },
        Verdict::Open => OnJoin::default(),
    }
}

/// `(nick!user, host, server)` of a full `nick!user@host$server` mask.
fn mask_parts(mask: &str) -> Option<(&str, &str, &str)> {
    let (rest, server) = mask.rsplit_once('$')?;
    let (nick_user, host) = rest.rsplit_once('@')?;
    Some((nick_user, host, server))
}

/// Whether an entry's mask matches a user's full mask. A host part with a `/` is a CIDR
/// range (a D-line, `handlers::bans`), matched against the user's address; everything
/// else as wildcards.
fn mask_matches(cm: CaseMapping, mask: &str, who: &str) -> bool {
    let Some((nu, range, server)) = mask_parts(mask).filter(|(_, h, _)| h.contains('/')) else {
        return wild_match(cm, mask.as_bytes(), who.as_bytes());
    };
    mask_parts(who).is_some_and(|(wnu, whost, wserver)| {
        crate::core::handlers::bans::in_cidr(range, whost)
            && wild_match(cm, nu.as_bytes(), wnu.as_bytes())
            && wild_match(cm, server.as_bytes(), wserver.as_bytes())
    })
}

/// A mask in the full `nick!user@host$server` form: missing parts are `*` (`bob` →
/// `bob!*@*$*`, `*@*.example` → `*!*@*.example$*`). None for a mask no user could have
/// (spaces, commas, control characters) or one too long to be one.
pub fn normalize_mask(mask: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(mask).ok()?;
    if text.is_empty()
        || text.len() > MAX_MASK
        || text.bytes().any(|b| b <= b' ' || b == b',' || b == 0x7f)
    {
        return None;
    }
    let (rest, server) = text.rsplit_once('$').unwrap_or((text, ""));
    let (nick_user, host) = match rest.rsplit_once('@') {
        Some((nu, h)) => (nu, h),
        None => (rest, ""),
    };
    let (nick, user) = match nick_user.split_once('!') {
        Some((n, u)) => (n, u),
        None if rest.contains('@') => ("", nick_user),
        None => (nick_user, ""),
    };
    let part = |p: &str| if p.is_empty() { "*" } else { p }.to_string();
    let full = format!(
        "{}!{}@{}${}",
        part(nick),
        part(user),
        part(host),
        part(server)
    );
    // The full form is what is stored and read back (state file, links): it must pass too.
    (full.len() <= MAX_MASK).then_some(full)
}

/// A `[[channel]]` `access` entry, `"<level> [<mask>] [:<reason>]"` (permanent), e.g.
/// `"DENY *!*@bad.host :spam"`; the error says what is wrong with it.
pub fn config_entry(text: &str, server: &str) -> Result<Entry, String> {
    let (head, reason) = match text.split_once(" :") {
        Some((h, r)) => (h, r),
        None => (text, ""),
    };
    let mut words = head.split_whitespace();
    let level = words
        .next()
        .and_then(|l| Level::parse(l.as_bytes()))
        .ok_or("it must start with OWNER, HOST, VOICE, GRANT or DENY")?;
    let mask = match words.next() {
        Some(m) => {
            normalize_mask(m.as_bytes()).ok_or("its mask is not a nick!user@host$server mask")?
        }
        None => "*!*@*$*".into(),
    };
    if words.next().is_some() || reason.contains(['\r', '\n', '\0']) {
        return Err("write it as \"LEVEL mask :reason\"".into());
    }
    Ok(Entry {
        level,
        mask: mask.into(),
        expires_ms: 0,
        setter: server.into(),
        set_at: 0,
        by_owner: true,
        from_config: true,
        reason: reason.into(),
    })
}

/// Longest mask accepted (a full mask of the longest nick, user and host fits).
const MAX_MASK: usize = 200;

/// The server-wide access state.
#[derive(Default)]
pub struct Access {
    /// `$`: this server (sysops).
    pub server: AccessList,
    /// `*`: the network (sysop managers), shared with the servers linked by `IRCX`.
    pub network: AccessList,
    /// Each local user's own list: whose messages and invitations never reach them.
    pub nicks: HashMap<ClientId, AccessList>,
    /// The earliest expiry of any entry anywhere (Unix ms), so the timer does not walk
    /// every channel each second.
    next_expiry_ms: Option<u64>,
    /// `$`, `*` or a registered channel's list changed since the shell last saved them.
    dirty: bool,
    /// `*` entries deleted here lately (level, folded mask, when in Unix ms), so that a
    /// server which missed the DELETE cannot bring one back in its burst
    /// (`portal::access`). Bounded; not saved.
    pub network_deleted: Vec<(Level, Box<str>, u64)>,
}

impl Channel {
    pub fn access_list(&self) -> Option<&AccessList> {
        self.access.as_deref()
    }
}

/// An object whose list ACCESS reads or changes.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Object {
    Channel(ChanId),
    Nick(ClientId),
    Server,
    Network,
}

impl World {
    pub fn access_list(&self, obj: Object) -> Option<&AccessList> {
        match obj {
            Object::Channel(ch) => self.channels[ch].access_list(),
            Object::Nick(cid) => self.access.nicks.get(&cid),
            Object::Server => Some(&self.access.server),
            Object::Network => Some(&self.access.network),
        }
    }

    /// Changes an object's list, allocating it if needed and freeing it when it empties.
    /// Every ADD, DELETE and CLEAR comes through here, local or from a link; sending local
    /// changes on is the ACCESS command's (`portal::access::propagate_add`).
    pub fn edit_access<R>(&mut self, obj: Object, f: impl FnOnce(&mut AccessList) -> R) -> R {
        if self.persists(obj) {
            self.access.dirty = true;
        }
        let r = match obj {
            Object::Channel(ch) => {
                let chan = &mut self.channels[ch];
                let list = chan.access.get_or_insert_with(Default::default);
                let r = f(list);
                if list.entries.is_empty() {
                    chan.access = None;
                }
                r
            }
            Object::Nick(cid) => {
                let list = self.access.nicks.entry(cid).or_default();
                let r = f(list);
                if list.entries.is_empty() {
                    self.access.nicks.remove(&cid);
                }
                r
            }
            Object::Server => f(&mut self.access.server),
            Object::Network => f(&mut self.access.network),
        };
        self.note_expiry(obj);
        r
    }

    /// Whether changes to `obj` are kept across restarts (the state file).
    fn persists(&self, obj: Object) -> bool {
        match obj {
            Object::Channel(ch) => self.channels[ch].is_registered(),
            Object::Nick(_) => false,
            Object::Server | Object::Network => true,
        }
    }

    fn note_expiry(&mut self, obj: Object) {
        if let Some(t) = self.access_list(obj).and_then(AccessList::next_expiry) {
            let next = &mut self.access.next_expiry_ms;
            *next = Some(next.map_or(t, |n| n.min(t)));
        }
    }

    /// `nick!user@host$server`, what access masks are matched against.
    pub fn access_target(&self, cid: ClientId) -> String {
        let c = &self.clients[cid];
        let server = self.servers.get(c.server).unwrap_or(self.me());
        format!("{}${}", c.mask(), server.name)
    }

    /// What a channel's list says about a user (Open when it has none).
    pub fn channel_verdict(&self, ch: ChanId, cid: ClientId) -> Verdict<'_> {
        match self.channels[ch].access_list() {
            Some(list) => list.evaluate(self.cm, &self.access_target(cid)),
            None => Verdict::Open,
        }
    }

    /// Whether `to` blocked `from` with their own list (DENY, or GRANT entries only).
    pub fn blocks(&self, to: ClientId, from: ClientId) -> bool {
        // Every private message asks: almost always nobody has a list, so no hashing.
        if self.access.nicks.is_empty() {
            return false;
        }
        match self.access.nicks.get(&to) {
            Some(list) if to != from => {
                refuses(list.evaluate(self.cm, &self.access_target(from))).is_some()
            }
            _ => false,
        }
    }

    /// Why `$` or `*` refuses a user known by these full masks (see
    /// [`World::server_targets`]), if they do: the DENY's reason, or a standard one.
    pub fn server_refusal(&self, targets: &[&str]) -> Option<String> {
        [&self.access.server, &self.access.network]
            .into_iter()
            .find_map(|list| refuses(list.evaluate_any(self.cm, targets)))
            .map(|r| {
                if r.is_empty() {
                    "Access denied".to_string()
                } else {
                    r.to_string()
                }
            })
    }

    /// The full masks server bans match a local connection by: `nick!user@host$server`,
    /// and with a cloaked host the same with the address, so K-lines and D-lines on
    /// addresses keep working behind cloaks.
    pub fn server_targets(&self, conn: ConnId, nick: &str, user: &str) -> Vec<String> {
        let Some(l) = self.local(conn) else {
            return Vec::new();
        };
        let me = self.name();
        let mut targets = vec![format!("{nick}!{user}@{}${me}", l.host)];
        let ip = l.ip.to_string();
        if *l.host != *ip {
            targets.push(format!("{nick}!{user}@{ip}${me}"));
        }
        targets
    }

    /// After a `$`/`*` DENY was added: disconnects the local users it refuses, as a KILL
    /// would (QUIT with the reason to their channels and the links). IRC operators stay,
    /// so `ACCESS $ ADD DENY *` does not throw out the sysop who typed it.
    pub fn enforce_server_access(&mut self, out: &mut crate::core::Outbox) {
        let doomed: Vec<(crate::core::ConnId, String)> = self
            .clients
            .iter()
            .filter(|(_, c)| !c.has(crate::core::state::umode::OPER))
            .filter_map(|(cid, c)| Some((c.conn?, cid)))
            .filter_map(|(conn, cid)| {
                let c = &self.clients[cid];
                let targets = self.server_targets(conn, &c.nick, &c.user);
                let refs: Vec<&str> = targets.iter().map(String::as_str).collect();
                Some((conn, self.server_refusal(&refs)?))
            })
            .collect();
        for (conn, reason) in doomed {
            self.close_conn(conn, &reason, out);
        }
    }

    /// A user left: their own list goes with them.
    pub fn drop_access(&mut self, cid: ClientId) {
        self.access.nicks.remove(&cid);
    }

    /// Timer: removes expired entries everywhere, when one is due.
    pub fn expire_access(&mut self) {
        let now = self.now.unix_ms;
        if self.access.next_expiry_ms.is_none_or(|t| t > now) {
            return;
        }
        let a = &mut self.access;
        let mut next: Vec<Option<u64>> = Vec::new();
        a.dirty |= a.server.expire(now) | a.network.expire(now);
        next.push(a.server.next_expiry());
        next.push(a.network.next_expiry());
        a.nicks.retain(|_, list| {
            list.expire(now);
            next.push(list.next_expiry());
            !list.entries.is_empty()
        });
        for (_, chan) in self.channels.iter_mut() {
            let Some(list) = chan.access.as_deref_mut() else {
                continue;
            };
            if list.expire(now) && chan.modes & crate::core::state::cmode::REGISTERED != 0 {
                self.access.dirty = true;
            }
            next.push(list.next_expiry());
            if list.entries.is_empty() {
                chan.access = None;
            }
        }
        self.access.next_expiry_ms = next.into_iter().flatten().min();
    }

    /// Whether `$`, `*` or a registered channel's list changed since the last call (the
    /// shell then saves them; see `net::state_file`).
    pub fn take_access_dirty(&mut self) -> bool {
        std::mem::take(&mut self.access.dirty)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_fill_missing_parts() {
        let n = |m: &str| normalize_mask(m.as_bytes());
        assert_eq!(n("bob").as_deref(), Some("bob!*@*$*"));
        assert_eq!(n("*@bad.host").as_deref(), Some("*!*@bad.host$*"));
        assert_eq!(n("u@h").as_deref(), Some("*!u@h$*"));
        assert_eq!(n("n!u").as_deref(), Some("n!u@*$*"));
        assert_eq!(n("n!u@h$s.net").as_deref(), Some("n!u@h$s.net"));
        assert_eq!(n("$irc.test").as_deref(), Some("*!*@*$irc.test"));
        assert_eq!(n("*").as_deref(), Some("*!*@*$*"));
        assert_eq!(n(""), None);
        assert_eq!(n("a,b"), None);
        assert_eq!(n(&"x".repeat(201)), None);
        assert_eq!(n(&"x".repeat(194)).map(|m| m.len()), Some(MAX_MASK));
        assert_eq!(n(&"x".repeat(195)), None, "too long once filled in");
    }

    fn entry(level: Level, mask: &str) -> Entry {
        Entry {
            level,
            mask: normalize_mask(mask.as_bytes()).unwrap().into(),
            expires_ms: 0,
            setter: "s".into(),
            set_at: 0,
            by_owner: false,
            from_config: false,
            reason: "".into(),
        }
    }

    #[test]
    fn evaluation_order_and_grant_closes() {
        let cm = CaseMapping::Rfc1459;
        let who = "bob!~bob@h.example$irc.test";
        let mut l = AccessList::default();
        assert_eq!(l.evaluate(cm, who), Verdict::Open);
        l.entries.push(entry(Level::Grant, "carol"));
        assert_eq!(l.evaluate(cm, who), Verdict::Closed);
        l.entries.push(entry(Level::Deny, "*@*.example"));
        assert!(matches!(l.evaluate(cm, who), Verdict::Match(e) if e.level == Level::Deny));
        l.entries.push(entry(Level::Grant, "BOB"));
        assert!(matches!(l.evaluate(cm, who), Verdict::Match(e) if e.level == Level::Grant));
        l.entries.push(entry(Level::Voice, "bob"));
        assert!(matches!(l.evaluate(cm, who), Verdict::Match(e) if e.level == Level::Voice));
        l.entries.push(entry(Level::Owner, "*!~bob@*"));
        assert!(matches!(l.evaluate(cm, who), Verdict::Match(e) if e.level == Level::Owner));
        assert_eq!(l.evaluate(cm, "zed!z@other$irc.test"), Verdict::Open);
    }
}
