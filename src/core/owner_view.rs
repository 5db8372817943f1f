//! How RFC clients see channel owners (`[ircx] rfc_owner_prefix`, IRCX.md §1). The wire
//! between servers and IRCX clients always use the table's symbols (`~`, `.`); RFC clients
//! see the configured one. `@` is the Exchange behaviour: owners look like hosts, so RFC
//! clients get `PREFIX=(ov)@+` and each owner change as the op change it amounts to for
//! them (`+q` as `+o`; a `-q` on a member who stays an op not at all).

use super::caps::{self, Caps};
use super::fanout::Msg;
use super::modes::{self, Status};
use super::portal::owners::{self, Degraded};
use super::portal::LinkMsg;
use super::{ChanId, ClientId, Outbox, World};
use crate::proto::casemap::is_channel;
use std::rc::Rc;

/// The symbol owners have on the wire and, by default, for RFC clients.
const WIRE: char = '~';

impl World {
    /// The owner symbol RFC clients see.
    pub fn rfc_owner_symbol(&self) -> char {
        self.config
            .ircx
            .rfc_owner_prefix
            .chars()
            .next()
            .unwrap_or(WIRE)
    }

    fn owners_as_hosts(&self) -> bool {
        self.rfc_owner_symbol() == '@'
    }

    /// A member's prefixes as a client with `viewer_caps` sees them.
    pub fn push_member_prefixes(
        &self,
        s: &mut String,
        status: Status,
        multi: bool,
        viewer_caps: Caps,
    ) {
        let start = s.len();
        status.push_prefixes(s, multi, viewer_caps);
        let sym = self.rfc_owner_symbol();
        if viewer_caps & caps::DIALECT_IRCX != 0 || sym == WIRE || !s[start..].contains(WIRE) {
            return;
        }
        let mut shown: String = s[start..].replace(WIRE, &sym.to_string());
        if sym == '@' && shown.starts_with("@@") {
            shown.remove(0);
        }
        s.truncate(start);
        s.push_str(&shown);
    }

    /// ISUPPORT PREFIX for a client of `dialect`.
    pub fn prefix_token(&self, dialect: Caps) -> String {
        if dialect & caps::DIALECT_IRCX != 0 {
            return modes::prefix_token(dialect);
        }
        match self.rfc_owner_symbol() {
            '@' => modes::prefix_token_below(0, Status::OP),
            sym => modes::prefix_token(0).replace(WIRE, &sym.to_string()),
        }
    }

    /// ISUPPORT STATUSMSG.
    pub fn statusmsg_token(&self) -> String {
        match self.rfc_owner_symbol() {
            '@' => modes::statusmsg_token().replace(WIRE, ""),
            sym => modes::statusmsg_token().replace(WIRE, &sym.to_string()),
        }
    }

    /// `~#chan` (or the configured symbol) as a STATUSMSG target: owners only.
    pub fn statusmsg_target<'a>(&self, target: &'a [u8]) -> (Status, &'a [u8]) {
        let sym = self.rfc_owner_symbol();
        match target.split_first() {
            Some((&c, rest)) if sym != '@' && c as char == sym && is_channel(rest) => {
                (Status::OWNER, rest)
            }
            _ => modes::statusmsg_target(target),
        }
    }

    /// Sends a channel MODE line to the members, in the form each dialect reads.
    pub fn mode_to_channel(&mut self, ch: ChanId, line: Rc<[u8]>, out: &mut Outbox) {
        let now = self.now.unix_ms;
        let Some(view) = self
            .owners_as_hosts()
            .then(|| self.rfc_mode_view(&line))
            .flatten()
        else {
            self.to_channel(ch, None, &mut Msg::new(line, now), out, |_| true);
            return;
        };
        let (mut m, rfc_sees) = match view {
            Some(rfc) => (
                Msg::new(rfc, now).with_dialect(caps::DIALECT_IRCX, line),
                true,
            ),
            None => (Msg::new(line, now), false),
        };
        let members: Vec<ClientId> = self.channels[ch].members.keys().copied().collect();
        for c in members {
            if rfc_sees || self.clients[c].caps & caps::DIALECT_IRCX != 0 {
                self.send_client(c, &mut m, out);
            }
        }
    }

    /// The RFC form of a MODE line naming owners: `None` when it is the same, `Some(None)`
    /// when RFC clients should see nothing of it.
    fn rfc_mode_view(&self, line: &[u8]) -> Option<Option<Rc<[u8]>>> {
        let body = line.strip_suffix(b"\r\n").unwrap_or(line);
        let msg = crate::proto::message::parse(body).ok()?;
        if !msg.param(1).contains(&b'q') {
            return None;
        }
        match owners::degrade(self, &LinkMsg::relay(&msg)) {
            Degraded::Same => None,
            Degraded::Nothing => Some(None),
            Degraded::As(m) => Some(Some(m.native())),
        }
    }
}
