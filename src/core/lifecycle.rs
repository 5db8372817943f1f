//! A connection's life as the shell reports it: opened, a line, too much input, closed, and
//! the clock ticking (registration and ping timeouts).

use super::counts::Refusal;
use super::dispatch::{dispatch, Ctx, Source};
use super::ids::Key;
use super::portal::LinkMsg;
use super::state::{umode, Local, Reg, WhoWas};
use super::{ClientId, Clock, ConnId, Outbox, World};
use crate::core::handlers::ircx::event::EventType;
use crate::limits::{MAX_CLIENT_TAGS, WHOWAS_LEN};
use crate::proto::line::Line;
use crate::proto::message::{parse, ParseError};
use crate::proto::numeric as n;

/// How long a link whose protocol has no end-of-burst marker (ngIRCd's) counts as still
/// bursting, for the dialer's one-at-a-time rule: its burst takes milliseconds.
const UNSYNCED_SETTLE_MS: u64 = 3_000;
use std::net::IpAddr;

impl World {
    /// A new connection. Returns false (after queuing an ERROR and a close) if it is refused.
    pub fn on_open(&mut self, conn: ConnId, ip: IpAddr, now: Clock, out: &mut Outbox) -> bool {
        self.now = now;
        let limits = &self.config.limits;
        let total = self.counts().unregistered + self.counts().local_users;
        let per_ip = self.per_ip.get(&ip).copied().unwrap_or(0) as usize;
        let rate = limits.connects_per_ip_per_min;
        let flood_tat = self.arrivals.arrive(ip, now.mono_ms, rate);
        let refuse = if total >= limits.max_clients {
            Some((Refusal::MaxClients, "Server is full"))
        } else if limits.max_clients_per_ip != 0 && per_ip >= limits.max_clients_per_ip {
            Some((Refusal::PerIp, "Too many connections from your IP address"))
        } else if flood_tat.is_none() {
            Some((
                Refusal::ConnectRate,
                "Too many new connections from your IP address; wait a minute",
            ))
        } else {
            None
        };
        if let Some((why, reason)) = refuse {
            self.counts.refused(why);
            // Without the connection number, so a flood from one address is one WARN
            // repeated (the logger counts repeats) rather than thousands of lines.
            log::warn!("refused a connection from {ip}: {reason}");
            let line = Line::bare("ERROR")
                .trailing(format!("Closing Link: {ip} ({reason})"))
                .finish();
            let ip = ip.to_string();
            self.raise_event(EventType::Socket, "REFUSED", None, &[&ip], Some(reason));
            self.flush_events(out);
            out.closes.push((conn, line));
            return false;
        }
        *self.per_ip.entry(ip).or_default() += 1;
        self.add_local(conn, ip, now);
        if let Some(l) = self.local_mut(conn) {
            l.flood_tat_ms = flood_tat.unwrap_or_default();
        }
        self.counts.opened();
        if self.events_wanted() {
            self.raise_event(EventType::Connect, "OPEN", None, &[&ip.to_string()], None);
        }
        self.flush_events(out);
        true
    }

