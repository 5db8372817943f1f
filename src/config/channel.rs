//! `[[channel]]`: registered channels (IRCX `+r`, shared/design/IRCX.md §5). Each one exists
//! from start, stays while empty, and a reload applies what changed (`World::apply_channels`).

use super::ConfigError;
use crate::core::handlers::ircx::access::config_entry;
use crate::core::handlers::ircx::prop::{config_prop, Prop};
use crate::core::handlers::mode::clean_key;
use crate::core::modes::{self, Kind};
use crate::limits::{CHANNEL_LEN, TOPIC_LEN};
use crate::proto::casemap::valid_channel;
use crate::proto::CaseMapping;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::fmt;

/// One registered channel.
#[derive(Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ChannelCfg {
    pub name: String,
    #[serde(default)]
    pub topic: String,
    /// Flag letters (`"ntw"`, a leading `+` allowed): the key and limit have keys of
    /// their own.
    #[serde(default = "default_modes")]
    pub modes: String,
    /// Member limit (`+l`); 0 for none.
    #[serde(default)]
    pub limit: u32,
    /// The `+k` key (IRCX MEMBERKEY).
    #[serde(default)]
    pub memberkey: String,
    #[serde(default)]
    pub hostkey: String,
    #[serde(default)]
    pub ownerkey: String,
    /// IRCX properties by name (LANGUAGE, PICS, SUBJECT, CLIENT, ONJOIN, ONPART).
    #[serde(default)]
    pub props: BTreeMap<String, String>,
    /// IRCX ACCESS entries, `"<level> [<mask>] [:<reason>]"`, permanent.
    #[serde(default)]
    pub access: Vec<String>,
}

fn default_modes() -> String {
    "nt".into()
}

impl fmt::Debug for ChannelCfg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Keys are passwords: never logged.
        write!(
            f,
            "ChannelCfg {{ name: {:?}, modes: {:?}, limit: {}, props: {:?} }}",
            self.name, self.modes, self.limit, self.props
        )
    }
}

impl fmt::Display for ChannelCfg {
    /// As `--check-config` prints it, keys hidden.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "\n[[channel]]\nname = {:?}", self.name)?;
        writeln!(f, "topic = {:?}\nmodes = {:?}", self.topic, self.modes)?;
        writeln!(f, "limit = {}", self.limit)?;
        for (key, v) in [
            ("memberkey", &self.memberkey),
            ("hostkey", &self.hostkey),
            ("ownerkey", &self.ownerkey),
        ] {
            if !v.is_empty() {
                writeln!(f, "{key} = (set)")?;
            }
        }
        for (name, v) in &self.props {
            writeln!(f, "props.{name} = {v:?}")?;
        }
        if !self.access.is_empty() {
            writeln!(f, "access = {:?}", self.access)?;
        }
        Ok(())
    }
}

impl ChannelCfg {
    /// The flag bits `modes` names (letters already validated).
    pub fn flags(&self) -> u32 {
        self.modes
            .bytes()
            .filter_map(modes::channel_mode)
            .filter(|m| m.kind == Kind::Flag)
            .fold(0, |bits, m| bits | modes::flag_bit(m.letter))
    }

    /// The value given for a property (HOSTKEY and OWNERKEY included); empty if none.
    pub fn prop_value(&self, p: Prop) -> &str {
        match p {
            Prop::HostKey => &self.hostkey,
            Prop::OwnerKey => &self.ownerkey,
            _ => self
                .props
                .iter()
                .find(|(k, v)| config_prop(k, v).ok() == Some(p))
                .map_or("", |(_, v)| v),
        }
    }

    /// The problem with this entry, and the key whose line shows it.
    fn check(&self) -> Result<(), (String, String)> {
        fn at<T>(key: &str, msg: String) -> Result<T, (String, String)> {
            Err((key.to_string(), msg))
        }
        if !valid_channel(self.name.as_bytes(), CHANNEL_LEN) {
            return at(
                "name",
                format!("[[channel]] name {:?} is not a valid channel name; use # or & and up to {CHANNEL_LEN} bytes without spaces, commas or control characters", self.name),
            );
        }
        let who = &self.name;
        if self.topic.len() > TOPIC_LEN || has_break(&self.topic) {
            return at(
                "topic",
                format!(
                    "[[channel]] {who:?}: topic must be at most {TOPIC_LEN} bytes, on one line"
                ),
            );
        }
        self.check_modes()
            .or_else(|m| at("modes", format!("[[channel]] {who:?}: {m}")))?;
        for (key, v) in [
            ("memberkey", &self.memberkey),
            ("hostkey", &self.hostkey),
            ("ownerkey", &self.ownerkey),
        ] {
            if !v.is_empty() && clean_key(v.as_bytes()).as_deref() != Some(v.as_str()) {
                return at(key, format!("[[channel]] {who:?}: {key} must be 1-23 printable characters without spaces, ',' or ':'"));
            }
        }
        let mut seen = Vec::new();
        for (name, v) in &self.props {
            let p =
                config_prop(name, v).or_else(|m| at(name, format!("[[channel]] {who:?}: {m}")))?;
            if seen.contains(&p) {
                return at(
                    name,
                    format!("[[channel]] {who:?}: property {} is given twice", p.name()),
                );
            }
            seen.push(p);
        }
        for a in &self.access {
            config_entry(a, "").or_else(|m| {
                at(
                    "access",
                    format!("[[channel]] {who:?}: access entry {a:?}: {m}"),
                )
            })?;
        }
        Ok(())
    }

