//! The command table and the checks every command shares (registered? enough parameters?
//! operator?), in one place so handlers only do their own work.

use super::handlers::{channel, link, message, mode, oper, query, register};
use super::{ConnId, Outbox, World};
use crate::proto::numeric::{self as n, Numeric};
use crate::proto::Message;

/// What a handler gets.
pub struct Ctx<'a> {
    pub w: &'a mut World,
    pub conn: ConnId,
    pub out: &'a mut Outbox,
}

/// A failed check: the numeric and its arguments, sent to the source by [`dispatch`].
#[derive(Debug)]
pub struct Reply {
    pub num: Numeric,
    pub args: Vec<Vec<u8>>,
}

pub type HResult = Result<(), Reply>;

/// `Err(err(ERR_X, &[arg]))` in handlers.
pub fn err(num: Numeric, args: &[&[u8]]) -> Reply {
    Reply {
        num,
        args: args.iter().map(|a| a.to_vec()).collect(),
    }
}

pub type Handler = fn(&mut Ctx<'_>, &Message<'_>) -> HResult;

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Allowed before registration (NICK, USER, CAP…).
    Any,
    /// Registered users only (451 otherwise).
    User,
    /// IRC operators only (481 otherwise).
    Oper,
}

pub struct Command {
    pub name: &'static str,
    pub min_params: u8,
    pub access: Access,
    pub handler: Handler,
}

const fn cmd(name: &'static str, min_params: u8, access: Access, handler: Handler) -> Command {
    Command {
        name,
        min_params,
        access,
        handler,
    }
}

use Access::{Any, Oper, User};

/// Sorted by name for binary search.
pub static COMMANDS: &[Command] = &[
    cmd("ADMIN", 0, User, query::admin),
    cmd("AWAY", 0, User, message::away),
    cmd("CAP", 1, Any, register::cap),
    cmd("CAPAB", 2, Any, link::capab),
    cmd("CONNECT", 1, Oper, link::connect),
    cmd("DIE", 0, Oper, oper::die),
    cmd("INFO", 0, User, query::info),
    cmd("INVITE", 2, User, channel::invite),
    cmd("ISON", 1, User, query::ison),
    cmd("JOIN", 1, User, channel::join),
    cmd("KICK", 2, User, channel::kick),
    cmd("KILL", 2, Oper, oper::kill),
    cmd("LINKS", 0, User, query::links),
    cmd("LIST", 0, User, channel::list),
    cmd("LUSERS", 0, User, query::lusers),
    cmd("MAP", 0, User, query::map),
    cmd("MODE", 1, User, mode::mode),
    cmd("MOTD", 0, User, query::motd),
    cmd("NAMES", 0, User, channel::names),
    cmd("NICK", 0, Any, register::nick),
    cmd("NOTICE", 0, User, message::notice),
    cmd("OPER", 2, User, oper::oper),
    cmd("PART", 1, User, channel::part),
    cmd("PASS", 1, Any, register::pass),
    cmd("PING", 0, Any, register::ping),
    cmd("PONG", 0, Any, register::pong),
    cmd("PRIVMSG", 0, User, message::privmsg),
    cmd("QUIT", 0, Any, register::quit),
    cmd("REHASH", 0, Oper, oper::rehash),
    cmd("SERVER", 2, Any, link::server),
    cmd("SETNAME", 1, User, register::setname),
    cmd("SQUIT", 1, Oper, link::squit),
    cmd("STATS", 0, User, query::stats),
    cmd("TAGMSG", 1, User, message::tagmsg),
    cmd("TIME", 0, User, query::time),
    cmd("TOPIC", 1, User, channel::topic),
    cmd("USER", 4, Any, register::user),
    cmd("USERHOST", 1, User, query::userhost),
    cmd("VERSION", 0, User, query::version),
    cmd("WALLOPS", 1, Oper, oper::wallops),
    cmd("WHO", 0, User, query::who),
    cmd("WHOIS", 1, User, query::whois),
    cmd("WHOWAS", 1, User, query::whowas),
];

pub fn lookup(upper: &[u8]) -> Option<&'static Command> {
    COMMANDS
        .binary_search_by(|c| c.name.as_bytes().cmp(upper))
        .ok()
        .map(|i| &COMMANDS[i])
}

/// Runs one parsed message from a local connection.
pub fn dispatch(ctx: &mut Ctx<'_>, msg: &Message<'_>, line_len: usize) {
    let mut buf = [0u8; 16];
    let upper = msg.command_upper(&mut buf);
    let Some(command) = lookup(upper) else {
        let registered = ctx.w.local(ctx.conn).is_some_and(|l| l.client.is_some());
        // Before registration an unknown command is most likely a confused client; RFC 2812
        // still wants 421, and modern.ircdocs agrees, but 451 tells the user what to do.
        let num = if registered {
            n::ERR_UNKNOWNCOMMAND
        } else {
            n::ERR_NOTREGISTERED
        };
        let args: &[&[u8]] = if registered { &[msg.command] } else { &[] };
        ctx.w.reply(ctx.out, ctx.conn, num, args);
        return;
    };
    let stat = ctx.w.stats.entry(command.name).or_default();
    stat.count += 1;
    stat.bytes += line_len as u64;
    let client = ctx.w.local(ctx.conn).and_then(|l| l.client);
    let denied = match (command.access, client) {
        (Any, _) => None,
        (_, None) => Some(n::ERR_NOTREGISTERED),
        (Oper, Some(c)) if !ctx.w.clients[c].has(super::state::umode::OPER) => {
            Some(n::ERR_NOPRIVILEGES)
        }
        _ => None,
    };
    let result = if let Some(num) = denied {
        Err(err(num, &[]))
    } else if msg.len() < command.min_params as usize {
        Err(err(n::ERR_NEEDMOREPARAMS, &[command.name.as_bytes()]))
    } else {
        (command.handler)(ctx, msg)
    };
    if let Err(reply) = result {
        let args: Vec<&[u8]> = reply.args.iter().map(Vec::as_slice).collect();
        ctx.w.reply(ctx.out, ctx.conn, reply.num, &args);
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn table_is_sorted() {
        for pair in super::COMMANDS.windows(2) {
            assert!(
                pair[0].name < pair[1].name,
                "{} before {}",
                pair[0].name,
                pair[1].name
            );
        }
    }
}
