//! Who hears of metadata, and how: `METADATA` notifications to subscribers, the batch
//! replies are wrapped in, and the sync a joining client gets.

use super::store::{ChanKey, Entry};
use crate::core::caps;
use crate::core::handlers::ircx::prop::{self, Prop};
use crate::core::labeled::with_tag;
use crate::core::{ChanId, ClientId, ConnId, Outbox, World};
use crate::proto::line::Line;
use std::rc::Rc;

/// Replies sent as one `metadata` (or `metadata-subs`) batch: `BATCH +ref <type> <target>`,
/// each line tagged `batch=ref`, `BATCH -ref`; or the bare lines to a client without the
/// `batch` capability. All batch framing goes through here. Inside a labeled reply the
/// batch is the whole reply (the label goes on its start) or nests in the
/// `labeled-response` batch: [`crate::core::labeled`] sees to both.
pub struct Batch {
    conn: ConnId,
    reference: Option<Box<str>>,
}

impl Batch {
    /// Opens a batch for `conn` if its client negotiated `batch`.
    pub fn open(w: &mut World, conn: ConnId, kind: &str, target: &str, out: &mut Outbox) -> Batch {
        let batch = w
            .local(conn)
            .and_then(|l| l.client)
            .is_some_and(|cid| w.clients[cid].caps & caps::BATCH != 0);
        let reference = batch.then(|| w.next_batch_ref());
        Batch::start(w, conn, reference, kind, target, out)
    }

    /// Lines outside any batch (SUB and UNSUB replies), through the same sender.
    pub fn none(conn: ConnId) -> Batch {
        Batch {
            conn,
            reference: None,
        }
    }

    fn start(
        w: &World,
        conn: ConnId,
        reference: Option<Box<str>>,
        kind: &str,
        target: &str,
        out: &mut Outbox,
    ) -> Batch {
        if let Some(r) = &reference {
            let line = Line::new(w.name(), "BATCH")
                .arg(format!("+{r}"))
                .arg(kind)
                .arg(target)
                .finish();
            out.send(conn, line);
        }
        Batch { conn, reference }
    }

    pub fn send(&self, out: &mut Outbox, line: Rc<[u8]>) {
        match &self.reference {
            Some(r) => out.send(self.conn, with_tag(format!("batch={r}").as_bytes(), &line)),
            None => out.send(self.conn, line),
        }
    }

    pub fn close(self, w: &World, out: &mut Outbox) {
        if let Some(r) = self.reference {
            let line = Line::new(w.name(), "BATCH").arg(format!("-{r}")).finish();
            out.send(self.conn, line);
        }
    }
}

/// `:<source> METADATA <target> <key> * [:<value>]` (no value: the key was deleted).
pub fn line(source: &str, target: &str, key: &str, value: &[u8]) -> Rc<[u8]> {
    let l = Line::new(source, "METADATA").arg(target).arg(key).arg("*");
    if value.is_empty() {
        l.finish()
    } else {
        l.trailing(value).finish()
    }
}

/// Sends a change to the local users in `to` who negotiated the capability and
/// subscribed to `key`, except `skip` (the setter: it has its numeric reply).
fn send_to(
    w: &World,
    to: impl Iterator<Item = ClientId>,
    skip: Option<ClientId>,
    key: &str,
    line: &Rc<[u8]>,
    out: &mut Outbox,
) {
    for c in to.filter(|&c| Some(c) != skip) {
        let client = &w.clients[c];
        if let Some(conn) = client.conn {
            if client.caps & caps::METADATA != 0 && w.subscribed(c, key) {
                out.send(conn, line.clone());
            }
        }
    }
}

/// A channel key changed (by METADATA, PROP, a portal or the configuration): its
/// members hear of it.
pub fn channel_changed(
    w: &World,
    ch: ChanId,
    key: &ChanKey,
    value: &[u8],
    source: &str,
    setter: Option<ClientId>,
    out: &mut Outbox,
) {
    if !shown(key) {
        return;
    }
    let name = key.key();
    let chan = &w.channels[ch];
    let line = line(source, &chan.name, &name, value);
    send_to(w, chan.members.keys().copied(), setter, &name, &line, out);
}

/// A user's key changed: the users sharing a channel with them hear of it, each once.
pub fn user_changed(
    w: &World,
    cid: ClientId,
    key: &str,
    value: &[u8],
    source: &str,
    setter: Option<ClientId>,
    out: &mut Outbox,
) {
    let line = line(source, &w.clients[cid].nick, key, value);
    let mut to = vec![cid];
    for &ch in &w.clients[cid].chans {
        to.extend(w.channels[ch].members.keys().copied());
    }
    to.sort_unstable();
    to.dedup();
    send_to(w, to.into_iter(), setter, key, &line, out);
}

