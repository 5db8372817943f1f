//! The ACCESS entries kept across restarts (IRCX.md §5): those of `$`, `*` and registered
//! channels, as text. The core only renders and reads the text; the shell decides when to
//! write it and does the file work (`net::state_file`).
//!
//! One entry a line, after a comment line:
//! `access <object> <level> <mask> <expires-unix-ms|0> <added-unix-s> <by-owner 0|1> <setter> :<reason>`.
//! Users' own lists are not kept: they belong to a connection.

use super::access::{normalize_mask, Entry, Level, Object};
use crate::core::World;
use std::fmt::Write;

const HEADER: &str = "# Portico state: ACCESS entries of $, * and registered channels. \
                      Written by the server; edit only while it is stopped.\n";

impl World {
    /// The persistent entries as the state file's text.
    pub fn access_state(&self) -> String {
        let mut text = HEADER.to_string();
        let mut objects = vec![
            ("$".to_string(), Object::Server),
            ("*".into(), Object::Network),
        ];
        for (ch, chan) in &self.channels {
            if chan.is_registered() && chan.access.is_some() {
                objects.push((chan.name.to_string(), Object::Channel(ch)));
            }
        }
        for (name, obj) in objects {
            let entries = self.access_list(obj).map_or(&[][..], |l| &l.entries);
            for e in entries.iter().filter(|e| !e.from_config) {
                let _ = writeln!(
                    text,
                    "access {name} {} {} {} {} {} {} :{}",
                    e.level.name(),
                    e.mask,
                    e.expires_ms,
                    e.set_at,
                    u8::from(e.by_owner),
                    e.setter,
                    e.reason
                );
            }
        }
        text
    }

    /// Loads the entries of a state file's text. All or nothing: a line that does not
    /// parse rejects the whole text (the caller logs it and starts without). Entries for
    /// channels no longer registered, expired ones and duplicates are skipped; the count
    /// of skipped entries is returned.
    pub fn restore_access_state(&mut self, text: &str) -> Result<usize, String> {
        let mut parsed = Vec::new();
        for (i, line) in text.lines().enumerate() {
            let line = line.trim_end_matches('\r');
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            parsed.push(parse_line(line).ok_or_else(|| format!("line {}: {line:?}", i + 1))?);
        }
        let mut skipped = 0;
        for (object, entry) in parsed {
            if !self.restore_entry(&object, entry) {
                skipped += 1;
            }
        }
        // Nothing changed that the file does not already say.
        self.take_access_dirty();
        Ok(skipped)
    }

    fn restore_entry(&mut self, object: &str, entry: Entry) -> bool {
        let obj = match object {
            "$" => Object::Server,
            "*" => Object::Network,
            name => match self.find_channel(name.as_bytes()) {
                Some(ch) if self.channels[ch].is_registered() => Object::Channel(ch),
                _ => return false,
            },
        };
        let expired = entry.expires_ms != 0 && entry.expires_ms <= self.now.unix_ms;
        let (cm, max) = (self.cm, self.config.ircx.max_access);
        let fits = self.access_list(obj).is_none_or(|l| {
            l.entries.len() < max && l.find(cm, entry.level, &entry.mask).is_none()
        });
        if expired || !fits {
            return false;
        }
        self.edit_access(obj, |l| l.entries.push(entry));
        true
    }
}

fn parse_line(line: &str) -> Option<(String, Entry)> {
    let (head, reason) = line.split_once(" :")?;
    let f: Vec<&str> = head.split(' ').collect();
    let [tag, object, level, mask, expires, set_at, by_owner, setter] = f[..] else {
        return None;
    };
    let level = Level::parse(level.as_bytes())?;
    let valid_object = matches!(object, "$" | "*") || object.starts_with(['#', '&']);
    let channel_level = !matches!(level, Level::Grant | Level::Deny);
    if tag != "access" || !valid_object || channel_level && !object.starts_with(['#', '&']) {
        return None;
    }
    // Only the full form is ever written; anything else was edited by hand, wrongly.
    if normalize_mask(mask.as_bytes()).as_deref() != Some(mask) || setter.is_empty() {
        return None;
    }
    let entry = Entry {
        level,
        mask: mask.into(),
        expires_ms: expires.parse().ok()?,
        set_at: set_at.parse().ok()?,
        by_owner: match by_owner {
            "0" => false,
            "1" => true,
            _ => return None,
        },
        setter: setter.into(),
        from_config: false,
        reason: reason.into(),
    };
    Some((object.to_string(), entry))
}

#[cfg(test)]
mod tests {
    use crate::core::testing::{TestWorld, BASE_CONFIG};

    const CONFIG: &str = "[[oper]]\nname = \"admin\"\npassword = \"pw\"\n\
                          [[channel]]\nname = \"#reg\"\nownerkey = \"ok\"\n";

    #[test]
    fn round_trip_keeps_server_network_and_registered_channel_entries() {
        let mut t = TestWorld::with_config(&format!("{BASE_CONFIG}{CONFIG}"));
        let a = t.user("alice");
        t.feed(a, "OPER admin pw");
        t.feed(a, "IRCX");
        t.feed(a, "JOIN #reg ok");
        t.feed(a, "JOIN #plain");
        assert!(!t.w.take_access_dirty(), "nothing persistent changed yet");
        t.feed(a, "ACCESS #plain ADD DENY x");
        assert!(
            !t.w.take_access_dirty(),
            "an unregistered channel is not kept"
        );
        t.feed(a, "ACCESS $ ADD DENY *@bad.host 60 :go: away");
        assert!(t.w.take_access_dirty());
        t.feed(a, "ACCESS #reg ADD HOST bob");
        t.feed(a, "ACCESS alice ADD DENY carol");
        let text = t.w.access_state();
        assert_eq!(
            text.lines().skip(1).collect::<Vec<_>>(),
            vec![
                "access $ DENY *!*@bad.host$* 1700003600000 1700000000 1 alice!~alice@127.0.0.1 :go: away",
                "access #reg HOST bob!*@*$* 0 1700000000 1 alice!~alice@127.0.0.1 :",
            ]
        );
        let mut fresh = TestWorld::with_config(&format!("{BASE_CONFIG}{CONFIG}"));
        assert_eq!(fresh.w.restore_access_state(&text), Ok(0));
        assert_eq!(fresh.w.access_state(), text);
        assert!(!fresh.w.take_access_dirty());
    }

    #[test]
    fn bad_lines_reject_the_whole_text_and_stale_entries_are_skipped() {
        let mut t = TestWorld::with_config(&format!("{BASE_CONFIG}{CONFIG}"));
        for bad in [
            "access $ DENY *!*@x$* 0 1 1 s",
            "access $ OWNER *!*@x$* 0 1 1 s :r",
            "access $ DENY x 0 1 1 s :r",
            "access $ DENY *!*@x$* soon 1 1 s :r",
            "access bob DENY *!*@x$* 0 1 1 s :r",
            "bogus",
        ] {
            let text = format!("access * DENY *!*@ok$* 0 1 0 s :fine\n{bad}\n");
            assert!(t.w.restore_access_state(&text).is_err(), "{bad}");
            assert!(t.w.access.network.entries.is_empty(), "{bad}");
        }
        let text = "access #gone HOST a!*@*$* 0 1 1 s :\n\
                    access $ DENY *!*@old$* 1000 1 1 s :expired\n\
                    access $ DENY *!*@x$* 0 1 1 s :\n\
                    access $ DENY *!*@X$* 0 1 1 s :dup\n";
        assert_eq!(t.w.restore_access_state(text), Ok(3));
        assert_eq!(t.w.access.server.entries.len(), 1);
    }
}
