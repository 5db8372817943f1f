//! The `rfc2813` portal dialect: linking with ngIRCd (IRC+, RFC 2813). Portico's native
//! link messages stay the one internal form. A message leaving on an rfc2813 link is
//! rendered once into what ngIRCd expects, by an allow-list: a verb without a rule here is
//! not sent (and is counted), so a new command never leaks to ngIRCd by default. A line
//! arriving from one becomes native messages once, handed to the command table without
//! being parsed again. What RFC 2813 cannot carry (timestamps, server IDs, client tags,
//! TAGMSG, SETNAME, EOB) degrades as docs/PROTOCOL.md describes.

use super::{Dialect, LinkMsg};
use crate::core::accounts::valid_account;
use crate::core::handlers::chghost::valid_host;
use crate::core::modes::{self, signed_letters};
use crate::core::state::umode;
use crate::core::{ClientId, ConnId, ServerId, World};
use crate::limits::MAX_MODES;
use crate::proto::casemap::is_channel;
use crate::proto::line::Line;
use crate::proto::message::{Message, OwnedMessage};
use crate::proto::numeric as n;
use hashbrown::HashMap;
use std::cell::Cell;
use std::rc::Rc;

/// IRC+ flags we send: C = CHANINFO, H = enhanced handshake (005 NICKLEN check + 376),
/// L = ban lists after the burst, X = founder/admin/halfop prefixes in its NJOIN (without
/// it ngIRCd leaves them out of its burst, though it sends MODE `+q` and takes `~` anyway).
/// M = METADATA: ngIRCd sends us users' new hosts (`host`, `cloakhost`), usernames and
/// account names (see [`inbound`]), in its burst and live, only to servers with it.
/// No S (services) or Z (compression): we would not honour them.
pub const FLAGS: &str = "CHLMX";

/// Server IDs given to servers that ngIRCd introduces (it has none): above the configurable
/// range 1-4095, so they never clash with a Portico server's.
pub const SYNTHETIC_SID_BASE: u16 = 4096;

/// Per-link state of an rfc2813 link.
#[derive(Debug, Default)]
pub struct RfcLink {
    /// ngIRCd's server tokens on this link → our server IDs.
    pub tokens: HashMap<u32, u16>,
    /// CHANINFO for a channel that does not exist yet (its burst sends CHANINFO before
    /// NJOIN): held until the NJOIN, so the channel is created with its members and modes
    /// at once and never exists empty.
    pub pending: HashMap<String, ChanInfo>,
    /// Messages not sent because RFC 2813 has no form for them (see [`render`]).
    pub dropped: Cell<u64>,
    /// The host ngIRCd hides of each of its users (behind this link) whose two hosts
    /// differ: the real one while the user is marked [`umode::NGIRCD_CLOAK`] (shown: the
    /// cloak), else the cloak (shown: the real host). ngIRCd sends no host when it swaps
    /// them (`+x`, `-x`), so Portico swaps them itself (see [`metadata`]). At most one entry
    /// per user of this link; dropped when the user leaves ([`World::forget_hidden_host`]).
    pub hidden: HashMap<ClientId, Box<str>>,
}

impl RfcLink {
    /// A message this dialect has no rule for: not sent, counted, logged once in a while.
    pub fn not_carried(&self, verb: &str) {
        let n = self.dropped.get() + 1;
        self.dropped.set(n);
        if n.is_power_of_two() {
            log::debug!("rfc2813 link: {verb} not carried ({n} messages so far)");
        }
    }
}

/// CHANINFO lines held at once per link (a burst holds one per channel until its NJOIN).
const MAX_PENDING_CHANINFO: usize = 10_000;

/// Modes (`+ntk`), their arguments and a topic from a CHANINFO.
#[derive(Debug, Default)]
pub struct ChanInfo {
    words: String,
    args: Vec<String>,
    topic: Option<Vec<u8>>,
}

/// The token we use for a server in lines to ngIRCd: 1 is this server (as ngIRCd assigns
/// to a peer), others are their ID + 1.
fn token_of(w: &World, sid: u16) -> u32 {
    if sid == w.me().sid {
        1
    } else {
        u32::from(sid) + 1
    }
}

/// Our half of the handshake, in the form ngIRCd parses (`IRC_PASS`, `IRC_SERVER`).
pub fn handshake(w: &World, password: &str) -> Vec<Rc<[u8]>> {
    let me = w.me();
    vec![
        Line::bare("PASS")
            .arg(password)
            .arg("0210-IRC+")
            .arg(format!("Portico|{}:{FLAGS}", env!("CARGO_PKG_VERSION")))
            .arg("P")
            .finish(),
        Line::bare("SERVER")
            .arg(&*me.name)
            .arg("1")
            .trailing(&*me.description)
            .finish(),
    ]
}

