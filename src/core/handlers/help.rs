//! HELP and HELPOP (modern.ircdocs.horse): 704 opens, 705 carries each line, 706 closes;
//! 524 for a subject without help. One static table, a text for every command a user can
//! send (a test keeps it in step with the command table); server-to-server verbs have none.

use crate::core::dispatch::{err, Ctx, HResult};
use crate::proto::numeric::{self as n};
use crate::proto::Message;

/// Subject (upper case, sorted for binary search) and its lines: the syntax, then what it
/// does.
static HELP: &[(&str, &[&str])] = &[
    ("ACCESS", &["ACCESS <object> [ADD|DELETE|CLEAR|LIST] [level] [mask] [timeout] [:reason]", "IRCX: manages the GRANT, DENY, VOICE, HOST and OWNER entries of a channel, of * (sysops) or of your own nick."]),
    ("ADMIN", &["ADMIN [server]", "Shows who runs the server and how to reach them."]),
    ("AUTH", &["AUTH <package> <sequence> [:data]", "IRCX: authenticates before registering (ANON, or PLAIN account and password)."]),
    ("AUTHENTICATE", &["AUTHENTICATE <mechanism>|<base64>|+|*", "SASL (capability sasl): logs you in to an account. PLAIN is the mechanism; the response comes in 400-byte chunks, * aborts."]),
    ("AWAY", &["AWAY [:message]", "Marks you away with a message, or back without one."]),
    ("CAP", &["CAP LS [302] | LIST | REQ :<caps> | END", "Negotiates IRCv3 capabilities; registration waits for CAP END."]),
    ("CAPAB", &["CAPAB <capabilities>", "Server links only: part of a portal's handshake, not for clients."]),
    ("CHGHOST", &["CHGHOST <nick> <host>", "Operators with the chghost privilege: changes the host a user is shown with, network-wide (letters, digits and -._/:, up to 63). Clients with the chghost capability see CHGHOST, others a QUIT and JOIN."]),
    ("CHGIDENT", &["CHGIDENT <nick> <username>", "Operators with the chghost privilege: changes a user's username (ident), network-wide, as CHGHOST does the host."]),
    ("CONNECT", &["CONNECT <portal>", "Operators: dials a portal (server link) from the configuration."]),
    ("CREATE", &["CREATE <channel> [modes]", "IRCX: creates a channel that must not exist yet, making you its owner."]),
    ("DATA", &["DATA <target> <tag> :<data>", "IRCX: sends tagged data to a user or channel, for clients rather than people."]),
    ("DIE", &["DIE", "Operators with the die privilege: shuts the server down."]),
    ("DLINE", &["DLINE [duration] <ip|cidr> [:reason]", "Operators (ban): refuses and disconnects users from an address or range on this server (an ACCESS $ DENY); duration in minutes or 90s, 30m, 12h, 7d, 2w."]),
    ("EVENT", &["EVENT [ADD|DELETE|LIST] [type] [mask]", "IRCX sysops: subscribes to server events (CHANNEL, MEMBER, USER, SOCKET...)."]),
    ("GLINE", &["GLINE [duration] <user@host> [:reason]", "Sysop managers (ban): a network-wide ban (an ACCESS * DENY), carried to the other servers."]),
    ("HELP", &["HELP [subject]", "Shows help on a command, or the list of subjects."]),
    ("HELPOP", &["HELPOP [subject]", "The same as HELP."]),
    ("INFO", &["INFO [server]", "Shows information about the server software."]),
    ("INVITE", &["INVITE [<nick> <channel>]", "Invites a user into a channel (ops only for +i); alone, lists your invitations."]),
    ("IRCX", &["IRCX", "Switches your connection to the IRCX dialect (user mode +x)."]),
    ("ISIRCX", &["ISIRCX", "Asks whether the server speaks IRCX, without switching."]),
    ("ISON", &["ISON <nick> [nick...]", "Tells which of the nicks are online."]),
    ("JOIN", &["JOIN <channel>[,channel...] [key[,key...]] | JOIN 0", "Joins channels (creating them if needed); JOIN 0 leaves every channel."]),
    ("KICK", &["KICK <channel> <nick>[,nick...] [:reason]", "Channel operators: removes users from a channel."]),
    ("KILL", &["KILL <nick> :<reason>", "Operators: disconnects a user from the network."]),
    ("KLINE", &["KLINE [duration] <user@host> [:reason]", "Operators (ban): refuses and disconnects matching users on this server (an ACCESS $ DENY)."]),
    ("LINKS", &["LINKS", "Lists the servers of the network."]),
    ("LIST", &["LIST [channel[,channel...]|<n|>n]", "Lists channels with their user counts and topics, filtered by name or size."]),
    ("LISTX", &["LISTX [filters]", "IRCX: lists channels with their modes, limits and topics."]),
    ("LUSERS", &["LUSERS", "Shows how many users, operators, channels and servers there are."]),
    ("MAP", &["MAP", "Shows the servers of the network as a tree with their user counts."]),
    ("MARKREAD", &["MARKREAD <target> [timestamp=YYYY-MM-DDThh:mm:ss.sssZ]", "Logged-in users (draft/read-marker): shows or moves how far you have read a channel or query; your other sessions with the capability are told. Markers only move forward."]),
    ("METADATA", &["METADATA <target> GET|LIST|SET|CLEAR|SYNC [key...] [:value] | METADATA * SUB|UNSUB|SUBS [key...]", "Reads or sets keys on users (* is you) and channels, and picks the keys you are told of when they change (draft/metadata-2). A channel's keys are its IRCX properties: PROP shows the same values."]),
    ("MODE", &["MODE <channel> [modes [params]] | MODE <nick> [modes]", "Shows or changes channel modes (bans b, exceptions e, invexes I, key k, limit l, ...) or your user modes (B bot, i invisible, w wallops, ...)."]),
    ("MONITOR", &["MONITOR + <nicks> | - <nicks> | C | L | S", "Adds, removes, clears, lists or checks nicks you want told about when they sign on or off."]),
    ("MOTD", &["MOTD [server]", "Shows the message of the day."]),
    ("NAMES", &["NAMES [channel[,channel...]]", "Lists the members of channels."]),
    ("NICK", &["NICK <nick>", "Sets or changes your nick."]),
    ("NOTICE", &["NOTICE <target>[,target...] :<text>", "Sends a notice: like PRIVMSG, but never answered automatically."]),
    ("OPER", &["OPER <name> <password>", "Makes you an IRC operator."]),
    ("PART", &["PART <channel>[,channel...] [:reason]", "Leaves channels."]),
    ("PASS", &["PASS <password>", "Gives the connection password, before NICK and USER."]),
    ("PING", &["PING <token>", "Asks the server for a PONG with the same token."]),
    ("PONG", &["PONG <token>", "Answers the server's PING."]),
    ("PRIVMSG", &["PRIVMSG <target>[,target...] :<text>", "Sends a message to users or channels (@#chan: to its ops only)."]),
    ("PROP", &["PROP <object> [property[,...]] [:value]", "IRCX: reads or sets channel properties (TOPIC, ONJOIN, MEMBERKEY, LAG...)."]),
    ("QUIT", &["QUIT [:reason]", "Disconnects you from the server."]),
    ("REHASH", &["REHASH", "Operators: reloads the configuration file."]),
    ("RENAME", &["RENAME <channel> <new name> [:reason]", "Channel operators (owners, in a channel that has one): renames a channel; it keeps its members, modes, topic and lists."]),
    ("REPLY", &["REPLY <target> <tag> :<data>", "IRCX: answers a REQUEST with tagged data."]),
    ("REQUEST", &["REQUEST <target> <tag> :<data>", "IRCX: sends a tagged request to a user or channel."]),
    (
        "RESTART",
        &[
            "RESTART",
            "Operators with the restart privilege: closes every connection and starts the",
            "server again in the same process, with the same arguments and configuration file.",
        ],
    ),
    ("SERVER", &["SERVER <name> <hops> <id> :<description>", "Server links only: part of a portal's handshake, not for clients."]),
    ("SETNAME", &["SETNAME :<realname>", "Changes your real name."]),
    ("SQUIT", &["SQUIT <server> [:reason]", "Operators: splits a server off the network."]),
    ("STATS", &["STATS <u|m|l>", "Shows server statistics: uptime, command counts, links."]),
    ("TAGMSG", &["TAGMSG <target>", "Sends only message tags (typing notices...) to message-tags clients."]),
    ("TIME", &["TIME [server]", "Shows the server's local time."]),
    ("TOPIC", &["TOPIC <channel> [:topic]", "Shows or sets a channel's topic."]),
    ("UNDLINE", &["UNDLINE <ip|cidr>", "Operators (ban): lifts a D-line."]),
    ("UNGLINE", &["UNGLINE <user@host>", "Sysop managers (ban): lifts a G-line on every server."]),
    ("UNKLINE", &["UNKLINE <user@host>", "Operators (ban): lifts a K-line."]),
    ("USER", &["USER <username> 0 * :<realname>", "Gives your username and real name when registering."]),
    ("USERHOST", &["USERHOST <nick> [nick...]", "Shows the user@host of up to five nicks."]),
    ("VERSION", &["VERSION [server]", "Shows the server's version and what it supports."]),
    ("WALLOPS", &["WALLOPS :<text>", "Operators: sends a message to every user with +w."]),
    ("WHISPER", &["WHISPER <channel> <nick>[,nick...] :<text>", "IRCX: speaks privately to members of a channel."]),
    ("WHO", &["WHO <mask> [o][%fields[,token]]", "Lists users matching a channel or mask; %fields asks for WHOX replies (354)."]),
    ("WHOIS", &["WHOIS <nick>", "Shows who a user is: host, channels, server, idle time."]),
    ("WHOWAS", &["WHOWAS <nick> [count]", "Shows who last used a nick."]),
];

