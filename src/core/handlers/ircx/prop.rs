//! PROP (draft §5.12, §8.2): channel properties. `PROP <channel> <prop>[,<prop>…]` (or `*`)
//! lists them, one `818 <channel> <prop> :<value>` each, then `819`; `PROP <channel> <prop>
//! :<value>` sets one, and an empty value deletes it.
//!
//! * OID, NAME, CREATION: read-only, from the channel itself.
//! * LANGUAGE, SUBJECT (≤31), CLIENT (≤255), PICS (≤255, set by sysop managers only).
//! * TOPIC (≤160): the channel's topic; setting it is the TOPIC command, with its +t rule.
//! * ONJOIN, ONPART (≤255): lines sent from the channel to each member joining (PRIVMSG)
//!   or parting (NOTICE); the two characters `\n` split lines. Only hosts and sysops read
//!   them.
//! * MEMBERKEY: the `+k` key, set as `MODE +k` would (members see the MODE line).
//!   HOSTKEY (≤31): JOIN with it as the key makes the joiner a host (op). Keys are never
//!   read back: not listed by `*`, and 908 when asked for by name.
//! * OWNERKEY (≤31): JOIN with it as the key makes the joiner an owner; set by owners (and
//!   sysop managers) only, echoed only to IRCX owners.
//! * LAG (`0`, `1` or `2`): seconds by which ordinary members' channel messages are held
//!   back (see [`super::lag`]); anything else is 906.
//! * ACCOUNT, CLIENTGUID and SERVICEPATH are not supported: 905 like any unknown name.
//!
//! Rights: "host" means host or owner. Sets of everything but PICS and the
//! read-only ones are for hosts and sysop managers (TOPIC: any member when the channel is
//! not +t); PICS for managers. Reads: OID, NAME, CREATION and PICS by anyone, LANGUAGE,
//! SUBJECT, CLIENT and TOPIC by anyone too, but on a secret or private channel only by
//! members and sysops (sysops read OID/NAME/CREATION/PICS there too).
//!
//! A set is echoed as `:<setter> PROP <channel> <prop> :<value>` to the channel's IRCX
//! members and the setter; HOSTKEY's only to its IRCX hosts and owners, OWNERKEY's only to
//! its IRCX owners (they are passwords). RFC
//! members see only the TOPIC and MODE lines TOPIC and MEMBERKEY cause.
//!
//! Portals with the `IRCX` capability carry sets of the stored properties and LAG (see
//! [`crate::core::portal::props`]); TOPIC and MEMBERKEY reach every server as the TOPIC and
//! MODE they are.

use crate::core::caps;
use crate::core::dispatch::{err, Ctx, HResult, Reply};
use crate::core::fanout::Msg;
use crate::core::handlers::channel::set_topic;
use crate::core::handlers::metadata::store::ChanKey;
use crate::core::handlers::mode::{apply_checked, clean_key};
use crate::core::modes::Status;
use crate::core::portal::LinkMsg;
use crate::core::state::cmode;
use crate::core::{ChanId, Channel, ClientId, World};
use crate::proto::line::Line;
use crate::proto::numeric as n;
use crate::proto::Message;
use std::borrow::Cow;

/// The stored properties of a channel, allocated when the first one is set.
#[derive(Debug, Default)]
pub struct Props {
    slots: [Option<Box<[u8]>>; SLOTS],
    /// When each slot (and, last, LAG) was set, in ms: across portals the newer set wins.
    times: [u64; SLOTS + 1],
    /// LAG, kept apart from the text slots: the message path reads it on every line.
    pub lag: super::lag::Lag,
    /// Properties beyond the draft's: METADATA keys (and PROP names of the same form),
    /// one store seen through both commands (see [`crate::core::handlers::metadata`]).
    pub free: crate::core::handlers::metadata::store::Entries,
}

impl Props {
    /// What a clone channel inherits (IRCX CLONEABLE): every stored property, keys
    /// included (so its hosts can take it as they take the original), and the lag; not the
    /// lines the original holds back.
    pub fn for_clone(&self) -> Props {
        Props {
            slots: self.slots.clone(),
            times: self.times,
            lag: super::lag::Lag {
                secs: self.lag.secs,
                queue: Default::default(),
            },
            free: self.free.clone(),
        }
    }

