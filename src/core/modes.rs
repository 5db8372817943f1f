//! Member statuses and channel modes, one table each. ISUPPORT (CHANMODES, PREFIX,
//! STATUSMSG), MYINFO, the MODE handler, the burst, merges on a netsplit heal and the ngIRCd
//! translation all read these tables, so adding a mode is one row (plus, for a new kind of
//! mode, its rule in `handlers/mode.rs` and `portal/burst.rs`).

use super::caps::{self, Caps};

/// A member's status in a channel: a set of bits, a higher bit outranking every lower one
/// (so "at least op" is a comparison, whatever statuses lie in between).
#[derive(Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Debug, Hash)]
pub struct Status(u8);

impl Status {
    pub const NONE: Status = Status(0);
    pub const VOICE: Status = Status(1);
    /// Room below for a halfop-like rank. IRCX calls ops hosts.
    pub const OP: Status = Status(4);
    /// IRCX channel owner (`+q`): outranks hosts, and only owners act on owners.
    pub const OWNER: Status = Status(8);

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }
    pub fn contains(self, s: Status) -> bool {
        self.0 & s.0 == s.0
    }
    /// Holds `rank` or any status above it.
    pub fn at_least(self, rank: Status) -> bool {
        self.0 >= rank.0
    }
    pub fn with(self, s: Status) -> Status {
        Status(self.0 | s.0)
    }
    pub fn without(self, s: Status) -> Status {
        Status(self.0 & !s.0)
    }
    pub fn is_op(self) -> bool {
        self.at_least(Status::OP)
    }

    /// The statuses held, highest first.
    pub fn each(self) -> impl Iterator<Item = &'static StatusDef> {
        STATUSES.iter().filter(move |d| self.contains(d.status))
    }

    /// The prefix symbols a client sees: the highest, or with multi-prefix all, highest first.
    pub fn push_prefixes(self, s: &mut String, multi: bool, dialect: Caps) {
        for d in self.each() {
            s.push(d.prefix_for(dialect) as char);
            if !multi {
                return;
            }
        }
    }

    /// Splits leading prefix symbols off a member token (`@+nick`), as servers send them.
    pub fn parse_prefixed(token: &[u8]) -> (Status, &[u8]) {
        let mut status = Status::NONE;
        let mut rest = token;
        while let Some(d) = rest.first().and_then(|&c| status_by_prefix(c)) {
            status = status.with(d.status);
            rest = &rest[1..];
        }
        (status, rest)
    }
}

/// One member status: its mode letter and how it is shown.
pub struct StatusDef {
    pub status: Status,
    pub letter: u8,
    /// The prefix symbol RFC clients (and servers) see.
    pub prefix: u8,
    /// The prefix symbol IRCX clients see.
    pub ircx_prefix: u8,
    /// ngIRCd's prefixes that mean this status here (the first is the one we send it).
    pub ngircd: &'static [u8],
}

impl StatusDef {
    pub fn prefix_for(&self, dialect: Caps) -> u8 {
        if dialect & caps::DIALECT_IRCX != 0 {
            self.ircx_prefix
        } else {
            self.prefix
        }
    }
}

/// Highest rank first: the order of PREFIX, NAMES and WHO flags.
pub const STATUSES: &[StatusDef] = &[
    StatusDef {
        status: Status::OWNER,
        letter: b'q',
        // Modern clients know `~` as the founder's symbol; IRCX clients expect `.`.
        prefix: b'~',
        ircx_prefix: b'.',
        // ngIRCd's founder is an owner here.
        ngircd: b"~",
    },
    StatusDef {
        status: Status::OP,
        letter: b'o',
        prefix: b'@',
        ircx_prefix: b'@',
        // ngIRCd's admin (&) and op (@) are ops here.
        ngircd: b"@&",
    },
    StatusDef {
        status: Status::VOICE,
        letter: b'v',
        prefix: b'+',
        ircx_prefix: b'+',
        // ngIRCd's halfop (%) has no rank here between voice and op: it speaks, as voice.
        ngircd: b"+%",
    },
];

pub fn status_by_prefix(c: u8) -> Option<&'static StatusDef> {
    STATUSES.iter().find(|d| d.prefix == c)
}

