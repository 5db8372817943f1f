//! IRCv3 SASL (3.1 and 3.2): `AUTHENTICATE`, mechanism PLAIN, against the `[[account]]`
//! entries IRCX `AUTH PLAIN` uses too.
//!
//! ```text
//! C: AUTHENTICATE PLAIN          S: AUTHENTICATE +
//! C: AUTHENTICATE <base64>       (400-byte chunks; a chunk of exactly 400 is followed by
//!                                 more, or by `AUTHENTICATE +` when that was all)
//! S: 900 … :You are now logged in as ann      S: 903 …   (or 904 when it failed)
//! ```
//!
//! `AUTHENTICATE *` aborts (906); a line over 400 bytes gets 905; another mechanism 908 and
//! 904. Registration waits for CAP END, and CAP END during an exchange aborts it (906). A
//! registered user who is not logged in may still authenticate (SASL 3.2); one who is gets
//! 907. The argon2 check runs on the shell's worker ([`crate::core::checks`]), so the
//! answer comes later, from [`checked`]. An address suspended for guessing gets 904
//! without a check.

use crate::core::accounts::{start_plain, PlainStart};
use crate::core::checks::{Purpose, Verdict};
use crate::core::dispatch::{err, Ctx, HResult};
use crate::core::handlers::ircx::auth::base64_decode;
use crate::core::{ConnId, Outbox, World};
use crate::proto::line::Line;
use crate::proto::numeric as n;
use crate::proto::Message;

/// Longest `AUTHENTICATE` argument; a longer response comes in chunks of this size.
pub const CHUNK: usize = 400;
/// Longest response put together from chunks (base64 of a PLAIN message far longer than
/// any account name and password).
const MAX_RESPONSE: usize = 4 * CHUNK;

/// One connection's exchange in progress (mechanism PLAIN, the only one).
#[derive(Debug, Default)]
pub struct Exchange {
    /// The base64 response so far.
    response: Vec<u8>,
    /// The response is complete and its check in flight.
    checking: bool,
}

pub fn authenticate(ctx: &mut Ctx<'_>, msg: &Message<'_>) -> HResult {
    let (w, conn) = (&mut *ctx.w, ctx.conn);
    let arg = msg.param(0);
    if arg == b"*" {
        return Err(abort(w, conn));
    }
    if w.conn_account(conn).is_some() {
        return Err(err(n::ERR_SASLALREADY, &[]));
    }
    if arg.len() > CHUNK {
        end(w, conn);
        return Err(err(n::ERR_SASLTOOLONG, &[]));
    }
    let Some(ex) = w.sasl.get_mut(&conn) else {
        return start(ctx, arg);
    };
    if ex.checking {
        // Nothing more is expected until the verdict: the client gave up waiting.
        return Err(abort(w, conn));
    }
    if arg != b"+" {
        ex.response.extend_from_slice(arg);
    }
    if ex.response.len() > MAX_RESPONSE {
        end(w, conn);
        return Err(err(n::ERR_SASLTOOLONG, &[]));
    }
    if arg.len() == CHUNK {
        return Ok(());
    }
    ex.checking = true;
    let decoded = base64_decode(&ex.response).unwrap_or_default();
    match start_plain(w, conn, &decoded, Purpose::Sasl, ctx.out) {
        PlainStart::Started => Ok(()),
        PlainStart::Malformed => {
            w.secret_failed(conn);
            end(w, conn);
            Err(err(n::ERR_SASLFAIL, &[]))
        }
        PlainStart::Busy => {
            end(w, conn);
            Err(err(n::ERR_SASLFAIL, &[]))
        }
    }
}

/// `AUTHENTICATE <mechanism>`: PLAIN starts an exchange, anything else is refused with the
/// list of mechanisms.
fn start(ctx: &mut Ctx<'_>, mechanism: &[u8]) -> HResult {
    if !mechanism.eq_ignore_ascii_case(b"PLAIN") {
        ctx.w
            .reply(ctx.out, ctx.conn, n::RPL_SASLMECHS, &[b"PLAIN"]);
        return Err(err(n::ERR_SASLFAIL, &[]));
    }
    if ctx.w.suspended(ctx.conn).is_some() {
        return Err(err(n::ERR_SASLFAIL, &[]));
    }
    ctx.w.sasl.insert(ctx.conn, Exchange::default());
    let line = Line::bare("AUTHENTICATE").arg("+").finish();
    ctx.out.send(ctx.conn, line);
    Ok(())
}

/// Forgets the exchange of `conn`; a check in flight finishes nothing (but still counts).
fn end(w: &mut World, conn: ConnId) {
    if w.sasl.remove(&conn).is_some() {
        w.abandon_checks(conn);
    }
}

/// The client (`AUTHENTICATE *`) or its CAP END gave up: 906.
fn abort(w: &mut World, conn: ConnId) -> crate::core::dispatch::Reply {
    end(w, conn);
    err(n::ERR_SASLABORTED, &[])
}

/// CAP END: an exchange still going is aborted, as the SASL specification says.
pub fn cap_end(w: &mut World, conn: ConnId, out: &mut Outbox) {
    if w.sasl.contains_key(&conn) {
        end(w, conn);
        w.reply(out, conn, n::ERR_SASLABORTED, &[]);
    }
}

/// The connection closed: its exchange goes with it.
pub fn closed(w: &mut World, conn: ConnId) {
    w.sasl.remove(&conn);
}

/// The verdict of a PLAIN check: 900 and 903 with the account, or 904.
pub fn checked(
    w: &mut World,
    conn: ConnId,
    account: Option<Box<str>>,
    verdict: Verdict,
    out: &mut Outbox,
) {
    if w.sasl.remove(&conn).is_none() {
        return;
    }
    let Some(account) = account else {
        log::info!("conn {conn}: SASL PLAIN failed ({verdict:?})");
        w.reply(out, conn, n::ERR_SASLFAIL, &[]);
        return;
    };
    w.log_in(conn, &account, out);
    let mask = conn_mask(w, conn);
    let line = w
        .num(conn, n::RPL_LOGGEDIN)
        .arg(mask)
        .arg(&*account)
        .trailing(format!("You are now logged in as {account}"))
        .finish();
    out.send(conn, line);
    w.reply(out, conn, n::RPL_SASLSUCCESS, &[]);
}

/// `nick!user@host` of a connection, `*` for what registration has not told yet.
fn conn_mask(w: &World, conn: ConnId) -> String {
    let Some(local) = w.local(conn) else {
        return "*!*@*".into();
    };
    if let Some(cid) = local.client {
        return w.clients[cid].mask();
    }
    let reg = local.reg.as_deref();
    let nick = reg.and_then(|r| r.nick.as_deref()).unwrap_or("*");
    let user = reg.and_then(|r| r.user.as_ref()).map_or("*", |(u, _)| u);
    format!("{nick}!{user}@{}", local.host)
}