    fn is_empty(&self) -> bool {
        self.slots.iter().all(Option::is_none)
            && self.lag.secs == 0
            && self.lag.queue.is_empty()
            && self.free.is_empty()
    }
}

const SLOTS: usize = 8;

impl Channel {
    /// A stored property (`None` for the ones the channel computes).
    pub fn prop(&self, p: Prop) -> Option<&[u8]> {
        let slot = p.slot()?;
        self.props.as_ref()?.slots[slot].as_deref()
    }

    pub(crate) fn set_prop(&mut self, p: Prop, value: &[u8]) {
        let Some(slot) = p.slot() else { return };
        if value.is_empty() {
            if let Some(props) = &mut self.props {
                props.slots[slot] = None;
            }
            self.drop_empty_props();
        } else {
            self.props.get_or_insert_with(Default::default).slots[slot] = Some(value.into());
        }
    }

    /// When a property was last set or deleted here (0: never, or forgotten with the last
    /// property: a deleted property's time is not kept).
    pub fn prop_time(&self, p: Prop) -> u64 {
        let (Some(props), Some(i)) = (&self.props, p.time_index()) else {
            return 0;
        };
        props.times[i]
    }

    /// Records the time of a set that left something stored.
    pub(crate) fn stamp_prop(&mut self, p: Prop, ms: u64) {
        if let (Some(props), Some(i)) = (&mut self.props, p.time_index()) {
            props.times[i] = ms;
        }
    }

    /// Sets LAG (0: none; the lines already held still go out when due).
    pub(crate) fn set_lag(&mut self, secs: u8) {
        self.props.get_or_insert_with(Default::default).lag.secs = secs;
        self.drop_empty_props();
    }

    /// Frees the properties once nothing is left in them.
    pub(crate) fn drop_empty_props(&mut self) {
        if self.props.as_ref().is_some_and(|p| p.is_empty()) {
            self.props = None;
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Prop {
    Oid,
    Name,
    Creation,
    Language,
    Pics,
    Topic,
    Subject,
    Client,
    OnJoin,
    OnPart,
    Lag,
    MemberKey,
    HostKey,
    OwnerKey,
}

/// Who may read a property.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Read {
    Anyone,
    /// Anyone on a public channel; members and sysops on a secret or private one.
    Member,
    Host,
    Never,
}

/// Who may set a property.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Write {
    Never,
    Host,
    /// Hosts, or any member when the channel is not +t.
    Topic,
    /// Owners and sysop managers.
    Owner,
    Manager,
}

/// In the order `*` lists them.
const ALL: [Prop; 14] = [
    Prop::Oid,
    Prop::Name,
    Prop::Creation,
    Prop::Language,
    Prop::Pics,
    Prop::Topic,
    Prop::Subject,
    Prop::Client,
    Prop::OnJoin,
    Prop::OnPart,
    Prop::Lag,
    Prop::MemberKey,
    Prop::HostKey,
    Prop::OwnerKey,
];

impl Prop {
    pub fn name(self) -> &'static str {
        match self {
            Prop::Oid => "OID",
            Prop::Name => "NAME",
            Prop::Creation => "CREATION",
            Prop::Language => "LANGUAGE",
            Prop::Pics => "PICS",
            Prop::Topic => "TOPIC",
            Prop::Subject => "SUBJECT",
            Prop::Client => "CLIENT",
            Prop::OnJoin => "ONJOIN",
            Prop::OnPart => "ONPART",
            Prop::Lag => "LAG",
            Prop::MemberKey => "MEMBERKEY",
            Prop::HostKey => "HOSTKEY",
            Prop::OwnerKey => "OWNERKEY",
        }
    }

    pub(crate) fn find(name: &[u8]) -> Option<Prop> {
        ALL.into_iter()
            .find(|p| p.name().as_bytes().eq_ignore_ascii_case(name))
    }

    fn time_index(self) -> Option<usize> {
        match self {
            Prop::Lag => Some(SLOTS),
            p => p.slot(),
        }
    }

    /// Properties other servers are told of: the stored ones and LAG. TOPIC and MEMBERKEY
    /// travel as the TOPIC and MODE +k they are; the rest are computed from the channel.
    pub fn linked(self) -> bool {
        self.time_index().is_some()
    }

