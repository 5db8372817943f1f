//! Paged replies: long listings (WHO, NAMES, LIST, LISTX) are produced a page at a time as
//! the requester's send queue drains (as solanum's "safe LIST" does), never all at once.
//! So they work for any network size under any send queue limit, and one listing costs the
//! loop one bounded page per turn instead of thousands of lines at once.
//!
//! How it runs:
//! * A handler calls [`start`] with a [`Lister`] (how one item becomes lines, and the end
//!   numeric) and a [`Cursor`] (what is listed, in which order). The first page goes out at
//!   once, so a reply that fits in one page is sent whole, exactly as before paging.
//! * The rest waits in [`Pages`], a side table keyed by connection: idle clients pay
//!   nothing for it. The shell calls [`World::next_page`] for a connection with a pending
//!   reply once its send queue is at or below [`low_water`]; each call produces one page of
//!   at most [`PAGE_LINES`] lines and [`page_bytes`] bytes.
//! * Ordering: while a connection has a reply pending the shell holds its further input
//!   ([`World::ready`] is false), so the answer to its next command never lands inside this
//!   one. Held input counts against the receive queue (`RECVQ_LIMIT`, then "Excess Flood").
//!   Several listings of one command (`NAMES #a,#b`, `JOIN #a,#b`) queue behind each other
//!   in order; lines that are not listings (another channel's JOIN, channel traffic) are
//!   not held back.
//! * Under mutation: a cursor walks a table's slots by index (clients, channels) or a
//!   snapshot, taken at the start, of a channel's member IDs in ID order. Each item is shown
//!   as it is when its turn comes: one who left before then is skipped, a renamed one shows
//!   the new nick, nobody is listed twice (each slot or ID is visited once), and everyone
//!   present from the start to the end of the listing is listed. A member who joined after
//!   the start is not listed (unless they took over the ID of one who quit meanwhile and
//!   was not reached yet: then they are listed in that one's place); a client or channel
//!   created meanwhile is listed only if it took a slot the cursor had not reached yet. The
//!   end numeric is sent exactly once.
//! * Cost: every [`REPLY_LINES_PER_COST`] lines past the first [`REPLY_FREE_LINES`] of a
//!   listing cost the requester one line of flood budget, so repeating `WHO #big` is slowed
//!   down like sending that many lines, while a `WHO #channel` on join at ordinary sizes
//!   costs nothing extra.
//! * [`finish`] is the one place where a connection's paged reply ends.

use super::modes::Status;
use super::{ChanId, Channel, ClientId, ConnId, Outbox, World};
use crate::core::ids::Key;
use hashbrown::HashMap;
use std::collections::VecDeque;

/// Most lines in one page.
pub const PAGE_LINES: usize = 100;
/// Most bytes in one page (a page may end one line past it), whatever the queue limit.
pub const PAGE_BYTES: usize = 8 * 1024;
/// Lines of one listing that cost no flood budget: a WHO or NAMES of a channel of this size
/// on join is free.
pub const REPLY_FREE_LINES: u32 = 200;
/// Past the free lines, this many reply lines cost as much flood budget as one line in.
pub const REPLY_LINES_PER_COST: u32 = 100;

/// Bytes per page for a connection with send queue limit `sendq_limit`: a quarter of the
/// limit, so a page and the queue's low-water mark together stay well inside it.
pub fn page_bytes(sendq_limit: usize) -> usize {
    PAGE_BYTES.min(sendq_limit / 4).max(512)
}

/// A connection with a pending reply gets its next page when its send queue holds at most
/// this many bytes.
pub fn low_water(sendq_limit: usize) -> usize {
    page_bytes(sendq_limit)
}