/// Sent right after registering, before the burst: we advertised `H`, so ngIRCd waits for
/// our 376 and checks that our NICKLEN equals its own.
pub fn enhanced_handshake(w: &World, peer: &str) -> Vec<Rc<[u8]>> {
    let me = &*w.me().name;
    vec![
        n::RPL_ISUPPORT
            .to(me, peer)
            .arg(format!("NICKLEN={}", w.config.limits.nick_length))
            .arg(format!("CASEMAPPING={}", w.cm.name()))
            // Owners reach ngIRCd as its founders.
            .arg(format!("PREFIX={}", modes::prefix_token(0)))
            .arg("CHANTYPES=#&")
            .arg(format!("CHANMODES={}", modes::chanmodes_with(|m| m.ngircd)))
            .trailing("are supported on this server")
            .finish(),
        n::RPL_ENDOFMOTD
            .to(me, peer)
            .trailing("End of MOTD command")
            .finish(),
    ]
}

fn rc(l: Line) -> Rc<[u8]> {
    l.finish()
}

/// A native link message as ngIRCd must see it: zero, one or more lines, or `None` for a
/// verb it has no rule for (the allow-list: nothing unknown reaches ngIRCd).
pub fn render(w: &World, msg: &LinkMsg) -> Option<Vec<Rc<[u8]>>> {
    let prefix = msg.prefix();
    let p = |i: usize| msg.param_str(i);
    let lines = match msg.verb() {
        "SERVER" if msg.len() >= 4 => {
            let sid: u16 = p(2).parse().unwrap_or(0);
            vec![rc(Line::new(prefix, "SERVER")
                .arg(p(0))
                .arg(p(1))
                .arg(token_of(w, sid).to_string())
                .trailing(msg.param(3)))]
        }
        "NICK" if msg.len() >= 8 => {
            let sid: u16 = p(5).parse().unwrap_or(0);
            vec![rc(Line::new(prefix, "NICK")
                .arg(p(0))
                .arg(p(1))
                .arg(p(3))
                .arg(p(4))
                .arg(token_of(w, sid).to_string())
                .arg(p(6))
                .trailing(msg.param(7)))]
        }
        "NICK" => vec![rc(Line::new(prefix, "NICK").trailing(msg.param(0)))],
        "SJOIN" => sjoin_out(w, prefix, msg),
        "TOPIC" if msg.len() >= 3 => vec![rc(Line::new(prefix, "TOPIC")
            .arg(p(0))
            .trailing(msg.param(2)))],
        // Our burst's topic went in the CHANINFO of its SJOIN, which ngIRCd applies only
        // when it has no topic; Portico takes ngIRCd's (newer) one, so the link converges on
        // it instead of each side overwriting the other's. A topic another server's burst
        // brought won here (TB is forwarded only then): it overwrites.
        "TB" if prefix == &*w.me().name && chaninfo_has_topic(w, msg.param(0)) => Vec::new(),
        "TB" if msg.len() >= 4 => vec![rc(Line::new(prefix, "TOPIC")
            .arg(p(0))
            .trailing(msg.param(3)))],
        "BMASK" if msg.len() >= 4 => p(3)
            .split_whitespace()
            .collect::<Vec<_>>()
            .chunks(4)
            .map(|masks| {
                let mut l = Line::new(prefix, "MODE")
                    .arg(p(1))
                    // ngIRCd keeps `e` and `I` lists too: the BMASK's own letter.
                    .arg(format!("+{}", p(2).repeat(masks.len())));
                for m in masks {
                    l = l.arg(m);
                }
                rc(l)
            })
            .collect(),
        // ngIRCd takes AWAY from users only; servers carry the state as user mode +a
        // (without the text: ngIRCd shows "Away" for remote users).
        "AWAY" => {
            let sign = if msg.param(0).is_empty() { "-a" } else { "+a" };
            vec![rc(Line::new(prefix, "MODE").arg(prefix).trailing(sign))]
        }
        // ngIRCd (IRC+) keeps account names as METADATA, and shows them in WHOIS (330);
        // an empty value logs the user out.
        "ACCOUNT" => {
            let name = msg.param(0);
            let value: &[u8] = if name == b"*" { b"" } else { name };
            vec![rc(Line::new(&w.me().name, "METADATA")
                .arg(prefix)
                .arg("accountname")
                .trailing(value))]
        }
        // ngIRCd (IRC+) takes a user's username and host from servers as METADATA too, and
        // shows them (its WHOIS, WHO, masks) from then on: the host as the key it shows.
        "CHGHOST" if msg.len() >= 3 => ["user", shown_host_key(w, msg.param(0))]
            .iter()
            .zip([msg.param(1), msg.param(2)])
            .map(|(key, v)| {
                rc(Line::new(&w.me().name, "METADATA")
                    .arg(msg.param(0))
                    .arg(*key)
                    .trailing(v))
            })
            .collect(),
        // Nothing in RFC 2813 carries these (nor a TB or BMASK too short to translate).
        "EOB" | "TAGMSG" | "SETNAME" | "CAPAB" | "TB" | "BMASK" => Vec::new(),
        // The same in both protocols (tags, which RFC 2813 lacks, are left behind).
        // A channel MODE keeps only the modes ngIRCd has (IRCX's stay on our side).
        "MODE" if is_channel(msg.param(0)) => {
            let given: Vec<String> = (2..msg.len()).map(|i| msg.param_str(i)).collect();
            let (modes, args) = ngircd_modes(&msg.param_str(1), &given);
            if modes.chars().all(|c| c == '+' || c == '-') {
                return Some(Vec::new());
            }
            let mut l = Line::new(prefix, "MODE").arg(msg.param(0)).arg(modes);
            for a in args {
                l = l.arg(a);
            }
            vec![rc(l)]
        }
        "PRIVMSG" | "NOTICE" | "PART" | "KICK" | "MODE" | "QUIT" | "KILL" | "INVITE"
        | "WALLOPS" | "SQUIT" | "PING" | "PONG" | "ERROR" => vec![msg.native()],
        _ => return None,
    };
    Some(lines)
}

