//! LISTX, the extended channel list (draft §5.8, §9.1): `LISTX [<channels>]` or
//! `LISTX <query terms> [<limit>]`. The answer is 811, one 812
//! `<channel> <modes> <members> <limit> :<topic>` per channel, then 817, or 816 when the
//! limit (the caller's or the server's [`LISTX_MAX`]) cut the list.
//!
//! Choices where the draft is silent:
//! * Parameters are split at commas and spaces, so `LISTX <5,>1` and `LISTX :<5 >1` are the
//!   same query. Empty items are ignored.
//! * The last item is the limit when it is all digits, after channel names, after query
//!   terms, or alone (`LISTX 10`: every channel, ten at most). `0` (or no limit) means no
//!   limit of the caller's; the server's cap still applies. A digits-only item anywhere else
//!   is malformed.
//! * An item starting with `#` or `&` is a channel name, matched exactly (no wildcards:
//!   `N=` is the mask form); names not found are skipped, a name given twice is listed once.
//!   Channel names and query terms do not mix (900).
//! * Query terms all apply (AND). Letters are accepted in either case (`c<5` = `C<5`).
//!   `<N`/`>N` compare the member count; `C<N`/`C>N` and `T<N`/`T>N` the age in minutes
//!   (compared in seconds against N×60) of the channel and of its topic; a channel without
//!   a topic matches no `T<`/`T>` term, and its topic is empty for `T=`.
//! * `R=1` matches registered channels (`+r`, from `[[channel]]`), `R=0` the others.
//! * `L=`/`S=` match the LANGUAGE and SUBJECT properties (PROP); a channel without one
//!   matches as if it were empty, so `L=*` (or `L=`) matches every channel.
//! * Masks use `*` and `?` under the server's case mapping, and the draft's escapes `\b`
//!   (space), `\c` (comma), `\\`, `\*`, `\?` (the last two match literally). Any other
//!   backslash sequence, a number that is not all digits, or an unknown term is answered
//!   `900 LISTX :Bad command`, and nothing is listed.
//! * Visibility: a secret or private channel is listed only to its members, by name too.
//! * `813 :<pics>` follows a channel's 812 when its PICS property is set.
//! * 816 is sent only when a further matching channel was left out, not whenever a limit
//!   was given.

use super::prop::Prop;
use crate::core::dispatch::{err, Ctx, HResult};
use crate::core::modes;
use crate::core::paging::{self, Cursor, Lister};
use crate::core::state::cmode;
use crate::core::{Channel, ClientId, ConnId, Outbox, World};
use crate::proto::casemap::{is_channel, CaseMapping};
use crate::proto::numeric as n;
use crate::proto::Message;

/// Most channels one LISTX lists, whatever the caller's limit: an 812 line is at most 512
/// bytes, so one command can queue at most about half a megabyte. A caller wanting more
/// asks again with narrower terms.
pub const LISTX_MAX: usize = 1000;

/// `LISTX [<channels>]` / `LISTX <query terms> [<limit>]`, a page at a time
/// (core/paging.rs).
pub fn listx(ctx: &mut Ctx<'_>, msg: &Message<'_>) -> HResult {
    let cid = ctx.client();
    let query = parse(msg.params()).ok_or_else(|| err(n::IRCERR_BADCOMMAND, &[b"LISTX"]))?;
    let w = &*ctx.w;
    let cursor = if query.names.is_empty() {
        Cursor::Channels(0)
    } else {
        let mut found: Vec<u32> = Vec::new();
        for name in &query.names {
            if let Some(ch) = w.find_channel(name) {
                if !found.contains(&ch.0) {
                    found.push(ch.0);
                }
            }
        }
        Cursor::Ids(found.into(), 0)
    };
    w.reply(ctx.out, ctx.conn, n::IRCRPL_LISTXSTART, &[]);
    let lister = Listing {
        me: cid,
        named: !query.names.is_empty(),
        terms: query.terms,
        limit: query.limit,
        listed: 0,
        truncated: false,
    };
    paging::start(ctx.w, ctx.conn, lister, cursor, ctx.out);
    Ok(())
}