/// How one kind of listing turns items into lines.
pub trait Lister {
    /// Appends the lines for item `id` (a client or channel index, as its cursor yields
    /// them) to `out` for `conn`. False stops the listing (a limit was reached).
    fn item(&mut self, w: &World, conn: ConnId, id: u32, out: &mut Outbox) -> bool;
    /// A page ends: send what is buffered (NAMES packs several items in one line).
    fn page_end(&mut self, _w: &World, _conn: ConnId, _out: &mut Outbox) {}
    /// The listing is done: what is still buffered, then its end numeric.
    fn end(&mut self, w: &World, conn: ConnId, out: &mut Outbox);
}

/// What a listing walks, in order.
pub enum Cursor {
    /// Every client's slot, from this index on.
    Clients(u32),
    /// Every channel's slot, from this index on.
    Channels(u32),
    /// These IDs, from this position on.
    Ids(Box<[u32]>, u32),
}

impl Cursor {
    /// A channel's members as they are now, in ID order.
    pub fn members(w: &World, ch: ChanId) -> Cursor {
        let mut ids: Vec<u32> = w.channels[ch].members.keys().map(|c| c.0).collect();
        ids.sort_unstable();
        Cursor::Ids(ids.into(), 0)
    }

    /// Nothing to list (the listing is only its end numeric).
    pub fn empty() -> Cursor {
        Cursor::Ids(Box::new([]), 0)
    }

    fn next(&mut self, w: &World) -> Option<u32> {
        match self {
            Cursor::Clients(at) => {
                let id: ClientId = w.clients.next_from(*at as usize)?;
                *at = id.0 + 1;
                Some(id.0)
            }
            Cursor::Channels(at) => {
                let id: ChanId = w.channels.next_from(*at as usize)?;
                *at = id.0 + 1;
                Some(id.0)
            }
            Cursor::Ids(ids, at) => {
                let id = *ids.get(*at as usize)?;
                *at += 1;
                Some(id)
            }
        }
    }
}

struct Page {
    lister: Box<dyn Lister>,
    cursor: Cursor,
    /// Lines produced so far, for the flood cost.
    lines: u32,
}

/// The pending replies of every connection that has one (a side table: the other
/// connections pay nothing).
#[derive(Default)]
pub struct Pages {
    pending: HashMap<ConnId, VecDeque<Page>>,
}

impl Pages {
    /// Whether `conn` has a reply pending (its input is held meanwhile).
    pub fn holds(&self, conn: ConnId) -> bool {
        !self.pending.is_empty() && self.pending.contains_key(&conn)
    }

    pub fn is_empty(&self) -> bool {
        self.pending.is_empty()
    }

    /// The connections with a pending reply.
    pub fn conns(&self) -> impl Iterator<Item = ConnId> + '_ {
        self.pending.keys().copied()
    }

    /// The connection is gone: its pending replies with it.
    pub fn forget(&mut self, conn: ConnId) {
        if !self.pending.is_empty() {
            self.pending.remove(&conn);
        }
    }
}

/// Starts a listing for `conn`: its first page now, the rest as the queue drains. Behind a
/// listing still pending for `conn`, it waits its turn.
pub fn start(
    w: &mut World,
    conn: ConnId,
    lister: impl Lister + 'static,
    cursor: Cursor,
    out: &mut Outbox,
) {
    let page = Page {
        lister: Box::new(lister),
        cursor,
        lines: 0,
    };
    if let Some(queue) = w.pages.pending.get_mut(&conn) {
        queue.push_back(page);
        w.reply_continues(conn);
        return;
    }
    pump(w, conn, VecDeque::from([page]), false, out);
}

impl World {
    /// The shell saw `conn`'s send queue drain to [`low_water`]: its next page. True while
    /// more is pending.
    pub fn next_page(&mut self, conn: ConnId, out: &mut Outbox) -> bool {
        match self.pages.pending.remove(&conn) {
            Some(queue) => pump(self, conn, queue, true, out),
            None => false,
        }
    }
}

