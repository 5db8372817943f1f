//! IRCX, the Exchange Chat dialect (draft-pfenning-irc-extensions-04, with the choices in
//! shared/design/IRCX.md): per connection, beside RFC and IRCv3 clients in the same channels.
//! A connection speaks RFC until it sends `IRCX`; its dialect is a bit of its capabilities
//! (`caps::DIALECT_IRCX`), so the fanout renders dialect-specific lines once per dialect.
//! IRCX numerics (800-999) only ever go to IRCX connections; the IRCX-only commands answer
//! 421 to the others (the command table's `ircx_only`).
//!
//! * this file — discovery and the switch: `IRCX`, `ISIRCX`, `MODE ISIRCX` → 800.
//! * [`access`], [`access_cmd`] — ACCESS lists of channels, users, `$` and `*`;
//!   [`access_state`] the text of those kept across restarts.
//! * [`auth`] — AUTH before registration: ANON, and PLAIN against `[[account]]`.
//! * [`whisper`] — WHISPER, and PRIVMSG/NOTICE to chosen members of a channel.
//! * [`create`] — CREATE, and the channel OIDs it reports.
//! * [`knock`] — KNOCK to a `+u` channel's hosts when a JOIN is refused.
//! * [`data`] — DATA, REQUEST and REPLY: tagged data, to IRCX clients only.
//! * [`listx`] — LISTX, the extended channel list with query terms.
//! * [`prop`] — PROP, channel properties (and the ONJOIN/ONPART/HOSTKEY hooks of JOIN, PART).
//! * [`registered`] — registered channels (`+r`) from `[[channel]]` in the configuration.
//! * [`lag`] — PROP LAG's held-back channel messages and their timer.
//! * [`clone`] — CLONEABLE channels (+d) sending joiners to clones when full.
//!
//! Levels (draft §4.1): sysop is `+o` ([`World::is_sysop`]), sysop manager `+a` as well
//! ([`World::is_manager`], from `[[oper]] level = "manager"`); a sysop gags a user with
//! `MODE <nick> +z` ([`World::is_gagged`]). The levels are this server's own; the gag
//! travels over portals with `IRCX` (`handlers/mode/gag.rs`).
//! REDIRECT goes to IRCX connections at shutdown (`World::shutdown`).

pub mod access;
pub mod access_cmd;
pub mod access_state;
#[cfg(test)]
mod access_tests;
pub mod auth;
#[cfg(test)]
mod auth_tests;
pub mod clone;
pub mod create;
pub mod data;
pub mod event;
#[cfg(test)]
mod event_tests;
pub mod knock;
pub mod lag;
#[cfg(test)]
mod levels_tests;
pub mod listx;
#[cfg(test)]
mod listx_tests;
#[cfg(test)]
mod modes_tests;
pub mod prop;
#[cfg(test)]
mod prop_tests;
pub mod registered;
#[cfg(test)]
mod registered_tests;
#[cfg(test)]
mod tests;
pub mod whisper;

use crate::core::caps::{self, Caps};
use crate::core::dispatch::{Ctx, HResult, Source};
use crate::core::fanout::Msg;
use crate::core::state::umode;
use crate::core::{ClientId, ConnId, World};
use crate::proto::line::Line;
use crate::proto::numeric as n;
use crate::proto::Message;

/// IRCX protocol version (draft §9.1: starting at 0).
const VERSION: &str = "0";
/// Authentication packages offered (the AUTH command, [`auth`]). ANON means anonymous
/// connections are permitted, which they are.
const PACKAGES: &str = "ANON,PLAIN";
/// Longest message, as 800 reports it (RFC 1459's 512).
const MAX_MSG: &str = "512";

impl World {
    /// The dialect bits of a connection (registered or not).
    pub fn dialect(&self, conn: ConnId) -> Caps {
        let Some(l) = self.local(conn) else { return 0 };
        let caps = match (l.client, &l.reg) {
            (Some(c), _) => self.clients[c].caps,
            (None, Some(r)) => r.caps,
            _ => 0,
        };
        caps & caps::DIALECTS
    }

    pub fn is_ircx(&self, conn: ConnId) -> bool {
        self.dialect(conn) & caps::DIALECT_IRCX != 0
    }

    /// IRCX level sysop: an IRC operator (`+o`). Sysop managers are sysops too.
    pub fn is_sysop(&self, cid: ClientId) -> bool {
        self.clients[cid].has(umode::OPER)
    }

    /// IRCX level sysop manager (`+a`, from an `[[oper]]` with `level = "manager"`). Levels
    /// are local for now: other servers only learn of the `+o`.
    pub fn is_manager(&self, cid: ClientId) -> bool {
        self.clients[cid].has(umode::MANAGER)
    }

    /// Gagged (`+z`, set by a sysop): whatever the user sends to others reaches nobody, and
    /// they are not told. Only ever set on local users: the gag is not carried to links.
    pub fn is_gagged(&self, cid: ClientId) -> bool {
        self.clients[cid].has(umode::GAG)
    }
}

/// `800 <nick|*> <state> <version> <packages> <maxmsg> <options>`.
pub fn send_ircx_state(ctx: &mut Ctx<'_>) {
    let state = if ctx.w.is_ircx(ctx.conn) { "1" } else { "0" };
    let line = ctx
        .w
        .num(ctx.conn, n::IRCRPL_IRCX)
        .arg(state)
        .arg(VERSION)
        .arg(PACKAGES)
        .arg(MAX_MSG)
        .arg("*")
        .finish();
    ctx.out.send(ctx.conn, line);
}

/// `ISIRCX`: whether this server speaks IRCX and whether the connection does; no switch.
pub fn isircx(ctx: &mut Ctx<'_>, _msg: &Message<'_>) -> HResult {
    send_ircx_state(ctx);
    Ok(())
}

/// `IRCX`: the connection speaks IRCX from now on (there is no way back, as in the draft).
/// A registered user is shown `+x` and told the server's features again in the IRCX view.
pub fn ircx(ctx: &mut Ctx<'_>, _msg: &Message<'_>) -> HResult {
    let switched = !ctx.w.is_ircx(ctx.conn);
    match ctx.src {
        Source::Local(cid) => {
            let bits = ctx.w.clients[cid].caps | caps::DIALECT_IRCX;
            ctx.w.set_caps(cid, bits);
            send_ircx_state(ctx);
            if switched {
                let w = &mut *ctx.w;
                w.set_umodes(cid, w.clients[cid].umodes | umode::IRCX);
                let nick = &w.clients[cid].nick;
                let line = Line::new(nick, "MODE").arg(&**nick).trailing("+x").finish();
                let mut m = Msg::new(line, w.now.unix_ms);
                w.send_client(cid, &mut m, ctx.out);
                crate::core::isupport::send(w, ctx.conn, ctx.out);
            }
        }
        _ => {
            // Before registration: the welcome burst will carry +x and the IRCX view.
            if let Some(reg) = ctx.w.reg_mut(ctx.conn) {
                reg.caps |= caps::DIALECT_IRCX;
            }
            send_ircx_state(ctx);
        }
    }
    Ok(())
}
#[cfg(test)]
mod owners_tests;
