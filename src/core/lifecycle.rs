//! A connection's life as the shell reports it: opened, a line, too much input, closed, and
//! the clock ticking (registration and ping timeouts).

use super::dispatch::{dispatch, Ctx};
use super::fanout::Msg;
use super::state::{umode, Local, Reg, WhoWas};
use super::{ClientId, Clock, ConnId, Outbox, World};
use crate::limits::WHOWAS_LEN;
use crate::proto::line::Line;
use crate::proto::message::{parse, ParseError};
use crate::proto::numeric as n;
use std::net::IpAddr;

impl World {
    /// A new connection. Returns false (after queuing an ERROR and a close) if it is refused.
    pub fn on_open(&mut self, conn: ConnId, ip: IpAddr, now: Clock, out: &mut Outbox) -> bool {
        self.now = now;
        let limits = &self.config.limits;
        let total = self.unregistered + self.local_users;
        let per_ip = self.per_ip.get(&ip).copied().unwrap_or(0) as usize;
        let refuse = if total >= limits.max_clients {
            Some("Server is full")
        } else if limits.max_clients_per_ip != 0 && per_ip >= limits.max_clients_per_ip {
            Some("Too many connections from your IP address")
        } else {
            None
        };
        if let Some(reason) = refuse {
            let line = Line::bare("ERROR")
                .trailing(format!("Closing Link: {ip} ({reason})"))
                .finish();
            out.closes.push((conn, line));
            return false;
        }
        *self.per_ip.entry(ip).or_default() += 1;
        if self.locals.len() <= conn {
            self.locals.resize_with(conn + 1, || None);
        }
        self.locals[conn] = Some(Local {
            ip,
            host: ip.to_string().into(),
            client: None,
            reg: Some(Box::default()),
            connected_ms: now.mono_ms,
            last_rx_ms: now.mono_ms,
            ping_sent: false,
            flood_tat_ms: 0,
            last_msg: now.unix_s(),
            cap_version: 0,
            lines_in: 0,
            lines_out: 0,
        });
        self.unregistered += 1;
        self.connections_total += 1;
        true
    }

    /// Whether the connection may send another line now (flood control). Operators are exempt.
    pub fn ready(&self, conn: ConnId, now: Clock) -> bool {
        let Some(l) = self.local(conn) else {
            return true;
        };
        if l.client.is_some_and(|c| self.clients[c].has(umode::OPER)) {
            return true;
        }
        let lim = &self.config.limits;
        l.flood_tat_ms < now.mono_ms + u64::from(lim.flood_burst) * lim.flood_interval_ms
    }

    /// One complete line from a connection.
    pub fn on_line(&mut self, conn: ConnId, line: &[u8], now: Clock, out: &mut Outbox) {
        if !self.count_line(conn, now) {
            return;
        }
        match parse(line) {
            Ok(msg) => {
                let mut ctx = Ctx { w: self, conn, out };
                dispatch(&mut ctx, &msg, line.len());
            }
            Err(ParseError::Empty) => {}
            Err(ParseError::TooLong) => self.reply(out, conn, n::ERR_INPUTTOOLONG, &[]),
            Err(ParseError::Nul) => {
                let line = self.numeric(
                    conn,
                    n::ERR_UNKNOWNERROR,
                    &[b"*"],
                    "Line contained a NUL byte and was dropped",
                );
                out.send(conn, line);
            }
        }
    }

    /// A line longer than the framer keeps was dropped. It is still a line: it shows the
    /// client is alive and costs flood budget like any other (its 417 is output too).
    pub fn on_too_long(&mut self, conn: ConnId, now: Clock, out: &mut Outbox) {
        if self.count_line(conn, now) {
            self.reply(out, conn, n::ERR_INPUTTOOLONG, &[]);
        }
    }

    /// Records a line from `conn`: activity for the ping timer, flood penalty. False if the
    /// connection is gone.
    fn count_line(&mut self, conn: ConnId, now: Clock) -> bool {
        self.now = now;
        let interval = self.config.limits.flood_interval_ms;
        let Some(local) = self.local_mut(conn) else {
            return false;
        };
        local.last_rx_ms = now.mono_ms;
        local.ping_sent = false;
        local.lines_in += 1;
        local.flood_tat_ms = local.flood_tat_ms.max(now.mono_ms) + interval;
        true
    }

    /// The shell closed the connection (EOF, error, SendQ exceeded, Excess Flood).
    pub fn on_close(&mut self, conn: ConnId, reason: &str, now: Clock, out: &mut Outbox) {
        self.now = now;
        if let Some(cid) = self.local(conn).and_then(|l| l.client) {
            self.quit_client(cid, reason.as_bytes(), out);
        }
        self.forget_local(conn);
    }

    fn forget_local(&mut self, conn: ConnId) {
        let Some(local) = self.locals.get_mut(conn).and_then(Option::take) else {
            return;
        };
        if local.client.is_none() {
            self.unregistered -= 1;
        }
        if let Some(count) = self.per_ip.get_mut(&local.ip) {
            *count -= 1;
            if *count == 0 {
                self.per_ip.remove(&local.ip);
            }
        }
    }

