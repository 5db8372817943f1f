//! MONITOR (IRCv3 monitor): a user's list of nicks to be told of when they sign on and off,
//! anywhere in the network (remote users come and go with the portal state: NICK from a
//! link, QUIT, KILL, a netsplit). Kept in side tables, so a connection that monitors
//! nothing pays nothing.

use crate::core::caps::{self, Caps};
use crate::core::dispatch::{err, Ctx, HResult};
use crate::core::fanout::Msg;
use crate::core::{ClientId, ConnId, Outbox, World};
use crate::limits::MONITOR_LIMIT;
use crate::proto::casemap::valid_nick;
use crate::proto::numeric::{self as n, Numeric};
use crate::proto::Message;
use hashbrown::HashMap;
use std::rc::Rc;

/// Room for targets in one reply line, leaving space for the prefix, numeric and nick.
const LIST_BYTES: usize = 400;

#[derive(Default)]
pub struct Monitors {
    /// Folded nick → the local users watching it.
    watchers: HashMap<Box<str>, Vec<ClientId>>,
    /// Local user → the nicks it watches, as it wrote them.
    lists: HashMap<ClientId, Vec<Box<str>>>,
    /// News of sign-ons and sign-offs, sent with the next flush (they happen where no
    /// outbox is at hand: a user added, or removed by a netsplit).
    pub queue: Vec<(ConnId, Rc<[u8]>)>,
}

/// `MONITOR + targets`, `- targets`, `C`, `L`, `S`.
pub fn monitor(ctx: &mut Ctx<'_>, msg: &Message<'_>) -> HResult {
    let cid = ctx.client();
    let targets = msg.param(1);
    match msg.param(0) {
        b"+" | b"-" if targets.is_empty() => Err(err(n::ERR_NEEDMOREPARAMS, &[b"MONITOR"])),
        b"+" => {
            add(ctx.w, ctx.conn, cid, targets, ctx.out);
            Ok(())
        }
        b"-" => {
            for t in split(targets) {
                ctx.w.unwatch(cid, t);
            }
            Ok(())
        }
        b"C" | b"c" => {
            ctx.w.drop_monitor(cid);
            Ok(())
        }
        b"L" | b"l" => {
            let list = ctx.w.monitor.lists.get(&cid).cloned().unwrap_or_default();
            let names = list.iter().map(|t| t.to_string());
            send_list(ctx.w, ctx.conn, n::RPL_MONLIST, names, ctx.out);
            ctx.w.reply(ctx.out, ctx.conn, n::RPL_ENDOFMONLIST, &[]);
            Ok(())
        }
        b"S" | b"s" => {
            let list = ctx.w.monitor.lists.get(&cid).cloned().unwrap_or_default();
            status(ctx.w, ctx.conn, list.iter().map(|t| t.as_bytes()), ctx.out);
            Ok(())
        }
        _ => Err(err(UNKNOWN_SUB, &[b"MONITOR"])),
    }
}

const UNKNOWN_SUB: Numeric = Numeric::new(n::ERR_UNKNOWNERROR.code, "Unknown subcommand");

fn split(targets: &[u8]) -> impl Iterator<Item = &[u8]> {
    targets.split(|&b| b == b',').filter(|t| !t.is_empty())
}

/// Adds targets until the list is full (734 with the rest), then tells which are online.
fn add(w: &mut World, conn: ConnId, cid: ClientId, targets: &[u8], out: &mut Outbox) {
    let mut added = Vec::new();
    let all: Vec<&[u8]> = split(targets).collect();
    for (i, &t) in all.iter().enumerate() {
        // Only what could be a nick: nothing else ever signs on.
        let Some(nick) = std::str::from_utf8(t).ok().filter(|_| valid_nick(t, 64)) else {
            continue;
        };
        let list = w.monitor.lists.entry(cid).or_default();
        if list.iter().any(|have| w.cm.eq(have, nick)) {
            continue;
        }
        if list.len() >= MONITOR_LIMIT {
            let rest = all[i..].join(&b","[..]);
            let limit = MONITOR_LIMIT.to_string();
            w.reply(out, conn, n::ERR_MONLISTFULL, &[limit.as_bytes(), &rest]);
            break;
        }
        list.push(nick.into());
        let key = w.cm.fold(nick);
        w.monitor.watchers.entry(key).or_default().push(cid);
        added.push(t);
    }
    status(w, conn, added.into_iter(), out);
}

