//! IRCX AUTH (draft §5.2), before registration only: `AUTH <package> <sequence> [:<data>]`.
//!
//! * `ANON I`: succeeds and marks no account (anonymous connections are allowed anyway).
//! * `PLAIN I :<base64 of authzid\0user\0password>` (RFC 4616's message): checked against the
//!   `[[account]]` entries, whose passwords are argon2 hashes. The authzid must be empty or
//!   the user itself.
//!
//! Both packages take one step, so the sequence is always `I`; `*` aborts (910, as the
//! draft says), anything else is a bad command (900). Success is the server's
//! `AUTH <package> * <user>@<server> <oid>`, the user's OID (`World::user_oid`).
//! A second AUTH after a success gets 909, one after registration 462.
//!
//! Guessing is slowed twice: an unknown account costs the same argon2 check as a known one
//! (so the time of a failure does not tell which accounts exist), and an address the
//! [`Guard`](crate::core::guard::Guard) has suspended (too many failed secrets) gets 911
//! without any check. The check runs on the shell's worker thread ([`crate::core::checks`]);
//! its verdict answers later, through [`checked`].

use crate::core::accounts::{start_plain, PlainStart};
use crate::core::checks::Purpose;
use crate::core::dispatch::{err, Ctx, HResult, Source};
use crate::core::{ConnId, Outbox, World};
use crate::proto::line::Line;
use crate::proto::numeric as n;
use crate::proto::Message;

pub fn auth(ctx: &mut Ctx<'_>, msg: &Message<'_>) -> HResult {
    if !matches!(ctx.src, Source::Unregistered) {
        return Err(err(n::ERR_ALREADYREGISTERED, &[]));
    }
    let upper = msg.param(0).to_ascii_uppercase();
    let package: &[u8] = &upper;
    let Some(reg) = ctx.w.reg_mut(ctx.conn) else {
        return Err(err(n::ERR_ALREADYREGISTERED, &[]));
    };
    // A SASL login counts as one too.
    if reg.authed || reg.account.is_some() {
        return Err(err(n::IRCERR_ALREADYAUTHENTICATED, &[package]));
    }
    if !matches!(package, b"ANON" | b"PLAIN") {
        return Err(err(n::IRCERR_UNKNOWNPACKAGE, &[package]));
    }
    match msg.param(1) {
        b"I" | b"i" => {}
        b"*" => return Err(err(n::IRCERR_AUTHENTICATIONFAILED, &[package])),
        _ => return Err(err(n::IRCERR_BADCOMMAND, &[b"AUTH"])),
    }
    if package == b"ANON" {
        if let Some(reg) = ctx.w.reg_mut(ctx.conn) {
            reg.authed = true;
        }
        send_success(ctx.w, ctx.conn, "ANON", "anonymous", ctx.out);
        return Ok(());
    }
    if msg.len() < 3 {
        return Err(err(n::IRCERR_BADCOMMAND, &[b"AUTH"]));
    }
    if ctx.w.suspended(ctx.conn).is_some() {
        return Err(err(n::IRCERR_AUTHENTICATIONSUSPENDED, &[package]));
    }
    let decoded = base64_decode(msg.param(2)).unwrap_or_default();
    match start_plain(ctx.w, ctx.conn, &decoded, Purpose::Auth, ctx.out) {
        PlainStart::Started => Ok(()),
        PlainStart::Malformed => {
            log::info!("conn {}: AUTH PLAIN failed: malformed", ctx.conn);
            ctx.w.secret_failed(ctx.conn);
            Err(err(n::IRCERR_AUTHENTICATIONFAILED, &[package]))
        }
        PlainStart::Busy => Err(err(n::IRCERR_AUTHENTICATIONFAILED, &[package])),
    }
}

/// The verdict of an `AUTH PLAIN` check: the account on success (the connection may have
/// registered meanwhile: then the user is logged in as it is).
pub fn checked(w: &mut World, conn: ConnId, account: Option<Box<str>>, out: &mut Outbox) {
    let Some(account) = account else {
        log::info!("conn {conn}: AUTH PLAIN failed");
        w.reply(out, conn, n::IRCERR_AUTHENTICATIONFAILED, &[b"PLAIN"]);
        return;
    };
    if let Some(reg) = w.reg_mut(conn) {
        reg.authed = true;
    }
    w.log_in(conn, &account, out);
    send_success(w, conn, "PLAIN", &account, out);
}

/// `:<server> AUTH <package> * <user>@<server> <oid>`.
fn send_success(w: &World, conn: ConnId, package: &str, user: &str, out: &mut Outbox) {
    let server = w.name();
    let line = Line::new(server, "AUTH")
        .arg(package)
        .arg("*")
        .arg(format!("{user}@{server}"))
        .arg(w.user_oid(conn))
        .finish();
    out.send(conn, line);
}

/// Standard base64 (RFC 4648 §4) with `=` padding required; `None` on anything else.
pub fn base64_decode(s: &[u8]) -> Option<Vec<u8>> {
    fn value(c: u8) -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        } as u32)
    }
    if !s.len().is_multiple_of(4) {
        return None;
    }
    let mut out = Vec::with_capacity(s.len() / 4 * 3);
    let quads = s.len() / 4;
    for (i, q) in s.chunks_exact(4).enumerate() {
        let pad = q.iter().rev().take_while(|&&c| c == b'=').count();
        if pad > 2 || (pad > 0 && i + 1 != quads) {
            return None;
        }
        let mut n = 0u32;
        for &c in &q[..4 - pad] {
            n = n << 6 | value(c)?;
        }
        n <<= 6 * pad as u32;
        let bytes = [(n >> 16) as u8, (n >> 8) as u8, n as u8];
        // Bits beyond the last byte must be zero (canonical form).
        if bytes[3 - pad..].iter().any(|&b| b != 0) {
            return None;
        }
        out.extend_from_slice(&bytes[..3 - pad]);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::base64_decode;

    #[test]
    fn base64() {
        for (enc, dec) in [
            ("", ""),
            ("Zg==", "f"),
            ("Zm8=", "fo"),
            ("Zm9v", "foo"),
            ("Zm9vYg==", "foob"),
            ("Zm9vYmE=", "fooba"),
            ("Zm9vYmFy", "foobar"),
            ("AGFubgBzZWNyZXQ=", "\0ann\0secret"),
        ] {
            assert_eq!(
                base64_decode(enc.as_bytes()).as_deref(),
                Some(dec.as_bytes()),
                "{enc}"
            );
        }
        assert_eq!(base64_decode(b"+/8=").unwrap(), vec![0xfb, 0xff]);
        for bad in [
            "Zg", "Zg=", "Z===", "Zh==", "Zm9=", "Zg==Zg==", "Zm9v!A==", "Zm 9",
        ] {
            assert_eq!(base64_decode(bad.as_bytes()), None, "{bad}");
        }
    }
}