    fn add_local(&mut self, conn: ConnId, ip: IpAddr, now: Clock) {
        let i = conn.index();
        if self.locals.len() <= i {
            self.locals.resize_with(i + 1, || None);
        }
        let host = match &self.config.cloak.secret {
            secret if secret.is_empty() => ip.to_string(),
            secret => crate::core::cloak::cloak(secret, ip),
        };
        self.locals[i] = Some(Local {
            ip,
            host: host.into(),
            client: None,
            link: None,
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
    }

    /// The shell dialed `portal` and the connection is up: send our half of the handshake.
    /// Returns false if the portal is no longer configured (the shell drops the socket).
    pub fn on_dial(
        &mut self,
        conn: ConnId,
        portal: &str,
        ip: IpAddr,
        now: Clock,
        out: &mut Outbox,
    ) -> bool {
        self.now = now;
        let Some(p) = self.config.portal.iter().find(|p| p.name == portal) else {
            return false;
        };
        let password = p.password.clone();
        let rfc = p.protocol == crate::config::PortalProtocol::Rfc2813;
        *self.per_ip.entry(ip).or_default() += 1;
        self.add_local(conn, ip, now);
        if let Some(reg) = self.reg_mut(conn) {
            reg.dialed = Some(portal.into());
        }
        self.counts.dialed();
        let lines = if rfc {
            super::portal::rfc2813::handshake(self, &password)
        } else {
            super::portal::handshake::handshake(self, &password)
        };
        for line in lines {
            out.send(conn, line);
        }
        true
    }

    /// Whether `portal` is linked or being linked (so the shell need not dial it).
    pub fn portal_busy(&self, portal: &str) -> bool {
        self.find_server(portal.as_bytes()).is_some()
            || self
                .locals
                .iter()
                .flatten()
                .any(|l| l.reg.as_ref().and_then(|r| r.dialed.as_deref()) == Some(portal))
    }

    /// Whether `conn` is a link whose peer has finished its burst, so that every server
    /// behind it is known here (a link without `EOB` gets a few seconds instead).
    pub fn link_settled(&self, conn: ConnId) -> bool {
        self.link(conn).is_some_and(|l| {
            l.synced
                || l.caps & crate::core::portal::cap::EOB == 0
                    && self.now.mono_ms.saturating_sub(l.linked_ms) >= UNSYNCED_SETTLE_MS
        })
    }

    /// The send queue limit of a connection: portals have their own, larger one.
    pub fn sendq_limit(&self, conn: ConnId) -> usize {
        let portal = self.link(conn).map(|l| &self.servers[l.server].name);
        match portal.and_then(|name| {
            self.config
                .portal
                .iter()
                .find(|p| p.name.eq_ignore_ascii_case(name))
        }) {
            Some(p) => p.sendq_bytes,
            None => self.config.limits.sendq_bytes,
        }
    }

    /// Whether the connection may send another line now (flood control). Operators are exempt.
    pub fn ready(&self, conn: ConnId, now: Clock) -> bool {
        let Some(l) = self.local(conn) else {
            return true;
        };
        // A paged reply is still going out: the next command waits, so its answer cannot
        // land inside this one (core/paging.rs).
        if self.pages.holds(conn) {
            return false;
        }
        // Operators and portals are exempt: load tests and bursts rely on it.
        if l.link.is_some() || l.client.is_some_and(|c| self.clients[c].has(umode::OPER)) {
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
            Ok(msg) if self.link(conn).is_some() => {
                self.on_link_line(conn, line, &msg, out);
                self.flush_events(out);
            }
            // IRCv3 message-tags: a client's tag section holds at most 4094 bytes.
            Ok(msg) if msg.tags.is_some_and(|t| t.len() > MAX_CLIENT_TAGS) => {
                self.reply(out, conn, n::ERR_INPUTTOOLONG, &[]);
            }
            Ok(msg) => {
                let src = match self.local(conn).and_then(|l| l.client) {
                    Some(cid) => Source::Local(cid),
                    None => Source::Unregistered,
                };
                let label = self.label_for(conn, &msg, out);
                let from = out.sends.len();
                let mut ctx = Ctx {
                    w: self,
                    conn,
                    src,
                    out,
                };
                dispatch(&mut ctx, &msg, line.len());
                // The welcome burst (and its MOTD) that completes registration is free.
                if matches!(src, Source::Local(_)) {
                    let cost = super::cost::extra_cost(&msg, conn, out, from);
                    super::cost::charge(self, conn, cost);
                }
                match label {
                    Some(label) => self.wrap_response(conn, label, out),
                    None => self.unlabeled_done(out),
                }
                self.flush_events(out);
            }
            Err(ParseError::Empty) => {}
            Err(ParseError::TooLong) => self.reply(out, conn, n::ERR_INPUTTOOLONG, &[]),
            Err(ParseError::Nul) => {
                let line = self
                    .num(conn, n::ERR_UNKNOWNERROR)
                    .arg("*")
                    .trailing("Line contained a NUL byte and was dropped")
                    .finish();
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
        self.counts.line_in();
        true
    }

    /// The shell closed the connection (EOF, error, SendQ exceeded, Excess Flood).
    pub fn on_close(&mut self, conn: ConnId, reason: &str, now: Clock, out: &mut Outbox) {
        self.now = now;
        self.leave_network(conn, reason, true, out);
        self.forget_local(conn);
        self.flush_events(out);
    }

    /// A registering connection became a portal link.
    pub fn register_local_link(&mut self, conn: ConnId, link: super::portal::Link) {
        let local = self.local_mut(conn).expect("registering connection");
        local.reg = None;
        local.link = Some(Box::new(link));
        self.counts.linked();
    }

    /// What a closing connection takes with it: its user (whose QUIT the links hear if
    /// `announce`), or the servers behind its link.
    fn leave_network(&mut self, conn: ConnId, reason: &str, announce: bool, out: &mut Outbox) {
        if let Some(cid) = self.local(conn).and_then(|l| l.client) {
            log::info!(
                "conn {}: {} quit: {reason}",
                conn.index(),
                self.clients[cid].mask()
            );
            if announce {
                let quit = LinkMsg::new(&self.clients[cid].nick, "QUIT").trailing(reason);
                self.to_links(None, &quit, out);
            }
            self.quit_local_view(cid, reason.as_bytes(), out);
        }
        if let Some(server) = self.link(conn).map(|l| l.server) {
            log::warn!("portal {}: link lost: {reason}", self.servers[server].name);
            self.links.retain(|&l| l != conn);
            self.squit(server, reason, Some(conn), out);
        }
    }

    /// The shell says connection `conn` is TLS (told when it is accepted on a TLS listener
    /// or dialed with TLS, and again with the client certificate's fingerprint once the
    /// handshake shows one).
    pub fn set_secure(&mut self, conn: ConnId, fingerprint: Option<Box<str>>) {
        self.secure.insert(conn, fingerprint);
    }

    /// The client certificate fingerprint of a local TLS connection.
    pub fn fingerprint(&self, conn: ConnId) -> Option<&str> {
        self.secure.get(&conn)?.as_deref()
    }

    fn forget_local(&mut self, conn: ConnId) {
        self.secure.remove(&conn);
        self.pages.forget(conn);
        self.forget_labels(conn);
        crate::core::handlers::sasl::closed(self, conn);
        // A verdict still to come must not finish anything for the next user of this id.
        self.abandon_checks(conn);
        let Some(local) = self.locals.get_mut(conn.index()).and_then(Option::take) else {
            return;
        };
        if self.events_wanted() {
            let ip = local.ip.to_string();
            self.raise_event(EventType::Connect, "CLOSE", None, &[&ip], None);
        }
        if local.client.is_none() && local.link.is_none() {
            self.counts.closed_unregistered();
        }
        if local.link.is_none() {
            self.arrivals.left(local.ip, local.flood_tat_ms);
        }
        if let Some(count) = self.per_ip.get_mut(&local.ip) {
            *count -= 1;
            if *count == 0 {
                self.per_ip.remove(&local.ip);
            }
        }
    }

    /// Ends a connection from inside the core: final ERROR line, then the shell closes it.
    /// Its user's QUIT goes to the links.
    pub fn close_conn(&mut self, conn: ConnId, reason: &str, out: &mut Outbox) {
        self.close_local(conn, reason, true, out);
    }

    /// Like [`World::close_conn`]; without `announce` the links are not told (they learn
    /// of it otherwise: a KILL or a collision already crossed the network).
    pub fn close_local(&mut self, conn: ConnId, reason: &str, announce: bool, out: &mut Outbox) {
        let host = self.local(conn).map_or("", |l| &*l.host);
        let line = Line::bare("ERROR")
            .trailing("Closing Link: ")
            .more(host)
            .more(" (")
            .more(reason)
            .more(")")
            .finish();
        self.leave_network(conn, reason, announce, out);
        self.forget_local(conn);
        out.closes.push((conn, line));
    }

    /// Drops every trace of a client (no messages).
    pub fn remove_client(&mut self, cid: ClientId) {
        self.set_umodes(cid, 0);
        self.drop_events(cid);
        self.drop_access(cid);
        self.drop_monitor(cid);
        self.accounts.remove(&cid);
        self.drop_metadata(cid);
        self.forget_hidden_host(cid);
        let c = self.clients.remove(cid);
        if let Some(s) = self.servers.get_mut(c.server) {
            s.users -= 1;
        }
        for ch in &c.chans {
            self.part_channel(*ch, cid);
        }
        if c.invited {
            for (_, chan) in self.channels.iter_mut() {
                chan.invites.retain(|&i| i != cid);
            }
        }
        self.forget_nick(&c.nick);
        self.monitor_offline(&c.nick);
        if let Some(conn) = c.conn {
            if let Some(l) = self.local_mut(conn) {
                l.client = None;
                l.reg = Some(Box::default());
            }
            self.counts.user_left();
        }
        self.push_whowas(&c);
    }

    /// Adds a user's current identity to WHOWAS (before a nick change).
    pub fn remember_whowas(&mut self, cid: ClientId) {
        let mut entry = self.whowas_slot();
        let c = &self.clients[cid];
        entry.set(c, &self.servers[c.server].name, self.now.unix_s());
        self.whowas.push_back(entry);
    }

    fn push_whowas(&mut self, c: &super::Client) {
        let mut entry = self.whowas_slot();
        let server = &self.servers.get(c.server).unwrap_or(self.me()).name;
        entry.set(c, server, self.now.unix_s());
        self.whowas.push_back(entry);
    }

    /// An entry to fill: the oldest when WHOWAS is full (its buffer is reused), else a new one.
    fn whowas_slot(&mut self) -> WhoWas {
        if self.whowas.len() >= WHOWAS_LEN {
            return self.whowas.pop_front().unwrap_or_default();
        }
        WhoWas::default()
    }

    /// Removes a member; an empty channel disappears, unless it is registered.
    pub fn part_channel(&mut self, ch: super::ChanId, cid: ClientId) {
        let chan = &mut self.channels[ch];
        chan.members.remove(&cid);
        chan.drop_local(cid);
        chan.invites.retain(|&i| i != cid);
        if chan.members.is_empty() && !chan.is_registered() {
            self.remove_channel(ch);
        }
        if let Some(c) = self.clients.get_mut(cid) {
            c.chans.retain(|&x| x != ch);
        }
    }

    /// Timers: registration timeout, PING after silence, ping timeout. Called about once a second.
    pub fn on_tick(&mut self, now: Clock, out: &mut Outbox) {
        self.now = now;
        let window = self.guard_window_ms();
        self.auth_guard.prune(now.mono_ms, window);
        self.arrivals.prune(now.mono_ms);
        let lim = &self.config.limits;
        let (reg_ms, ping_ms, timeout_ms) = (
            lim.registration_timeout_s * 1000,
            lim.ping_interval_s * 1000,
            lim.ping_timeout_s * 1000,
        );
        let mut to_ping = Vec::new();
        let mut to_close = Vec::new();
        for (i, l) in self.locals.iter().enumerate() {
            let Some(l) = l else { continue };
            let conn = ConnId::from_index(i);
            let silent = now.mono_ms.saturating_sub(l.last_rx_ms);
            if l.client.is_none() && l.link.is_none() {
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
            let Some(l) = self.local_mut(conn) else {
                continue;
            };
            l.ping_sent = true;
            if l.link.is_some() {
                // The lag PING is the keepalive too (one out at a time).
                self.ping_link(conn, out);
            } else {
                out.send(conn, ping.clone());
            }
        }
        for (conn, reason) in to_close {
            self.close_conn(conn, &reason, out);
        }
        self.ping_links(out);
        self.expire_access();
        // A safety net: the loop runs the lag timer itself when a line falls due.
        self.flush_lagged(out);
        self.flush_events(out);
    }

    /// SIGTERM/SIGINT/DIE: every connection gets a last ERROR and is closed. With
    /// `[ircx] redirect` set, IRCX connections (registered or not) are first told where to
    /// go, `:<server> REDIRECT <host:port,…> :<reason>` (draft §6.7); RFC connections and
    /// portals never get it.
    pub fn shutdown(&mut self, out: &mut Outbox) {
        const REASON: &str = "Server shutting down";
        let line = Line::bare("ERROR").trailing(REASON).finish();
        let redirect = self.config.ircx.redirect_list().map(|servers| {
            Line::new(self.name(), "REDIRECT")
                .arg(servers)
                .trailing(REASON)
                .finish()
        });
        let conns: Vec<ConnId> = (0..self.locals.len())
            .filter(|&c| self.locals[c].is_some())
            .map(ConnId::from_index)
            .collect();
        for conn in conns {
            if let Some(redirect) = redirect.as_ref().filter(|_| self.is_ircx(conn)) {
                out.send(conn, redirect.clone());
            }
            out.closes.push((conn, line.clone()));
        }
    }

    /// Registration state of a connection, if it is still registering.
    pub fn reg_mut(&mut self, conn: ConnId) -> Option<&mut Reg> {
        self.local_mut(conn).and_then(|l| l.reg.as_deref_mut())
    }
}