    /// Ends a connection from inside the core: final ERROR line, then the shell closes it.
    pub fn close_conn(&mut self, conn: ConnId, reason: &str, out: &mut Outbox) {
        let host = self.local(conn).map(|l| l.host.clone()).unwrap_or_default();
        let line = Line::bare("ERROR")
            .trailing(format!("Closing Link: {host} ({reason})"))
            .finish();
        if let Some(cid) = self.local(conn).and_then(|l| l.client) {
            self.quit_client(cid, reason.as_bytes(), out);
        }
        self.forget_local(conn);
        out.closes.push((conn, line));
    }

    /// Removes a user from the network: QUIT to everyone sharing a channel (once each),
    /// membership, nick, WHOWAS history.
    pub fn quit_client(&mut self, cid: ClientId, reason: &[u8], out: &mut Outbox) {
        let c = &self.clients[cid];
        let line = Line::new(&c.mask(), "QUIT").trailing(reason).finish();
        let mut msg = Msg::new(line, self.now.unix_ms);
        self.to_common(cid, false, 0, &mut msg, out);
        self.remove_client(cid);
    }

    /// Drops every trace of a client (no messages).
    pub fn remove_client(&mut self, cid: ClientId) {
        self.set_umodes(cid, 0);
        let c = self.clients.remove(cid);
        for ch in &c.chans {
            self.part_channel(*ch, cid);
        }
        if c.invited {
            for (_, chan) in self.channels.iter_mut() {
                chan.invites.retain(|&i| i != cid);
            }
        }
        self.nicks.remove(&*self.fold(&c.nick));
        if let Some(conn) = c.conn {
            self.local_users -= 1;
            if let Some(l) = self.local_mut(conn) {
                l.client = None;
                l.reg = Some(Box::default());
            }
            // A connection that lost its user is not "unregistered" either: it is closing.
            self.unregistered += 1;
        }
        self.remember_whowas(&c);
    }

    pub fn remember_whowas(&mut self, c: &super::Client) {
        if self.whowas.len() == WHOWAS_LEN {
            self.whowas.pop_front();
        }
        self.whowas.push_back(WhoWas {
            nick: c.nick.clone(),
            user: c.user.clone(),
            host: c.host.clone(),
            realname: c.realname.clone(),
            time: self.now.unix_s(),
        });
    }

    /// Removes a member; an empty channel disappears.
    pub fn part_channel(&mut self, ch: super::ChanId, cid: ClientId) {
        let chan = &mut self.channels[ch];
        chan.members.remove(&cid);
        chan.invites.retain(|&i| i != cid);
        if chan.members.is_empty() {
            let chan = self.channels.remove(ch);
            self.chan_names.remove(&*self.cm.fold(&chan.name));
        }
        if let Some(c) = self.clients.get_mut(cid) {
            c.chans.retain(|&x| x != ch);
        }
    }

    /// Timers: registration timeout, PING after silence, ping timeout. Called about once a second.
    pub fn on_tick(&mut self, now: Clock, out: &mut Outbox) {
        self.now = now;
        let lim = &self.config.limits;
        let (reg_ms, ping_ms, timeout_ms) = (
            lim.registration_timeout_s * 1000,
            lim.ping_interval_s * 1000,
            lim.ping_timeout_s * 1000,
        );
        let mut to_ping = Vec::new();
        let mut to_close = Vec::new();
        for (conn, l) in self.locals.iter().enumerate() {
            let Some(l) = l else { continue };
            let silent = now.mono_ms.saturating_sub(l.last_rx_ms);
            if l.client.is_none() {
                if now.mono_ms.saturating_sub(l.connected_ms) >= reg_ms {
                    to_close.push((conn, "Registration timeout".to_string()));
                }
            } else if l.ping_sent {
                if silent >= ping_ms + timeout_ms {
                    // The limit, not the measured silence: that depends on when the timer
                    // happened to run, and the reason is seen by every peer.
                    let limit_s = (ping_ms + timeout_ms) / 1000;
                    to_close.push((conn, format!("Ping timeout: {limit_s} seconds")));
                }
            } else if silent >= ping_ms {
                to_ping.push(conn);
            }
        }
        let ping = Line::bare("PING").trailing(self.name()).finish();
        for conn in to_ping {
            if let Some(l) = self.local_mut(conn) {
                l.ping_sent = true;
            }
            out.send(conn, ping.clone());
        }
        for (conn, reason) in to_close {
            self.close_conn(conn, &reason, out);
        }
    }

    /// SIGTERM/SIGINT/DIE: every connection gets a last ERROR and is closed.
    pub fn shutdown(&mut self, out: &mut Outbox) {
        let line = Line::bare("ERROR")
            .trailing("Server shutting down")
            .finish();
        let conns: Vec<ConnId> = (0..self.locals.len())
            .filter(|&c| self.locals[c].is_some())
            .collect();
        for conn in conns {
            out.closes.push((conn, line.clone()));
        }
    }

    /// Registration state of a connection, if it is still registering.
    pub fn reg_mut(&mut self, conn: ConnId) -> Option<&mut Reg> {
        self.local_mut(conn).and_then(|l| l.reg.as_deref_mut())
    }
}
