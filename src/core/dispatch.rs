//! The command table and the checks every command shares. A message's source is resolved
//! before it gets here (a local connection's user, or a prefix on a link line); the table
//! says, per sender class, whether the command may run, and each command has one handler,
//! which serves a local user and a remote one alike.

use super::accounts;
use super::handlers::ircx::{
    self as ircx_cmd, access_cmd, auth, create, data, event, knock, listx, prop, whisper,
};
use super::handlers::{
    bans, channel, chghost, help, message, metadata, mode, monitor, oper, query, read_marker,
    register, rename, sasl,
};
use super::portal::{
    access as link_access, burst, handshake, oid, props, remote, rename as link_rename, LinkMsg,
};
use super::{ClientId, ConnId, Outbox, ServerId, World};
use crate::config::Privilege;
use crate::proto::numeric::{self as n, Numeric};
use crate::proto::Message;
use std::sync::OnceLock;

/// Who sent the message being handled.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// A local connection that has not registered (yet).
    Unregistered,
    /// A user on this server.
    Local(ClientId),
    /// A user on another server, whose line came in over the link `Ctx::conn`.
    Remote(ClientId),
    /// A server (the peer or one behind it), over the link `Ctx::conn`.
    Server(ServerId),
}

/// What a handler gets.
pub struct Ctx<'a> {
    pub w: &'a mut World,
    /// The connection the line came in on: the user's own, or a link.
    pub conn: ConnId,
    pub src: Source,
    pub out: &'a mut Outbox,
}

impl Ctx<'_> {
    /// The user behind the message (the table only runs user commands for users).
    pub fn client(&self) -> ClientId {
        match self.src {
            Source::Local(c) | Source::Remote(c) => c,
            _ => panic!("dispatch runs {:?} where a user was required", self.src),
        }
    }

    /// Whether rules and replies apply: a local user's command is checked here, a remote
    /// one was checked by its own server.
    pub fn is_local(&self) -> bool {
        !matches!(self.src, Source::Remote(_) | Source::Server(_))
    }

    /// The link the message came in on, if it came from one (never sent back there).
    pub fn from_link(&self) -> Option<ConnId> {
        (!self.is_local()).then_some(self.conn)
    }

    /// The prefix local users see: the user's mask or the server's name.
    pub fn source_name(&self) -> String {
        match self.src {
            Source::Local(c) | Source::Remote(c) => self.w.clients[c].mask(),
            Source::Server(s) => self.w.servers[s].name.to_string(),
            Source::Unregistered => self.w.name().to_string(),
        }
    }

    /// The prefix other servers see: the user's nick or the server's name.
    pub fn link_prefix(&self) -> String {
        match self.src {
            Source::Local(c) | Source::Remote(c) => self.w.clients[c].nick.to_string(),
            Source::Server(s) => self.w.servers[s].name.to_string(),
            Source::Unregistered => self.w.name().to_string(),
        }
    }

    /// Passes the message on to every other link.
    pub fn propagate(&mut self, msg: &LinkMsg) {
        if !self.w.links.is_empty() {
            self.w.to_links(self.from_link(), msg, self.out);
        }
    }
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

/// Whether a sender class may run a command.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum May {
    /// Refused: 451 before registration, 421 for a user, dropped from a link.
    No,
    Yes,
    /// IRC operators with this privilege only (481 for others, 723 for operators
    /// without it).
    Oper(Privilege),
    /// From a link: users only (a server as the source is dropped).
    Users,
}

/// One command: its handler and who may run it, by sender class (solanum's msgtab).
pub struct Command {
    pub name: &'static str,
    /// Parameters a local sender must give (461); a link line with fewer is dropped.
    pub min_params: u8,
    pub handler: Handler,
    pub unregistered: May,
    pub user: May,
    pub link: May,
    /// An IRCX command: a connection that does not speak IRCX gets 421 (draft §5).
    pub ircx_only: bool,
}

const fn cmd(
    name: &'static str,
    min_params: u8,
    handler: Handler,
    [unregistered, user, link]: [May; 3],
) -> Command {
    Command {
        name,
        min_params,
        handler,
        unregistered,
        user,
        link,
        ircx_only: false,
    }
}

/// Marks an IRCX-only command.
const fn ircx(c: Command) -> Command {
    Command {
        ircx_only: true,
        ..c
    }
}

