//! Owners (IRCX `+q`) on native links that lack the `IRCX` capability: an older Portico.
//! They travel as ops there, so the far side gives them the rights it knows (IRCX.md §6):
//! `~` in an SJOIN becomes `@`, MODE `+q` becomes `+o`, and `-q` becomes `-o` unless the
//! member stays an op here. (ngIRCd has founders, `~` and `+q`, and gets owners as such.)

use super::LinkMsg;
use crate::core::handlers::mode::modestring;
use crate::core::modes::{self, Status};
use crate::core::World;
use crate::proto::casemap::is_channel;

/// What a link without `IRCX` gets instead of a message.
pub enum Degraded {
    Same,
    /// Nothing: the message only took owner status from an op.
    Nothing,
    As(Box<LinkMsg>),
}

/// The form of `msg` for a link without `IRCX` (it differs when it names an owner).
pub fn degrade(w: &World, msg: &LinkMsg) -> Degraded {
    let changed = match msg.verb() {
        "SJOIN" if msg.len() >= 4 => sjoin(msg),
        "MODE" if is_channel(msg.param(0)) && msg.param(1).contains(&b'q') => mode(w, msg),
        _ => return Degraded::Same,
    };
    match changed {
        None => Degraded::Same,
        Some(None) => Degraded::Nothing,
        Some(Some(m)) => Degraded::As(Box::new(m)),
    }
}

/// The member list with each owner shown as an op.
fn sjoin(msg: &LinkMsg) -> Option<Option<LinkMsg>> {
    let last = msg.len() - 1;
    let members = msg.param(last);
    let owner = |t: &&[u8]| Status::parse_prefixed(t).0.contains(Status::OWNER);
    if !members.split(|&b| b == b' ').any(|t| owner(&t)) {
        return None;
    }
    let mut list = String::with_capacity(members.len());
    for token in members.split(|&b| b == b' ').filter(|t| !t.is_empty()) {
        let (status, nick) = Status::parse_prefixed(token);
        if !list.is_empty() {
            list.push(' ');
        }
        as_op(status).push_prefixes(&mut list, true, 0);
        list.push_str(&String::from_utf8_lossy(nick));
    }
    let mut m = LinkMsg::new(msg.prefix(), msg.verb());
    for i in 0..last {
        m = m.arg(msg.param(i));
    }
    Some(Some(m.trailing(list)))
}

fn as_op(status: Status) -> Status {
    if status.contains(Status::OWNER) {
        status.without(Status::OWNER).with(Status::OP)
    } else {
        status
    }
}

/// The mode change with `q` as `o`; a `-q` whose member is still an op here is left out.
fn mode(w: &World, msg: &LinkMsg) -> Option<Option<LinkMsg>> {
    let chan = w.find_channel(msg.param(0));
    let mut changes = Vec::new();
    let mut args = Vec::new();
    let mut next = 2;
    let mut plus = true;
    for &c in msg.param(1) {
        if c == b'+' || c == b'-' {
            plus = c == b'+';
            continue;
        }
        let takes = modes::channel_mode(c).is_some_and(|m| m.takes_param(plus));
        let arg = takes.then(|| {
            next += 1;
            msg.param(next - 1)
        });
        let letter = match c {
            b'q' if !plus && still_op(w, chan, arg.unwrap_or_default()) => continue,
            b'q' => b'o',
            other => other,
        };
        changes.push((plus, letter));
        args.extend(arg);
    }
    if changes.is_empty() {
        return Some(None);
    }
    let letters = modestring(changes.into_iter());
    let mut m = LinkMsg::new(msg.prefix(), "MODE")
        .arg(msg.param(0))
        .arg(letters);
    for a in args {
        m = m.arg(a);
    }
    Some(Some(m))
}

fn still_op(w: &World, chan: Option<crate::core::ChanId>, nick: &[u8]) -> bool {
    let (Some(ch), Some(cid)) = (chan, w.find_nick(nick)) else {
        return false;
    };
    w.channels[ch]
        .members
        .get(&cid)
        .is_some_and(|s| s.contains(Status::OP))
}