    /// Every property in the order `*` lists them.
    pub fn all() -> impl Iterator<Item = Prop> {
        ALL.into_iter()
    }

    fn slot(self) -> Option<usize> {
        Some(match self {
            Prop::Language => 0,
            Prop::Pics => 1,
            Prop::Subject => 2,
            Prop::Client => 3,
            Prop::OnJoin => 4,
            Prop::OnPart => 5,
            Prop::HostKey => 6,
            Prop::OwnerKey => 7,
            _ => return None,
        })
    }

    /// Whether `v` may be stored: within the draft's length, and without a CR or LF (they
    /// would end the line for clients reading ONJOIN or a PROP echo) or a NUL.
    pub(crate) fn fits(self, v: &[u8]) -> bool {
        v.len() <= self.max() && !v.iter().any(|&b| matches!(b, 0 | b'\r' | b'\n'))
    }

    /// Longest value (draft §8.2).
    pub(crate) fn max(self) -> usize {
        match self {
            Prop::Language | Prop::Subject | Prop::HostKey | Prop::OwnerKey | Prop::MemberKey => 31,
            Prop::Topic => 160,
            _ => 255,
        }
    }

    fn read(self) -> Read {
        match self {
            Prop::Oid | Prop::Name | Prop::Creation | Prop::Pics => Read::Anyone,
            Prop::Language | Prop::Subject | Prop::Client | Prop::Topic | Prop::Lag => Read::Member,
            Prop::OnJoin | Prop::OnPart => Read::Host,
            Prop::MemberKey | Prop::HostKey | Prop::OwnerKey => Read::Never,
        }
    }

    fn write(self) -> Write {
        match self {
            Prop::Oid | Prop::Name | Prop::Creation => Write::Never,
            Prop::Pics => Write::Manager,
            Prop::OwnerKey => Write::Owner,
            Prop::Topic => Write::Topic,
            _ => Write::Host,
        }
    }
}

fn may_read(w: &World, chan: &Channel, cid: ClientId, p: Prop) -> bool {
    let sysop = w.is_sysop(cid);
    let member = chan.members.contains_key(&cid);
    match p.read() {
        Read::Anyone | Read::Member => !chan.is_secret() || member || sysop,
        Read::Host => chan.is_op(cid) || sysop,
        Read::Never => false,
    }
}

fn may_write(w: &World, chan: &Channel, cid: ClientId, p: Prop) -> bool {
    let host = chan.is_op(cid) || w.is_manager(cid);
    match p.write() {
        Write::Never => false,
        Write::Manager => w.is_manager(cid),
        Write::Owner => {
            chan.members
                .get(&cid)
                .is_some_and(|s| s.at_least(Status::OWNER))
                || w.is_manager(cid)
        }
        Write::Host => host,
        Write::Topic => host || (chan.members.contains_key(&cid) && !chan.has(cmode::TOPIC_OPS)),
    }
}

/// Rights over a key of either view: IRCX's properties by their own rules, a free-form
/// key (a METADATA key, or a PROP name beyond the draft's) by SUBJECT's: read by anyone
/// (members and sysops on a secret or private channel), set by hosts and sysop managers.
pub(crate) fn may_read_key(w: &World, chan: &Channel, cid: ClientId, key: &ChanKey) -> bool {
    match key {
        ChanKey::Prop(p) => may_read(w, chan, cid, *p),
        ChanKey::Free(_) => may_read(w, chan, cid, Prop::Subject),
    }
}

pub(crate) fn may_write_key(w: &World, chan: &Channel, cid: ClientId, key: &ChanKey) -> bool {
    match key {
        ChanKey::Prop(p) => may_write(w, chan, cid, *p),
        ChanKey::Free(_) => may_write(w, chan, cid, Prop::Subject),
    }
}

pub(crate) fn value(chan: &Channel, p: Prop) -> Option<Cow<'_, [u8]>> {
    let v: Cow<'_, [u8]> = match p {
        Prop::Oid => chan.oid_str().into_bytes().into(),
        Prop::Name => chan.name.as_bytes().into(),
        Prop::Creation => chan.created.to_string().into_bytes().into(),
        Prop::Topic => (&chan.topic.as_ref()?.text[..]).into(),
        Prop::MemberKey | Prop::OwnerKey => return None,
        Prop::Lag => match chan.props.as_ref()?.lag.secs {
            0 => return None,
            secs => secs.to_string().into_bytes().into(),
        },
        _ => chan.prop(p)?.into(),
    };
    Some(v)
}

