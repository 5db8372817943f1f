//! IRCX CLONEABLE (+d, draft §8.1.16–17): a JOIN that finds a cloneable channel full goes
//! to a clone, `#name1` … `#name99`: the first that is a clone (+E) with room, or a new one
//! made from the original (its modes without `d` and with `E`, its key, limit, bans, topic
//! and properties). A new clone is announced to the original's IRCX hosts and owners as
//! `:<server> CLONE <original> <clone-oid>`.
//!
//! Changed from the draft: a name already taken by a channel that is not a clone is
//! skipped, not taken over ("any channel that has the same name is removed"): throwing its
//! members out would hurt more than a gap in the numbering.
//!
//! Clones are local for now: other servers see the joiner's SJOIN but not the clone's IRCX
//! modes, as for every IRCX mode until portals carry them (shared/design/IRCX.md §6).

use crate::core::caps;
use crate::core::fanout::Msg;
use crate::core::handlers::ircx::event::EventType;
use crate::core::state::cmode;
use crate::core::{ChanId, Outbox, World};
use crate::limits::CHANNEL_LEN;
use crate::proto::line::Line;

/// Highest clone number (draft: "ranging to 99").
const MAX_CLONES: u32 = 99;

/// The clone a joiner of the full cloneable channel `ch` goes to, made if need be; none
/// when all 99 names are taken or too long.
pub fn clone_for(w: &mut World, ch: ChanId, out: &mut Outbox) -> Option<ChanId> {
    for name in clone_names(&w.channels[ch].name.clone()) {
        match w.find_channel(name.as_bytes()) {
            Some(c) if has_room_as_clone(w, c) => return Some(c),
            Some(_) => continue,
            None => return Some(make_clone(w, ch, &name, out)),
        }
    }
    None
}

/// Whether any clone of the cloneable channel `ch` exists.
pub fn has_clones(w: &World, ch: ChanId) -> bool {
    clone_names(&w.channels[ch].name)
        .filter_map(|name| w.find_channel(name.as_bytes()))
        .any(|c| w.channels[c].has(cmode::CLONE))
}

/// The names a clone of `base` may have, in order: `<base>1` … `<base>99`, while they fit
/// in a channel name.
fn clone_names(base: &str) -> impl Iterator<Item = String> + '_ {
    (1..=MAX_CLONES)
        .map(move |i| format!("{base}{i}"))
        .take_while(|name| name.len() <= CHANNEL_LEN)
}

fn has_room_as_clone(w: &World, ch: ChanId) -> bool {
    let chan = &w.channels[ch];
    chan.has(cmode::CLONE) && (chan.limit == 0 || chan.members.len() < chan.limit as usize)
}

/// A new, empty clone of `ch` (the joiner is added by JOIN), and the CLONE message.
fn make_clone(w: &mut World, ch: ChanId, name: &str, out: &mut Outbox) -> ChanId {
    let orig = &w.channels[ch];
    let modes = orig.modes & !cmode::CLONEABLE | cmode::CLONE;
    let (key, limit, bans) = (orig.key.clone(), orig.limit, orig.bans.clone());
    let exceptions = orig.exceptions.clone();
    let topic = orig.topic.clone();
    let props = orig.props.as_ref().map(|p| Box::new(p.for_clone()));
    let clone = w.create_channel(name, w.now.unix_ms);
    let copy = &mut w.channels[clone];
    copy.modes = modes;
    copy.key = key;
    copy.limit = limit;
    copy.bans = bans;
    copy.exceptions = exceptions;
    copy.topic = topic;
    copy.props = props;
    if w.events_wanted() {
        let oid = w.channels[clone].oid_str();
        w.raise_event(EventType::Channel, "CREATE", None, &[name, &oid, "*"], None);
    }
    announce(w, ch, clone, out);
    clone
}

/// `:<server> CLONE <original> <clone-oid>` to the original's IRCX hosts and owners (RFC
/// clients never see CLONE).
fn announce(w: &World, ch: ChanId, clone: ChanId, out: &mut Outbox) {
    let line = Line::new(w.name(), "CLONE")
        .arg(&*w.channels[ch].name)
        .arg(w.channels[clone].oid_str())
        .finish();
    let mut m = Msg::new(line, w.now.unix_ms);
    for (&member, status) in &w.channels[ch].members {
        let c = &w.clients[member];
        if status.is_op() && c.caps & caps::DIALECT_IRCX != 0 {
            if let Some(conn) = c.conn {
                out.send(conn, m.for_caps(c.caps));
            }
        }
    }
}
