//! IRCv3 `labeled-response` (with `batch`): the replies to one labeled command, shaped in
//! one place rather than in every handler.
//!
//! [`World::on_line`](super::World::on_line) notes where the outbox stood before a
//! labeled command ran ([`World::label_for`]) and, once the handler is done, looks at what
//! was queued for the requesting connection since then ([`World::wrap_response`]):
//!
//! * nothing: a labeled `ACK`;
//! * one line: that line gets the `label` tag;
//! * several: `BATCH +ref labeled-response` (carrying the label) before the first,
//!   `batch=ref` on each, `BATCH -ref` after the last.
//!
//! Lines for other connections in between are left alone (each connection's order is all
//! that counts), and so are lines a handler marks as no part of the reply
//! ([`Outbox::aside`]: a message a user sends to itself is delivered unlabeled, as the
//! spec asks; only its echo is the reply).
//!
//! **Replies that continue in later turns** (a paged WHO/NAMES/LIST, REHASH answered after
//! the shell reloads): the batch must stay open until the last line.
//! 1. In the handler, call [`World::reply_continues`]`(conn)`: the wrapper then always
//!    opens a batch (even for 0 or 1 lines so far) and leaves it open.
//! 2. Each later turn, note `let from = out.sends.len()`, queue the page, then call
//!    [`World::continue_reply`]`(conn, from, out)`: the page's lines for `conn` join the
//!    open batch.
//! 3. After the last line call [`World::end_reply`]`(conn, out)`: it ends the batch.
//!
//! Both are no-ops when the command had no label, so the pager calls them unconditionally.
//! Open batches of one connection are kept in order, and steps 2-3 apply to the oldest: a
//! pager that finishes one reply before it starts the next (FIFO) is served right. A
//! connection that closes takes its open batches with it.

use super::caps;
use super::{ConnId, Outbox, World};
use crate::proto::line::Line;
use crate::proto::Message;
use hashbrown::HashMap;
use std::collections::VecDeque;
use std::rc::Rc;

/// Longest label taken (the spec's limit); a longer one is ignored, as if absent.
pub const MAX_LABEL: usize = 64;

/// The batch type of a labeled reply of several lines.
const BATCH_TYPE: &str = "labeled-response";

/// Labeled replies in progress. Empty unless someone uses labels: idle connections pay
/// nothing.
#[derive(Default)]
pub struct Labels {
    /// The connection whose handler said its reply continues in later turns (set during
    /// one dispatch, taken by [`World::wrap_response`]).
    continues: Option<ConnId>,
    /// Batches left open by continuing replies, oldest first, per connection.
    open: HashMap<ConnId, VecDeque<Box<str>>>,
    /// Counter for batch reference tags (unique per server run, so per connection too).
    refs: u64,
}

/// A labeled command in progress: its label and where the outbox stood before it.
pub struct Pending {
    label: Box<[u8]>,
    from: usize,
}

impl World {
    /// The label of a command from `conn`, if it has one to honour: a registered client
    /// that negotiated `labeled-response` and `batch` (the spec needs both), and a value of
    /// 1-64 bytes. Cheap for the common case: no tags, no lookup.
    pub fn label_for(&self, conn: ConnId, msg: &Message<'_>, out: &Outbox) -> Option<Pending> {
        let tags = msg.tags?;
        let want = caps::LABELED_RESPONSE | caps::BATCH;
        let cid = self.local(conn)?.client?;
        if self.clients[cid].caps & want != want {
            return None;
        }
        let (_, value) = crate::proto::message::tags(tags).find(|(k, _)| *k == b"label")?;
        // The value is relayed as the client escaped it: still a valid escaped value.
        (1..=MAX_LABEL).contains(&value.len()).then(|| Pending {
            label: value.into(),
            from: out.sends.len(),
        })
    }

    /// Shapes what the labeled command queued for `conn` (see the module doc).
    pub fn wrap_response(&mut self, conn: ConnId, p: Pending, out: &mut Outbox) {
        let continues = self.labels.continues.take() == Some(conn);
        let aside = std::mem::take(&mut out.aside);
        // A connection the command closed (QUIT, a kill) hears nothing more.
        if self.local(conn).is_none() {
            return;
        }
        let mine: Vec<usize> = (p.from..out.sends.len())
            .filter(|&i| out.sends[i].0 == conn && !aside.contains(&i))
            .collect();
        let label = [b"label=", &*p.label].concat();
        match mine.len() {
            0 if !continues => {
                let ack = Line::new(self.name(), "ACK").finish();
                out.send(conn, with_tag(&label, &ack));
            }
            1 if !continues => {
                let line = &mut out.sends[mine[0]].1;
                *line = with_tag(&label, line);
            }
            // A reply that is one batch already (METADATA's `metadata` batch): a type
            // "applicable to the entire response", so the label goes on its start.
            _ if !continues && one_batch(&mine, out) => {
                let line = &mut out.sends[mine[0]].1;
                *line = with_tag(&label, line);
            }
            _ => {
                let bref = self.next_batch_ref();
                let start = Line::new(self.name(), "BATCH")
                    .arg(format!("+{bref}"))
                    .arg(BATCH_TYPE)
                    .finish();
                tag_batch(&bref, &mine, out);
                // Inserted where the first line of the reply was (or at the end): before
                // every line of it, after everything this connection was sent earlier.
                let at = mine.first().copied().unwrap_or(out.sends.len());
                out.sends.insert(at, (conn, with_tag(&label, &start)));
                if continues {
                    let open = self.labels.open.entry(conn).or_default();
                    open.push_back(bref);
                } else {
                    self.end_batch(conn, &bref, out);
                }
            }
        }
    }