/// `PROP <channel> <props>` / `PROP <channel> <prop> :<value>`.
pub fn prop(ctx: &mut Ctx<'_>, msg: &Message<'_>) -> HResult {
    if !ctx.is_local() {
        crate::core::portal::props::remote_set(ctx, msg);
        return Ok(());
    }
    let cid = ctx.client();
    let name = msg.param(0);
    let ch = ctx
        .w
        .find_channel(name)
        .ok_or_else(|| err(n::IRCERR_NOSUCHOBJECT, &[name]))?;
    if msg.len() >= 3 {
        set(ctx, ch, cid, msg.param(1), msg.param(2))
    } else {
        query(ctx, ch, cid, msg.param(1));
        Ok(())
    }
}

fn bad_property(chan: &Channel) -> Reply {
    err(n::IRCERR_BADPROPERTY, &[chan.name.as_bytes()])
}

fn query(ctx: &mut Ctx<'_>, ch: ChanId, cid: ClientId, list: &[u8]) {
    let w = &*ctx.w;
    let chan = &w.channels[ch];
    let mut listed: Vec<ChanKey> = Vec::new();
    let mut add = |k: ChanKey| {
        if !listed.contains(&k) {
            listed.push(k);
        }
    };
    for item in list.split(|&b| b == b',').filter(|i| !i.is_empty()) {
        if item == b"*" {
            let free = chan
                .free_props()
                .iter()
                .map(|e| ChanKey::Free(e.key.clone()));
            ALL.into_iter()
                .map(ChanKey::Prop)
                .chain(free)
                .filter(|k| may_read_key(w, chan, cid, k))
                .for_each(&mut add);
            continue;
        }
        match ChanKey::of_prop_name(item) {
            None => w.reply(
                ctx.out,
                ctx.conn,
                n::IRCERR_BADPROPERTY,
                &[chan.name.as_bytes()],
            ),
            Some(k) if !may_read_key(w, chan, cid, &k) => {
                w.reply(ctx.out, ctx.conn, n::IRCERR_SECURITY, &[])
            }
            Some(k) => add(k),
        }
    }
    for k in listed {
        let v = match &k {
            ChanKey::Prop(p) => value(chan, *p),
            ChanKey::Free(key) => {
                crate::core::handlers::metadata::store::get(chan.free_props(), key)
                    .map(|e| Cow::Borrowed(&e.value[..]))
            }
        };
        if let Some(v) = v {
            let line = w
                .num(ctx.conn, n::IRCRPL_PROPLIST)
                .arg(&*chan.name)
                .arg(k.prop_name())
                .trailing(v)
                .finish();
            ctx.out.send(ctx.conn, line);
        }
    }
    w.reply(
        ctx.out,
        ctx.conn,
        n::IRCRPL_PROPEND,
        &[chan.name.as_bytes()],
    );
}