/// Whether METADATA shows a channel key at all: never the keys, which are passwords, nor
/// the names IRCX reserves.
pub fn shown(key: &ChanKey) -> bool {
    !matches!(
        key,
        ChanKey::Prop(Prop::MemberKey | Prop::HostKey | Prop::OwnerKey)
    ) && !key.reserved()
}

/// The channel's keys `viewer` may read, with their values, as METADATA names them.
pub fn channel_values(w: &World, ch: ChanId, viewer: ClientId) -> Vec<(String, Vec<u8>)> {
    let chan = &w.channels[ch];
    let ircx = Prop::all()
        .map(ChanKey::Prop)
        .filter(|k| shown(k) && prop::may_read_key(w, chan, viewer, k))
        .filter_map(|k| {
            let ChanKey::Prop(p) = k else { return None };
            Some((k.key(), prop::value(chan, p)?.into_owned()))
        });
    let free = chan
        .free_props()
        .iter()
        .filter(|_| prop::may_read_key(w, chan, viewer, &ChanKey::Free("".into())))
        .map(|e: &Entry| (e.key.to_string(), e.value.to_vec()));
    ircx.chain(free).collect()
}

/// `METADATA` lines for what `viewer` subscribed to: of a channel and its members (a
/// channel target, as SYNC and a JOIN give), or of one user.
pub fn sync_lines(
    w: &World,
    viewer: ClientId,
    ch: Option<ChanId>,
    user: Option<ClientId>,
) -> Vec<Rc<[u8]>> {
    let me = w.name();
    let mut lines = Vec::new();
    let mut users = Vec::new();
    if let Some(ch) = ch {
        let chan = &w.channels[ch];
        for (key, v) in channel_values(w, ch, viewer) {
            if w.subscribed(viewer, &key) {
                lines.push(line(me, &chan.name, &key, &v));
            }
        }
        users.extend(chan.members.keys().copied());
    }
    users.extend(user);
    for c in users {
        for e in w.user_meta(c) {
            if w.subscribed(viewer, &e.key) {
                lines.push(line(me, &w.clients[c].nick, &e.key, &e.value));
            }
        }
    }
    lines
}

/// Sends the sync lines in one `metadata` batch (an empty one too: SYNC's reply is a
/// batch whatever it holds).
pub fn send_sync(
    w: &mut World,
    conn: ConnId,
    viewer: ClientId,
    target: &str,
    ch: Option<ChanId>,
    user: Option<ClientId>,
    out: &mut Outbox,
) {
    let lines = sync_lines(w, viewer, ch, user);
    send_in_batch(w, conn, target, lines, out);
}

fn send_in_batch(
    w: &mut World,
    conn: ConnId,
    target: &str,
    lines: Vec<Rc<[u8]>>,
    out: &mut Outbox,
) {
    let batch = Batch::open(w, conn, "metadata", target, out);
    for l in lines {
        batch.send(out, l);
    }
    batch.close(w, out);
}

/// A local client with the capability and subscriptions joined: it gets the channel's
/// and its members' values for the keys it follows (the draft's join sync), in a batch
/// when there are any (no empty batch after every JOIN). Bounded by the members, as the
/// NAMES reply before it is.
pub fn on_join(w: &mut World, conn: ConnId, cid: ClientId, ch: ChanId, out: &mut Outbox) {
    if w.clients[cid].caps & caps::METADATA == 0 || !w.metadata.subs.contains_key(&cid) {
        return;
    }
    let lines = sync_lines(w, cid, Some(ch), None);
    if !lines.is_empty() {
        let name = w.channels[ch].name.to_string();
        send_in_batch(w, conn, &name, lines, out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::testing::TestWorld;

    #[test]
    fn a_batch_frames_and_tags_its_lines() {
        let mut t = TestWorld::new();
        let a = t.user("alice");
        let mut out = Outbox::default();
        let b = Batch::start(&t.w, a, Some("m1".into()), "metadata", "#c", &mut out);
        b.send(
            &mut out,
            Line::new("irc.test", "METADATA").arg("x").finish(),
        );
        b.close(&t.w, &mut out);
        let got: Vec<String> = out
            .sends
            .iter()
            .map(|(_, l)| String::from_utf8_lossy(l).trim_end().to_string())
            .collect();
        assert_eq!(
            got,
            [
                ":irc.test BATCH +m1 metadata #c",
                "@batch=m1 :irc.test METADATA x",
                ":irc.test BATCH -m1",
            ]
        );
    }
}
