//! RENAME (IRCv3 draft/channel-rename): `RENAME <old> <new> [:reason]` renames a channel
//! and keeps everything else about it (members, modes, topic, lists, IRCX properties,
//! ACCESS entries, OID, timestamps, invitations: all hang off the channel, not its name).
//!
//! Who may rename: a channel operator; in a channel that has an IRCX owner, only an owner
//! (hosts do not act on owners, shared/design/IRCX.md §2, and the name is the owners'
//! channel itself); an IRCX sysop manager anywhere (managers override any channel
//! restriction). Plain IRC operators get no more than their channel status gives them.
//!
//! Members with the capability see `:<renamer> RENAME <old> <new> :<reason>`; the others
//! see themselves PART the old name and JOIN the new one, with its topic and NAMES, as the
//! specification's fallback asks (nothing at all for a change of case only). The link side
//! (`RENAME` to other servers, racing lines, collisions) is in `portal::rename`.

use crate::core::caps;
use crate::core::dispatch::{err, Ctx, HResult};
use crate::core::fanout::Msg;
use crate::core::handlers::channel::{after_join, cut, join_msg};
use crate::core::handlers::mode::NOT_OWNER;
use crate::core::modes::Status;
use crate::core::portal::{cap, LinkMsg};
use crate::core::state::cmode;
use crate::core::{ChanId, ClientId, ConnId, Outbox, World};
use crate::limits::{CHANNEL_LEN, RENAME_COOLDOWN_MS, TOPIC_LEN};
use crate::proto::casemap::valid_channel;
use crate::proto::line::Line;
use crate::proto::numeric as n;
use crate::proto::Message;

/// Why a rename is refused with a standard reply: `FAIL RENAME <code> <old> <new> :<text>`.
struct Refused {
    code: &'static str,
    text: String,
}

fn cannot(text: impl Into<String>) -> Refused {
    Refused {
        code: "CANNOT_RENAME",
        text: text.into(),
    }
}

pub fn rename(ctx: &mut Ctx<'_>, msg: &Message<'_>) -> HResult {
    if !ctx.is_local() {
        return crate::core::portal::rename::rename_from_link(ctx, msg);
    }
    let cid = ctx.client();
    let (old, new) = (msg.param(0), msg.param(1));
    let ch = ctx
        .w
        .find_channel(old)
        .ok_or_else(|| err(n::ERR_NOSUCHCHANNEL, &[old]))?;
    may_rename(ctx.w, ch, cid, old)?;
    if !valid_channel(new, CHANNEL_LEN) {
        return Err(err(n::ERR_BADCHANNAME, &[new]));
    }
    let new = std::str::from_utf8(new).expect("valid_channel checks UTF-8");
    if let Some(r) = refusal(ctx.w, ch, new) {
        let line = ctx
            .w
            .fail_line("RENAME", r.code, &[old, new.as_bytes()], &r.text);
        ctx.out.send(ctx.conn, line);
        return Ok(());
    }
    let reason = cut(msg.param(2), TOPIC_LEN);
    let w = &mut *ctx.w;
    let (ts, old_name) = (w.channels[ch].created_ms, w.channels[ch].name.clone());
    apply(w, ch, new, cid, reason, ctx.out);
    let link = LinkMsg::new(&w.clients[cid].nick, "RENAME")
        .arg(ts.to_string())
        .arg(&*old_name)
        .arg(new)
        .trailing(reason)
        .needs(cap::RENAME);
    ctx.propagate(&link);
    Ok(())
}

/// 442 or 482 unless `cid` may rename `ch` (see the module's comment).
fn may_rename(w: &World, ch: ChanId, cid: ClientId, name: &[u8]) -> HResult {
    if w.is_manager(cid) {
        return Ok(());
    }
    let chan = &w.channels[ch];
    let Some(&status) = chan.members.get(&cid) else {
        return Err(err(n::ERR_NOTONCHANNEL, &[name]));
    };
    let owned = chan.members.values().any(|s| s.at_least(Status::OWNER));
    if owned && !status.at_least(Status::OWNER) {
        let num = if status.is_op() {
            NOT_OWNER
        } else {
            n::ERR_CHANOPRIVSNEEDED
        };
        return Err(err(num, &[name]));
    }
    if !status.is_op() {
        return Err(err(n::ERR_CHANOPRIVSNEEDED, &[name]));
    }
    Ok(())
}