/// One LISTX under way.
struct Listing {
    me: ClientId,
    /// Channels were asked for by name.
    named: bool,
    terms: Vec<Term>,
    limit: usize,
    listed: usize,
    /// A further matching channel was left out (816).
    truncated: bool,
}

impl Lister for Listing {
    fn item(&mut self, w: &World, conn: ConnId, id: u32, out: &mut Outbox) -> bool {
        // A channel named in the query may be gone by its turn.
        let Some(chan) = w.channels.get(paging::channel(id)) else {
            return true;
        };
        // A hidden channel answers a query by its name, but is never enumerated.
        let hidden = chan.has(cmode::HIDDEN) && !self.named && !chan.members.contains_key(&self.me);
        if hidden || !visible(chan, self.me) || !self.terms.iter().all(|t| t.matches(w, chan)) {
            return true;
        }
        if self.listed == self.limit {
            self.truncated = true;
            return false;
        }
        self.listed += 1;
        out.send(conn, entry(w, conn, chan));
        if let Some(pics) = chan.prop(Prop::Pics) {
            let line = w.num(conn, n::IRCRPL_LISTXPICS).trailing(pics).finish();
            out.send(conn, line);
        }
        true
    }
    fn end(&mut self, w: &World, conn: ConnId, out: &mut Outbox) {
        let last = if self.truncated {
            n::IRCRPL_LISTXTRUNC
        } else {
            n::IRCRPL_LISTXEND
        };
        w.reply(out, conn, last, &[]);
    }
}

/// Secret and private channels are shown to their members only.
fn visible(chan: &Channel, cid: ClientId) -> bool {
    !chan.is_secret() || chan.members.contains_key(&cid)
}

/// `812 <nick> <channel> <modes> <members> <limit> :<topic>`: the modes are the flags only
/// (the draft: no mode that takes an argument).
fn entry(w: &World, conn: ConnId, chan: &Channel) -> std::rc::Rc<[u8]> {
    let mut flags = vec![b'+'];
    flags.extend(
        modes::flags()
            .filter(|&(_, bit)| chan.has(bit))
            .map(|(c, _)| c),
    );
    let topic = chan.topic.as_ref().map_or(&[][..], |t| &t.text[..]);
    w.num(conn, n::IRCRPL_LISTXLIST)
        .arg(&*chan.name)
        .arg(flags)
        .arg(chan.members.len().to_string())
        .arg(chan.limit.to_string())
        .trailing(topic)
        .finish()
}

/// A parsed LISTX: exact channel names or query terms, and how many channels at most.
#[derive(Debug)]
struct Query<'a> {
    names: Vec<&'a [u8]>,
    terms: Vec<Term>,
    limit: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cmp {
    Less,
    More,
}

impl Cmp {
    fn holds(self, value: u64, bound: u64) -> bool {
        match self {
            Cmp::Less => value < bound,
            Cmp::More => value > bound,
        }
    }
}

#[derive(Debug)]
enum Term {
    /// `<N`, `>N`: member count.
    Members(Cmp, u64),
    /// `C<N`, `C>N`: created N minutes ago.
    Created(Cmp, u64),
    /// `T<N`, `T>N`: topic set N minutes ago.
    TopicAge(Cmp, u64),
    /// `N=<mask>`.
    Name(Mask),
    /// `T=<mask>`.
    Topic(Mask),
    /// `R=0`, `R=1`.
    Registered(bool),
    /// `L=<mask>`, `S=<mask>`: the LANGUAGE and SUBJECT properties (empty when unset).
    Property(Prop, Mask),
}

impl Term {
    fn matches(&self, w: &World, chan: &Channel) -> bool {
        let now = w.now.unix_s();
        let age =
            |since: u64, minutes: u64| (now.saturating_sub(since), minutes.saturating_mul(60));
        match self {
            Term::Members(cmp, n) => cmp.holds(chan.members.len() as u64, *n),
            Term::Created(cmp, m) => {
                let (age, bound) = age(chan.created, *m);
                cmp.holds(age, bound)
            }
            Term::TopicAge(cmp, m) => chan.topic.as_ref().is_some_and(|t| {
                let (age, bound) = age(t.time, *m);
                cmp.holds(age, bound)
            }),
            Term::Name(mask) => mask.matches(w.cm, chan.name.as_bytes()),
            Term::Topic(mask) => {
                let topic = chan.topic.as_ref().map_or(&[][..], |t| &t.text[..]);
                mask.matches(w.cm, topic)
            }
            Term::Registered(r) => chan.is_registered() == *r,
            Term::Property(p, mask) => mask.matches(w.cm, chan.prop(*p).unwrap_or_default()),
        }
    }
}

