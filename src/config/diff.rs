//! What a reload changes, said field by field (`limits.max_clients_per_ip: 16 -> 8`), and
//! the fields a running server cannot take, refused by name before anything is applied.
//!
//! The fields are read from the `--check-config` rendering (`Display for Config`), so every
//! setting it shows is compared without a list to keep in step; secrets, which it hides,
//! are compared on their own and reported only as changed.

use super::Config;
use std::net::SocketAddr;

/// `(section, key, value)` of every shown setting; a repeated section (`[[oper]]`) is
/// named by its first key's value: `oper["admin"]`, `listen["127.0.0.1:6667"]`.
fn settings(cfg: &Config) -> Vec<(String, String, String)> {
    let text = cfg.to_string();
    let mut out = Vec::new();
    let mut section = String::new();
    let mut repeated = false;
    for line in text.lines() {
        if let Some(name) = line.strip_prefix("[[").and_then(|l| l.strip_suffix("]]")) {
            (section, repeated) = (name.to_string(), true);
        } else if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            (section, repeated) = (name.to_string(), false);
        } else if let Some((key, value)) = line.split_once(" = ") {
            if repeated {
                section = format!("{section}[{value}]");
                repeated = false;
            }
            out.push((section.clone(), key.to_string(), value.to_string()));
        }
    }
    out
}

/// The secrets, labelled as `settings` would label them.
fn secrets(cfg: &Config) -> Vec<(String, &str)> {
    let mut out = vec![
        ("server.password".to_string(), cfg.server.password.as_str()),
        ("cloak.secret".to_string(), cfg.cloak.secret.as_str()),
    ];
    for o in &cfg.oper {
        out.push((format!("oper[{:?}].password", o.name), o.password.as_str()));
    }
    for a in &cfg.account {
        out.push((
            format!("account[{:?}].password", a.name),
            a.password.as_str(),
        ));
    }
    for p in &cfg.portal {
        out.push((
            format!("portal[{:?}].password", p.name),
            p.password.as_str(),
        ));
    }
    out
}

impl Config {
    /// One line per changed setting between `old` and this configuration.
    pub fn changes_from(&self, old: &Config) -> Vec<String> {
        let (before, after) = (settings(old), settings(self));
        let sections = |list: &[(String, String, String)]| -> Vec<String> {
            let mut s: Vec<String> = list.iter().map(|(sec, _, _)| sec.clone()).collect();
            s.dedup();
            s
        };
        let (old_secs, new_secs) = (sections(&before), sections(&after));
        let mut lines = Vec::new();
        for sec in old_secs.iter().filter(|s| !new_secs.contains(s)) {
            lines.push(format!("{sec}: removed"));
        }
        for sec in new_secs.iter().filter(|s| !old_secs.contains(s)) {
            lines.push(format!("{sec}: added"));
        }
        let value = |list: &[(String, String, String)], sec: &str, key: &str| {
            list.iter()
                .find(|(s, k, _)| s == sec && k == key)
                .map(|(_, _, v)| v.clone())
        };
        for (sec, key, new) in after.iter().filter(|(s, _, _)| old_secs.contains(s)) {
            match value(&before, sec, key) {
                Some(old) if old == *new => {}
                Some(old) => lines.push(format!("{sec}.{key}: {old} -> {new}")),
                None => lines.push(format!("{sec}.{key}: set to {new}")),
            }
        }
        for (sec, key, old) in before.iter().filter(|(s, _, _)| new_secs.contains(s)) {
            if value(&after, sec, key).is_none() {
                lines.push(format!("{sec}.{key}: {old} -> (default)"));
            }
        }
        if old.motd_lines() != self.motd_lines() {
            lines.push("server.motd: changed".into());
        }
        let old_secrets = secrets(old);
        for (label, secret) in secrets(self) {
            let before = old_secrets.iter().find(|(l, _)| *l == label);
            if before.is_some_and(|(_, s)| *s != secret) {
                lines.push(format!("{label}: changed"));
            }
        }
        lines
    }

    /// Why this configuration cannot replace `old` in a running server, if it cannot:
    /// the fields every stored name and every link depend on.
    pub fn frozen_change(&self, old: &Config) -> Option<String> {
        let (o, n) = (&old.server, &self.server);
        let field = if old.limits.casemapping != self.limits.casemapping {
            format!(
                "limits.casemapping ({} -> {})",
                old.limits.casemapping.name(),
                self.limits.casemapping.name()
            )
        } else if o.name != n.name {
            format!("server.name ({:?} -> {:?})", o.name, n.name)
        } else if o.id != n.id {
            format!("server.id ({} -> {})", o.id, n.id)
        } else if old.metrics.addr() != self.metrics.addr() {
            // The scrape listener is opened once, at start.
            let show = |a: Option<SocketAddr>| a.map_or("off".to_string(), |a| a.to_string());
            let (was, now) = (show(old.metrics.addr()), show(self.metrics.addr()));
            format!("metrics.address ({was} -> {now})")
        } else {
            return None;
        };
        Some(format!(
            "{field} cannot change while the server runs; put the old value back, or restart to use the new one"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str = "[server]\nname = \"a.b\"\nid = 1\nmotd = \"hi\"\n\
                        [[listen]]\naddress = \"127.0.0.1:6667\"\n\
                        [[oper]]\nname = \"admin\"\npassword = \"pw\"\n";

    fn cfg(extra: &str) -> Config {
        Config::parse(&format!("{BASE}{extra}"), "t.toml").unwrap()
    }

    #[test]
    fn each_changed_field_is_named_with_both_values() {
        let old = cfg("[limits]\nmax_clients_per_ip = 16\n");
        let new = Config::parse(
            &format!(
                "{}[limits]\nmax_clients_per_ip = 8\n[[oper]]\nname = \"ops2\"\npassword = \"x\"\n",
                BASE.replace("password = \"pw\"", "password = \"pw2\"\nhost = \"*@10.*\"")
                    .replace("motd = \"hi\"", "motd = \"hello\"")
            ),
            "t.toml",
        )
        .unwrap();
        assert_eq!(
            new.changes_from(&old),
            vec![
                "oper[\"ops2\"]: added",
                "limits.max_clients_per_ip: 16 -> 8",
                "oper[\"admin\"].host: \"*@*\" -> \"*@10.*\"",
                "server.motd: changed",
                "oper[\"admin\"].password: changed",
            ]
        );
        assert!(old.changes_from(&old).is_empty());
        assert_eq!(
            old.changes_from(&new)[0],
            "oper[\"ops2\"]: removed",
            "the other way round"
        );
    }

    #[test]
    fn identity_and_case_mapping_are_frozen() {
        let old = cfg("");
        assert_eq!(cfg("[limits]\nnick_length = 9\n").frozen_change(&old), None);
        let cm = cfg("[limits]\ncasemapping = \"ascii\"\n")
            .frozen_change(&old)
            .unwrap();
        assert!(
            cm.starts_with(
                "limits.casemapping (rfc1459 -> ascii) cannot change while the server runs"
            ),
            "{cm}"
        );
        let id = Config::parse(&BASE.replace("id = 1", "id = 2"), "t.toml").unwrap();
        assert!(id
            .frozen_change(&old)
            .unwrap()
            .starts_with("server.id (1 -> 2)"));
        let metrics = cfg("[metrics]\naddress = \"127.0.0.1:9100\"\n");
        assert!(metrics.frozen_change(&old).unwrap().starts_with(
            "metrics.address (off -> 127.0.0.1:9100) cannot change while the server runs"
        ));
        assert_eq!(metrics.frozen_change(&metrics), None);
    }
}