/// The METADATA key ngIRCd shows as `nick`'s host. A user it cloaks (+x, marked
/// [`umode::NGIRCD_CLOAK`] here) shows its `cloakhost`: a new `host` would change only the
/// real host it hides, and it would keep showing the old cloak. Any other user shows its
/// `host`, Portico's own users included: they are never +x on ngIRCd (we send no +x),
/// unless ngIRCd's side cloaked them, and then they carry the mark too.
fn shown_host_key(w: &World, nick: &[u8]) -> &'static str {
    match w.find_nick(nick) {
        Some(cid) if w.clients[cid].has(umode::NGIRCD_CLOAK) => "cloakhost",
        _ => "host",
    }
}

/// A native mode string and its arguments, keeping only the modes ngIRCd has (by the mode
/// table's ngIRCd column), each with its argument; signs only where they change.
fn ngircd_modes(modes: &str, args: &[String]) -> (String, Vec<String>) {
    let mut args = args.iter();
    let (mut out, mut kept, mut plus, mut sign) = (String::new(), Vec::new(), true, None);
    for c in modes.chars() {
        if c == '+' || c == '-' {
            plus = c == '+';
            continue;
        }
        let Some(m) = modes::channel_mode(c as u8) else {
            continue;
        };
        let arg = if m.takes_param(plus) {
            args.next()
        } else {
            None
        };
        if !m.ngircd {
            continue;
        }
        if sign != Some(plus) {
            out.push(if plus { '+' } else { '-' });
            sign = Some(plus);
        }
        out.push(c);
        kept.extend(arg.cloned());
    }
    if out.is_empty() {
        out.push('+');
    }
    (out, kept)
}

/// Whether [`sjoin_out`] put the channel's topic in a CHANINFO: it does when the channel
/// has modes (an SJOIN without modes is also every runtime JOIN, which must not carry it).
fn chaninfo_has_topic(w: &World, chan: &[u8]) -> bool {
    w.find_channel(chan).is_some_and(|ch| {
        let (words, args) = super::burst::mode_words(&w.channels[ch]);
        ngircd_modes(&words, &args).0.len() > 1
    })
}

/// `SJOIN ts #c +modes [key] [limit] :@a +b c` → CHANINFO (when there are modes, with the
/// channel's topic) and NJOIN.
fn sjoin_out(w: &World, prefix: &str, msg: &LinkMsg) -> Vec<Rc<[u8]>> {
    let n = msg.len();
    if n < 4 {
        return Vec::new();
    }
    let chan = msg.param_str(1);
    let given: Vec<String> = (3..n - 1).map(|i| msg.param_str(i)).collect();
    let (modes, args) = ngircd_modes(&msg.param_str(2), &given);
    let mut out = Vec::new();
    if modes.len() > 1 {
        let topic = w
            .find_channel(chan.as_bytes())
            .and_then(|ch| w.channels[ch].topic.as_ref())
            .map_or(&b""[..], |t| &t.text[..]);
        let mut l = Line::new(prefix, "CHANINFO").arg(&chan).arg(&modes);
        if modes.contains('k') || modes.contains('l') {
            // ngIRCd takes the key and the limit together, then the topic; the SJOIN gives
            // their values in the order of its letters (`+lk 7 key` as well as `+kl key 7`).
            let mut it = args.iter();
            let (mut key, mut limit) = ("*".to_string(), "0".to_string());
            for c in modes.chars() {
                match c {
                    'k' => key = it.next().cloned().unwrap_or(key),
                    'l' => limit = it.next().cloned().unwrap_or(limit),
                    _ => {}
                }
            }
            l = l.arg(key).arg(limit).trailing(topic);
        } else if !topic.is_empty() {
            l = l.trailing(topic);
        }
        out.push(rc(l));
    }
    let members: Vec<&str> = std::str::from_utf8(msg.param(n - 1))
        .unwrap_or_default()
        .split_whitespace()
        .collect();
    if !members.is_empty() {
        out.push(rc(Line::new(prefix, "NJOIN")
            .arg(&chan)
            .trailing(members.join(","))));
    }
    out
}