/// `@#chan` / `+#chan`: the lowest status a STATUSMSG target reaches, and the channel.
pub fn statusmsg_target(target: &[u8]) -> (Status, &[u8]) {
    match target.split_first() {
        Some((&c, rest)) if super::super::proto::casemap::is_channel(rest) => {
            match status_by_prefix(c) {
                Some(d) => (d.status, rest),
                None => (Status::NONE, target),
            }
        }
        _ => (Status::NONE, target),
    }
}

/// What a channel mode is and where its value lives.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Kind {
    /// A list of masks (CHANMODES class A): bans, ban exceptions, invite exceptions.
    Ban,
    /// A parameter given to set and to unset (class B): the key.
    Key,
    /// A parameter given only to set (class C): the member limit.
    Limit,
    /// On or off (class D): a bit of `Channel::modes`.
    Flag,
    /// A member status (PREFIX): its parameter is a nick.
    Member(Status),
}

/// Who may change a mode through MODE, beside the member status in `set_by`.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Right {
    /// Members holding `set_by`.
    Status,
    /// Sysop managers (user mode +a) only, whatever their status in the channel.
    Manager,
    /// Sysop managers, or the creator as part of CREATE (IRCX AUDITORIUM: members would
    /// otherwise see a room they joined vanish around them).
    AtCreate,
    /// The server alone: no user, whatever their level.
    Server,
}

/// One channel mode.
pub struct ChanMode {
    pub letter: u8,
    pub kind: Kind,
    /// The status needed to change it (when `right` is [`Right::Status`]).
    pub set_by: Status,
    pub right: Right,
    /// ngIRCd has it with the same meaning: it crosses an rfc2813 link (others stay here).
    pub ngircd: bool,
    /// Set only by this server itself (IRCX REGISTERED, from the configuration): users are
    /// refused it (481) and links cannot set it here.
    pub server_only: bool,
}

const fn row(letter: u8, kind: Kind) -> ChanMode {
    ChanMode {
        letter,
        kind,
        set_by: Status::OP,
        right: Right::Status,
        ngircd: true,
        server_only: false,
    }
}

/// A mode ngIRCd does not have (it stays on the Portico side of an rfc2813 link).
const fn ours(letter: u8, kind: Kind) -> ChanMode {
    ChanMode {
        ngircd: false,
        ..row(letter, kind)
    }
}

/// A flag only this server sets: it describes this server's configuration, not the channel
/// as the network shares it.
const fn server_flag(letter: u8) -> ChanMode {
    ChanMode {
        server_only: true,
        ..above_members(letter, Right::Server)
    }
}

/// An IRCX flag that needs more than a member status to change.
const fn above_members(letter: u8, right: Right) -> ChanMode {
    ChanMode {
        right,
        ..ours(letter, Kind::Flag)
    }
}

/// Every channel mode, in letter order (MYINFO lists them so). Flags are listed (324, LIST,
/// the burst) in this order.
pub const CHANNEL_MODES: &[ChanMode] = &[
    // No CTCP but ACTION (InspIRCd's and UnrealIRCd's letter; ngIRCd has no such mode).
    ours(b'C', Kind::Flag),
    // IRCX CLONE (the draft's `e`, which is the ban-exception list everywhere now): a
    // channel the server made when a +d channel was full.
    above_members(b'E', Right::Server),
    // Invite exceptions (INVEX): a user matching one joins +i without an invitation.
    row(b'I', Kind::Ban),
    // IRCX AUTHONLY: only users who authenticated (AUTH PLAIN) may join.
    ours(b'a', Kind::Flag),
    row(b'b', Kind::Ban),
    // IRCX CLONEABLE: a JOIN that finds it full goes to a clone (#name1 … #name99).
    ours(b'd', Kind::Flag),
    // Ban exceptions (EXCEPTS): a banned user matching one is not banned.
    row(b'e', Kind::Ban),
    // IRCX NOFORMAT: clients show the channel's text raw. The server only keeps the flag.
    above_members(b'f', Right::Manager),
    // IRCX HIDDEN: public, but not enumerated by LIST or LISTX for non-members.
    ours(b'h', Kind::Flag),
    row(b'i', Kind::Flag),
    row(b'k', Kind::Key),
    row(b'l', Kind::Limit),
    row(b'm', Kind::Flag),
    row(b'n', Kind::Flag),
    row(b'o', Kind::Member(Status::OP)),
    row(b'p', Kind::Flag),
    // IRCX owner: only owners give or take it.
    ChanMode {
        set_by: Status::OWNER,
        ..row(b'q', Kind::Member(Status::OWNER))
    },
    // IRCX REGISTERED: declared by a `[[channel]]` of this server's configuration; it stays
    // while empty.
    server_flag(b'r'),
    row(b's', Kind::Flag),
    row(b't', Kind::Flag),
    // IRCX KNOCK: hosts hear of refused joins.
    ours(b'u', Kind::Flag),
    row(b'v', Kind::Member(Status::VOICE)),
    // IRCX NOWHISPER: no whispers between ordinary members.
    ours(b'w', Kind::Flag),
    // IRCX AUDITORIUM: ordinary members see and reach only the hosts (and themselves).
    above_members(b'x', Right::AtCreate),
    // IRCX SERVICE: a service watches the channel.
    above_members(b'z', Right::Server),
];

