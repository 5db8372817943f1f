//! `CREATE <channel> [<modes> [<args>]]` (draft §5.3): create a channel with the given modes
//! and join it, or join it if it exists (`c`: only if it is new). The creator is told the
//! channel's OID first: `CREATE <channel> <oid>`, then the usual JOIN, topic and names.

use crate::core::dispatch::{err, Ctx, HResult, Reply};
use crate::core::handlers::channel::{join_one, InitialModes};
use crate::core::handlers::mode::{clean_key, cloneable_refusal, SERVER_ONLY};
use crate::core::modes::{self, Kind, Right};
use crate::core::state::cmode;
use crate::proto::line::Line;
use crate::proto::numeric::{self as n, Numeric};
use crate::proto::Message;

const INVALID_LIMIT: Numeric = Numeric::new(n::ERR_INVALIDMODEPARAM.code, "Invalid limit");
const INVALID_KEY: Numeric = Numeric::new(n::ERR_INVALIDMODEPARAM.code, "Invalid key");

/// What CREATE's mode word asks for: the modes (flags, `k`, `l`) and `c`.
struct Request {
    modes: InitialModes,
    only_new: bool,
    given: bool,
}

/// Parses `tnmlkc 50 password`: flags, `l` and `k` with their arguments in letter order.
/// Statuses, lists and unknown letters have no meaning at creation (472). `manager`: the
/// creator is a sysop manager, who alone may create with manager-only flags (481).
fn parse(
    chan: &[u8],
    word: &[u8],
    mut args: impl Iterator<Item = Vec<u8>>,
    manager: bool,
) -> Result<Request, Reply> {
    let mut req = Request {
        modes: InitialModes {
            flags: 0,
            key: None,
            limit: 0,
        },
        only_new: false,
        given: !word.is_empty(),
    };
    for &letter in word.iter().filter(|&&c| c != b'+') {
        if letter == b'c' {
            req.only_new = true;
            continue;
        }
        match modes::channel_mode(letter).map(|m| m.kind) {
            Some(Kind::Flag) => {
                flag_right(letter, manager)?;
                req.modes.flags |= modes::flag_bit(letter);
            }
            Some(Kind::Key) => {
                let arg = args
                    .next()
                    .ok_or_else(|| err(n::ERR_NEEDMOREPARAMS, &[b"CREATE"]))?;
                let key = clean_key(&arg).ok_or_else(|| err(INVALID_KEY, &[chan, b"k", &arg]))?;
                req.modes.key = Some(key);
            }
            Some(Kind::Limit) => {
                let arg = args
                    .next()
                    .ok_or_else(|| err(n::ERR_NEEDMOREPARAMS, &[b"CREATE"]))?;
                let limit = std::str::from_utf8(&arg)
                    .ok()
                    .and_then(|s| s.parse::<u32>().ok())
                    .filter(|&l| l > 0)
                    .ok_or_else(|| err(INVALID_LIMIT, &[chan, b"l", &arg]))?;
                req.modes.limit = limit;
            }
            _ => return Err(err(n::ERR_UNKNOWNMODE, &[&[letter]])),
        }
    }
    if req.modes.flags & cmode::CLONEABLE != 0 {
        cloneable_refusal(chan, req.modes.limit).map_or(Ok(()), Err)?;
    }
    Ok(req)
}

/// Whether the creator may create with a flag: AUDITORIUM is the creator's to choose (the
/// draft's one way to set it), manager-only flags need a manager, the server's own nobody.
fn flag_right(letter: u8, manager: bool) -> Result<(), Reply> {
    let right = modes::channel_mode(letter).map_or(Right::Status, |m| m.right);
    match right {
        Right::Status | Right::AtCreate => Ok(()),
        Right::Manager if manager => Ok(()),
        Right::Manager => Err(err(n::ERR_NOPRIVILEGES, &[])),
        Right::Server => Err(err(SERVER_ONLY, &[])),
    }
}

pub fn create(ctx: &mut Ctx<'_>, msg: &Message<'_>) -> HResult {
    let cid = ctx.client();
    let name = msg.param(0);
    let args = msg.params().iter().skip(2).map(|a| a.to_vec());
    let manager = ctx.w.is_manager(cid);
    let req = parse(name, msg.param(1), args, manager)?;
    let mut key = req.modes.key.clone();
    if let Some(ch) = ctx.w.find_channel(name) {
        let chan = &ctx.w.channels[ch];
        if req.only_new {
            return Err(err(n::IRCERR_CHANNELEXIST, &[chan.name.as_bytes()]));
        }
        if chan.members.contains_key(&cid) {
            return Err(err(n::IRCERR_ALREADYONCHANNEL, &[chan.name.as_bytes()]));
        }
    } else {
        // A new channel takes exactly the modes given (none given: JOIN's defaults).
        key = None;
    }
    let initial = req.given.then_some(req.modes);
    let mark = ctx.out.sends.len();
    join_one(ctx, cid, name, key.as_deref().map(str::as_bytes), initial)?;
    let w = &*ctx.w;
    if let Some(ch) = w
        .find_channel(name)
        .filter(|&ch| w.channels[ch].members.contains_key(&cid))
    {
        let chan = &w.channels[ch];
        let line = Line::new(w.name(), "CREATE")
            .arg(&*chan.name)
            .arg(chan.oid_str())
            .finish();
        // Before the creator's JOIN, as the draft orders the replies.
        ctx.out.sends.insert(mark, (ctx.conn, line));
    }
    Ok(())
}