/// Splits the parameters into items and reads them; `None` if anything is malformed.
fn parse<'a>(params: &[&'a [u8]]) -> Option<Query<'a>> {
    let mut items: Vec<&[u8]> = params
        .iter()
        .flat_map(|p| p.split(|&b| b == b',' || b == b' '))
        .filter(|i| !i.is_empty())
        .collect();
    let mut limit = LISTX_MAX;
    if let Some(last) = items.last().filter(|l| l.iter().all(u8::is_ascii_digit)) {
        // Longer than any count: as good as no limit.
        let asked = std::str::from_utf8(last)
            .ok()
            .and_then(|s| s.parse::<usize>().ok())
            .unwrap_or(usize::MAX);
        if asked != 0 {
            limit = asked.min(LISTX_MAX);
        }
        items.pop();
    }
    let mut query = Query {
        names: Vec::new(),
        terms: Vec::new(),
        limit,
    };
    for item in items {
        if is_channel(item) {
            query.names.push(item);
        } else {
            query.terms.push(term(item)?);
        }
    }
    if !query.names.is_empty() && !query.terms.is_empty() {
        return None;
    }
    Some(query)
}

/// One query term.
fn term(item: &[u8]) -> Option<Term> {
    let (letter, rest) = match item.first()? {
        b'<' | b'>' => (None, item),
        &c => (Some(c.to_ascii_uppercase()), &item[1..]),
    };
    let (&op, arg) = rest.split_first()?;
    let cmp = match op {
        b'<' => Some(Cmp::Less),
        b'>' => Some(Cmp::More),
        _ => None,
    };
    Some(match (letter, cmp, op) {
        (None, Some(cmp), _) => Term::Members(cmp, number(arg)?),
        (Some(b'C'), Some(cmp), _) => Term::Created(cmp, number(arg)?),
        (Some(b'T'), Some(cmp), _) => Term::TopicAge(cmp, number(arg)?),
        (Some(b'T'), None, b'=') => Term::Topic(Mask::parse(arg)?),
        (Some(b'N'), None, b'=') => Term::Name(Mask::parse(arg)?),
        (Some(b'L'), None, b'=') => Term::Property(Prop::Language, Mask::parse(arg)?),
        (Some(b'S'), None, b'=') => Term::Property(Prop::Subject, Mask::parse(arg)?),
        (Some(b'R'), None, b'=') => match arg {
            b"0" => Term::Registered(false),
            b"1" => Term::Registered(true),
            _ => return None,
        },
        _ => return None,
    })
}