fn set(ctx: &mut Ctx<'_>, ch: ChanId, cid: ClientId, name: &[u8], v: &[u8]) -> HResult {
    let w = &*ctx.w;
    let chan = &w.channels[ch];
    let p = match ChanKey::of_prop_name(name).ok_or_else(|| bad_property(chan))? {
        ChanKey::Prop(p) => p,
        ChanKey::Free(key) => return set_free(ctx, ch, cid, &key, v),
    };
    if !may_write(w, chan, cid, p) {
        return Err(err(n::IRCERR_SECURITY, &[]));
    }
    let chan_name = chan.name.clone();
    let old_key = chan.key.clone();
    let bad_value = || err(n::IRCERR_BADVALUE, &[chan_name.as_bytes()]);
    if !p.fits(v) {
        return Err(bad_value());
    }
    match p {
        Prop::Topic => {
            let w = &mut *ctx.w;
            let setter = w.clients[cid].mask();
            let time = w.now.unix_s();
            set_topic(w, ch, v, &setter, time, &setter, ctx.out);
            let link = LinkMsg::new(&w.clients[cid].nick, "TOPIC")
                .arg(&*w.channels[ch].name)
                .arg(time.to_string())
                .trailing(v);
            ctx.propagate(&link);
        }
        Prop::MemberKey => {
            if v.is_empty() {
                apply_checked(ctx, ch, cid, b"-k", &[]);
            } else {
                // Only what survives as a JOIN parameter, as MODE +k keeps.
                let key = clean_key(v)
                    .filter(|k| k.as_bytes() == v)
                    .ok_or_else(bad_value)?;
                match &old_key {
                    Some(old) if *old == key => {}
                    Some(_) => apply_checked(ctx, ch, cid, b"-k+k", &[b"*", key.as_bytes()]),
                    None => apply_checked(ctx, ch, cid, b"+k", &[key.as_bytes()]),
                }
            }
        }
        Prop::HostKey | Prop::OwnerKey => {
            if clean_key(v).is_some_and(|k| k.as_bytes() != v) {
                return Err(bad_value());
            }
            ctx.w.channels[ch].set_prop(p, v);
        }
        Prop::Lag => {
            // Empty (deleted) is no lag, as 0 is.
            let secs = if v.is_empty() {
                0
            } else {
                super::lag::parse_secs(v).ok_or_else(bad_value)?
            };
            ctx.w.channels[ch].set_lag(secs);
        }
        _ => ctx.w.channels[ch].set_prop(p, v),
    }
    echo(ctx.w, ch, cid, p, v, ctx.out);
    if p.linked() {
        crate::core::portal::props::propagate_set(ctx, ch, cid, p, v);
    }
    Ok(())
}

/// PROP on a free-form key: METADATA's rules (a valid value, at most
/// `[limits] max_metadata_keys` per channel: 906 past them), SUBJECT's rights.
fn set_free(ctx: &mut Ctx<'_>, ch: ChanId, cid: ClientId, key: &str, v: &[u8]) -> HResult {
    use crate::core::handlers::metadata::{self, Refusal};
    let w = &*ctx.w;
    let chan = &w.channels[ch];
    let bad_value = || err(n::IRCERR_BADVALUE, &[chan.name.as_bytes()]);
    match metadata::check_chan_set(w, ch, cid, &ChanKey::Free(key.into()), v) {
        Ok(()) | Err(Refusal::NotSet) => {}
        Err(Refusal::Permission) => return Err(err(n::IRCERR_SECURITY, &[])),
        Err(Refusal::Value | Refusal::Limit) => return Err(bad_value()),
    }
    let mask = w.clients[cid].mask();
    metadata::store_chan(ctx, ch, cid, &ChanKey::Free(key.into()), v, &mask, true);
    Ok(())
}

/// `:<setter> PROP <channel> <prop> :<value>` to IRCX members and the setter.
fn echo(w: &World, ch: ChanId, cid: ClientId, p: Prop, v: &[u8], out: &mut crate::core::Outbox) {
    let change = Change {
        key: &ChanKey::Prop(p),
        value: v,
        shown: &w.clients[cid].mask(),
        setter: Some(cid),
        echo_setter: true,
    };
    announce(w, ch, &change, out);
}

/// One change of a channel key, however it came (PROP, METADATA, a portal, the
/// configuration): both views announce it.
pub struct Change<'a> {
    pub key: &'a ChanKey,
    pub value: &'a [u8],
    /// The prefix: the setter's mask, or a server's name.
    pub shown: &'a str,
    pub setter: Option<ClientId>,
    /// The setter used PROP: the echo is its reply (a METADATA setter gets a `761`).
    pub echo_setter: bool,
}

/// The PROP echo to the channel's IRCX members (keys only to its IRCX hosts, OWNERKEY to
/// its owners), and the `METADATA` notification to its subscribers.
pub(crate) fn announce(w: &World, ch: ChanId, c: &Change<'_>, out: &mut crate::core::Outbox) {
    let chan = &w.channels[ch];
    let line = Line::new(c.shown, "PROP")
        .arg(&*chan.name)
        .arg(c.key.prop_name())
        .trailing(c.value)
        .finish();
    let mut msg = Msg::new(line, w.now.unix_ms);
    let mut to: Vec<ClientId> = chan
        .members
        .iter()
        .filter(|&(_, s)| match c.key {
            ChanKey::Prop(Prop::HostKey) => s.is_op(),
            ChanKey::Prop(Prop::OwnerKey) => s.at_least(Status::OWNER),
            _ => true,
        })
        .map(|(&m, _)| m)
        .filter(|&m| Some(m) != c.setter && w.clients[m].caps & caps::DIALECT_IRCX != 0)
        .collect();
    if c.echo_setter {
        to.extend(c.setter);
    }
    for m in to {
        let m = &w.clients[m];
        if let Some(conn) = m.conn {
            out.send(conn, msg.for_caps(m.caps));
        }
    }
    crate::core::handlers::metadata::notify::channel_changed(
        w, ch, c.key, c.value, c.shown, c.setter, out,
    );
}