    /// After a command without a label: nothing to shape, only the marks to drop.
    pub fn unlabeled_done(&mut self, out: &mut Outbox) {
        out.aside.clear();
        self.labels.continues = None;
    }

    /// Step 1 for a reply that goes on in later turns (module doc): keep its batch open.
    pub fn reply_continues(&mut self, conn: ConnId) {
        self.labels.continues = Some(conn);
    }

    /// Step 2: the lines queued for `conn` in `out.sends[from..]` join its oldest open
    /// labeled batch, if there is one.
    pub fn continue_reply(&mut self, conn: ConnId, from: usize, out: &mut Outbox) {
        let Some(bref) = self.labels.open.get(&conn).and_then(|q| q.front()) else {
            return;
        };
        let mine: Vec<usize> = (from..out.sends.len())
            .filter(|&i| out.sends[i].0 == conn)
            .collect();
        tag_batch(bref, &mine, out);
    }

    /// Step 3: the continuing reply is complete; its batch ends.
    pub fn end_reply(&mut self, conn: ConnId, out: &mut Outbox) {
        let Some(queue) = self.labels.open.get_mut(&conn) else {
            return;
        };
        let bref = queue.pop_front();
        if queue.is_empty() {
            self.labels.open.remove(&conn);
        }
        if let Some(bref) = bref {
            self.end_batch(conn, &bref, out);
        }
    }

    /// A connection closed: its open batches go (nobody is left to end them for).
    pub fn forget_labels(&mut self, conn: ConnId) {
        if !self.labels.open.is_empty() {
            self.labels.open.remove(&conn);
        }
    }

    fn end_batch(&self, conn: ConnId, bref: &str, out: &mut Outbox) {
        let end = Line::new(self.name(), "BATCH")
            .arg(format!("-{bref}"))
            .finish();
        out.send(conn, end);
    }

    /// A fresh batch reference: letters and digits only, as the batch spec requires.
    pub fn next_batch_ref(&mut self) -> Box<str> {
        self.labels.refs += 1;
        format!("L{:x}", self.labels.refs).into()
    }
}

/// Puts `batch=<bref>` on the lines at `indices` (their own copies: the shared `Rc` others
/// hold stays as it was). A line already in a batch belongs to one nested in this one
/// (its `BATCH` lines get the tag, as the batch spec nests them): it keeps its own.
fn tag_batch(bref: &str, indices: &[usize], out: &mut Outbox) {
    let tag = [b"batch=", bref.as_bytes()].concat();
    for &i in indices {
        let line = &mut out.sends[i].1;
        if batch_of(line).is_none() {
            *line = with_tag(&tag, line);
        }
    }
}

/// The `batch` tag of a line, if it has one.
fn batch_of(line: &[u8]) -> Option<&[u8]> {
    let rest = line.strip_prefix(b"@")?;
    let section = &rest[..rest.iter().position(|&b| b == b' ')?];
    crate::proto::message::tags(section).find_map(|(k, v)| (k == b"batch").then_some(v))
}

/// `(sign, ref)` of a `BATCH +ref …` or `BATCH -ref` line without tags (ours are sent so).
fn batch_verb(line: &[u8]) -> Option<(u8, &[u8])> {
    let mut words = line.strip_prefix(b":")?.split(|&b| b == b' ');
    words.next()?;
    (words.next()? == b"BATCH").then_some(())?;
    let r = words.next()?;
    let r = r.strip_suffix(b"\r\n").unwrap_or(r);
    let (&sign, bref) = r.split_first()?;
    Some((sign, bref))
}

/// Whether the lines at `mine` are one whole batch: its start, its lines, its end.
fn one_batch(mine: &[usize], out: &Outbox) -> bool {
    let (Some(&first), Some(&last)) = (mine.first(), mine.last()) else {
        return false;
    };
    let Some((b'+', bref)) = batch_verb(&out.sends[first].1) else {
        return false;
    };
    batch_verb(&out.sends[last].1) == Some((b'-', bref))
        && mine[1..mine.len() - 1]
            .iter()
            .all(|&i| batch_of(&out.sends[i].1) == Some(bref))
}

/// `line` with `tag` added first to its tag section (made if it has none).
pub fn with_tag(tag: &[u8], line: &[u8]) -> Rc<[u8]> {
    match line.strip_prefix(b"@") {
        Some(rest) => [b"@", tag, b";", rest].concat().into(),
        None => [b"@", tag, b" ", line].concat().into(),
    }
}

#[cfg(test)]
#[path = "labeled_tests.rs"]
mod tests;