use May::{No, Oper, Users, Yes};
use Privilege::{Ban, Chghost, Connect, Die, Kill, Rehash, Restart, Squit, Wallops};
/// Columns: unregistered, user, link.
const USER: [May; 3] = [No, Yes, No];
/// Users here and users anywhere else.
const SHARED: [May; 3] = [No, Yes, Users];
/// Users here, and users or servers anywhere else (a server may kick, set modes…).
const SHARED_ANY: [May; 3] = [No, Yes, Yes];
const ANY: [May; 3] = [Yes, Yes, Yes];
/// An operator command with this privilege, here only.
const fn oper_here(p: Privilege) -> [May; 3] {
    [No, Oper(p), No]
}
/// An operator command with this privilege here, or from a link.
const fn oper_or_link(p: Privilege) -> [May; 3] {
    [No, Oper(p), Yes]
}
const LINK: [May; 3] = [No, No, Yes];

/// Sorted by name for binary search.
pub static COMMANDS: &[Command] = &[
    // From a link: a remote user's change of a channel or `*` list (docs/PROTOCOL.md).
    ircx(cmd("ACCESS", 1, access_cmd::access, SHARED)),
    // A remote user logged in or out (`*`).
    cmd("ACCOUNT", 1, accounts::account_from_link, [No, No, Users]),
    cmd("ADMIN", 0, query::admin, USER),
    // IRCX AUTH: before registration only (the handler answers 462 after it).
    ircx(cmd("AUTH", 2, auth::auth, [Yes, Yes, No])),
    cmd("AUTHENTICATE", 1, sasl::authenticate, [Yes, Yes, No]),
    cmd("AWAY", 0, message::away, SHARED),
    cmd("BACCESS", 9, link_access::baccess, LINK),
    cmd("BMASK", 4, burst::bmask, LINK),
    cmd("BPROP", 5, props::bprop, LINK),
    cmd("CAP", 1, register::cap, [Yes, Yes, No]),
    cmd("CAPAB", 2, handshake::capab, [Yes, Yes, No]),
    // From a link: `:<origin> CHGHOST <nick> <user> <host>` (docs/PROTOCOL.md).
    cmd("CHGHOST", 2, chghost::chghost, oper_or_link(Chghost)),
    cmd("CHGIDENT", 2, chghost::chgident, oper_here(Chghost)),
    cmd("CONNECT", 1, handshake::connect, oper_here(Connect)),
    ircx(cmd("CREATE", 1, create::create, USER)),
    ircx(cmd("DATA", 3, data::data, SHARED)),
    cmd("DIE", 0, oper::die, oper_here(Die)),
    cmd("DLINE", 1, bans::dline, oper_here(Ban)),
    cmd("EOB", 0, burst::eob, LINK),
    cmd("ERROR", 0, remote::error, LINK),
    ircx(cmd("EVENT", 1, event::event, USER)),
    cmd("GLINE", 1, bans::gline, oper_here(Ban)),
    cmd("HELP", 0, help::help, USER),
    cmd("HELPOP", 0, help::help, USER),
    cmd("INFO", 0, query::info, USER),
    // `INVITE` alone lists the user's invitations (the handler checks the rest).
    cmd("INVITE", 0, channel::invite, SHARED),
    cmd("IRCX", 0, ircx_cmd::ircx, [Yes, Yes, No]),
    cmd("ISIRCX", 0, ircx_cmd::isircx, [Yes, Yes, No]),
    cmd("ISON", 1, query::ison, USER),
    cmd("JOIN", 1, channel::join, USER),
    cmd("KICK", 2, channel::kick, SHARED_ANY),
    cmd("KILL", 2, oper::kill, oper_or_link(Kill)),
    cmd("KLINE", 1, bans::kline, oper_here(Ban)),
    // From a link only: a refused JOIN elsewhere, for the hosts here (IRCX +u).
    cmd("KNOCK", 2, knock::remote, [No, No, Users]),
    cmd("LINKS", 0, query::links, USER),
    cmd("LIST", 0, channel::list, USER),
    ircx(cmd("LISTX", 0, listx::listx, USER)),
    cmd("LUSERS", 0, query::lusers, USER),
    cmd("MAP", 0, query::map, USER),
    cmd("MARKREAD", 0, read_marker::markread, USER),
    // Before registration only `MODE ISIRCX` (the handler checks its parameters).
    // From a link: a remote user's own key (docs/PROTOCOL.md).
    cmd("METADATA", 2, metadata::metadata, SHARED),
    cmd("MODE", 0, mode::mode, [Yes, Yes, Yes]),
    cmd("MONITOR", 1, monitor::monitor, USER),
    cmd("MOTD", 0, query::motd, USER),
    cmd("NAMES", 0, channel::names, USER),
    cmd("NICK", 0, register::nick, ANY),
    // From a link: renames made there cannot reach that server (docs/PROTOCOL.md).
    cmd("NORENAME", 1, link_rename::no_rename, LINK),
    cmd("NOTICE", 0, message::notice, SHARED),
    cmd("OID", 3, oid::oid, LINK),
    cmd("OPER", 2, oper::oper, USER),
    cmd("PART", 1, channel::part, SHARED),
    cmd("PASS", 1, register::pass, [Yes, Yes, No]),
    cmd("PING", 0, register::ping, ANY),
    cmd("PONG", 0, register::pong, ANY),
    cmd("PRIVMSG", 0, message::privmsg, SHARED),
    // From a link: a remote user's set (docs/PROTOCOL.md).
    ircx(cmd("PROP", 2, prop::prop, SHARED)),
    cmd("QUIT", 0, register::quit, [Yes, Yes, Users]),
    cmd("REHASH", 0, oper::rehash, oper_here(Rehash)),
    // From a link: `RENAME <channel-ts> <old> <new> :<reason>` (docs/PROTOCOL.md).
    cmd("RENAME", 2, rename::rename, SHARED),
    ircx(cmd("REPLY", 3, data::reply, SHARED)),
    ircx(cmd("REQUEST", 3, data::request, SHARED)),
    cmd("RESTART", 0, oper::restart, oper_here(Restart)),
    cmd("SERVER", 2, handshake::server, ANY),
    cmd("SETNAME", 1, register::setname, SHARED),
    cmd("SJOIN", 4, burst::sjoin, LINK),
    cmd("SQUIT", 1, remote::squit, oper_or_link(Squit)),
    cmd("STATS", 0, query::stats, USER),
    cmd("TAGMSG", 1, message::tagmsg, SHARED),
    cmd("TB", 4, burst::topic_burst, LINK),
    cmd("TIME", 0, query::time, USER),
    cmd("TOPIC", 1, channel::topic, SHARED),
    cmd("UNDLINE", 1, bans::undline, oper_here(Ban)),
    cmd("UNGLINE", 1, bans::ungline, oper_here(Ban)),
    cmd("UNKLINE", 1, bans::unkline, oper_here(Ban)),
    cmd("USER", 4, register::user, [Yes, Yes, No]),
    cmd("USERHOST", 1, query::userhost, USER),
    cmd("VERSION", 0, query::version, USER),
    cmd("WALLOPS", 1, oper::wallops, oper_or_link(Wallops)),
    ircx(cmd("WHISPER", 3, whisper::whisper, SHARED)),
    cmd("WHO", 0, query::who, USER),
    cmd("WHOIS", 1, query::whois, USER),
    cmd("WHOWAS", 1, query::whowas, USER),
];