/// What to do with a line from ngIRCd.
pub enum Inbound {
    /// The line means the same natively: handle it as it is.
    Same,
    /// Native messages to run through the command table, in order.
    Native(Vec<OwnedMessage>),
    /// Native lines introducing a user ngIRCd cloaks (+x): run, then the user is marked
    /// [`umode::NGIRCD_CLOAK`] ([`mark_intro`]).
    Cloaked(Vec<OwnedMessage>),
    /// Nothing to do (handled here or deliberately ignored).
    Done,
    /// The link must go, for this reason.
    Drop(String),
}

/// Translates one line from ngIRCd. `peer` is the ngIRCd server's index in `World::servers`.
pub fn inbound(w: &mut World, rfc: &mut RfcLink, peer: ServerId, msg: &Message<'_>) -> Inbound {
    let prefix = String::from_utf8_lossy(msg.prefix.unwrap_or_default()).into_owned();
    let prefix = if prefix.is_empty() {
        w.servers[peer].name.to_string()
    } else {
        prefix
    };
    let p = |i: usize| String::from_utf8_lossy(msg.param(i)).into_owned();
    let mut buf = [0u8; 16];
    let verb = msg.command_upper(&mut buf).to_vec();
    let one = |m: OwnedMessage| Inbound::Native(vec![m]);
    match &verb[..] {
        b"005" => {
            // H handshake: the network must agree on the nick length.
            let ours = w.config.limits.nick_length;
            for t in msg.params().iter().skip(1) {
                if let Some(v) = t.strip_prefix(b"CASEMAPPING=") {
                    // Nicks and channels must fold alike on both sides, or one server's
                    // "[a]" and "{a}" are the other's one name.
                    if v != w.cm.name().as_bytes() {
                        return Inbound::Drop(format!(
                            "Incompatible case mapping: ours {}, {} has {}; set casemapping = \"{}\"",
                            w.cm.name(),
                            w.servers[peer].name,
                            String::from_utf8_lossy(v),
                            String::from_utf8_lossy(v)
                        ));
                    }
                }
                if let Some(v) = t.strip_prefix(b"NICKLEN=") {
                    let theirs: usize = std::str::from_utf8(v)
                        .ok()
                        .and_then(|s| s.parse().ok())
                        .unwrap_or(0);
                    if theirs != ours {
                        return Inbound::Drop(format!("Incompatible nickname length: ours {ours}, {} has {theirs}; set the same on both", w.servers[peer].name));
                    }
                }
            }
            Inbound::Done
        }
        b"SERVER" if msg.len() >= 4 => {
            let token: u32 = p(2).parse().unwrap_or(0);
            let sid = synthetic_sid(w);
            rfc.tokens.insert(token, sid);
            one(OwnedMessage::new(&prefix, "SERVER")
                .arg(p(0))
                .arg(p(1))
                .arg(sid.to_string())
                .trailing(msg.param(3)))
        }
        b"NICK" if msg.len() >= 7 => {
            let token: u32 = p(4).parse().unwrap_or(1);
            let sid = if token == 1 {
                w.servers[peer].sid
            } else {
                rfc.tokens.get(&token).copied().unwrap_or(0)
            };
            // Timestamp 0: unknown. A collision with it removes both users, as ngIRCd does.
            let umodes = p(5);
            let mut lines = vec![OwnedMessage::new(&prefix, "NICK")
                .arg(p(0))
                .arg(p(1))
                .arg("0")
                .arg(p(2))
                .arg(p(3))
                .arg(sid.to_string())
                .arg(umodes.replace('a', ""))
                .trailing(msg.param(6))];
            if umodes.contains('a') {
                lines.push(OwnedMessage::new(&p(0), "AWAY").trailing(AWAY_TEXT));
            }
            if umodes.contains('x') {
                // ngIRCd cloaks it; a cloakhost follows only if ngIRCd has one.
                return Inbound::Cloaked(lines);
            }
            Inbound::Native(lines)
        }
        b"NICK" if !msg.is_empty() => one(OwnedMessage::new(&prefix, "NICK").arg(p(0)).arg("0")),
        b"NJOIN" if msg.len() >= 2 => {
            let members: Vec<String> = p(1)
                .split(',')
                .filter(|m| !m.is_empty())
                .map(member_flags)
                .collect();
            let ts = channel_ts(w, msg.param(0));
            let info = rfc.pending.remove(&*w.cm.fold(&p(0))).unwrap_or_default();
            let server = w.servers[peer].name.to_string();
            let words = if info.words.is_empty() {
                "+".to_string()
            } else {
                info.words
            };
            let mut l = OwnedMessage::new(&server, "SJOIN")
                .arg(ts.to_string())
                .arg(p(0))
                .arg(words);
            for a in &info.args {
                l = l.arg(a);
            }
            let mut lines = vec![l.trailing(members.join(" "))];
            if let Some(t) = info.topic {
                lines.push(topic_burst(w, &server, &p(0), &t));
            }
            Inbound::Native(lines)
        }
        b"JOIN" if !msg.is_empty() => {
            let Some(cid) = w.find_nick(prefix.as_bytes()) else {
                return Inbound::Done;
            };
            let server = w.servers[w.clients[cid].server].name.clone();
            let mut lines = Vec::new();
            for item in p(0).split(',').filter(|c| !c.is_empty()) {
                // RFC 2813 §4.2.1: `#chan^Gov` carries the joiner's status.
                let (chan, letters) = item.split_once('\x07').unwrap_or((item, ""));
                let status = letters
                    .bytes()
                    .filter_map(ng_member_mode)
                    .fold(modes::Status::NONE, |s, d| s.with(d.status));
                let mut who = String::new();
                status.push_prefixes(&mut who, true, 0);
                who.push_str(&w.clients[cid].nick);
                let ts = channel_ts(w, chan.as_bytes());
                lines.push(
                    OwnedMessage::new(&server, "SJOIN")
                        .arg(ts.to_string())
                        .arg(chan)
                        .arg("+")
                        .trailing(who),
                );
            }
            Inbound::Native(lines)
        }
        b"CHANINFO" if msg.len() >= 2 => chaninfo(w, rfc, peer, msg),
        b"MODE" if msg.len() >= 2 && is_channel(msg.param(0)) => channel_mode(&prefix, msg),
        b"MODE" if msg.len() >= 2 => {
            let swap = cloak_mode(w, rfc, peer, msg);
            Inbound::Native(swap.into_iter().chain(user_mode(&prefix, msg)).collect())
        }
        b"TOPIC" if msg.len() >= 2 => {
            let now = w.now.unix_s().to_string();
            if w.find_nick(prefix.as_bytes()).is_some() {
                one(OwnedMessage::new(&prefix, "TOPIC")
                    .arg(p(0))
                    .arg(now)
                    .trailing(msg.param(1)))
            } else {
                one(OwnedMessage::new(&prefix, "TB")
                    .arg(p(0))
                    .arg(now)
                    .arg(&prefix)
                    .trailing(msg.param(1)))
            }
        }
        b"METADATA" if msg.len() >= 3 => metadata(w, rfc, peer, &prefix, msg),
        // ngIRCd extras with no Portico meaning; PASS/numerics left over from the handshake.
        b"METADATA" | b"GLINE" | b"SERVICE" | b"SERVLIST" | b"PASS" => Inbound::Done,
        v if v.len() == 3 && v.iter().all(u8::is_ascii_digit) => Inbound::Done,
        _ => Inbound::Same,
    }
}