/// 730 for the targets online (as `nick!user@host`), 731 for the others.
fn status<'a>(w: &World, conn: ConnId, targets: impl Iterator<Item = &'a [u8]>, out: &mut Outbox) {
    let (mut on, mut off) = (Vec::new(), Vec::new());
    for t in targets {
        match w.find_nick(t) {
            Some(c) => on.push(w.clients[c].mask()),
            None => off.push(String::from_utf8_lossy(t).into_owned()),
        }
    }
    send_list(w, conn, n::RPL_MONONLINE, on.into_iter(), out);
    send_list(w, conn, n::RPL_MONOFFLINE, off.into_iter(), out);
}

/// `:server CODE me :a,b,c`, as many lines as the items need.
fn send_list(
    w: &World,
    conn: ConnId,
    num: Numeric,
    items: impl Iterator<Item = String>,
    out: &mut Outbox,
) {
    let mut line = String::new();
    for item in items {
        if !line.is_empty() && line.len() + 1 + item.len() > LIST_BYTES {
            out.send(conn, w.num(conn, num).trailing(&line).finish());
            line.clear();
        }
        if !line.is_empty() {
            line.push(',');
        }
        line.push_str(&item);
    }
    if !line.is_empty() {
        out.send(conn, w.num(conn, num).trailing(&line).finish());
    }
}

impl World {
    /// Tells those monitoring `cid`'s nick that it is online (a user added, or renamed).
    pub fn monitor_online(&mut self, cid: ClientId) {
        if self.monitor.watchers.is_empty() {
            return;
        }
        let mask = self.clients[cid].mask();
        self.monitor_news(&self.clients[cid].nick.clone(), n::RPL_MONONLINE, &mask);
    }

    /// Tells those monitoring `nick` that it went offline (a user gone, or renamed).
    pub fn monitor_offline(&mut self, nick: &str) {
        self.monitor_news(nick, n::RPL_MONOFFLINE, nick);
    }

    fn monitor_news(&mut self, nick: &str, num: Numeric, text: &str) {
        if self.monitor.watchers.is_empty() {
            return;
        }
        let Some(watchers) = self.monitor.watchers.get(&*self.cm.fold(nick)) else {
            return;
        };
        let mut lines = Vec::with_capacity(watchers.len());
        for &w in watchers {
            let c = &self.clients[w];
            if let Some(conn) = c.conn {
                let line = num.to(self.name(), &c.nick).trailing(text).finish();
                lines.push((conn, line));
            }
        }
        self.monitor.queue.append(&mut lines);
    }

    /// IRCv3 extended-monitor: news of `cid` (its AWAY, SETNAME or CHGHOST; ACCOUNT
    /// should come through here too) for the local users monitoring its nick who enabled
    /// `extended-monitor` and `need_caps` (the cap of that news: away-notify, setname…).
    /// Call it right after [`World::to_common`] with the same news: whoever that fanout
    /// reached through a shared channel carries its stamp and is skipped, so no one hears
    /// it twice (nor `cid` itself, which it stamps too).
    pub fn to_monitors(&self, cid: ClientId, need_caps: Caps, msg: &mut Msg, out: &mut Outbox) {
        if self.monitor.watchers.is_empty() {
            return;
        }
        let Some(watchers) = self
            .monitor
            .watchers
            .get(&*self.cm.fold(&self.clients[cid].nick))
        else {
            return;
        };
        let stamp = self.clients[cid].serial;
        let need = need_caps | caps::EXTENDED_MONITOR;
        for &w in watchers {
            let c = &self.clients[w];
            if c.serial == stamp || c.caps & need != need {
                continue;
            }
            if let Some(conn) = c.conn {
                out.send(conn, msg.for_caps(c.caps));
            }
        }
    }

    fn unwatch(&mut self, cid: ClientId, target: &[u8]) {
        let Some(list) = self.monitor.lists.get_mut(&cid) else {
            return;
        };
        let cm = self.cm;
        let target = String::from_utf8_lossy(target);
        let Some(i) = list.iter().position(|t| cm.eq(t, &target)) else {
            return;
        };
        let gone = list.swap_remove(i);
        if list.is_empty() {
            self.monitor.lists.remove(&cid);
        }
        self.forget_watcher(&gone, cid);
    }

    /// Forgets `cid`'s monitor list (MONITOR C, or the user is gone).
    pub fn drop_monitor(&mut self, cid: ClientId) {
        for t in self.monitor.lists.remove(&cid).unwrap_or_default() {
            self.forget_watcher(&t, cid);
        }
    }

    fn forget_watcher(&mut self, nick: &str, cid: ClientId) {
        let key = self.cm.fold(nick);
        if let Some(ws) = self.monitor.watchers.get_mut(&key) {
            ws.retain(|&w| w != cid);
            if ws.is_empty() {
                self.monitor.watchers.remove(&key);
            }
        }
    }
}
