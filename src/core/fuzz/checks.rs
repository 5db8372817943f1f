//! Checks on every line sent and on the world between steps.

use crate::core::handlers::ircx::access::{normalize_mask, AccessList, Entry, Level};
use crate::core::ids::Key;
use crate::core::modes::Status;
use crate::core::state::{umode, ME};
use crate::core::{ConnId, ServerId, World};
use crate::limits::{CHANNEL_LEN, MAX_BODY, MAX_TAGS};
use crate::proto::casemap::{valid_channel, valid_nick};
use crate::proto::message::parse;
use std::collections::HashMap;
use std::net::IpAddr;

/// A line shown in a log: printable ASCII as is, other bytes escaped.
pub(super) fn show(bytes: &[u8]) -> String {
    let mut s = String::new();
    if bytes.len() > 400 {
        return format!("{}…({} bytes)", show(&bytes[..200]), bytes.len());
    }
    for &b in bytes {
        if (0x20..0x7f).contains(&b) && b != b'\\' {
            s.push(b as char);
        } else {
            s.push_str(&format!("\\x{b:02x}"));
        }
    }
    s
}

/// Checks the form of one line sent: terminated by CR LF and nowhere else, no NUL, a body of
/// at most 510 bytes after an optional tag section of at most 8191, and parseable.
pub(super) fn check_line(line: &[u8]) -> Result<(), String> {
    let Some(body) = line.strip_suffix(b"\r\n") else {
        return Err("not terminated by CR LF".into());
    };
    if body.iter().any(|&b| matches!(b, b'\r' | b'\n' | 0)) {
        return Err("CR, LF or NUL inside".into());
    }
    let text = match body.first() {
        Some(b'@') => {
            let space = body
                .iter()
                .position(|&b| b == b' ')
                .ok_or("tags without a message")?;
            if space + 1 > MAX_TAGS {
                return Err(format!("tag section of {} bytes", space + 1));
            }
            &body[space + 1..]
        }
        _ => body,
    };
    if text.len() > MAX_BODY {
        return Err(format!("{} bytes without tags", text.len() + 2));
    }
    parse(body).map_err(|e| format!("does not parse: {e:?}"))?;
    Ok(())
}

/// Whether a line is one an RFC 2813 peer understands: none of the native link forms
/// (`World::finish` translates those), no tags.
pub(super) fn rfc_form(line: &[u8]) -> bool {
    let Ok(msg) = parse(line.strip_suffix(b"\r\n").unwrap_or(line)) else {
        return false;
    };
    let native = matches!(
        msg.command,
        b"SJOIN"
            | b"TB"
            | b"BMASK"
            | b"EOB"
            | b"CAPAB"
            | b"TAGMSG"
            | b"SETNAME"
            | b"CHGHOST"
            | b"RENAME"
            | b"NORENAME"
    ) || msg.command == b"NICK" && msg.len() >= 8;
    !native && msg.tags.is_none()
}