/// `METADATA <nick> <key> :<value>` from ngIRCd (it sends them because we announce the
/// IRC+ flag M): a new host or username is the native CHGHOST, an `accountname` (set by
/// services linked to ngIRCd) the native ACCOUNT; the rest (`certfp`, `info`) is ignored.
///
/// ngIRCd keeps two hosts per user and shows one: `host`, the real one, unless the user
/// has its user mode +x, and then `cloakhost` (irc-metadata.c, client.c
/// `Client_HostnameDisplayed`). Portico shows one; a user ngIRCd shows the cloak of is
/// marked [`umode::NGIRCD_CLOAK`] (by the +x of its NICK or of a MODE). Of a user behind
/// this link, the host ngIRCd shows is shown and the other kept in [`RfcLink::hidden`]
/// (swapped on ±x by [`cloak_mode`]), so neither is lost: a `cloakhost` of a user without
/// the mark (ngIRCd sends one after the NICK of a -x user in its burst, and just before a
/// +x) waits there, as a `host` of a marked user does. An empty `cloakhost` (Atheme's
/// "vhost off") removes the cloak: the real host is shown, the mark cleared.
///
/// Of a user of another server (ngIRCd's services may cloak ours), ngIRCd's hidden host is
/// not kept: a `cloakhost` is shown and marks, a `host` of a marked user is ignored.
fn metadata(
    w: &mut World,
    rfc: &mut RfcLink,
    peer: ServerId,
    prefix: &str,
    msg: &Message<'_>,
) -> Inbound {
    let Some(cid) = w.find_nick(msg.param(0)) else {
        return Inbound::Done;
    };
    let value = msg.param(2);
    let key = msg.param(1).to_ascii_lowercase();
    let c = &w.clients[cid];
    match &*key {
        b"cloakhost" if value.is_empty() => {
            let marked = c.has(umode::NGIRCD_CLOAK);
            w.set_umodes(cid, c.umodes & !umode::NGIRCD_CLOAK);
            let real = if marked {
                swap(w, rfc, peer, cid)
            } else {
                None
            };
            rfc.hidden.remove(&cid);
            real.map_or(Inbound::Done, |l| Inbound::Native(vec![l]))
        }
        b"cloakhost" | b"host" if !valid_host(value) => {
            log::debug!(
                "ngIRCd METADATA {} for {}: invalid host ignored",
                shown(&key),
                c.nick
            );
            Inbound::Done
        }
        b"cloakhost" | b"host" => {
            let host = std::str::from_utf8(value).expect("valid_host is ASCII");
            new_host(w, rfc, peer, prefix, cid, &*key == b"cloakhost", host)
        }
        b"user" if !value.is_empty() => Inbound::Native(vec![OwnedMessage::new(prefix, "CHGHOST")
            .arg(&*c.nick)
            .arg(value)
            .arg(&*c.host)]),
        b"accountname" => account(&c.nick, value),
        _ => Inbound::Done,
    }
}