/// Why `ch` may not become `new` (a valid channel name), if it may not.
fn refusal(w: &World, ch: ChanId, new: &str) -> Option<Refused> {
    let chan = &w.channels[ch];
    if chan.name.as_bytes()[0] != new.as_bytes()[0] {
        return Some(cannot("You cannot change a channel prefix type"));
    }
    if *chan.name == *new {
        return Some(cannot("The channel already has that name"));
    }
    if w.find_channel(new.as_bytes())
        .is_some_and(|other| other != ch)
    {
        return Some(Refused {
            code: "CHANNEL_NAME_IN_USE",
            text: "The channel name is already taken".into(),
        });
    }
    if chan.is_registered() {
        return Some(cannot(
            "The channel is registered in the server configuration: rename it there",
        ));
    }
    if chan.has(cmode::CLONE) {
        return Some(cannot("A clone channel cannot be renamed"));
    }
    if chan.has(cmode::CLONEABLE) && new.ends_with(|c: char| c.is_ascii_digit()) {
        return Some(cannot("A cloneable channel's name cannot end in a digit"));
    }
    // Clones are found by name (`<parent><n>`): renamed, the parent would lose them.
    if chan.has(cmode::CLONEABLE) && crate::core::handlers::ircx::clone::has_clones(w, ch) {
        return Some(cannot(
            "A cloneable channel cannot be renamed while it has clones",
        ));
    }
    if w.renamed_within(ch, RENAME_COOLDOWN_MS) {
        return Some(cannot("This channel has been renamed recently"));
    }
    if let Some(server) = w.rename_blocker() {
        return Some(cannot(format!(
            "Server {server} cannot rename channels, so the network would disagree on the name"
        )));
    }
    None
}

/// Renames `ch` to `new` here and shows it to local members: `by` (a user, local or
/// remote) renamed it, with `reason` (may be empty).
pub fn apply(w: &mut World, ch: ChanId, new: &str, by: ClientId, reason: &[u8], out: &mut Outbox) {
    let old = w.channels[ch].name.clone();
    let old_key = w.fold(&old);
    if w.chan_names.get(&old_key) == Some(&ch) {
        w.chan_names.remove(&old_key);
    }
    w.channels[ch].name = new.into();
    let key = w.fold(new);
    w.read_markers.rename(&old_key, &key);
    w.chan_names.insert(key, ch);
    w.remember_rename(ch, &old);
    let case_only = old_key == w.fold(new);
    let line = Line::new(&w.clients[by].mask(), "RENAME")
        .arg(&*old)
        .arg(new)
        .trailing(reason)
        .finish();
    let mut m = w.user_msg(by, line);
    // A copy of the local roster: a fallback's JOIN burst needs the world.
    for local in w.channels[ch].local.clone() {
        if local.caps & caps::CHANNEL_RENAME != 0 {
            out.send(local.conn, m.for_caps(local.caps));
        } else if !case_only {
            rejoin(w, ch, local.cid, local.conn, &old, reason, out);
        }
    }
}

/// The fallback for a member without the capability: it parts the old name (with the
/// reason as its part message) and joins the new one, with the topic and NAMES a JOIN
/// brings (none with draft/no-implicit-names).
pub fn rejoin(
    w: &mut World,
    ch: ChanId,
    member: ClientId,
    conn: ConnId,
    old: &str,
    reason: &[u8],
    out: &mut Outbox,
) {
    let member_caps = w.clients[member].caps;
    out.send(conn, part_msg(w, member, old, reason).for_caps(member_caps));
    let mut join = join_msg(w, ch, member);
    out.send(conn, join.for_caps(member_caps));
    after_join(w, conn, member, ch, out);
}

/// `member`'s PART of a channel's old name `name` in a rename's fallback, with the
/// rename's reason as its part message (none when empty).
pub fn part_msg(w: &World, member: ClientId, name: &str, reason: &[u8]) -> Msg {
    let mut part = w.clients[member].line("PART").arg(name);
    if !reason.is_empty() {
        part = part.trailing(reason);
    }
    w.user_msg(member, part.finish())
}

#[cfg(test)]
#[path = "rename_tests.rs"]
mod tests;