/// PRIVATE, HIDDEN and SECRET exclude each other (draft §8.1): setting one clears the
/// others.
pub const EXCLUSIVE: &[u8] = b"hps";

/// The letters of a mode string (`+ab-c`) with their signs: `+` until a `-` comes, and
/// after each sign until the next. Every MODE reader walks a string this way.
pub fn signed_letters(modes: &[u8]) -> impl Iterator<Item = (bool, u8)> + '_ {
    let mut plus = true;
    modes.iter().filter_map(move |&letter| match letter {
        b'+' | b'-' => {
            plus = letter == b'+';
            None
        }
        _ => Some((plus, letter)),
    })
}

pub fn channel_mode(letter: u8) -> Option<&'static ChanMode> {
    CHANNEL_MODES.iter().find(|m| m.letter == letter)
}

/// The bit of a flag mode in `Channel::modes`: its place among the flag rows, so a new
/// flag needs no constant of its own.
pub const fn flag_bit(letter: u8) -> u32 {
    let mut i = 0;
    let mut bit = 0;
    while i < CHANNEL_MODES.len() {
        let m = &CHANNEL_MODES[i];
        if matches!(m.kind, Kind::Flag) {
            if m.letter == letter {
                return 1 << bit;
            }
            bit += 1;
        }
        i += 1;
    }
    panic!("no such flag mode")
}

/// The flag modes with their bits, in listing order.
pub fn flags() -> impl Iterator<Item = (u8, u32)> {
    CHANNEL_MODES
        .iter()
        .filter(|m| m.kind == Kind::Flag)
        .map(|m| (m.letter, flag_bit(m.letter)))
}

/// The bits of the flags only this server sets.
pub fn server_only_bits() -> u32 {
    CHANNEL_MODES
        .iter()
        .filter(|m| m.kind == Kind::Flag && m.server_only)
        .fold(0, |bits, m| bits | flag_bit(m.letter))
}

impl ChanMode {
    /// Whether a change takes a parameter (`plus`: setting it).
    pub fn takes_param(&self, plus: bool) -> bool {
        match self.kind {
            Kind::Ban | Kind::Key | Kind::Member(_) => true,
            Kind::Limit => plus,
            Kind::Flag => false,
        }
    }

    /// Its CHANMODES class: 0-3 for A-D, none for a status.
    fn class(&self) -> Option<usize> {
        match self.kind {
            Kind::Ban => Some(0),
            Kind::Key => Some(1),
            Kind::Limit => Some(2),
            Kind::Flag => Some(3),
            Kind::Member(_) => None,
        }
    }
}

/// Letters of the modes `keep` selects, in table order.
fn letters(keep: impl Fn(&ChanMode) -> bool) -> String {
    CHANNEL_MODES
        .iter()
        .filter(|m| keep(m))
        .map(|m| m.letter as char)
        .collect()
}