    fn check_modes(&self) -> Result<(), String> {
        let letters = self.modes.strip_prefix('+').unwrap_or(&self.modes);
        for c in letters.bytes() {
            match modes::channel_mode(c) {
                Some(m) if m.kind == Kind::Flag && !m.server_only => {}
                Some(m) if m.kind == Kind::Key => {
                    return Err("set the key with memberkey = \"...\", not in modes".into())
                }
                Some(m) if m.kind == Kind::Limit => {
                    return Err("set the limit with limit = N, not in modes".into())
                }
                _ => {
                    let flags: String = modes::flags()
                        .map(|(c, _)| c)
                        .filter(|&c| !modes::channel_mode(c).is_some_and(|m| m.server_only))
                        .map(char::from)
                        .collect();
                    return Err(format!(
                        "mode {:?} cannot be given here; modes takes flag letters from \"{flags}\"",
                        c as char
                    ));
                }
            }
        }
        if letters
            .bytes()
            .filter(|c| modes::EXCLUSIVE.contains(c))
            .count()
            > 1
        {
            return Err("modes may hold only one of p, h and s".into());
        }
        Ok(())
    }
}

fn has_break(s: &str) -> bool {
    s.contains(['\r', '\n', '\0'])
}

/// Checks every `[[channel]]`: each one valid, no name given twice (under `cm`).
pub(super) fn validate(
    channels: &[ChannelCfg],
    cm: CaseMapping,
    text: &str,
    file: &str,
) -> Result<(), ConfigError> {
    let error = |i: usize, key: &str, message: String| ConfigError {
        file: file.into(),
        line: line_in_channel(text, i, key),
        message,
    };
    for (i, c) in channels.iter().enumerate() {
        c.check().map_err(|(key, m)| error(i, &key, m))?;
        let folded = cm.fold(&c.name);
        if channels[..i].iter().any(|d| cm.fold(&d.name) == folded) {
            return Err(error(
                i,
                "name",
                format!("[[channel]] {:?} is given twice", c.name),
            ));
        }
    }
    Ok(())
}

/// The line of `key` in the `n`th `[[channel]]` (its `props` table included), else the
/// line of that `[[channel]]` itself.
fn line_in_channel(text: &str, n: usize, key: &str) -> usize {
    let mut header = 0;
    let mut seen = 0;
    for (i, l) in text.lines().enumerate() {
        let l = l.trim_start();
        if l.starts_with("[[") {
            if header != 0 {
                break;
            }
            if l.starts_with("[[channel]]") {
                seen += 1;
                if seen == n + 1 {
                    header = i + 1;
                }
            }
        } else if header != 0 && is_key(l, key) {
            return i + 1;
        }
    }
    header
}

/// `key = …` (or `props.key = …`), not a longer key that starts the same.
fn is_key(line: &str, key: &str) -> bool {
    let line = line.strip_prefix("props.").unwrap_or(line);
    line.strip_prefix(key)
        .is_some_and(|rest| rest.trim_start().starts_with('='))
}

#[cfg(test)]
mod tests {
    use crate::config::Config;

    const BASE: &str = "[server]\nname=\"a.b\"\nid=1\n";

    fn parse(channels: &str) -> Result<Config, crate::config::ConfigError> {
        Config::parse(&format!("{BASE}{channels}"), "c.toml")
    }