/// A new `host` (real) or cloak (`cloak`) for `cid` from ngIRCd: shown if ngIRCd shows it,
/// else kept hidden (see [`metadata`]).
fn new_host(
    w: &mut World,
    rfc: &mut RfcLink,
    peer: ServerId,
    prefix: &str,
    cid: ClientId,
    cloak: bool,
    host: &str,
) -> Inbound {
    let marked = w.clients[cid].has(umode::NGIRCD_CLOAK);
    let own = behind(w, peer, cid);
    if cloak != marked && (own || !cloak) {
        if own {
            keep_hidden(rfc, cid, host.into(), &w.clients[cid].host);
        }
        return Inbound::Done;
    }
    if own {
        // The host replaced is the real one if a cloak comes and none was kept.
        let shown = &w.clients[cid].host;
        let other = rfc.hidden.remove(&cid);
        if let Some(other) = other.or_else(|| cloak.then(|| shown.clone())) {
            keep_hidden(rfc, cid, other, host);
        }
    } else if cloak {
        w.set_umodes(cid, w.clients[cid].umodes | umode::NGIRCD_CLOAK);
    }
    Inbound::Native(vec![chghost(w, prefix, cid, host)])
}

/// Keeps `hidden` as `cid`'s other host, unless it is the one shown.
fn keep_hidden(rfc: &mut RfcLink, cid: ClientId, hidden: Box<str>, shown: &str) {
    if *hidden == *shown {
        rfc.hidden.remove(&cid);
    } else {
        rfc.hidden.insert(cid, hidden);
    }
}

/// Whether `cid` is a user behind the ngIRCd link to `peer`.
fn behind(w: &World, peer: ServerId, cid: ClientId) -> bool {
    w.route(cid)
        .is_some_and(|via| Some(via) == w.servers[peer].via)
}

/// `:origin CHGHOST nick user host`: `cid` shows `host`.
fn chghost(w: &World, origin: &str, cid: ClientId, host: &str) -> OwnedMessage {
    let c = &w.clients[cid];
    OwnedMessage::new(origin, "CHGHOST")
        .arg(&*c.nick)
        .arg(&*c.user)
        .arg(host)
}

/// ngIRCd now shows the other host of `cid` (a ±x): the CHGHOST to the one kept hidden,
/// which keeps the one shown instead; none if nothing is kept.
fn swap(w: &World, rfc: &mut RfcLink, peer: ServerId, cid: ClientId) -> Option<OwnedMessage> {
    if !behind(w, peer, cid) {
        return None;
    }
    let shown = &w.clients[cid].host;
    // Our CHGHOST may have set the shown host to the kept one: nothing changes then.
    let other = rfc.hidden.remove(&cid).filter(|h| h != shown)?;
    rfc.hidden.insert(cid, shown.clone());
    // From the ngIRCd server: the line that swaps may come from a user or from services.
    Some(chghost(w, &w.servers[peer].name, cid, &other))
}

/// The user an [`Inbound::Cloaked`] introduced (its first line's NICK) is marked
/// [`umode::NGIRCD_CLOAK`]: ngIRCd shows its cloak (and sends it next, if it has one), so
/// its later `host`s are kept hidden and our CHGHOST reaches ngIRCd as its `cloakhost`.
/// Not a user of that name who was there before (a collision may have kept it).
pub fn mark_intro(w: &mut World, conn: ConnId, lines: &[OwnedMessage]) {
    let Some(nick) = lines.first().map(|l| l.as_message().param(0).to_vec()) else {
        return;
    };
    if let Some(cid) = w.find_nick(&nick).filter(|&c| w.route(c) == Some(conn)) {
        w.set_umodes(cid, w.clients[cid].umodes | umode::NGIRCD_CLOAK);
    }
}

impl World {
    /// `cid` leaves: the host its ngIRCd link kept hidden for it goes too.
    pub fn forget_hidden_host(&mut self, cid: ClientId) {
        let Some(conn) = self.route(cid) else {
            return;
        };
        if let Some(Dialect::Rfc2813(rfc)) = self.link_mut(conn).map(|l| &mut l.dialect) {
            rfc.hidden.remove(&cid);
        }
    }
}

/// An account from services linked to ngIRCd, as the native `ACCOUNT` (an empty name logs
/// out). A name that a Portico link could not carry (see [`valid_account`]) is ignored: the
/// user keeps the account it has. So is `*`, which ngIRCd records as a name but is a logout
/// natively.
fn account(nick: &str, name: &[u8]) -> Inbound {
    let name = match name {
        b"" => "*",
        v => match std::str::from_utf8(v)
            .ok()
            .filter(|_| valid_account(v) && v != b"*")
        {
            Some(n) => n,
            None => {
                log::warn!(
                    "ngIRCd METADATA accountname for {nick}: invalid name {} ignored",
                    shown(v)
                );
                return Inbound::Done;
            }
        },
    };
    Inbound::Native(vec![OwnedMessage::new(nick, "ACCOUNT").arg(name)])
}

