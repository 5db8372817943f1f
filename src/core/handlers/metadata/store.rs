//! The store behind METADATA: users' keys in a side table (an idle user without metadata
//! pays nothing), channels' keys in the channel's IRCX properties (see [`ChanKey`]), and
//! the rules every key and value obey, whichever command set them.

use crate::core::handlers::ircx::prop::Prop;
use crate::core::{Channel, ClientId, World};
use crate::limits::{METADATA_MAX_KEY_BYTES, METADATA_MAX_VALUE_BYTES};
use hashbrown::HashMap;

/// One free-form key and its value, with the time (ms) of its last set: across portals
/// the newer set wins, as for IRCX properties.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub key: Box<str>,
    pub value: Box<[u8]>,
    pub ms: u64,
}

/// Keys in the order they were first set (LIST shows them so).
pub type Entries = Vec<Entry>;

pub fn get<'a>(entries: &'a [Entry], key: &str) -> Option<&'a Entry> {
    entries.iter().find(|e| &*e.key == key)
}

/// Sets `key` (a non-empty value) or deletes it (empty). Returns whether anything changed.
pub fn put(entries: &mut Entries, key: &str, value: &[u8], ms: u64) -> bool {
    let at = entries.iter().position(|e| &*e.key == key);
    match (at, value.is_empty()) {
        (None, true) => false,
        (Some(i), true) => {
            entries.remove(i);
            true
        }
        (Some(i), false) if *entries[i].value == *value => {
            entries[i].ms = ms;
            false
        }
        (Some(i), false) => {
            entries[i].value = value.into();
            entries[i].ms = ms;
            true
        }
        (None, false) => {
            entries.push(Entry {
                key: key.into(),
                value: value.into(),
                ms,
            });
            true
        }
    }
}

/// A key name as the draft allows it: `a-z`, `0-9` and `_./-` (case-sensitive, so only
/// lowercase: what Ergo accepts too), at most [`METADATA_MAX_KEY_BYTES`].
pub fn valid_key(key: &[u8]) -> bool {
    (1..=METADATA_MAX_KEY_BYTES).contains(&key.len())
        && key
            .iter()
            .all(|&b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"_./-".contains(&b))
}

/// A value the draft allows (UTF-8) that fits a line. CR, LF and NUL cannot arrive in a
/// parameter; the check keeps a portal's line from smuggling one in all the same.
pub fn valid_value(value: &[u8]) -> bool {
    value.len() <= METADATA_MAX_VALUE_BYTES
        && std::str::from_utf8(value).is_ok()
        && !value.iter().any(|&b| matches!(b, 0 | b'\r' | b'\n'))
}

/// A channel key, the same for both views: IRCX's own properties keep their meaning
/// (`subject` is PROP's SUBJECT), any other valid name is a free-form key stored beside
/// them. PROP names are case-insensitive, so a PROP name is lowercased first.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ChanKey {
    Prop(Prop),
    Free(Box<str>),
}

impl ChanKey {
    /// A METADATA key (already valid) as the store knows it.
    pub fn of_key(key: &str) -> ChanKey {
        match Prop::find(key.as_bytes()) {
            Some(p) => ChanKey::Prop(p),
            None => ChanKey::Free(key.into()),
        }
    }

    /// A PROP name: one of IRCX's, or a valid key once lowercased (not one IRCX defines
    /// and Portico does not keep: those stay 905, as before).
    pub fn of_prop_name(name: &[u8]) -> Option<ChanKey> {
        if let Some(p) = Prop::find(name) {
            return Some(ChanKey::Prop(p));
        }
        let lower = name.to_ascii_lowercase();
        let key = std::str::from_utf8(&lower).ok()?;
        (valid_key(&lower) && !ChanKey::Free(key.into()).reserved())
            .then(|| ChanKey::Free(key.into()))
    }

    /// IRCX defines ACCOUNT, CLIENTGUID and SERVICEPATH; Portico keeps none of them, so
    /// neither view may store them under those names.
    pub fn reserved(&self) -> bool {
        matches!(self, ChanKey::Free(k) if ["account", "clientguid", "servicepath"].contains(&&**k))
    }

    /// The name METADATA shows (lowercase).
    pub fn key(&self) -> String {
        match self {
            ChanKey::Prop(p) => p.name().to_ascii_lowercase(),
            ChanKey::Free(k) => k.to_string(),
        }
    }

    /// The name PROP shows: IRCX's in capitals, free-form keys as stored.
    pub fn prop_name(&self) -> &str {
        match self {
            ChanKey::Prop(p) => p.name(),
            ChanKey::Free(k) => k,
        }
    }
}