/// ONJOIN and ONPART lines: `\n` (backslash, n) separates them.
fn lines(text: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut rest = Some(text);
    std::iter::from_fn(move || {
        let t = rest?;
        match t.windows(2).position(|w| w == b"\\n") {
            Some(i) => {
                rest = Some(&t[i + 2..]);
                Some(&t[..i])
            }
            None => {
                rest = None;
                Some(t)
            }
        }
    })
    .filter(|l| !l.is_empty())
}

/// Sends a channel's ONJOIN (`PRIVMSG`) or ONPART (`NOTICE`) to a local member.
pub fn send_greeting(w: &World, ch: ChanId, cid: ClientId, p: Prop, out: &mut crate::core::Outbox) {
    let chan = &w.channels[ch];
    let (Some(text), Some(conn)) = (chan.prop(p), w.clients[cid].conn) else {
        return;
    };
    let verb = if p == Prop::OnJoin {
        "PRIVMSG"
    } else {
        "NOTICE"
    };
    for l in lines(text) {
        let line = Line::new(&chan.name, verb)
            .arg(&*chan.name)
            .trailing(l)
            .finish();
        out.send(conn, line);
    }
}

/// The status a JOIN key gives: owner for the OWNERKEY, host for the HOSTKEY.
pub fn key_status(chan: &Channel, key: Option<&[u8]>) -> Status {
    if key.is_none() || chan.props.is_none() {
        Status::NONE
    } else if chan.prop(Prop::OwnerKey) == key {
        Status::OWNER
    } else if chan.prop(Prop::HostKey) == key {
        Status::OP
    } else {
        Status::NONE
    }
}

/// The properties a `[[channel]]` may set in its `props` table: the writable ones that are
/// not the topic or a key (those have keys of their own).
pub(crate) const CONFIG_PROPS: [Prop; 6] = [
    Prop::Language,
    Prop::Pics,
    Prop::Subject,
    Prop::Client,
    Prop::OnJoin,
    Prop::OnPart,
];

/// Checks a `[[channel]]` property as PROP would check it: a name the table may set, and a
/// value within the draft's limit that can travel in a line.
pub fn config_prop(name: &str, value: &str) -> Result<Prop, String> {
    let p = Prop::find(name.as_bytes())
        .filter(|p| CONFIG_PROPS.contains(p))
        .ok_or_else(|| {
            let names: Vec<&str> = CONFIG_PROPS.iter().map(|p| p.name()).collect();
            format!(
                "property {name:?} cannot be set here; use one of {} (topic and keys have keys of their own)",
                names.join(", ")
            )
        })?;
    if value.len() > p.max() {
        return Err(format!(
            "property {} is {} bytes long; the limit is {}",
            p.name(),
            value.len(),
            p.max()
        ));
    }
    if value.contains(['\r', '\n', '\0']) {
        return Err(format!(
            "property {} contains a line break or NUL; write \\\\n for ONJOIN/ONPART line breaks",
            p.name()
        ));
    }
    Ok(p)
}

/// Sets a property as this server (the `[[channel]]` configuration): stored, and echoed as
/// `:<server> PROP` to the members a user's set would reach.
pub fn set_by_server(w: &mut World, ch: ChanId, p: Prop, v: &[u8], out: &mut crate::core::Outbox) {
    w.channels[ch].set_prop(p, v);
    let me = w.name().to_string();
    let change = Change {
        key: &ChanKey::Prop(p),
        value: v,
        shown: &me,
        setter: None,
        echo_setter: false,
    };
    announce(w, ch, &change, out);
}
