//! PROP LAG (draft §8.2.14): a channel's ordinary members' messages reach the channel
//! 0–2 seconds late. The loop never sleeps for it: a lagged message waits in its channel's
//! queue and goes out when the loop's timer finds it due (`World::flush_lagged`, run on
//! every turn of the loop that has something due and on every tick).
//!
//! Hosts and owners are not lagged. Only this server's members are lagged here (a member
//! elsewhere is its own server's business), and only the delivery to this server's
//! members waits: links carry the message at once. LAG travels to servers with `IRCX` as
//! any property does, and each of them holds back its own members' lines to its own members.

use crate::core::fanout::Msg;
use crate::core::modes::Status;
use crate::core::{ChanId, ClientId, Outbox, World};
use std::collections::VecDeque;

/// Most lines a channel holds back at once. Flood control already paces each sender;
/// this bounds what a channel full of them can make the server hold (a line past it is
/// refused, see [`World::lag_message`]).
pub const MAX_LAGGED: usize = 256;

/// One message waiting for its time.
pub struct Lagged {
    pub due_ms: u64,
    pub from: ClientId,
    /// The lowest status that receives it (`@#chan`, an auditorium's hosts).
    pub status: Status,
    pub tagmsg: bool,
    pub msg: Msg,
}

impl std::fmt::Debug for Lagged {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Lagged(due {} from {:?})", self.due_ms, self.from)
    }
}

/// The lag of a channel and the messages it holds back.
#[derive(Debug, Default)]
pub struct Lag {
    /// Seconds, 0–2.
    pub secs: u8,
    pub queue: VecDeque<Lagged>,
}

impl World {
    /// How long a message from `cid` to `ch` is held back, or `None` to deliver it now.
    /// Held for no time at all (`Some(0)`) behind lines still held from before a lag was
    /// lowered, so that it cannot overtake them.
    pub fn lag_ms(&self, ch: ChanId, cid: ClientId) -> Option<u64> {
        let chan = &self.channels[ch];
        let lag = &chan.props.as_ref()?.lag;
        if lag.secs == 0 && lag.queue.is_empty() {
            return None;
        }
        if chan.is_op(cid) || self.clients[cid].conn.is_none() {
            return None;
        }
        Some(u64::from(lag.secs) * 1000)
    }

    /// Holds a message back for `lag_ms`. Never earlier than the channel's last held
    /// line: a lag lowered meanwhile must not reorder what members see. False (nothing
    /// kept) when the channel already holds [`MAX_LAGGED`] lines.
    pub fn lag_message(&mut self, ch: ChanId, lag_ms: u64, item: Lagged) -> bool {
        let now = self.now.mono_ms;
        let Some(props) = self.channels[ch].props.as_mut() else {
            return false;
        };
        let queue = &mut props.lag.queue;
        if queue.len() >= MAX_LAGGED {
            return false;
        }
        let after = queue.back().map_or(0, |l| l.due_ms);
        queue.push_back(Lagged {
            due_ms: (now + lag_ms).max(after),
            ..item
        });
        if !self.lagging.contains(&ch) {
            self.lagging.push(ch);
        }
        true
    }

    /// When the loop must next run [`World::flush_lagged`] (monotonic ms), if ever.
    pub fn next_lag_ms(&self) -> Option<u64> {
        self.lagging
            .iter()
            .filter_map(|&ch| self.channels.get(ch)?.props.as_ref()?.lag.queue.front())
            .map(|l| l.due_ms)
            .min()
    }

    /// The loop's timer between ticks: delivers what is due by `now`.
    pub fn on_lag_timer(&mut self, now: crate::core::Clock, out: &mut Outbox) {
        self.now = now;
        self.flush_lagged(out);
    }

    /// Delivers every held message that is due, to the members present now.
    pub fn flush_lagged(&mut self, out: &mut Outbox) {
        let mut i = 0;
        while i < self.lagging.len() {
            let ch = self.lagging[i];
            while let Some(mut l) = self.pop_due(ch) {
                self.to_channel_members(ch, Some(l.from), l.status, l.tagmsg, &mut l.msg, out);
            }
            // A channel gone (its id maybe reused since) holds nothing of ours any more.
            let Some(chan) = self.channels.get_mut(ch) else {
                self.lagging.swap_remove(i);
                continue;
            };
            if chan.props.as_ref().is_some_and(|p| !p.lag.queue.is_empty()) {
                i += 1;
            } else {
                chan.drop_empty_props();
                self.lagging.swap_remove(i);
            }
        }
    }

    fn pop_due(&mut self, ch: ChanId) -> Option<Lagged> {
        let now = self.now.mono_ms;
        let queue = &mut self.channels.get_mut(ch)?.props.as_mut()?.lag.queue;
        if queue.front()?.due_ms > now {
            return None;
        }
        queue.pop_front()
    }
}

/// Reads a LAG value: `0`, `1` or `2` seconds.
pub fn parse_secs(v: &[u8]) -> Option<u8> {
    match v {
        [d @ b'0'..=b'2'] => Some(d - b'0'),
        _ => None,
    }
}
