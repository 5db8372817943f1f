//! Registered channels (draft §8.1.13 REGISTERED, `+r`; shared/design/IRCX.md §5): declared
//! by `[[channel]]` in the configuration, created empty at start, kept while empty
//! (`World::part_channel`), and brought up to date by a reload.
//!
//! A reload applies only what changed in the configuration since the last one, so what
//! members changed at run time (a topic, `+m`) stays until the configuration says otherwise
//! about the same thing. Members see each change as this server making it: `:<server> MODE`,
//! `:<server> TOPIC`, and `:<server> PROP` to IRCX members (key properties to IRCX hosts
//! only). Modes and topics reach other servers as MODE and TB from this server; `+r` itself
//! and properties do not (registration is this server's configuration, and portals do not
//! carry PROP yet), nor does a topic the configuration clears (TB cannot clear one).
//!
//! The first member to join an empty registered channel gets no status: hosts come in with
//! HOSTKEY or OWNERKEY.

use super::access::{config_entry, Entry, Object};
use super::prop::{self, Prop};
use crate::config::ChannelCfg;
use crate::core::handlers::channel::set_topic;
use crate::core::handlers::mode::apply_by_server;
use crate::core::portal::LinkMsg;
use crate::core::state::cmode;
use crate::core::{ChanId, Channel, Outbox, World};

/// The properties a `[[channel]]` manages.
const MANAGED: [Prop; 8] = [
    Prop::Language,
    Prop::Pics,
    Prop::Subject,
    Prop::Client,
    Prop::OnJoin,
    Prop::OnPart,
    Prop::HostKey,
    Prop::OwnerKey,
];

impl World {
    /// Brings the channels up to `new` from `old` (the entries applied before; none at
    /// start): creates and updates the entries of `new`, unregisters those only in `old`.
    pub fn apply_channels(&mut self, old: &[ChannelCfg], new: &[ChannelCfg], out: &mut Outbox) {
        for entry in new {
            let before = old.iter().find(|o| self.same_name(&o.name, &entry.name));
            self.apply_channel(before, entry, out);
        }
        let gone: Vec<&ChannelCfg> = old
            .iter()
            .filter(|o| !new.iter().any(|e| self.same_name(&o.name, &e.name)))
            .collect();
        for entry in gone {
            self.unregister(&entry.name, out);
        }
    }

    fn same_name(&self, a: &str, b: &str) -> bool {
        self.fold(a) == self.fold(b)
    }

    fn apply_channel(&mut self, old: Option<&ChannelCfg>, new: &ChannelCfg, out: &mut Outbox) {
        let ch = match self.find_channel(new.name.as_bytes()) {
            Some(ch) => ch,
            None => self.create_channel(&new.name, self.now.unix_ms),
        };
        self.apply_modes(ch, old, new, out);
        let old_topic = old.map_or("", |o| o.topic.as_str());
        if old_topic != new.topic {
            self.topic_by_server(ch, &new.topic, out);
        }
        for p in MANAGED {
            let v = new.prop_value(p);
            if old.map_or("", |o| o.prop_value(p)) != v {
                prop::set_by_server(self, ch, p, v.as_bytes(), out);
            }
        }
        if old.map_or(&[][..], |o| &o.access[..]) != &new.access[..] {
            self.apply_access(ch, &new.access);
        }
    }

    /// Replaces the entries an earlier configuration gave (those added at run time stay;
    /// a configured entry they already hold is not added twice).
    fn apply_access(&mut self, ch: ChanId, entries: &[String]) {
        let (cm, me) = (self.cm, self.name().to_string());
        let wanted: Vec<Entry> = entries
            .iter()
            .filter_map(|a| config_entry(a, &me).ok())
            .collect();
        self.edit_access(Object::Channel(ch), |l| {
            l.entries.retain(|e| !e.from_config);
            for e in wanted {
                if l.find(cm, e.level, &e.mask).is_none() {
                    l.entries.push(e);
                }
            }
        });
    }