/// A command's place in [`COMMANDS`] (where its [`World::stats`] are). Searched by
/// [`name_key`]: comparing names as bytes called `memcmp` seven times a line, a twentieth
/// of the server's own time relaying private messages.
pub fn position(upper: &[u8]) -> Option<usize> {
    static KEYS: OnceLock<Box<[u128]>> = OnceLock::new();
    let keys = KEYS.get_or_init(|| {
        COMMANDS
            .iter()
            .map(|c| name_key(c.name.as_bytes()))
            .collect()
    });
    keys.binary_search(&name_key(upper)).ok()
}

/// A command name (at most 16 bytes, no NUL; a longer one is cut as the parser's upper-case
/// copy is) as a number whose order is the names' byte order: big-endian, zero-padded.
fn name_key(name: &[u8]) -> u128 {
    let mut b = [0u8; 16];
    let n = name.len().min(16);
    b[..n].copy_from_slice(&name[..n]);
    u128::from_be_bytes(b)
}

/// Runs one parsed message whose source is resolved. Returns false if the verb is no
/// command of this server (a link passes such verbs on).
pub fn dispatch(ctx: &mut Ctx<'_>, msg: &Message<'_>, line_len: usize) -> bool {
    let mut buf = [0u8; 16];
    let upper = msg.command_upper(&mut buf);
    let index = position(upper);
    let command = index.map(|i| &COMMANDS[i]);
    if !ctx.is_local() {
        // From a link: never answered with a user numeric; what may not run is dropped.
        match command {
            Some(c)
                if msg.len() >= c.min_params as usize
                    && (c.link == Yes
                        || c.link == Users && matches!(ctx.src, Source::Remote(_))) =>
            {
                let _ = (c.handler)(ctx, msg);
            }
            Some(c) => log::debug!("link {}: {} dropped", ctx.conn, c.name),
            None => return false,
        }
        return true;
    }
    let (Some(command), Some(index)) = (command, index) else {
        unknown(ctx, msg);
        return true;
    };
    let stat = &mut ctx.w.stats[index];
    stat.count += 1;
    stat.bytes += line_len as u64;
    let may = match ctx.src {
        Source::Local(_) => command.user,
        _ => command.unregistered,
    };
    let result = match (may, ctx.src) {
        (No, Source::Local(_)) => Err(err(n::ERR_UNKNOWNCOMMAND, &[msg.command])),
        (No, _) => Err(err(n::ERR_NOTREGISTERED, &[])),
        (Oper(_), Source::Local(c)) if !ctx.w.clients[c].has(super::state::umode::OPER) => {
            Err(err(n::ERR_NOPRIVILEGES, &[]))
        }
        (Oper(p), Source::Local(c)) if !ctx.w.has_privilege(c, p) => {
            Err(err(n::ERR_NOPRIVS, &[p.name().as_bytes()]))
        }
        _ if command.ircx_only && !ctx.w.is_ircx(ctx.conn) => {
            Err(err(n::ERR_UNKNOWNCOMMAND, &[msg.command]))
        }
        _ if msg.len() < command.min_params as usize => {
            Err(err(n::ERR_NEEDMOREPARAMS, &[command.name.as_bytes()]))
        }
        _ if ctx.w.config.limits.utf8only && !valid_utf8(msg) => {
            fail_utf8(ctx, command.name);
            Ok(())
        }
        _ => (command.handler)(ctx, msg),
    };
    if let Err(reply) = result {
        ctx.fail(reply);
    }
    true
}

