//! Each channel's local members in a dense list beside its member map: a channel message
//! walks contiguous memory (connection and capabilities at hand) instead of the hash map
//! and a client record per member. 12 bytes per local membership; remote members are not
//! in it (their servers' portals get the message once, elsewhere).
//!
//! The map stays the source of truth. Every copied field is written here, where its source
//! changes: membership ([`World::add_member`], `World::part_channel`) and capabilities
//! ([`World::set_caps`]). A client's connection never changes while it is in a channel.

use super::caps::Caps;
use super::modes::Status;
use super::state::Channel;
use super::{ChanId, ClientId, ConnId, World};

/// A local member, as a channel message needs it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LocalMember {
    pub cid: ClientId,
    pub conn: ConnId,
    /// A copy of the client's `caps` (its dialect among them): the variant it gets.
    pub caps: Caps,
}

impl Channel {
    /// Forgets `cid`'s entry, if it is local. Linear, as the PART or QUIT that leads here
    /// is sent to every member anyway.
    pub fn drop_local(&mut self, cid: ClientId) {
        if let Some(i) = self.local.iter().position(|m| m.cid == cid) {
            self.local.swap_remove(i);
        }
    }
}

impl World {
    /// Makes `cid` a member of `ch` with `status`, or sets its status if it is one.
    pub fn add_member(&mut self, ch: ChanId, cid: ClientId, status: Status) {
        let chan = &mut self.channels[ch];
        if chan.members.insert(cid, status).is_some() {
            return;
        }
        let c = &self.clients[cid];
        if let Some(conn) = c.conn {
            chan.local.push(LocalMember {
                cid,
                conn,
                caps: c.caps,
            });
        }
    }

    /// Sets `cid`'s capabilities (and dialect bits), and its channels' copies with them:
    /// the one way a registered client's caps change, so no copy can go stale.
    pub fn set_caps(&mut self, cid: ClientId, bits: crate::core::caps::Caps) {
        let World {
            clients, channels, ..
        } = self;
        clients[cid].caps = bits;
        let c = &clients[cid];
        for &ch in &c.chans {
            if let Some(m) = channels[ch].local.iter_mut().find(|m| m.cid == cid) {
                m.caps = c.caps;
            }
        }
    }

