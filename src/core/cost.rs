//! Cost-based flood control (issue 14): a command costs flood budget in proportion to the
//! work and bytes it causes, not one line whatever it does. Every line in costs one line of
//! budget (`World::count_line`); on top of that:
//!
//! * a reply to the requester past its first [`REPLY_FREE_BYTES`] costs one more line per
//!   [`REPLY_BYTES_PER_COST`] bytes: WHOIS, WHOWAS, MONITOR L, STATS, MOTD, HELP, LUSERS,
//!   ISON, USERHOST and the rest, all measured the same way, by what they queued. A PING,
//!   a PRIVMSG (its echo at most) or an ordinary WHOIS stays at one line;
//! * a JOIN costs one more line per channel past the first (each join is a membership,
//!   a fan-out to the channel and a NAMES);
//! * paged listings (WHO, NAMES, LIST, LISTX, and the NAMES after JOIN) are charged by
//!   `core/paging.rs` as their pages go out, so they are left out here; so are PRIVMSG,
//!   NOTICE and TAGMSG (one line each: their work is delivery to others);
//! * the welcome burst that completes registration is free.
//!
//! Budget is spent, not refused: a client over it has its further input held (flood
//! penalty), and one that keeps sending is closed with "Excess Flood" when its held input
//! passes the receive queue. Operators and portals are exempt, as for every flood rule.

use super::{ConnId, Outbox, World};
use crate::proto::Message;

/// Reply bytes a command may cause for free: a WHOIS of a user in a few channels, LUSERS,
/// a short HELP text.
pub const REPLY_FREE_BYTES: usize = 1024;
/// Past the free bytes, this many reply bytes cost one line of flood budget (about the
/// size of five numerics).
pub const REPLY_BYTES_PER_COST: usize = 512;

/// Commands not charged by their reply here: the paged listings (`core/paging.rs`
/// charges them), and messages, whose work goes to others and which cost their one line
/// (their only reply is an echo), so the hot path does not look at their fan-out.
const NOT_BY_REPLY: [&[u8]; 7] = [
    b"PRIVMSG", b"NOTICE", b"TAGMSG", b"WHO", b"NAMES", b"LIST", b"LISTX",
];

/// Extra flood cost, in lines, of `msg` from `conn`, whose handling queued
/// `out.sends[from..]`.
pub fn extra_cost(msg: &Message<'_>, conn: ConnId, out: &Outbox, from: usize) -> u32 {
    let cmd = msg.command;
    if cmd.eq_ignore_ascii_case(b"JOIN") {
        let channels = msg
            .params()
            .first()
            .map_or(0, |p| p.split(|&b| b == b',').count());
        return channels.saturating_sub(1) as u32;
    }
    if NOT_BY_REPLY.iter().any(|c| c.eq_ignore_ascii_case(cmd)) {
        return 0;
    }
    let bytes: usize = out.sends[from..]
        .iter()
        .filter(|(to, _)| *to == conn)
        .map(|(_, line)| line.len())
        .sum();
    reply_cost(bytes)
}

/// Extra lines of budget a reply of `bytes` costs.
pub fn reply_cost(bytes: usize) -> u32 {
    (bytes.saturating_sub(REPLY_FREE_BYTES) / REPLY_BYTES_PER_COST) as u32
}

/// Charges `conn` `cost` lines of flood budget (operators are exempt from flood control
/// anyway: `World::ready` lets them through whatever their budget).
pub fn charge(w: &mut World, conn: ConnId, cost: u32) {
    if cost == 0 {
        return;
    }
    let interval = w.config.limits.flood_interval_ms;
    let now = w.now.mono_ms;
    if let Some(l) = w.local_mut(conn) {
        l.flood_tat_ms = l.flood_tat_ms.max(now) + u64::from(cost) * interval;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::testing::{TestWorld, BASE_CONFIG};

    /// Flood debt (ms past now) of `conn` after `line`.
    fn debt_after(t: &mut TestWorld, conn: ConnId, line: &str) -> u64 {
        let before = t.w.local(conn).unwrap().flood_tat_ms.max(t.now.mono_ms);
        t.feed(conn, line);
        t.w.local(conn).unwrap().flood_tat_ms - before
    }

    #[test]
    fn a_join_costs_a_line_per_channel_and_a_ping_or_privmsg_one_line() {
        let mut t = TestWorld::with_config(&format!(
            "{BASE_CONFIG}[limits]\nflood_burst = 1000\nflood_interval_ms = 10\n"
        ));
        let a = t.user("alice");
        assert_eq!(debt_after(&mut t, a, "JOIN #a,#b,#c,#d,#e"), 5 * 10);
        assert_eq!(debt_after(&mut t, a, "JOIN #f"), 10);
        assert_eq!(debt_after(&mut t, a, "PING :x"), 10);
        assert_eq!(debt_after(&mut t, a, "PRIVMSG #a :hello"), 10);
    }

    #[test]
    fn replies_cost_by_their_size_past_the_free_bytes() {
        assert_eq!(reply_cost(0), 0);
        assert_eq!(reply_cost(REPLY_FREE_BYTES), 0);
        assert_eq!(reply_cost(REPLY_FREE_BYTES + REPLY_BYTES_PER_COST - 1), 0);
        assert_eq!(reply_cost(REPLY_FREE_BYTES + REPLY_BYTES_PER_COST), 1);
        assert_eq!(reply_cost(REPLY_FREE_BYTES + 10 * REPLY_BYTES_PER_COST), 10);
    }
}
