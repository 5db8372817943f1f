//! EVENT (draft §5.5, IRCX.md §3): sysops subscribe to server events, delivered as
//! `:<server> EVENT <unix-time> <TYPE> <subtype> <params…>` to IRCX sysops only.
//!
//! `EVENT ADD|DELETE <type> [<mask>]` (806/807, 918/919), `EVENT LIST [<type>]` (808, 809
//! per subscription, 810). Masks are `nick!user@host$server` (default `*!*@*$*`), matched
//! against the event's user; events without a user match only `*!*@*$*` or `*`.
//! Subscriptions live in `World` (none for idle clients) and go when the client quits or
//! stops being an operator; delivery checks `+o` again.
//!
//! Events raised (the last parameter is a trailing one when it is a reason):
//! * `USER LOGON <nick!user@host> <ip>` — registration (`*` for a remote user's address)
//! * `USER LOGOFF <nick!user@host> :<reason>` — a user leaves (quit, kill, netsplit)
//! * `USER NICK <old-mask> <new-nick>`
//! * `CHANNEL CREATE <chan> <oid> <creator-mask>` — a local JOIN or CREATE makes it, or
//!   a link's live SJOIN (not its burst) makes it new here
//! * `CHANNEL DESTROY <chan> <oid>` — the last member left
//! * `CHANNEL TOPIC <chan> <setter> :<topic>` — any topic change seen here
//! * `CHANNEL MODE <chan> <setter> <modes> [<args>…]` — flags, key, limit, bans
//! * `CHANNEL COLLISION <chan> <oid> <server>` — a netsplit heal found an older channel of
//!   that name: ours lost its modes and statuses
//! * `MEMBER JOIN <chan> <mask>`, `MEMBER PART <chan> <mask>` — JOIN and PART commands,
//!   here or (a live SJOIN, a PART) elsewhere
//! * `MEMBER KICK <chan> <mask> <kicker> :<reason>`
//! * `MEMBER MODE <chan> <mask> <±q|o|v> <setter>` — a status given or taken
//! * `SERVER LINK <name>`, `SERVER SPLIT <name>`
//! * `CONNECT OPEN <ip>`, `CONNECT CLOSE <ip>` — any connection (users and portals)
//! * `SOCKET REFUSED <ip> :<reason>` — a connection refused by the limits

use crate::core::dispatch::{err, Ctx, HResult};
use crate::core::{ClientId, ConnId, Outbox, World};
use crate::proto::casemap::wild_match;
use crate::proto::line::Line;
use crate::proto::numeric as n;
use crate::proto::Message;
use std::rc::Rc;

/// Subscriptions one sysop may hold.
pub const MAX_EVENTS: usize = 16;
const DEFAULT_MASK: &str = "*!*@*$*";

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum EventType {
    Channel,
    Member,
    Server,
    Connect,
    Socket,
    User,
}

impl EventType {
    const ALL: [EventType; 6] = [
        EventType::Channel,
        EventType::Member,
        EventType::Server,
        EventType::Connect,
        EventType::Socket,
        EventType::User,
    ];

    pub fn name(self) -> &'static str {
        match self {
            EventType::Channel => "CHANNEL",
            EventType::Member => "MEMBER",
            EventType::Server => "SERVER",
            EventType::Connect => "CONNECT",
            EventType::Socket => "SOCKET",
            EventType::User => "USER",
        }
    }

    fn parse(s: &[u8]) -> Option<EventType> {
        Self::ALL
            .into_iter()
            .find(|t| t.name().as_bytes().eq_ignore_ascii_case(s))
    }
}

/// Subscriptions and events waiting to be sent (raised where no outbox is at hand; the
/// entry points of `World` flush them).
#[derive(Default)]
pub struct Events {
    subs: std::collections::HashMap<ClientId, Vec<(EventType, Box<str>)>>,
    queue: Vec<(ConnId, Rc<[u8]>)>,
}

impl World {
    /// A client's subscriptions.
    pub fn event_subs(&self, cid: ClientId) -> &[(EventType, Box<str>)] {
        self.events.subs.get(&cid).map_or(&[], Vec::as_slice)
    }

    /// Forgets a client's subscriptions (it left, or is no longer an operator).
    pub fn drop_events(&mut self, cid: ClientId) {
        self.events.subs.remove(&cid);
    }

    /// Moves raised events into the outbox.
    pub fn flush_events(&mut self, out: &mut Outbox) {
        out.sends.append(&mut self.events.queue);
        out.sends.append(&mut self.monitor.queue);
    }