impl Channel {
    /// The channel's free-form keys.
    pub fn free_props(&self) -> &[Entry] {
        self.props.as_ref().map_or(&[], |p| &p.free[..])
    }

    /// Sets or deletes (empty) a free-form key; returns whether it changed anything.
    pub(crate) fn set_free(&mut self, key: &str, value: &[u8], ms: u64) -> bool {
        if value.is_empty() && self.props.is_none() {
            return false;
        }
        let props = self.props.get_or_insert_with(Default::default);
        let changed = put(&mut props.free, key, value, ms);
        self.drop_empty_props();
        changed
    }
}

/// Users' metadata and local users' subscriptions, kept beside the client records so a
/// user without any pays nothing (`Client` stays as small as it was).
#[derive(Default)]
pub struct Metadata {
    /// Users with metadata, local and remote.
    pub users: HashMap<ClientId, Entries>,
    /// Local users' subscriptions, in the order they were made.
    pub subs: HashMap<ClientId, Vec<Box<str>>>,
}

impl World {
    /// A user's metadata (empty when none).
    pub fn user_meta(&self, cid: ClientId) -> &[Entry] {
        self.metadata.users.get(&cid).map_or(&[], |e| &e[..])
    }

    /// Sets or deletes (empty) one of a user's keys; returns whether it changed anything.
    pub(crate) fn set_user_meta(&mut self, cid: ClientId, key: &str, v: &[u8], ms: u64) -> bool {
        let entries = self.metadata.users.entry(cid).or_default();
        let changed = put(entries, key, v, ms);
        if entries.is_empty() {
            self.metadata.users.remove(&cid);
        }
        changed
    }

    /// Whether a local user subscribed to `key`.
    pub fn subscribed(&self, cid: ClientId, key: &str) -> bool {
        self.metadata
            .subs
            .get(&cid)
            .is_some_and(|s| s.iter().any(|k| &**k == key))
    }

    /// Forgets a user's metadata and subscriptions (they left).
    pub fn drop_metadata(&mut self, cid: ClientId) {
        self.metadata.users.remove(&cid);
        self.metadata.subs.remove(&cid);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_follow_the_draft() {
        for ok in ["url", "display-name", "im.xmpp", "a_b/c", "0"] {
            assert!(valid_key(ok.as_bytes()), "{ok}");
        }
        for bad in ["", "URL", "$url$", "a b", ":x", "é", &"k".repeat(65)] {
            assert!(!valid_key(bad.as_bytes()), "{bad}");
        }
    }

    #[test]
    fn values_are_utf8_and_fit_a_line() {
        assert!(valid_value("héllo".as_bytes()));
        assert!(!valid_value(b"\xff"));
        assert!(!valid_value(b"a\nb"));
        assert!(valid_value(&[b'v'; METADATA_MAX_VALUE_BYTES]));
        assert!(!valid_value(&[b'v'; METADATA_MAX_VALUE_BYTES + 1]));
    }

    #[test]
    fn put_sets_replaces_and_deletes() {
        let mut e = Entries::new();
        assert!(put(&mut e, "a", b"1", 1));
        assert!(put(&mut e, "b", b"2", 1));
        assert!(!put(&mut e, "a", b"1", 2), "same value: no change");
        assert!(put(&mut e, "a", b"3", 3));
        assert_eq!(
            get(&e, "a").map(|x| (&*x.value, x.ms)),
            Some((&b"3"[..], 3))
        );
        assert!(put(&mut e, "a", b"", 4));
        assert!(
            !put(&mut e, "a", b"", 5),
            "deleting a missing key changes nothing"
        );
        assert_eq!(e.len(), 1);
    }

    #[test]
    fn channel_keys_map_ircx_properties() {
        assert_eq!(ChanKey::of_key("subject"), ChanKey::Prop(Prop::Subject));
        assert_eq!(ChanKey::of_key("url"), ChanKey::Free("url".into()));
        assert_eq!(
            ChanKey::of_prop_name(b"URL"),
            Some(ChanKey::Free("url".into()))
        );
        assert_eq!(ChanKey::of_prop_name(b"$x"), None);
        assert_eq!(ChanKey::of_prop_name(b"ACCOUNT"), None);
        assert!(ChanKey::of_key("servicepath").reserved());
        assert_eq!(ChanKey::Prop(Prop::OnJoin).key(), "onjoin");
        assert_eq!(ChanKey::Prop(Prop::OnJoin).prop_name(), "ONJOIN");
    }
}