    #[test]
    fn a_full_entry_parses_and_prints_without_keys() {
        let c = parse(
            "[[channel]]\nname = \"#lobby\"\ntopic = \"Hi\"\nmodes = \"+ntw\"\nlimit = 9\n\
             memberkey = \"mk\"\nhostkey = \"hk\"\nownerkey = \"ok\"\naccess = [\"DENY x :go\"]\n\
             [channel.props]\nSUBJECT = \"chat\"\nonjoin = \"a\\\\nb\"\n\
             [[channel]]\nname = \"&two\"\n",
        )
        .unwrap();
        assert_eq!(c.channel.len(), 2);
        let lobby = &c.channel[0];
        assert_eq!(lobby.prop_value(super::Prop::Subject), "chat");
        assert_eq!(lobby.prop_value(super::Prop::OnJoin), "a\\nb");
        assert_eq!(lobby.prop_value(super::Prop::HostKey), "hk");
        assert_eq!(lobby.prop_value(super::Prop::Language), "");
        assert_eq!(c.channel[1].modes, "nt", "the default modes");
        let shown = format!("{c}");
        assert!(shown.contains("[[channel]]\nname = \"#lobby\""), "{shown}");
        assert!(shown.contains("hostkey = (set)"), "{shown}");
        assert!(shown.contains("access = [\"DENY x :go\"]"), "{shown}");
        for secret in ["\"mk\"", "\"hk\"", "\"ok\""] {
            assert!(!shown.contains(secret), "{shown}");
            assert!(!format!("{c:?}").contains(secret));
        }
    }

    #[test]
    fn bad_entries_name_their_line() {
        let two = "[[channel]]\nname = \"#ok\"\n[[channel]]\n";
        let cases: &[(&str, usize, &str)] = &[
            ("[[channel]]\nname = \"lobby\"\n", 5, "not a valid channel name"),
            ("[[channel]]\nname = \"#a b\"\n", 5, "not a valid channel name"),
            ("[[channel]]\nname = \"#x\"\nmodes = \"ntk\"\n", 6, "memberkey"),
            ("[[channel]]\nname = \"#x\"\nmodes = \"l\"\n", 6, "limit = N"),
            ("[[channel]]\nname = \"#x\"\nmodes = \"r\"\n", 6, "cannot be given here"),
            ("[[channel]]\nname = \"#x\"\nmodes = \"nQ\"\n", 6, "cannot be given here"),
            ("[[channel]]\nname = \"#x\"\nmodes = \"ps\"\n", 6, "only one of p, h and s"),
            ("[[channel]]\nname = \"#x\"\nmemberkey = \"a b\"\n", 6, "memberkey must be"),
            ("[[channel]]\nname = \"#x\"\n\nhostkey = \"a:b\"\n", 7, "hostkey must be"),
            ("[[channel]]\nname = \"#x\"\ntopic = \"a\\nb\"\n", 6, "one line"),
            (
                "[[channel]]\nname = \"#x\"\n[channel.props]\nSUBJECT = \"0123456789012345678901234567890123\"\n",
                7,
                "limit is 31",
            ),
            ("[[channel]]\nname = \"#x\"\n[channel.props]\nTOPIC = \"t\"\n", 7, "cannot be set here"),
            ("[[channel]]\nname = \"#x\"\n[channel.props]\nOID = \"1\"\n", 7, "cannot be set here"),
            (
                "[[channel]]\nname = \"#x\"\n[channel.props]\nSUBJECT = \"a\"\nsubject = \"b\"\n",
                8,
                "given twice",
            ),
            ("[[channel]]\nname = \"#x\"\n[[channel]]\nname = \"#X\"\n", 7, "given twice"),
            ("[[channel]]\nname = \"#x\"\naccess = [\"BAN x\"]\n", 6, "must start with"),
            ("[[channel]]\nname = \"#x\"\naccess = [\"DENY a,b\"]\n", 6, "mask"),
            ("[[channel]]\nname = \"#x\"\naccess = [\"DENY a b\"]\n", 6, "LEVEL mask :reason"),
        ];
        for (text, line, message) in cases {
            let e = parse(text).unwrap_err();
            assert_eq!((e.file.as_str(), e.line), ("c.toml", *line), "{text}: {e}");
            assert!(e.message.contains(message), "{text}: {e}");
        }
        // Unknown keys and a missing name are serde's errors, with their lines too.
        let e = parse("[[channel]]\nname = \"#x\"\nbogus = 1\n").unwrap_err();
        assert_eq!(e.line, 6, "{e}");
        let e = parse(two).unwrap_err();
        assert!(e.message.contains("name"), "{e}");
        // Only the nth [[channel]] is searched for the nth entry's key.
        let e = parse("[[channel]]\nname = \"#a\"\nmodes = \"n\"\n[[channel]]\nname = \"#b\"\nmodes = \"k\"\n")
            .unwrap_err();
        assert_eq!(e.line, 9, "{e}");
    }
}