    /// The flags the configuration added and removed since `old`, `+r`, and a changed key
    /// or limit, as one MODE from this server.
    fn apply_modes(
        &mut self,
        ch: ChanId,
        old: Option<&ChannelCfg>,
        new: &ChannelCfg,
        out: &mut Outbox,
    ) {
        let chan = &self.channels[ch];
        let mut d = Delta::default();
        d.flags(
            chan,
            old.map_or(0, ChannelCfg::flags),
            new.flags() | cmode::REGISTERED,
        );
        if old.map_or("", |o| o.memberkey.as_str()) != new.memberkey {
            d.key(chan, &new.memberkey);
        }
        if old.map_or(0, |o| o.limit) != new.limit {
            d.limit(chan, new.limit);
        }
        let word = d.word();
        if !word.is_empty() {
            apply_by_server(self, ch, word.as_bytes(), &d.params(), out);
        }
    }

    /// Sets (or clears) the topic as this server, and tells other servers of a new one.
    fn topic_by_server(&mut self, ch: ChanId, text: &str, out: &mut Outbox) {
        let me = self.name().to_string();
        let time = self.now.unix_s();
        set_topic(self, ch, text.as_bytes(), &me, time, &me, out);
        if text.is_empty() || self.links.is_empty() || self.channels[ch].members.is_empty() {
            return;
        }
        let tb = LinkMsg::new(&me, "TB")
            .arg(&*self.channels[ch].name)
            .arg(time.to_string())
            .arg(&me)
            .trailing(text);
        self.to_links(None, &tb, out);
    }

    /// An entry left the configuration: the channel loses `+r`, and goes if it is empty.
    fn unregister(&mut self, name: &str, out: &mut Outbox) {
        let Some(ch) = self.find_channel(name.as_bytes()) else {
            return;
        };
        if self.channels[ch].is_registered() {
            apply_by_server(self, ch, b"-r", &[], out);
        }
        if self.channels[ch].members.is_empty() {
            self.remove_channel(ch);
        }
    }
}

/// A MODE from this server being put together: what goes off (first, so a changed key is
/// taken off before the new one goes on), what goes on, and their arguments in that order.
#[derive(Default)]
struct Delta {
    minus: String,
    plus: String,
    minus_args: Vec<String>,
    args: Vec<String>,
}

impl Delta {
    /// Flags in `now` but not `was` go on, flags in `was` but not `now` go off, where the
    /// channel does not already agree.
    fn flags(&mut self, chan: &Channel, was: u32, now: u32) {
        for (letter, bit) in crate::core::modes::flags() {
            if now & !was & bit != 0 && !chan.has(bit) {
                self.plus.push(letter.into());
            } else if was & !now & bit != 0 && chan.has(bit) {
                self.minus.push(letter.into());
            }
        }
    }

    fn key(&mut self, chan: &Channel, key: &str) {
        if chan.key.is_some() {
            self.minus.push('k');
            self.minus_args.push("*".into());
        }
        if !key.is_empty() {
            self.plus.push('k');
            self.args.push(key.into());
        }
    }

    fn limit(&mut self, chan: &Channel, limit: u32) {
        if limit != 0 {
            self.plus.push('l');
            self.args.push(limit.to_string());
        } else if chan.limit != 0 {
            self.minus.push('l');
        }
    }

    /// `-ab+cd`.
    fn word(&self) -> String {
        let mut word = String::new();
        if !self.minus.is_empty() {
            word = format!("-{}", self.minus);
        }
        if !self.plus.is_empty() {
            word = format!("{word}+{}", self.plus);
        }
        word
    }

    /// The arguments in the word's order.
    fn params(&self) -> Vec<&[u8]> {
        self.minus_args
            .iter()
            .chain(&self.args)
            .map(String::as_bytes)
            .collect()
    }
}
