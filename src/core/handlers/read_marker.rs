//! IRCv3 `draft/read-marker`: MARKREAD. A logged-in user's clients tell each other how far
//! they have read each buffer (channel or nick). Markers are kept per account and target
//! in memory, on this server only: they are not written to the state file (a restart
//! forgets them, as it forgets the logins) nor sent to other servers (a user's sessions
//! on another server keep their own; docs/PROTOCOL.md says why).

use crate::core::caps;
use crate::core::dispatch::{Ctx, HResult};
use crate::core::{ChanId, ClientId, ConnId, Outbox, World};
use crate::proto::casemap::{valid_channel, valid_nick};
use crate::proto::line::Line;
use crate::proto::time::{iso8601, parse_iso8601};
use crate::proto::Message;
use hashbrown::HashMap;

/// Targets one account may keep a marker for: a bound on what a client can make the
/// server hold (a new target past it gets INTERNAL_ERROR; existing ones still move).
pub const MAX_MARKERS: usize = 1000;

/// What became of a marker a client moved.
#[derive(Debug, PartialEq, Eq)]
pub enum Advance {
    /// It moved forward.
    Moved,
    /// The stored one is as new or newer: it stays.
    Kept,
    /// A new target, and the account holds [`MAX_MARKERS`] already.
    Full,
}

/// Read markers: account → folded target → Unix milliseconds of the last message read.
#[derive(Debug, Default)]
pub struct ReadMarkers {
    by_account: HashMap<Box<str>, HashMap<Box<str>, u64>>,
}

impl ReadMarkers {
    pub fn get(&self, account: &str, target: &str) -> Option<u64> {
        self.by_account.get(account)?.get(target).copied()
    }

    /// Moves a marker forward to `ms`, if that is forward.
    pub fn advance(&mut self, account: &str, target: &str, ms: u64) -> Advance {
        let map = self.by_account.entry(account.into()).or_default();
        let full = map.len() >= MAX_MARKERS;
        match map.get_mut(target) {
            Some(stored) if *stored >= ms => Advance::Kept,
            Some(stored) => {
                *stored = ms;
                Advance::Moved
            }
            None if full => Advance::Full,
            None => {
                map.insert(target.into(), ms);
                Advance::Moved
            }
        }
    }

    /// A channel was renamed (folded names): every account's marker moves with it, the
    /// newer one kept if the account had one under the new name too.
    pub fn rename(&mut self, old: &str, new: &str) {
        for map in self.by_account.values_mut() {
            if let Some(ms) = map.remove(old) {
                let kept = map.entry(new.into()).or_insert(ms);
                *kept = (*kept).max(ms);
            }
        }
    }
}

/// `MARKREAD <target> [timestamp=…]`: without a timestamp a get, with one a set.
pub fn markread(ctx: &mut Ctx<'_>, msg: &Message<'_>) -> HResult {
    let cid = ctx.client();
    let target = msg.param(0);
    if target.is_empty() {
        fail(ctx, "NEED_MORE_PARAMS", &[], "Missing parameters");
        return Ok(());
    }
    let max_nick = ctx.w.config.limits.nick_length;
    let valid = valid_channel(target, crate::limits::CHANNEL_LEN) || valid_nick(target, max_nick);
    let Some(target) = std::str::from_utf8(target).ok().filter(|_| valid) else {
        fail(ctx, "INVALID_PARAMS", &[target], "Invalid parameters");
        return Ok(());
    };
    let Some(account) = ctx.w.account(cid).map(str::to_string) else {
        let text = "You must be logged in to use read markers";
        fail(ctx, "ACCOUNT_REQUIRED", &[target.as_bytes()], text);
        return Ok(());
    };
    let key = ctx.w.cm.fold(target);
    if msg.len() < 2 {
        let stored = ctx.w.read_markers.get(&account, &key);
        ctx.out.send(ctx.conn, marker_line(ctx.w, target, stored));
        return Ok(());
    }
    let given = msg.param(1);
    let Some(ms) = parse_timestamp(given) else {
        fail(ctx, "INVALID_PARAMS", &[given], "Invalid parameters");
        return Ok(());
    };
    // A marker never runs ahead of the clock (the spec's clamp).
    let ms = ms.min(ctx.w.now.unix_ms);
    match ctx.w.read_markers.advance(&account, &key, ms) {
        Advance::Moved => ctx
            .w
            .broadcast_marker(&account, ctx.conn, target, ms, ctx.out),
        Advance::Kept => {
            let stored = ctx.w.read_markers.get(&account, &key);
            ctx.out.send(ctx.conn, marker_line(ctx.w, target, stored));
        }
        Advance::Full => {
            let text = "The read timestamp could not be set";
            fail(ctx, "INTERNAL_ERROR", &[target.as_bytes()], text);
        }
    }
    Ok(())
}