/// Everything that must hold between any two steps.
pub(super) fn check_world(w: &World) -> Result<(), String> {
    let fold = |s: &str| w.fold(s);
    // Channels and their members; every channel has its own OID.
    let mut oids = std::collections::HashSet::new();
    for (ch, chan) in &w.channels {
        if !oids.insert(chan.oid) {
            return Err(format!(
                "channel {} shares OID {}",
                chan.name,
                chan.oid_str()
            ));
        }
        if w.oids_index.get(&chan.oid) != Some(&ch) {
            return Err(format!("channel {} not in the OID index", chan.name));
        }
        if chan.members.is_empty() && !chan.is_registered() {
            return Err(format!("channel {} is empty", chan.name));
        }
        if w.chan_names.get(&fold(&chan.name)) != Some(&ch) {
            return Err(format!("channel {} not in chan_names", chan.name));
        }
        if !valid_channel(chan.name.as_bytes(), CHANNEL_LEN) {
            return Err(format!("channel {:?} has a bad name", chan.name));
        }
        if chan.bans.len() > w.config.limits.max_list_entries {
            return Err(format!(
                "channel {} has {} bans",
                chan.name,
                chan.bans.len()
            ));
        }
        check_lag(w, ch, chan)?;
        check_props(chan)?;
        // A key must be one a JOIN can give: a word without commas.
        if let Some(k) = &chan.key {
            if k.is_empty() || k.bytes().any(|b| b <= b' ' || b == b',') {
                return Err(format!("channel {} has key {k:?}", chan.name));
            }
        }
        if let Some(f) = chan.members.values().find(|&&f| {
            f.without(Status::OWNER.with(Status::OP).with(Status::VOICE)) != Status::NONE
        }) {
            return Err(format!("channel {} has member flags {f:?}", chan.name));
        }
        for &m in chan.members.keys() {
            let Some(c) = w.clients.get(m) else {
                return Err(format!("channel {} has a dead member {m}", chan.name));
            };
            if c.chans.iter().filter(|&&x| x == ch).count() != 1 {
                return Err(format!(
                    "{} is on {} but its chans are {:?}",
                    c.nick, chan.name, c.chans
                ));
            }
        }
        for &i in &chan.invites {
            match w.clients.get(i) {
                Some(c) if c.invited => {}
                Some(c) => return Err(format!("{} invited to {} unflagged", c.nick, chan.name)),
                None => return Err(format!("{} holds an invite for dead {i}", chan.name)),
            }
        }
    }
    check_access(w)?;
    check_metadata(w)?;
    if w.chan_names.len() != w.channels.len() {
        return Err(format!(
            "chan_names has {} entries for {} channels",
            w.chan_names.len(),
            w.channels.len()
        ));
    }
    // With every channel's own OID found above, equal sizes leave no stale OID behind.
    if w.oids_index.len() != w.channels.len() {
        return Err(format!(
            "the OID index has {} entries for {} channels",
            w.oids_index.len(),
            w.channels.len()
        ));
    }
    // Clients.
    let mut users: HashMap<ServerId, usize> = HashMap::new();
    let (mut local_users, mut opers, mut invisible) = (0, 0, 0);
    for (cid, c) in &w.clients {
        if w.nicks.get(&fold(&c.nick)) != Some(&cid) {
            return Err(format!("{} not in nicks", c.nick));
        }
        if !valid_nick(c.nick.as_bytes(), 50) {
            return Err(format!("nick {:?} is not valid", c.nick));
        }
        if c.conn.is_some() && c.chans.len() > w.config.limits.max_channels_per_client {
            return Err(format!("{} is on {} channels", c.nick, c.chans.len()));
        }
        for &ch in &c.chans {
            match w.channels.get(ch) {
                Some(chan) if chan.members.contains_key(&cid) => {}
                _ => return Err(format!("{} lists channel {ch} without membership", c.nick)),
            }
        }
        let Some(server) = w.servers.get(c.server) else {
            return Err(format!("{} is on a removed server {}", c.nick, c.server));
        };
        *users.entry(c.server).or_default() += 1;
        match c.conn {
            Some(conn) => {
                local_users += 1;
                if c.server != ME {
                    return Err(format!("local {} on server {}", c.nick, server.name));
                }
                if w.local(conn).and_then(|l| l.client) != Some(cid) {
                    return Err(format!("{}'s connection {conn} does not know it", c.nick));
                }
            }
            None => {
                let via = server
                    .via
                    .ok_or(format!("remote {} on this server", c.nick))?;
                if w.link(via).is_none() {
                    return Err(format!("remote {} behind dead link {via}", c.nick));
                }
            }
        }
        opers += usize::from(c.has(umode::OPER));
        invisible += usize::from(c.has(umode::INVISIBLE));
    }
    if w.nicks.len() != w.clients.len() {
        return Err(format!(
            "nicks has {} entries for {} clients",
            w.nicks.len(),
            w.clients.len()
        ));
    }
    for (name, counted, recount) in [
        ("local_users", w.counts().local_users, local_users),
        ("opers", w.counts().opers, opers),
        ("invisible", w.counts().invisible, invisible),
    ] {
        if counted != recount {
            return Err(format!("{name} is {counted}, recount {recount}"));
        }
    }
    // Servers.
    for (i, s) in &w.servers {
        let recount = users.get(&i).copied().unwrap_or(0);
        if s.users != recount {
            return Err(format!(
                "server {} counts {} users, recount {recount}",
                s.name, s.users
            ));
        }
        if i == ME {
            continue;
        }
        if !crate::config::valid_server_name(&s.name) || s.sid == 0 {
            return Err(format!("server {:?} (id {}) is malformed", s.name, s.sid));
        }
        if !w.servers.contains(s.uplink) || s.uplink == i {
            return Err(format!("server {} has a bad uplink {}", s.name, s.uplink));
        }
        let via = s.via.ok_or(format!("server {} without a link", s.name))?;
        if w.link(via).is_none() {
            return Err(format!("server {} behind dead link {via}", s.name));
        }
        if s.uplink != ME && w.servers[s.uplink].via != Some(via) {
            return Err(format!("server {} and its uplink differ in link", s.name));
        }
        if w.servers
            .iter()
            .any(|(j, t)| j != i && (t.sid == s.sid || t.name.eq_ignore_ascii_case(&s.name)))
        {
            return Err(format!("server {} (id {}) twice", s.name, s.sid));
        }
    }
    // Local connections.
    let (mut unregistered, mut links) = (0, 0);
    let mut per_ip: HashMap<IpAddr, u32> = HashMap::new();
    for (i, l) in w.locals.iter().enumerate() {
        let conn = ConnId::from_index(i);
        let Some(l) = l else { continue };
        *per_ip.entry(l.ip).or_default() += 1;
        let states = usize::from(l.client.is_some())
            + usize::from(l.link.is_some())
            + usize::from(l.reg.is_some());
        if states != 1 {
            return Err(format!(
                "connection {conn}: client {:?}, link {}, reg {}",
                l.client,
                l.link.is_some(),
                l.reg.is_some()
            ));
        }
        if l.client.is_none() && l.link.is_none() {
            unregistered += 1;
        }
        if let Some(cid) = l.client {
            if w.clients.get(cid).and_then(|c| c.conn) != Some(conn) {
                return Err(format!("connection {conn}'s client {cid} is not its own"));
            }
        }
        if let Some(link) = &l.link {
            links += 1;
            if !w.links.contains(&conn) {
                return Err(format!("link {conn} not in links"));
            }
            match w.servers.get(link.server) {
                Some(s) if s.via == Some(conn) && s.uplink == ME && s.hop == 1 => {}
                _ => return Err(format!("link {conn} points at a wrong server")),
            }
        }
    }
    if unregistered != w.counts().unregistered {
        return Err(format!(
            "unregistered is {}, recount {unregistered}",
            w.counts().unregistered
        ));
    }
    if links != w.links.len() {
        return Err(format!("links {} (recount {links})", w.links.len()));
    }
    let mut counted: Vec<(IpAddr, u32)> = w.per_ip.iter().map(|(&k, &v)| (k, v)).collect();
    let mut recount: Vec<(IpAddr, u32)> = per_ip.into_iter().collect();
    counted.sort();
    recount.sort();
    if counted != recount {
        return Err(format!("per_ip {counted:?}, recount {recount:?}"));
    }
    Ok(())
}

