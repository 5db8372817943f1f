//! Account names of users: who logged in (SASL, IRCX `AUTH PLAIN`, or another server said
//! so), and telling those who asked when that changes (IRCv3 `account-notify`, the other
//! servers). Few users log in, so the names live in a side table keyed by client, not in
//! [`Client`](super::Client), which every idle user pays for.

use super::caps;
use super::fanout::Msg;
use super::portal::{cap, LinkMsg};
use super::{ClientId, ConnId, Outbox, World};
use crate::proto::line::Line;

/// Longest account name taken from another server (ours come from `[[account]]`).
pub const ACCOUNT_MAX: usize = 64;

impl World {
    /// The account `cid` is logged in to, if any.
    pub fn account(&self, cid: ClientId) -> Option<&str> {
        self.accounts.get(&cid).map(|a| &**a)
    }

    /// Logs `cid` in to `account` (or out with `None`) and tells who should know: clients
    /// with account-notify in its channels, and every link but `from_link` (where the news
    /// came from). Nothing happens when nothing changes.
    pub fn set_account(
        &mut self,
        cid: ClientId,
        account: Option<&str>,
        from_link: Option<ConnId>,
        out: &mut Outbox,
    ) {
        if self.account(cid) == account {
            return;
        }
        match account {
            Some(a) => self.accounts.insert(cid, a.into()),
            None => self.accounts.remove(&cid),
        };
        notify_account_change(self, cid, out);
        let link = self.account_link_msg(cid);
        self.to_links(from_link, &link, out);
    }

    /// `conn` proved it holds `account`: a registering connection carries it into its
    /// registration, a registered user is logged in now (and those who asked are told).
    pub fn log_in(&mut self, conn: ConnId, account: &str, out: &mut Outbox) {
        match self.local(conn).and_then(|l| l.client) {
            Some(cid) => self.set_account(cid, Some(account), None, out),
            None => {
                if let Some(reg) = self.reg_mut(conn) {
                    reg.account = Some(account.into());
                }
            }
        }
    }

    /// The account a connection has proved, registered or not.
    pub fn conn_account(&self, conn: ConnId) -> Option<&str> {
        let local = self.local(conn)?;
        match local.client {
            Some(cid) => self.account(cid),
            None => local.reg.as_deref()?.account.as_deref(),
        }
    }

    /// `:<nick> ACCOUNT <name>` (`*`: logged out), to links with the ACCOUNT capability
    /// (ngIRCd gets it as its `METADATA … accountname`).
    pub fn account_link_msg(&self, cid: ClientId) -> LinkMsg {
        LinkMsg::new(&self.clients[cid].nick, "ACCOUNT")
            .arg(self.account(cid).unwrap_or("*"))
            .needs(cap::ACCOUNT)
    }
}

/// Whether another server's account name is one we pass on: printable, no spaces, short.
pub fn valid_account(name: &[u8]) -> bool {
    (1..=ACCOUNT_MAX).contains(&name.len())
        && name.iter().all(|&b| b > b' ' && b != 0x7f && b != b':')
}

/// IRCv3 account-notify: `:<mask> ACCOUNT <name|*>` to the clients sharing a channel with
/// `cid` that asked for it. One function, so MONITOR (extended-monitor) can call it too.
pub fn notify_account_change(w: &mut World, cid: ClientId, out: &mut Outbox) {
    let account = w.account(cid).unwrap_or("*");
    let line = Line::new(&w.clients[cid].mask(), "ACCOUNT")
        .arg(account)
        .finish();
    let mut msg = Msg::new(line, w.now.unix_ms);
    // The user learns of its own login from 900 (SASL) or AUTH (IRCX).
    w.to_common(cid, false, caps::ACCOUNT_NOTIFY, &mut msg, out);
}

/// How starting a PLAIN check went.
#[derive(Debug, PartialEq, Eq)]
pub enum PlainStart {
    /// The worker checks it; the verdict finishes the attempt.
    Started,
    /// Not a PLAIN message, or an authzid other than the user: failed (and counted).
    Malformed,
    /// Too many checks in flight: failed at once, uncounted.
    Busy,
}

/// Starts the check of an RFC 4616 PLAIN message (`authzid NUL authcid NUL password`,
/// decoded) against the `[[account]]` entries, for SASL and IRCX AUTH alike. The authzid
/// must be empty or the user itself. An unknown account is checked against a dummy hash, as
/// slow as a wrong password, so the time of a failure does not tell which accounts exist.
pub fn start_plain(
    w: &mut World,
    conn: ConnId,
    message: &[u8],
    purpose: fn(Option<Box<str>>) -> super::checks::Purpose,
    out: &mut Outbox,
) -> PlainStart {
    let mut parts = message.split(|&b| b == 0);
    let (Some(authzid), Some(user), Some(password), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return PlainStart::Malformed;
    };
    if !authzid.is_empty() && !authzid.eq_ignore_ascii_case(user) {
        return PlainStart::Malformed;
    }
    let user = std::str::from_utf8(user).unwrap_or_default();
    let found = w
        .config
        .account
        .iter()
        .find(|a| a.name.eq_ignore_ascii_case(user));
    let (hash, account) = match found {
        Some(a) => (a.password.clone(), Some(a.name.as_str().into())),
        None => (DUMMY_HASH.to_string(), None),
    };
    if w.start_check(conn, &hash, password, purpose(account), out) {
        PlainStart::Started
    } else {
        PlainStart::Busy
    }
}

/// An argon2id hash (of nothing anyone knows) with `--hash-password`'s parameters.
const DUMMY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$G20GKlRZnpCroXN3P4cEEw$GoEY9ShmS1Of9sgvP9QZHac74KhCg/8LgHwAN/3Z+cM";

/// `:<nick> ACCOUNT <name|*>` from a link: a remote user logged in or out. A name we would
/// not pass on is taken as logged out.
pub fn account_from_link(
    ctx: &mut super::dispatch::Ctx<'_>,
    msg: &crate::proto::Message<'_>,
) -> super::dispatch::HResult {
    let cid = ctx.client();
    let name = msg.param(0);
    let account = std::str::from_utf8(name)
        .ok()
        .filter(|_| name != b"*" && valid_account(name));
    let from = ctx.from_link();
    ctx.w.set_account(cid, account, from, ctx.out);
    Ok(())
}