/// Whether every parameter is UTF-8 (`[limits] utf8only`).
fn valid_utf8(msg: &Message<'_>) -> bool {
    (0..msg.len()).all(|i| std::str::from_utf8(msg.param(i)).is_ok())
}

/// IRCv3 UTF8ONLY: the line is refused with the standard reply, not relayed.
fn fail_utf8(ctx: &mut Ctx<'_>, command: &str) {
    let line = ctx.w.fail_line(
        command,
        "INVALID_UTF8",
        &[],
        "Message rejected, your message contained invalid UTF-8",
    );
    ctx.out.send(ctx.conn, line);
}

/// Before registration an unknown command is most likely a confused client; RFC 2812
/// still wants 421, and modern.ircdocs agrees, but 451 tells the user what to do.
fn unknown(ctx: &mut Ctx<'_>, msg: &Message<'_>) {
    let reply = match ctx.src {
        Source::Local(_) => err(n::ERR_UNKNOWNCOMMAND, &[msg.command]),
        _ => err(n::ERR_NOTREGISTERED, &[]),
    };
    ctx.fail(reply);
}

impl Ctx<'_> {
    /// Sends a failed check to a local source; a remote one is never answered.
    pub fn fail(&mut self, reply: Reply) {
        if self.is_local() {
            let args: Vec<&[u8]> = reply.args.iter().map(Vec::as_slice).collect();
            self.w.reply(self.out, self.conn, reply.num, &args);
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_command_is_found_at_its_place() {
        for (i, c) in super::COMMANDS.iter().enumerate() {
            assert!(c.name.len() <= 16, "{}", c.name);
            assert_eq!(super::position(c.name.as_bytes()), Some(i), "{}", c.name);
        }
        for miss in [&b""[..], b"A", b"PRIVMS", b"PRIVMSGX", b"ZZZZZZZZZZZZZZZZ"] {
            assert_eq!(super::position(miss), None);
        }
    }

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