/// ACCESS lists: each belongs to an object that exists (a channel's is inside it; a
/// user's own only while that local user is here), none is kept empty, none is longer
/// than `max_access`, and every mask is in the full `nick!user@host$server` form.
fn check_access(w: &World) -> Result<(), String> {
    let max = w.config.ircx.max_access;
    let check = |what: &str, list: &AccessList, may_be_empty: bool| {
        if list.entries.is_empty() && !may_be_empty {
            return Err(format!("{what} keeps an empty access list"));
        }
        if list.entries.len() > max {
            return Err(format!("{what} has {} access entries", list.entries.len()));
        }
        if let Some(e) = list
            .entries
            .iter()
            .find(|e| normalize_mask(e.mask.as_bytes()).as_deref() != Some(&*e.mask))
        {
            return Err(format!("{what} has access mask {:?}", e.mask));
        }
        // The state file keeps an entry a line, its setter one word: links must not break it.
        let broken = |e: &&Entry| {
            e.reason.contains(['\r', '\n', '\0'])
                || e.setter.is_empty()
                || e.setter.contains(|c: char| c <= ' ')
        };
        match list.entries.iter().find(broken) {
            Some(e) => Err(format!("{what} has access entry {e:?}")),
            None => Ok(()),
        }
    };
    let server_levels = |what: &str, list: &AccessList| match list
        .entries
        .iter()
        .find(|e| !matches!(e.level, Level::Grant | Level::Deny))
    {
        Some(e) => Err(format!("{what} has a {} entry", e.level.name())),
        None => Ok(()),
    };
    server_levels("$", &w.access.server)?;
    server_levels("*", &w.access.network)?;
    for (_, chan) in &w.channels {
        if let Some(list) = chan.access_list() {
            check(&chan.name, list, false)?;
        }
    }
    for (&cid, list) in &w.access.nicks {
        match w.clients.get(cid) {
            Some(c) if c.conn.is_some() => check(&c.nick, list, false)?,
            _ => return Err(format!("an access list for {cid}, who is not a local user")),
        }
    }
    check("$", &w.access.server, true)?;
    check("*", &w.access.network, true)
}