    /// Test check: every channel's local list is exactly its local members, with their
    /// current connection and capabilities.
    #[cfg(test)]
    pub fn check_rosters(&self) {
        for (ch, chan) in &self.channels {
            let mut want: Vec<LocalMember> = chan
                .members
                .keys()
                .filter_map(|&cid| {
                    let c = &self.clients[cid];
                    c.conn.map(|conn| LocalMember {
                        cid,
                        conn,
                        caps: c.caps,
                    })
                })
                .collect();
            let mut have = chan.local.clone();
            want.sort_by_key(|m| m.cid);
            have.sort_by_key(|m| m.cid);
            assert_eq!(have, want, "local members of {} ({ch})", chan.name);
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::core::testing::TestWorld;

    /// alice and bob in #c, their joins taken.
    fn pair() -> (TestWorld, crate::core::ConnId, crate::core::ConnId) {
        let mut t = TestWorld::new();
        let a = t.user("alice");
        let b = t.user("bob");
        t.feed(a, "JOIN #c");
        t.feed(b, "JOIN #c");
        t.take(a);
        t.take(b);
        (t, a, b)
    }

    #[test]
    fn an_entry_is_twelve_bytes() {
        // The cost per local membership that the module comment states.
        assert_eq!(std::mem::size_of::<super::LocalMember>(), 12);
    }

    #[test]
    fn caps_requested_mid_channel_change_what_members_get() {
        let (mut t, a, b) = pair();
        t.feed(a, "TAGMSG #c");
        assert!(t.take(b).is_empty(), "no message-tags: no TAGMSG");
        t.feed(b, "CAP REQ :message-tags server-time");
        t.take(b);
        t.feed(a, "@+x=1 PRIVMSG #c :hi");
        assert_eq!(
            t.take(b),
            vec!["@time=2023-11-14T22:13:20.000Z;+x=1 :alice!~alice@127.0.0.1 PRIVMSG #c :hi"]
        );
        t.feed(a, "@+y TAGMSG #c");
        assert_eq!(
            t.take(b),
            vec!["@time=2023-11-14T22:13:20.000Z;+y :alice!~alice@127.0.0.1 TAGMSG #c"]
        );
        t.feed(b, "CAP REQ :-message-tags -server-time");
        t.take(b);
        t.feed(a, "@+y TAGMSG #c");
        t.feed(a, "@+x=1 PRIVMSG #c :plain");
        assert_eq!(t.take(b), vec![":alice!~alice@127.0.0.1 PRIVMSG #c :plain"]);
    }

    #[test]
    fn echo_bot_and_nick_changes_mid_channel() {
        let (mut t, a, b) = pair();
        t.feed(a, "CAP REQ :echo-message message-tags");
        t.take(a);
        t.feed(a, "MODE alice +B");
        t.feed(a, "NICK alicia");
        t.take(a);
        t.take(b);
        t.feed(a, "PRIVMSG #c :hi");
        assert_eq!(
            t.take(a),
            vec!["@bot :alicia!~alice@127.0.0.1 PRIVMSG #c :hi"],
            "echoed once, with the bot tag"
        );
        assert_eq!(t.take(b), vec![":alicia!~alice@127.0.0.1 PRIVMSG #c :hi"]);
        t.feed(b, "NICK bobby");
        t.take(a);
        t.take(b);
        t.feed(a, "PRIVMSG #c :again");
        assert_eq!(
            t.take(b),
            vec![":alicia!~alice@127.0.0.1 PRIVMSG #c :again"]
        );
    }

    #[test]
    fn leaving_and_coming_back_keeps_one_entry() {
        let (mut t, a, b) = pair();
        let c = t.user("carol");
        t.feed(c, "JOIN #c");
        t.feed(b, "PART #c");
        t.feed(b, "JOIN #c");
        t.feed(a, "KICK #c carol");
        t.feed(c, "JOIN #c");
        t.feed(a, "MODE #c +v bob");
        t.take(b);
        t.take(c);
        t.feed(a, "PRIVMSG #c :x");
        assert_eq!(t.take(b), vec![":alice!~alice@127.0.0.1 PRIVMSG #c :x"]);
        assert_eq!(t.take(c), vec![":alice!~alice@127.0.0.1 PRIVMSG #c :x"]);
        t.feed(a, "PRIVMSG +#c :v");
        assert_eq!(t.take(b), vec![":alice!~alice@127.0.0.1 PRIVMSG +#c :v"]);
        assert!(t.take(c).is_empty(), "carol has no voice");
        t.feed(c, "QUIT");
        t.take(b);
        t.feed(a, "PRIVMSG #c :y");
        assert_eq!(t.take(b), vec![":alice!~alice@127.0.0.1 PRIVMSG #c :y"]);
        assert_eq!(t.w.channels.iter().next().unwrap().1.local.len(), 2);
    }

    #[test]
    fn ircx_mid_channel_updates_the_copy() {
        let (mut t, a, b) = pair();
        t.feed(b, "IRCX");
        t.take(b);
        // The check in the harness compares the copy with the client after every line;
        // the member's dialect bit must be there.
        let cid = t.w.local(b).and_then(|l| l.client).unwrap();
        let chan = t.w.channels.iter().next().unwrap().1;
        let m = chan.local.iter().find(|m| m.cid == cid).unwrap();
        assert_ne!(m.caps & crate::core::caps::DIALECT_IRCX, 0);
        t.feed(a, "PRIVMSG #c :hi");
        assert_eq!(t.take(b), vec![":alice!~alice@127.0.0.1 PRIVMSG #c :hi"]);
    }
}