/// `timestamp=YYYY-MM-DDThh:mm:ss.sssZ` as Unix milliseconds (`*` and others: `None`).
fn parse_timestamp(param: &[u8]) -> Option<u64> {
    let v = std::str::from_utf8(param.strip_prefix(b"timestamp=")?).ok()?;
    parse_iso8601(v)
}

/// `:<server> MARKREAD <target> timestamp=…` (or `*`: no marker).
fn marker_line(w: &World, target: &str, ms: Option<u64>) -> std::rc::Rc<[u8]> {
    let value = ms.map_or_else(
        || "*".to_string(),
        |ms| format!("timestamp={}", iso8601(ms)),
    );
    Line::new(w.name(), "MARKREAD")
        .arg(target)
        .arg(value)
        .finish()
}

/// `FAIL MARKREAD <code> [<context>…] :<text>`.
fn fail(ctx: &mut Ctx<'_>, code: &str, context: &[&[u8]], text: &str) {
    let line = ctx.w.fail_line("MARKREAD", code, context, text);
    ctx.out.send(ctx.conn, line);
}

impl World {
    /// A marker moved: the client that moved it is answered, and every other session of
    /// the account on this server that negotiated `draft/read-marker` is told.
    fn broadcast_marker(
        &self,
        account: &str,
        from: ConnId,
        target: &str,
        ms: u64,
        out: &mut Outbox,
    ) {
        let line = marker_line(self, target, Some(ms));
        out.send(from, line.clone());
        for (&cid, a) in &self.accounts {
            let c = &self.clients[cid];
            match c.conn {
                Some(conn)
                    if conn != from && **a == *account && c.caps & caps::READ_MARKER != 0 =>
                {
                    out.send(conn, line.clone());
                }
                _ => {}
            }
        }
    }
}

/// After a local JOIN, before the NAMES that follow it: the channel's marker for a client
/// with `draft/read-marker` (`*` when there is none, or the user is not logged in).
pub fn on_join(w: &World, conn: ConnId, cid: ClientId, ch: ChanId, out: &mut Outbox) {
    if w.clients[cid].caps & caps::READ_MARKER == 0 {
        return;
    }
    let name = &*w.channels[ch].name;
    let stored = w
        .account(cid)
        .and_then(|a| w.read_markers.get(a, &w.cm.fold(name)));
    out.send(conn, marker_line(w, name, stored));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markers_follow_a_renamed_channel() {
        let mut m = ReadMarkers::default();
        m.advance("a", "#old", 10);
        m.advance("b", "#old", 30);
        m.advance("b", "#new", 20);
        m.rename("#old", "#new");
        assert_eq!((m.get("a", "#old"), m.get("a", "#new")), (None, Some(10)));
        assert_eq!((m.get("b", "#old"), m.get("b", "#new")), (None, Some(30)));
    }

    #[test]
    fn markers_only_move_forward_and_are_bounded() {
        let mut m = ReadMarkers::default();
        assert_eq!(m.get("acct", "#c"), None);
        assert_eq!(m.advance("acct", "#c", 10), Advance::Moved);
        assert_eq!(m.advance("acct", "#c", 10), Advance::Kept);
        assert_eq!(m.advance("acct", "#c", 5), Advance::Kept);
        assert_eq!(m.get("acct", "#c"), Some(10));
        assert_eq!(m.advance("acct", "#c", 11), Advance::Moved);
        assert_eq!(m.get("other", "#c"), None);
        for i in 1..MAX_MARKERS {
            assert_eq!(m.advance("acct", &format!("#t{i}"), 1), Advance::Moved);
        }
        assert_eq!(m.advance("acct", "#one-too-many", 1), Advance::Full);
        assert_eq!(m.advance("acct", "#c", 12), Advance::Moved);
    }

    #[test]
    fn timestamps_take_the_spec_form_only() {
        assert_eq!(
            parse_timestamp(b"timestamp=2019-01-04T14:33:26.123Z"),
            Some(1_546_612_406_123)
        );
        assert_eq!(parse_timestamp(b"*"), None);
        assert_eq!(parse_timestamp(b"2019-01-04T14:33:26.123Z"), None);
        assert_eq!(parse_timestamp(b"timestamp=yesterday"), None);
    }
}