/// IRCX properties, however they came (PROP, BPROP, a merge), keep PROP's own limits,
/// and a channel with none holds no allocation for them.
fn check_props(chan: &crate::core::Channel) -> Result<(), String> {
    use crate::core::handlers::ircx::prop::Prop;
    let Some(props) = &chan.props else {
        return Ok(());
    };
    let mut any = props.lag.secs != 0 || !props.lag.queue.is_empty();
    for p in Prop::all() {
        let Some(v) = chan.prop(p) else { continue };
        any = true;
        if v.is_empty() || v.len() > p.max() || v.iter().any(|b| matches!(b, 0 | b'\r' | b'\n')) {
            return Err(format!(
                "channel {} holds {} = {:?}",
                chan.name,
                p.name(),
                show(v)
            ));
        }
    }
    for e in &props.free {
        any = true;
        check_entry(&chan.name, e)?;
    }
    if !any {
        return Err(format!("channel {} keeps empty properties", chan.name));
    }
    Ok(())
}

/// A metadata key and value, however they came, obey the draft's rules and ours.
fn check_entry(
    owner: &str,
    e: &crate::core::handlers::metadata::store::Entry,
) -> Result<(), String> {
    use crate::core::handlers::metadata::store::{valid_key, valid_value};
    if !valid_key(e.key.as_bytes()) || e.value.is_empty() || !valid_value(&e.value) {
        return Err(format!(
            "{owner} holds metadata {:?} = {:?}",
            e.key,
            show(&e.value)
        ));
    }
    Ok(())
}

/// Users' metadata and subscriptions belong to users that exist (subscriptions to local
/// ones), within their limits, and nobody keeps an empty table.
fn check_metadata(w: &World) -> Result<(), String> {
    use crate::limits::METADATA_MAX_SUBS;
    for (cid, entries) in &w.metadata.users {
        let c = w.clients.get(*cid).ok_or("metadata of a user who left")?;
        let max = w.config.limits.max_metadata_keys;
        if entries.is_empty() || (c.conn.is_some() && entries.len() > max) {
            return Err(format!("{} holds {} metadata keys", c.nick, entries.len()));
        }
        for e in entries {
            check_entry(&c.nick, e)?;
        }
    }
    for (cid, subs) in &w.metadata.subs {
        let c = w
            .clients
            .get(*cid)
            .ok_or("subscriptions of a user who left")?;
        if c.conn.is_none() || subs.is_empty() || subs.len() > METADATA_MAX_SUBS {
            return Err(format!("{} holds {} subscriptions", c.nick, subs.len()));
        }
    }
    Ok(())
}

/// IRCX LAG keeps its bound, and its timer knows every channel holding lines.
fn check_lag(
    w: &World,
    ch: crate::core::ChanId,
    chan: &crate::core::Channel,
) -> Result<(), String> {
    if let Some(lag) = chan.props.as_ref().map(|p| &p.lag) {
        if lag.secs > 2 || lag.queue.len() > crate::core::handlers::ircx::lag::MAX_LAGGED {
            return Err(format!(
                "channel {} lags {} s holding {} lines",
                chan.name,
                lag.secs,
                lag.queue.len()
            ));
        }
        if !lag.queue.is_empty() && !w.lagging.contains(&ch) {
            return Err(format!("channel {} holds lines no timer sends", chan.name));
        }
    }
    Ok(())
}