/// `b,k,l,imnpst` (ISUPPORT CHANMODES), of the modes `keep` selects.
pub fn chanmodes_with(keep: impl Fn(&ChanMode) -> bool) -> String {
    (0..4)
        .map(|class| letters(|m| m.class() == Some(class) && keep(m)))
        .collect::<Vec<_>>()
        .join(",")
}

pub fn chanmodes() -> String {
    chanmodes_with(|_| true)
}

/// `(qov)~@+` (ISUPPORT PREFIX), with the symbols a client of `dialect` sees.
pub fn prefix_token(dialect: Caps) -> String {
    prefix_token_below(dialect, Status(u8::MAX))
}

/// PREFIX of the statuses up to `top`: a link that carries owners as ops hears `(ov)@+`.
pub fn prefix_token_below(dialect: Caps, top: Status) -> String {
    let shown = || STATUSES.iter().filter(|d| d.status <= top);
    let letters: String = shown().map(|d| d.letter as char).collect();
    let symbols: String = shown().map(|d| d.prefix_for(dialect) as char).collect();
    format!("({letters}){symbols}")
}

/// `@+` (ISUPPORT STATUSMSG).
pub fn statusmsg_token() -> String {
    STATUSES.iter().map(|d| d.prefix as char).collect()
}

/// MYINFO's channel modes (every letter) and the ones that take a parameter.
pub fn myinfo_channel_modes() -> (String, String) {
    (letters(|_| true), letters(|m| m.takes_param(true)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signed_letters_carry_the_last_sign() {
        let got: Vec<(bool, u8)> = signed_letters(b"ab-c+-d++e-").collect();
        assert_eq!(
            got,
            vec![
                (true, b'a'),
                (true, b'b'),
                (false, b'c'),
                (false, b'd'),
                (true, b'e')
            ]
        );
        assert_eq!(signed_letters(b"").count(), 0);
    }

    #[test]
    fn derived_tokens() {
        assert_eq!(chanmodes(), "Ibe,k,l,CEadfhimnprstuwxz");
        assert_eq!(chanmodes_with(|m| m.ngircd), "Ibe,k,l,imnpst");
        assert_eq!(prefix_token(0), "(qov)~@+");
        assert_eq!(prefix_token(caps::DIALECT_IRCX), "(qov).@+");
        assert_eq!(prefix_token_below(0, Status::OP), "(ov)@+");
        assert_eq!(statusmsg_token(), "~@+");
        assert_eq!(
            myinfo_channel_modes(),
            (
                "CEIabdefhiklmnopqrstuvwxz".to_string(),
                "Ibekloqv".to_string()
            )
        );
    }

    #[test]
    fn ranks_and_prefixes() {
        let both = Status::OP.with(Status::VOICE);
        assert!(both.is_op() && both.at_least(Status::VOICE));
        assert!(!Status::VOICE.is_op());
        for (status, multi, want) in [
            (both, true, "@+"),
            (both, false, "@"),
            (Status::VOICE, false, "+"),
            (Status::NONE, true, ""),
        ] {
            let mut s = String::new();
            status.push_prefixes(&mut s, multi, 0);
            assert_eq!(s, want);
        }
        assert_eq!(Status::parse_prefixed(b"@+bob"), (both, &b"bob"[..]));
        assert_eq!(Status::parse_prefixed(b"bob"), (Status::NONE, &b"bob"[..]));
        assert_eq!(statusmsg_target(b"@#c"), (Status::OP, &b"#c"[..]));
        assert_eq!(statusmsg_target(b"+#c"), (Status::VOICE, &b"#c"[..]));
        assert_eq!(statusmsg_target(b"#c"), (Status::NONE, &b"#c"[..]));
        assert_eq!(statusmsg_target(b"@bob"), (Status::NONE, &b"@bob"[..]));
    }

    #[test]
    fn flag_bits_are_distinct() {
        let bits: Vec<u32> = flags().map(|(_, b)| b).collect();
        // One bit each, in table order, and all within `Channel::modes` (a u32).
        let n = CHANNEL_MODES
            .iter()
            .filter(|m| m.kind == Kind::Flag)
            .count();
        assert!(n <= 32, "{n} flags");
        assert_eq!(bits, (0..n).map(|i| 1 << i).collect::<Vec<u32>>());
    }
}