    /// Raises an event about `subject` (a user, matched against the masks) or nothing in
    /// particular. `trailing`: the last parameter is sent as a trailing one.
    /// Whether any sysop listens: callers build an event's parameters only then, so the
    /// paths every JOIN, PART and QUIT takes allocate nothing for events nobody wants.
    pub fn events_wanted(&self) -> bool {
        !self.events.subs.is_empty()
    }

    pub fn raise_event(
        &mut self,
        kind: EventType,
        sub: &str,
        subject: Option<ClientId>,
        params: &[&str],
        trailing: Option<&str>,
    ) {
        if self.events.subs.is_empty() {
            return;
        }
        let target = subject.and_then(|c| self.clients.get(c)).map(|c| {
            let server = self.servers.get(c.server).map_or("*", |s| &*s.name);
            format!("{}${server}", c.mask())
        });
        let mut line: Option<Rc<[u8]>> = None;
        for (&cid, subs) in &self.events.subs {
            let Some(conn) = self.clients.get(cid).and_then(|c| c.conn) else {
                continue;
            };
            if !self.is_sysop(cid) || !self.is_ircx(conn) {
                continue;
            }
            let hit = subs.iter().any(|(t, mask)| {
                *t == kind
                    && match &target {
                        Some(s) => wild_match(self.cm, mask.as_bytes(), s.as_bytes()),
                        None => &**mask == DEFAULT_MASK || &**mask == "*",
                    }
            });
            if !hit {
                continue;
            }
            let line = line.get_or_insert_with(|| {
                let mut l = Line::new(self.name(), "EVENT")
                    .arg(self.now.unix_s().to_string())
                    .arg(kind.name())
                    .arg(sub);
                for p in params {
                    l = l.arg(p);
                }
                if let Some(t) = trailing {
                    l = l.trailing(t);
                }
                l.finish()
            });
            self.events.queue.push((conn, line.clone()));
        }
    }
}

pub fn event(ctx: &mut Ctx<'_>, msg: &Message<'_>) -> HResult {
    let cid = ctx.client();
    let (w, conn) = (&mut *ctx.w, ctx.conn);
    if !w.is_sysop(cid) {
        return Err(err(n::ERR_NOPRIVILEGES, &[]));
    }
    let func = msg.param(0).to_ascii_uppercase();
    match &func[..] {
        b"LIST" => {
            let only = match msg.params().get(1) {
                Some(t) => {
                    Some(EventType::parse(t).ok_or_else(|| err(n::IRCERR_NOSUCHEVENT, &[t]))?)
                }
                None => None,
            };
            w.reply(ctx.out, conn, n::IRCRPL_EVENTSTART, &[]);
            for (t, mask) in w.event_subs(cid) {
                if only.is_none_or(|o| o == *t) {
                    let line = w.num(conn, n::IRCRPL_EVENTLIST).arg(t.name()).arg(&**mask);
                    ctx.out.send(conn, line.finish());
                }
            }
            w.reply(ctx.out, conn, n::IRCRPL_EVENTEND, &[]);
            Ok(())
        }
        b"ADD" | b"DELETE" => {
            if msg.len() < 2 {
                return Err(err(n::ERR_NEEDMOREPARAMS, &[b"EVENT"]));
            }
            let t = msg.param(1);
            let kind = EventType::parse(t).ok_or_else(|| err(n::IRCERR_NOSUCHEVENT, &[t]))?;
            let mask = match msg.params().get(2) {
                Some(m) => String::from_utf8_lossy(m).into_owned(),
                None => DEFAULT_MASK.to_string(),
            };
            let subs = w.events.subs.entry(cid).or_default();
            let at = subs
                .iter()
                .position(|(k, m)| *k == kind && m.eq_ignore_ascii_case(&mask));
            let name = kind.name().as_bytes();
            let num = if func[..] == *b"ADD" {
                if at.is_some() {
                    return Err(err(n::IRCERR_EVENTDUP, &[name, mask.as_bytes()]));
                }
                if subs.len() >= MAX_EVENTS {
                    return Err(err(n::IRCERR_TOOMANYEVENTS, &[name]));
                }
                subs.push((kind, mask.as_str().into()));
                n::IRCRPL_EVENTADD
            } else {
                let Some(at) = at else {
                    if subs.is_empty() {
                        w.drop_events(cid);
                    }
                    return Err(err(n::IRCERR_EVENTMIS, &[name, mask.as_bytes()]));
                };
                subs.remove(at);
                if subs.is_empty() {
                    w.drop_events(cid);
                }
                n::IRCRPL_EVENTDEL
            };
            let line = w.num(conn, num).arg(kind.name()).arg(&mask).finish();
            ctx.out.send(conn, line);
            Ok(())
        }
        _ => Err(err(n::IRCERR_BADFUNCTION, &[b"EVENT"])),
    }
}