/// `HELP [subject]` (HELPOP too).
pub fn help(ctx: &mut Ctx<'_>, msg: &Message<'_>) -> HResult {
    let given = msg.param_str(0).unwrap_or("").to_ascii_uppercase();
    let (subject, lines): (&str, Vec<String>) = if given.is_empty() {
        ("*", index_lines())
    } else {
        match HELP.binary_search_by(|(s, _)| s.cmp(&given.as_str())) {
            Ok(i) => (HELP[i].0, HELP[i].1.iter().map(|l| l.to_string()).collect()),
            Err(_) => return Err(err(n::ERR_HELPNOTFOUND, &[given.as_bytes()])),
        }
    };
    let w = &*ctx.w;
    let first = format!(
        "** Help: {} **",
        if subject == "*" { "index" } else { subject }
    );
    let start = w
        .num(ctx.conn, n::RPL_HELPSTART)
        .arg(subject)
        .trailing(first);
    ctx.out.send(ctx.conn, start.finish());
    for line in lines {
        let txt = w.num(ctx.conn, n::RPL_HELPTXT).arg(subject).trailing(line);
        ctx.out.send(ctx.conn, txt.finish());
    }
    let end = w
        .num(ctx.conn, n::RPL_ENDOFHELP)
        .arg(subject)
        .trailing("End of /HELP");
    ctx.out.send(ctx.conn, end.finish());
    Ok(())
}

/// The index: a line of advice, then the subjects, eight a line.
fn index_lines() -> Vec<String> {
    let names: Vec<&str> = HELP.iter().map(|(s, _)| *s).collect();
    let mut lines = vec!["HELP <subject> for help on one of:".to_string()];
    lines.extend(names.chunks(8).map(|chunk| chunk.join(" ")));
    lines
}

#[cfg(test)]
mod tests {
    use super::HELP;
    use crate::core::dispatch::{May, COMMANDS};

    #[test]
    fn every_user_command_has_help_and_the_table_is_sorted() {
        assert!(HELP.windows(2).all(|w| w[0].0 < w[1].0));
        for c in COMMANDS {
            let for_users = c.user != May::No || c.unregistered != May::No;
            let known = HELP.binary_search_by(|(s, _)| s.cmp(&c.name)).is_ok();
            assert!(!for_users || known, "no help for {}", c.name);
        }
    }
}
