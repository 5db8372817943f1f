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
//! without any check. The check itself still runs on the loop thread.

use crate::core::dispatch::{err, Ctx, HResult, Source};
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
    if reg.authed {
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
    let user: Box<str> = if package == b"ANON" {
        "anonymous".into()
    } else {
        if msg.len() < 3 {
            return Err(err(n::IRCERR_BADCOMMAND, &[b"AUTH"]));
        }
        if ctx.w.suspended(ctx.conn).is_some() {
            return Err(err(n::IRCERR_AUTHENTICATIONSUSPENDED, &[package]));
        }
        match plain(ctx, msg.param(2)) {
            Some(name) => name,
            None => {
                log::info!("conn {}: AUTH PLAIN failed", ctx.conn);
                ctx.w.secret_failed(ctx.conn);
                return Err(err(n::IRCERR_AUTHENTICATIONFAILED, &[package]));
            }
        }
    };
    let server = ctx.w.name().to_string();
    if let Some(reg) = ctx.w.reg_mut(ctx.conn) {
        reg.authed = true;
        if package == b"PLAIN" {
            reg.account = Some(user.clone());
        }
    }
    let line = Line::new(&server, "AUTH")
        .arg(package)
        .arg("*")
        .arg(format!("{user}@{server}"))
        .arg(ctx.w.user_oid(ctx.conn))
        .finish();
    ctx.out.send(ctx.conn, line);
    Ok(())
}

/// The account a PLAIN message proves, if its password is right.
fn plain(ctx: &Ctx<'_>, data: &[u8]) -> Option<Box<str>> {
    let decoded = base64_decode(data)?;
    let mut parts = decoded.split(|&b| b == 0);
    let (authzid, user, password) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || (!authzid.is_empty() && authzid != user) {
        return None;
    }
    let user = std::str::from_utf8(user).unwrap_or_default();
    let found = ctx
        .w
        .config
        .account
        .iter()
        .find(|a| a.name.eq_ignore_ascii_case(user));
    let Some(account) = found else {
        // As slow as a wrong password, so failures do not tell which accounts exist.
        let _ = crate::config::verify_hash(DUMMY_HASH, password);
        return None;
    };
    account
        .verify(password)
        .then(|| account.name.as_str().into())
}

/// An argon2id hash (of nothing anyone knows) with `--hash-password`'s parameters.
const DUMMY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$G20GKlRZnpCroXN3P4cEEw$GoEY9ShmS1Of9sgvP9QZHac74KhCg/8LgHwAN/3Z+cM";

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