/// Another server's bytes as a log may show them: escaped (no control characters reach
/// the log) and cut to 64 bytes.
fn shown(v: &[u8]) -> String {
    v[..v.len().min(64)].escape_ascii().to_string()
}

/// A user MODE from ngIRCd that ends in `-x` or `+x`, which ngIRCd sends with no host: it
/// now shows the user's real host (`-x`) or its cloak (`+x`). The mark follows, and the
/// host kept hidden (if any) is swapped with the one shown: the CHGHOST to it. Nothing if
/// the mark was already so (a repeated mode swaps nothing).
fn cloak_mode(
    w: &mut World,
    rfc: &mut RfcLink,
    peer: ServerId,
    msg: &Message<'_>,
) -> Option<OwnedMessage> {
    let x = signed_letters(msg.param(1))
        .filter(|&(_, letter)| letter == b'x')
        .last()
        .map(|(plus, _)| plus);
    let (Some(cid), Some(plus)) = (w.find_nick(msg.param(0)), x) else {
        return None;
    };
    let umodes = w.clients[cid].umodes;
    if (umodes & umode::NGIRCD_CLOAK != 0) == plus {
        return None;
    }
    w.set_umodes(cid, umodes ^ umode::NGIRCD_CLOAK);
    swap(w, rfc, peer, cid)
}

/// What a user away on ngIRCd shows here: RFC 2813 carries only user mode +a, and this is
/// ngIRCd's own text for remote users (`DEFAULT_AWAY_MSG`).
pub const AWAY_TEXT: &str = "Away";

/// ngIRCd's channel modes with a parameter (CHANMODES=beI,k,l,… and PREFIX=(qaohv)); `l`
/// only when set.
fn ngircd_mode_has_param(letter: u8, plus: bool) -> bool {
    matches!(
        letter,
        b'b' | b'e' | b'I' | b'k' | b'q' | b'a' | b'o' | b'h' | b'v'
    ) || (letter == b'l' && plus)
}

/// A channel MODE from ngIRCd: only the modes Portico has (others, with their parameters,
/// would shift the parameters of the rest), at most [`MAX_MODES`] parameters a line (ngIRCd
/// allows 5, and a remote change is applied as sent).
fn channel_mode(prefix: &str, msg: &Message<'_>) -> Inbound {
    let mut params = msg.params()[2..].iter();
    let mut kept: Vec<(bool, u8, Option<&[u8]>)> = Vec::new();
    for (plus, c) in signed_letters(msg.param(1)) {
        let arg = if ngircd_mode_has_param(c, plus) {
            match params.next() {
                Some(a) => Some(*a),
                None => continue,
            }
        } else {
            None
        };
        // Its admin and halfop (`a`, `h`) are our op and voice, not IRCX's flags.
        let c = ng_member_mode(c).map_or(c, |d| d.letter);
        if modes::channel_mode(c).is_some_and(|m| m.ngircd) {
            kept.push((plus, c, arg));
        }
    }
    let mut lines = Vec::new();
    let mut rest = &kept[..];
    while !rest.is_empty() {
        let (mut letters, mut args, mut sign, mut used) = (String::new(), Vec::new(), None, 0);
        for &(plus, c, arg) in rest {
            if arg.is_some() && args.len() == MAX_MODES {
                break;
            }
            if sign != Some(plus) {
                letters.push(if plus { '+' } else { '-' });
                sign = Some(plus);
            }
            letters.push(c as char);
            args.extend(arg);
            used += 1;
        }
        rest = &rest[used..];
        let mut l = OwnedMessage::new(prefix, "MODE")
            .arg(msg.param(0))
            .arg(letters);
        for a in args {
            l = l.arg(a);
        }
        lines.push(l);
    }
    Inbound::Native(lines)
}

/// A user MODE from ngIRCd: `+a`/`-a` is its way of carrying AWAY.
fn user_mode(prefix: &str, msg: &Message<'_>) -> Vec<OwnedMessage> {
    let mut rest = String::new();
    let mut lines = Vec::new();
    for (plus, c) in signed_letters(msg.param(1)) {
        if c == b'a' {
            let mut l = OwnedMessage::new(prefix, "AWAY");
            if plus {
                l = l.trailing(AWAY_TEXT);
            }
            lines.push(l);
            continue;
        }
        // A sign only where it changes, and none left behind by a removed `a`.
        let sign = if plus { '+' } else { '-' };
        if rest.rfind(['+', '-']).map(|i| rest.as_bytes()[i] as char) != Some(sign) {
            rest.push(sign);
        }
        rest.push(c as char);
    }
    if !rest.is_empty() {
        lines.insert(
            0,
            OwnedMessage::new(prefix, "MODE")
                .arg(msg.param(0))
                .trailing(rest),
        );
    }
    lines
}