/// A count of members or minutes: digits only.
fn number(s: &[u8]) -> Option<u64> {
    if s.is_empty() || !s.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(s).ok()?.parse().ok()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pat {
    /// `*`: any run of bytes.
    Star,
    /// `?`: one byte.
    One,
    /// A byte, compared under the case mapping.
    Lit(u8),
}

/// A LISTX mask with its escapes read (draft §5.8.3): `\b` space, `\c` comma, `\\`, and
/// `\*`, `\?` for a literal star and question mark.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Mask(Vec<Pat>);

impl Mask {
    /// `None` for a backslash not followed by one of `b c \ * ?`.
    fn parse(s: &[u8]) -> Option<Mask> {
        let mut pats = Vec::with_capacity(s.len());
        let mut bytes = s.iter();
        while let Some(&b) = bytes.next() {
            pats.push(match b {
                b'*' => Pat::Star,
                b'?' => Pat::One,
                b'\\' => Pat::Lit(match bytes.next()? {
                    b'b' => b' ',
                    b'c' => b',',
                    &c @ (b'\\' | b'*' | b'?') => c,
                    _ => return None,
                }),
                c => Pat::Lit(c),
            });
        }
        Some(Mask(pats))
    }

    /// Wildcard match, iterative with one backtrack point (as `casemap::wild_match`).
    fn matches(&self, cm: CaseMapping, s: &[u8]) -> bool {
        let p = &self.0;
        let (mut m, mut i) = (0, 0);
        let mut star: Option<(usize, usize)> = None;
        while i < s.len() {
            match p.get(m) {
                Some(Pat::Star) => {
                    star = Some((m, i));
                    m += 1;
                    continue;
                }
                Some(Pat::One) => {
                    m += 1;
                    i += 1;
                    continue;
                }
                Some(&Pat::Lit(c)) if cm.fold_byte(c) == cm.fold_byte(s[i]) => {
                    m += 1;
                    i += 1;
                    continue;
                }
                _ => {}
            }
            match star {
                Some((sm, si)) => {
                    m = sm + 1;
                    i = si + 1;
                    star = Some((sm, si + 1));
                }
                None => return false,
            }
        }
        p[m..].iter().all(|&x| x == Pat::Star)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mask(s: &str) -> Mask {
        Mask::parse(s.as_bytes()).expect(s)
    }

    fn hit(m: &str, s: &str) -> bool {
        mask(m).matches(CaseMapping::Rfc1459, s.as_bytes())
    }

    #[test]
    fn masks_match_with_wildcards_and_case_mapping() {
        assert!(hit("*", ""));
        assert!(hit("", ""));
        assert!(!hit("", "a"));
        assert!(hit("#Chat*", "#chatroom"));
        assert!(hit("#c?t", "#CAT"));
        assert!(!hit("#c?t", "#ct"));
        assert!(hit("*a*b*c", "xxaybbzc"));
        assert!(!hit("*a*b*c", "xxaybbzcd"));
        assert!(hit("#[x]", "#{X}"), "rfc1459 folding");
    }

    #[test]
    fn escapes_are_literal() {
        assert_eq!(
            mask(r"a\bb\cc\\d\*\?").0,
            b"a b,c\\d*?"
                .iter()
                .map(|&b| Pat::Lit(b))
                .collect::<Vec<_>>()
        );
        assert!(hit(r"star\*", "star*"));
        assert!(!hit(r"star\*", "stars"));
        assert!(hit(r"what\?", "what?"));
        assert!(!hit(r"what\?", "whats"));
        assert!(hit(r"*\b*", "two words"));
        assert!(!hit(r"*\b*", "oneword"));
        assert!(hit(r"a\cb", "a,b"));
        assert!(hit(r"back\\*", "back\\slash"));
        for bad in [r"\", r"a\", r"\x", r"\B"] {
            assert_eq!(Mask::parse(bad.as_bytes()), None, "{bad}");
        }
    }

    fn q(line: &str) -> Option<Query<'_>> {
        let params: Vec<&[u8]> = line.split(' ').map(str::as_bytes).collect();
        parse(&params)
    }

    #[test]
    fn parsing_items_and_limits() {
        let all = q("").unwrap();
        assert!(all.names.is_empty() && all.terms.is_empty());
        assert_eq!(all.limit, LISTX_MAX);
        assert_eq!(q("10").unwrap().limit, 10);
        assert_eq!(q("<5,>1 3").unwrap().terms.len(), 2);
        assert_eq!(q("<5,>1 3").unwrap().limit, 3);
        assert_eq!(q("<5 0").unwrap().limit, LISTX_MAX);
        assert_eq!(q("<5 99999999999999999999999").unwrap().limit, LISTX_MAX);
        assert_eq!(q("#a,#b 1").unwrap().names, vec![&b"#a"[..], b"#b"]);
        assert_eq!(q("n=#* r=0 l=* s=").unwrap().terms.len(), 4);
        for bad in [
            "X<3", "<abc", "<", "C=3", "T<3x", "R=2", "N=\\x", "<5 3 2", "#a <5", "C", "<-1", "<+1",
        ] {
            assert!(q(bad).is_none(), "{bad}");
        }
    }
}
