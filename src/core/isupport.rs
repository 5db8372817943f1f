//! What the server tells clients it supports: RPL_ISUPPORT tokens and MYINFO's mode
//! letters, derived from the configuration and the mode tables.

use super::modes;
use super::state::umode;
use super::{ConnId, Outbox, World};
use crate::config::Config;
use crate::limits::*;
use crate::proto::numeric as n;

/// RPL_ISUPPORT lines, in the welcome burst and for VERSION (13 tokens a line keeps each
/// under 512 bytes).
/// The PREFIX token is the connection's dialect's (IRCX clients see their own symbols).
pub fn send(w: &World, conn: ConnId, out: &mut Outbox) {
    let prefix = format!("PREFIX={}", w.prefix_token(w.dialect(conn)));
    let statusmsg = format!("STATUSMSG={}", w.statusmsg_token());
    for chunk in w.isupport.chunks(13) {
        let line = chunk.iter().fold(w.num(conn, n::RPL_ISUPPORT), |l, t| {
            l.arg(if t.starts_with("PREFIX=") {
                &prefix
            } else if t.starts_with("STATUSMSG=") {
                &statusmsg
            } else {
                t
            })
        });
        out.send(conn, line.finish());
    }
}

/// RPL_ISUPPORT tokens. UTF8ONLY is not advertised: text is relayed as bytes, so clients in
/// other encodings keep working; identifiers (nicks, channel names) must be ASCII/UTF-8.
pub fn tokens(cfg: &Config) -> Vec<String> {
    let l = &cfg.limits;
    let mut tokens = vec![
        format!("AWAYLEN={AWAY_LEN}"),
        "BOT=B".into(),
        format!("CASEMAPPING={}", l.casemapping.name()),
        format!("CHANLIMIT=#&:{}", l.max_channels_per_client),
        format!("CHANMODES={}", modes::chanmodes()),
        format!("CHANNELLEN={CHANNEL_LEN}"),
        "CHANTYPES=#&".into(),
        "ELIST=CMNTU".into(),
        "EXCEPTS=e".into(),
        "INVEX=I".into(),
        format!("KICKLEN={KICK_LEN}"),
        format!("MAXLIST=b:{n},e:{n},I:{n}", n = l.max_list_entries),
        format!("MODES={MAX_MODES}"),
        format!("MONITOR={MONITOR_LIMIT}"),
        format!("NETWORK={}", cfg.server.network),
        format!("NICKLEN={}", l.nick_length),
        format!("PREFIX={}", modes::prefix_token(0)),
        format!("STATUSMSG={}", modes::statusmsg_token()),
        format!(
            "TARGMAX=JOIN:,KICK:,NAMES:,NOTICE:{MAX_TARGETS},PART:,PRIVMSG:{MAX_TARGETS},WHOIS:1"
        ),
        format!("TOPICLEN={TOPIC_LEN}"),
        format!("USERLEN={USER_LEN}"),
        "WHOX".into(),
    ];
    if l.utf8only {
        tokens.push("UTF8ONLY".into());
        tokens.sort();
    }
    tokens
}

/// MYINFO's user modes (`iosw`).
pub fn user_modes() -> String {
    let mut letters: Vec<char> = umode::ALL.iter().map(|&(c, _)| c as char).collect();
    letters.sort_unstable();
    letters.into_iter().collect()
}