/// Produces one page of `conn`'s listings (`held`: they were pending); keeps what is left.
/// True while more is pending.
fn pump(
    w: &mut World,
    conn: ConnId,
    mut queue: VecDeque<Page>,
    held: bool,
    out: &mut Outbox,
) -> bool {
    let max_bytes = page_bytes(w.sendq_limit(conn));
    let from = out.sends.len();
    let (mut lines, mut bytes) = (0, 0);
    let mut cost = 0;
    while let Some(page) = queue.front_mut() {
        let before = page.lines;
        let done = fill(w, conn, page, (&mut lines, &mut bytes), max_bytes, out);
        cost += flood_cost(before, page.lines);
        if !done {
            page.lister.page_end(w, conn, out);
            break;
        }
        page.lister.end(w, conn, out);
        queue.pop_front();
    }
    super::cost::charge(w, conn, cost);
    if held {
        // A later page of a labeled reply joins the batch its first page opened.
        w.continue_reply(conn, from, out);
    }
    if queue.is_empty() {
        finish(w, conn, held, out);
        return false;
    }
    if !held {
        // Still in the command's own turn: its labeled batch stays open for the rest.
        w.reply_continues(conn);
    }
    w.pages.pending.insert(conn, queue);
    true
}

/// Lists items of `page` until the page budget (`lines`, `bytes` used so far) is spent;
/// true when the listing has no more items.
fn fill(
    w: &World,
    conn: ConnId,
    page: &mut Page,
    (lines, bytes): (&mut usize, &mut usize),
    max_bytes: usize,
    out: &mut Outbox,
) -> bool {
    while *lines < PAGE_LINES && *bytes < max_bytes {
        let Some(id) = page.cursor.next(w) else {
            return true;
        };
        let at = out.sends.len();
        let more = page.lister.item(w, conn, id, out);
        let added = &out.sends[at..];
        *lines += added.len();
        *bytes += added.iter().map(|(_, l)| l.len()).sum::<usize>();
        page.lines = page.lines.saturating_add(added.len() as u32);
        if !more {
            return true;
        }
    }
    false
}

/// Flood cost, in lines, of a listing's line count going from `from` to `to`.
fn flood_cost(from: u32, to: u32) -> u32 {
    let units = |n: u32| n.saturating_sub(REPLY_FREE_LINES) / REPLY_LINES_PER_COST;
    units(to) - units(from)
}

/// Every listing of `conn` has ended (their end numerics are queued): the one place where
/// a reply produced a page at a time is complete, whether in one page or many. `held`:
/// pages were pending, so the shell held `conn`'s input; it is told to read it again now
/// rather than on its next retry.
pub fn finish(w: &mut World, conn: ConnId, held: bool, out: &mut Outbox) {
    if held {
        // The labeled batch of a reply that took several pages ends with its last line.
        w.end_reply(conn, out);
        out.resume.push(conn);
    }
}

#[cfg(test)]
mod tests;

/// Where an item of a [`Cursor::members`] listing of channel `ch` (with OID `oid`) stands
/// when its turn comes.
pub enum Member<'w> {
    /// In the channel: listed as they are now.
    Here(&'w Channel, ClientId, Status),
    /// Left since the start: skipped.
    Left,
    /// The channel is gone (or another took its slot): the listing ends.
    ChannelGone,
}

pub fn member(w: &World, ch: ChanId, oid: u32, id: u32) -> Member<'_> {
    let Some(chan) = w.channels.get(ch).filter(|c| c.oid == oid) else {
        return Member::ChannelGone;
    };
    let cid = client(id);
    match chan.members.get(&cid) {
        Some(&flags) => Member::Here(chan, cid, flags),
        None => Member::Left,
    }
}

/// An ID from a cursor over clients.
pub fn client(id: u32) -> ClientId {
    ClientId::from_index(id as usize)
}

/// An ID from a cursor over channels.
pub fn channel(id: u32) -> ChanId {
    ChanId::from_index(id as usize)
}