/// ngIRCd's member statuses as its PREFIX gives them, `(qaohv)~&@%+`: mode letter, symbol.
const NG_STATUSES: [(u8, u8); 5] = [
    (b'q', b'~'),
    (b'a', b'&'),
    (b'o', b'@'),
    (b'h', b'%'),
    (b'v', b'+'),
];

/// Our status for one of ngIRCd's member prefix symbols, by the status table's ngIRCd column.
fn ng_prefix(symbol: u8) -> Option<&'static modes::StatusDef> {
    modes::STATUSES.iter().find(|d| d.ngircd.contains(&symbol))
}

/// Our status for one of ngIRCd's member mode letters (`a` is an op here, `h` a voice).
fn ng_member_mode(letter: u8) -> Option<&'static modes::StatusDef> {
    let &(_, symbol) = NG_STATUSES.iter().find(|(l, _)| *l == letter)?;
    ng_prefix(symbol)
}

/// ngIRCd's member prefixes (`@@nick` is a creator, `~&%` founder, admin, halfop) → ours.
fn member_flags(m: &str) -> String {
    let ours = |c: char| u8::try_from(c).ok().and_then(ng_prefix);
    let nick = m.trim_start_matches(|c| ours(c).is_some());
    let status = m[..m.len() - nick.len()]
        .chars()
        .filter_map(ours)
        .fold(modes::Status::NONE, |s, d| s.with(d.status));
    let mut s = String::new();
    status.push_prefixes(&mut s, true, 0);
    s.push_str(nick);
    s
}

/// ngIRCd has no channel timestamps: take ours (a merge, no mode wiping) or now.
fn channel_ts(w: &World, chan: &[u8]) -> u64 {
    w.find_channel(chan)
        .map_or(w.now.unix_ms, |ch| w.channels[ch].created_ms)
}

/// `CHANINFO #c +modes [key limit] [:topic]`: fills in modes and a topic we lack.
fn chaninfo(w: &World, rfc: &mut RfcLink, peer: ServerId, msg: &Message<'_>) -> Inbound {
    let server = w.servers[peer].name.to_string();
    let chan = String::from_utf8_lossy(msg.param(0)).into_owned();
    let modes = String::from_utf8_lossy(msg.param(1)).into_owned();
    let (key, limit, topic) = match msg.len() {
        n if n >= 5 => (Some(msg.param(2)), Some(msg.param(3)), Some(msg.param(4))),
        3 => (None, None, Some(msg.param(2))),
        _ => (None, None, None),
    };
    let mut info = ChanInfo {
        words: String::from("+"),
        ..Default::default()
    };
    for c in modes.chars().filter(|c| *c != '+') {
        match c {
            'k' => {
                if let Some(k) = key.filter(|k| !k.is_empty() && *k != b"*") {
                    info.words.push('k');
                    info.args.push(String::from_utf8_lossy(k).into_owned());
                }
            }
            'l' => {
                if let Some(n) = limit
                    .and_then(|l| std::str::from_utf8(l).ok())
                    .filter(|l| *l != "0")
                {
                    info.words.push('l');
                    info.args.push(n.to_string());
                }
            }
            c if "imnpst".contains(c) => info.words.push(c),
            _ => {}
        }
    }
    info.topic = topic.filter(|t| !t.is_empty()).map(<[u8]>::to_vec);
    if w.find_channel(chan.as_bytes()).is_none() {
        // Bounded: a peer that sends CHANINFO without NJOIN cannot grow this without end.
        if rfc.pending.len() < MAX_PENDING_CHANINFO {
            rfc.pending.insert(w.cm.fold(&chan).into(), info);
        }
        return Inbound::Done;
    }
    // An existing channel: an SJOIN without members at its own timestamp merges the modes.
    let ts = channel_ts(w, chan.as_bytes());
    let mut l = OwnedMessage::new(&server, "SJOIN")
        .arg(ts.to_string())
        .arg(&chan)
        .arg(&info.words);
    for a in &info.args {
        l = l.arg(a);
    }
    let mut lines = vec![(l.trailing(""))];
    if let Some(t) = info.topic {
        lines.push(topic_burst(w, &server, &chan, &t));
    }
    Inbound::Native(lines)
}

/// A native TB line for a topic ngIRCd sent (it carries no time: now).
fn topic_burst(w: &World, server: &str, chan: &str, text: &[u8]) -> OwnedMessage {
    OwnedMessage::new(server, "TB")
        .arg(chan)
        .arg(w.now.unix_s().to_string())
        .arg(server)
        .trailing(text)
}

fn synthetic_sid(w: &World) -> u16 {
    (SYNTHETIC_SID_BASE..u16::MAX)
        .find(|sid| !w.servers.iter().any(|(_, s)| s.sid == *sid))
        .unwrap_or(u16::MAX)
}

#[cfg(test)]
#[path = "tests/rfc2813_units.rs"]
mod tests;
