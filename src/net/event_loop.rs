//! The readiness loop. Each turn: poll, read what is ready (within a budget per socket),
//! hand complete lines to the core, queue what it returns, run timers, flush every dirty
//! socket once with vectored writes, and only then remove closed connections, so a QUIT
//! fans out while every other connection is still valid.

use super::checker::Checker;
use super::conn::{Conn, Queued, State};
use super::dialer::Dialer;
use super::listener;
use super::metrics::{self, Metrics, ShellFigures};
use super::sendq::Flushed;
use super::state_file::{self, Saver};
use super::tls::{Got, Tls};
use super::websocket::{Fed, Ws};
use super::{Handle, Options, REHASH, RUN, STOP};
use crate::config::Config;
use crate::core::ids::Key;
use crate::core::{paging, Clock, ConnId, Outbox, Stop, World};
use crate::limits::{READ_BUDGET, RECVQ_LIMIT, SCRATCH};
use crate::proto::framer::{Flow, Input};
use hashbrown::{HashMap, HashSet};
use log::{debug, info, warn};
use mio::net::TcpListener;
use mio::{Events, Interest, Poll, Token, Waker};
use slab::Slab;
use std::collections::VecDeque;
use std::io::{self, Read};
use std::net::SocketAddr;
use std::rc::Rc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const WAKER: Token = Token(usize::MAX - 1);
const SIGNALS: Token = Token(usize::MAX - 2);
const LISTENER_BASE: usize = 1 << 40;
/// How long a closing connection may take to flush its last line and see EOF.
const LINGER_MS: u64 = 2_000;
/// Refused TLS connections handshaking at once to be told why ([`Server::refuse`]).
const MAX_REFUSING: usize = 16;
/// Time between timer runs (ping, registration timeout).
const TICK_MS: u64 = 1_000;
/// How soon throttled connections are looked at again.
const THROTTLE_RETRY_MS: u64 = 50;
/// Pages of paged replies (core/paging.rs) produced per loop turn, over all connections:
/// with at most 8 KiB each, a turn spends a bounded time on listings however many clients
/// ask for them at once.
const PAGES_PER_TURN: usize = 32;
/// Connections written per loop turn. A crowd that becomes writable together (a message
/// to a thousand members) is written over several turns, so the turn stays short and other
/// connections' input is read in between; a connection left for the next turn gathers
/// more lines into its one vectored write. Measured with `bench.sh` noisy_stuck: with no
/// bound, 1,000 members' first writes after each channel line kept a healthy client
/// waiting 25-35 ms for its PONG.
const FLUSHES_PER_TURN: usize = 256;
/// Connections cut for SendQ per loop turn. A cut frees a send queue of up to the limit
/// (thousands of shared lines) and sends a QUIT to every channel member: when a thousand
/// stuck readers overflow together, cutting them all in one turn stalled the loop for
/// 140 ms. The rest take no lines meanwhile (they are `Overflowed`) and are cut next turns.
const CUTS_PER_TURN: usize = 16;

struct Listener {
    sock: TcpListener,
    addr: SocketAddr,
    /// Clients speak TLS here, with these settings (replaced on a reload).
    tls: Option<Arc<rustls::ServerConfig>>,
    /// Clients speak WebSocket here (over TLS if `tls` is set).
    websocket: bool,
}

/// A listener to have: its address, for TLS its settings, and whether it is WebSocket.
type Wanted = (SocketAddr, Option<Arc<rustls::ServerConfig>>, bool);

pub struct Server {
    poll: Poll,
    opts: Options,
    listeners: Vec<Option<Listener>>,
    conns: Slab<Conn>,
    /// The TLS sessions of the connections that have one. Boxed: a session is over 1 KiB,
    /// and the table's empty slots would each be that large.
    tls: HashMap<usize, Box<Tls>>,
    /// The WebSocket sessions of the connections that have one.
    ws: HashMap<usize, Ws>,
    /// Refused TLS connections still handshaking to hear why ([`Server::refuse`]).
    refusing: HashSet<usize>,
    world: World,
    out: Outbox,
    scratch: Vec<u8>,
    /// Connections with queued output, each once (here or in `carried`).
    dirty: Vec<usize>,
    /// Connections with queued output that an earlier turn did not get to, oldest first.
    carried: Vec<usize>,
    /// Connections whose own input this turn queued output (their answers): written first,
    /// ahead of any crowd, so a client's PONG never waits behind a busy channel's members.
    answers: Vec<usize>,
    /// Connections whose read budget ran out with input possibly left in the socket.
    pending_read: Vec<usize>,
    /// Connections with lines held back by flood control.
    throttled: Vec<usize>,
    /// Connections closing or dead, to look at after the turn.
    closing: Vec<usize>,
    /// Connections over their send queue limit, to be cut (`CUTS_PER_TURN` a turn).
    cuts: VecDeque<usize>,
    waker: Arc<Waker>,
    request: Arc<AtomicU8>,
    snapshots: Arc<Mutex<Vec<mpsc::Sender<String>>>>,
    dialer: Dialer,
    signals: Option<signal_hook_mio::v1_0::Signals>,
    start: Instant,
    next_tick_ms: u64,
    accept_retry_ms: Option<u64>,
    /// In an EMFILE/ENFILE episode (logged once).
    fd_exhausted: bool,
    stopping: bool,
    /// RESTART asked for: `main` executes the binary again once `run` returns.
    restarting: bool,
    /// Writes the state file (ACCESS entries kept across restarts).
    saver: Saver,
    /// Where the next turn starts serving paged replies, so a crowd of them is served in
    /// turn when `PAGES_PER_TURN` cuts a turn short.
    page_turn: usize,
    /// The `[metrics]` listener and its scrapers, if configured.
    metrics: Option<Metrics>,
    /// Bytes and lines moved, for the metrics (the send queue total is summed per scrape).
    traffic: ShellFigures,
    /// Runs argon2 password checks off the loop thread.
    checker: Checker,
}

fn clock(start: Instant) -> Clock {
    let unix_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    Clock {
        mono_ms: start.elapsed().as_millis() as u64 + 1,
        unix_ms,
    }
}

impl Server {
    /// Opens the listeners and the poller; nothing is accepted until [`Server::run`].
    pub fn bind(opts: Options) -> io::Result<Server> {
        let poll = Poll::new()?;
        let waker = Arc::new(Waker::new(poll.registry(), WAKER)?);
        let checker = Checker::start(waker.clone())?;
        let start = Instant::now();
        let mut world = World::new(opts.config.clone(), clock(start));
        let saver = Saver::new(
            opts.config_path.as_deref(),
            opts.config.server.state_file.as_deref(),
        );
        if let Some(path) = saver.path() {
            state_file::load(path, &mut world);
        }
        let mut server = Server {
            poll,
            listeners: Vec::new(),
            conns: Slab::new(),
            tls: HashMap::new(),
            refusing: HashSet::new(),
            ws: HashMap::new(),
            world,
            out: Outbox::default(),
            scratch: vec![0; SCRATCH],
            dirty: Vec::new(),
            pending_read: Vec::new(),
            throttled: Vec::new(),
            closing: Vec::new(),
            cuts: VecDeque::new(),
            carried: Vec::new(),
            answers: Vec::new(),
            waker,
            checker,
            request: Arc::new(AtomicU8::new(RUN)),
            snapshots: Arc::default(),
            dialer: Dialer::default(),
            signals: None,
            start,
            next_tick_ms: TICK_MS,
            accept_retry_ms: None,
            fd_exhausted: false,
            stopping: false,
            restarting: false,
            saver,
            page_turn: 0,
            metrics: None,
            traffic: ShellFigures::default(),
            opts,
        };
        let cfg = server.opts.config.clone();
        if let Some(l) = cfg.listen.iter().find(|l| l.tls && l.server_tls.is_none()) {
            // Never serve in the clear what is configured for TLS.
            return Err(io::Error::other(format!(
                "[[listen]] {}: tls = true but its certificate was not loaded (Config::load loads it)",
                l.address
            )));
        }
        for wanted in server.wanted_listeners(&cfg) {
            server.open_listener(wanted)?;
        }
        server.tell_sts_port();
        if let Some(addr) = cfg.metrics.addr() {
            server.metrics = Some(Metrics::bind(addr, server.poll.registry())?);
        }
        if server.opts.signals {
            use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
            let mut signals = signal_hook_mio::v1_0::Signals::new([SIGTERM, SIGINT, SIGHUP])?;
            server
                .poll
                .registry()
                .register(&mut signals, SIGNALS, Interest::READABLE)?;
            server.signals = Some(signals);
        }
        Ok(server)
    }

    fn wanted_listeners(&self, cfg: &Config) -> Vec<Wanted> {
        match &self.opts.listen_override {
            Some(addrs) => addrs.iter().map(|&a| (a, None, false)).collect(),
            None => cfg
                .listen
                .iter()
                .map(|l| (l.address, l.server_tls.clone(), l.websocket))
                .collect(),
        }
    }

    /// Binds and registers a listener; returns the bound address (port 0 resolved).
    fn open_listener(&mut self, (addr, tls, websocket): Wanted) -> io::Result<SocketAddr> {
        let mut sock = listener::bind(addr)
            .map_err(|e| io::Error::new(e.kind(), format!("cannot listen on {addr}: {e}")))?;
        let addr = sock.local_addr()?;
        let slot = self
            .listeners
            .iter()
            .position(Option::is_none)
            .unwrap_or(self.listeners.len());
        self.poll.registry().register(
            &mut sock,
            Token(LISTENER_BASE + slot),
            Interest::READABLE,
        )?;
        let l = Some(Listener {
            sock,
            addr,
            tls,
            websocket,
        });
        if slot == self.listeners.len() {
            self.listeners.push(l);
        } else {
            self.listeners[slot] = l;
        }
        Ok(addr)
    }

    /// Tells the core the port of the first TLS listener, for IRCv3 STS.
    fn tell_sts_port(&mut self) {
        let tls = self.listeners.iter().flatten().find(|l| l.tls.is_some());
        self.world.sts_port = tls.map(|l| l.addr.port());
    }

    /// The bound addresses (port 0 resolved).
    pub fn local_addrs(&self) -> Vec<SocketAddr> {
        self.listeners.iter().flatten().map(|l| l.addr).collect()
    }

    /// Where `[metrics]` is served (port 0 resolved), if it is.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics.as_ref().map(|m| m.addr)
    }

    pub fn handle(&self) -> Handle {
        Handle {
            waker: self.waker.clone(),
            request: self.request.clone(),
            snapshots: self.snapshots.clone(),
        }
    }

    /// Whether the server stopped for an operator's RESTART.
    pub fn restart_requested(&self) -> bool {
        self.restarting
    }

    /// Serves until stopped (signal, handle, DIE, RESTART).
    pub fn run(&mut self) -> io::Result<()> {
        let mut events = Events::with_capacity(1024);
        self.dial_due(clock(self.start));
        while !self.stopping {
            let timeout = self.poll_timeout();
            if let Err(e) = self.poll.poll(&mut events, Some(timeout)) {
                if e.kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                return Err(e);
            }
            let now = clock(self.start);
            for event in events.iter() {
                match event.token() {
                    WAKER => self.on_wake(),
                    SIGNALS => self.on_signals(),
                    t if metrics::owns(t) => self.on_metrics(t, now),
                    Token(t) if t >= LISTENER_BASE => self.accept(t - LISTENER_BASE, now),
                    Token(k) => {
                        if event.is_writable() {
                            self.on_writable(k, now);
                        }
                        if event.is_read_closed() || event.is_error() {
                            self.read(k, now, true);
                        } else if event.is_readable() {
                            self.read(k, now, false);
                        }
                    }
                }
            }
            self.turn(now);
        }
        self.drain_on_shutdown();
        Ok(())
    }

    /// Work after the events of one poll: leftovers, timers, flush, reap.
    fn turn(&mut self, now: Clock) {
        for k in std::mem::take(&mut self.pending_read) {
            self.read(k, now, true);
        }
        if !self.throttled.is_empty() {
            for k in std::mem::take(&mut self.throttled) {
                if let Some(c) = self.conns.get_mut(k) {
                    c.in_throttled = false;
                }
                self.process(k, &[], now);
            }
        }
        if self.accept_retry_ms.is_some_and(|t| now.mono_ms >= t) {
            self.accept_retry_ms = None;
            for i in 0..self.listeners.len() {
                self.accept(i, now);
            }
        }
        if !self.out.connects.is_empty() {
            for name in std::mem::take(&mut self.out.connects) {
                self.dial(&name);
            }
        }
        // IRCX PROP LAG: held-back channel lines go out when due, not on the next tick.
        if self.world.next_lag_ms().is_some_and(|t| now.mono_ms >= t) {
            self.world.on_lag_timer(now, &mut self.out);
            self.apply(now);
        }
        if now.mono_ms >= self.next_tick_ms {
            self.dial_due(now);
            self.next_tick_ms = now.mono_ms + TICK_MS;
            self.sample_link_queues();
            if let Some(m) = self.metrics.as_mut() {
                m.expire(self.poll.registry(), now.mono_ms);
            }
            self.world.on_tick(now, &mut self.out);
            self.apply(now);
        }
        self.saver.poll(&mut self.world, Some(now.mono_ms));
        self.cut_overflowed(now);
        self.flush_dirty(now);
        if self.next_pages(now) {
            // The new pages go out this turn, not after the next poll.
            self.flush_dirty(now);
        }
        self.reap(now);
    }

    /// Whether connection `k` has a paged reply waiting and room for its next page: its
    /// send queue has drained to the low-water mark.
    fn wants_page(&self, id: ConnId) -> bool {
        self.conns.get(id.index()).is_some_and(|c| {
            c.is_open() && c.sendq.len() <= paging::low_water(self.world.sendq_limit(id))
        })
    }

    /// The next page of each paged reply whose connection has drained (up to
    /// `PAGES_PER_TURN`); true if any was produced.
    fn next_pages(&mut self, now: Clock) -> bool {
        if self.world.pages.is_empty() {
            return false;
        }
        let mut due: Vec<ConnId> = self.world.pages.conns().collect();
        due.retain(|&id| self.wants_page(id));
        if due.is_empty() {
            return false;
        }
        // Round robin: start where the last cut-short turn stopped.
        due.sort_unstable();
        let start = self.page_turn % due.len();
        due.rotate_left(start);
        due.truncate(PAGES_PER_TURN);
        self.page_turn = self.page_turn.wrapping_add(due.len());
        for id in due {
            self.world.next_page(id, &mut self.out);
        }
        self.apply(now);
        true
    }

    fn poll_timeout(&self) -> Duration {
        if !self.pending_read.is_empty()
            || !self.cuts.is_empty()
            || !self.world.pages.is_empty()
                && self.world.pages.conns().any(|id| self.wants_page(id))
            // Left over from a turn cut short: go on at once, without a scan of them.
            || !self.carried.is_empty()
            || self
                .dirty
                .iter()
                .any(|&k| self.conns.get(k).is_some_and(|c| c.writable))
        {
            return Duration::ZERO;
        }
        let now = self.start.elapsed().as_millis() as u64 + 1;
        let mut wake = self.next_tick_ms;
        if let Some(t) = self.world.next_lag_ms() {
            wake = wake.min(t);
        }
        if !self.throttled.is_empty() {
            wake = wake.min(now + THROTTLE_RETRY_MS);
        }
        if let Some(t) = self.accept_retry_ms {
            wake = wake.min(t);
        }
        if !self.closing.is_empty() {
            wake = wake.min(now + 100);
        }
        Duration::from_millis(wake.saturating_sub(now))
    }

    /// A metrics listener or scraper event; a scrape renders the core's figures and ours.
    fn on_metrics(&mut self, token: Token, now: Clock) {
        let Some(m) = self.metrics.as_mut() else {
            return;
        };
        let (world, conns, traffic) = (&self.world, &self.conns, self.traffic);
        let write_waiting = (self.dirty.len() + self.carried.len()) as u64;
        m.on_event(token, self.poll.registry(), now.mono_ms, || {
            let sendq_bytes = conns.iter().map(|(_, c)| c.sendq.len() as u64).sum();
            let shell = ShellFigures {
                sendq_bytes,
                write_waiting,
                ..traffic
            };
            world.metrics(now, &shell)
        });
    }

    /// Tells the core each link's send queue (STATS p, metrics): it never sees the queues.
    fn sample_link_queues(&mut self) {
        for i in 0..self.world.links.len() {
            let conn = self.world.links[i];
            let bytes = self.conns.get(conn.index()).map_or(0, |c| c.sendq.len());
            self.world.set_link_sendq(conn, bytes);
        }
    }

    fn on_wake(&mut self) {
        let verdicts = self.checker.ready();
        if !verdicts.is_empty() {
            let now = clock(self.start);
            for (ticket, verdict) in verdicts {
                self.world.on_checked(ticket, verdict, now, &mut self.out);
            }
            self.apply(now);
        }
        let waiting: Vec<_> = self
            .snapshots
            .lock()
            .map(|mut v| std::mem::take(&mut *v))
            .unwrap_or_default();
        if !waiting.is_empty() {
            let snap = self.world.snapshot();
            for tx in waiting {
                let _ = tx.send(snap.clone());
            }
        }
        match self.request.swap(RUN, Ordering::SeqCst) {
            STOP => self.begin_shutdown(),
            REHASH => self.rehash(None),
            _ => {}
        }
    }

    fn on_signals(&mut self) {
        let Some(signals) = self.signals.as_mut() else {
            return;
        };
        let pending: Vec<i32> = signals.pending().collect();
        for sig in pending {
            match sig {
                signal_hook::consts::SIGHUP => {
                    crate::logging::reopen();
                    info!("SIGHUP: reloading the configuration");
                    self.rehash(None);
                }
                _ => {
                    info!("signal {sig}: shutting down");
                    self.begin_shutdown();
                }
            }
        }
    }

    fn begin_shutdown(&mut self) {
        self.world.shutdown(&mut self.out);
        self.stopping = true;
    }

    /// Sends every connection its last line and waits (bounded) for the writes to finish.
    fn drain_on_shutdown(&mut self) {
        let now = clock(self.start);
        self.apply(now);
        self.saver.poll(&mut self.world, None);
        let deadline = Instant::now() + Duration::from_millis(LINGER_MS);
        let mut events = Events::with_capacity(1024);
        loop {
            self.flush_dirty(now);
            let busy = self.conns.iter().any(|(k, c)| {
                (!c.sendq.is_empty() || self.tls_pending(k)) && c.state != State::Dead
            });
            if !busy || Instant::now() >= deadline {
                break;
            }
            // More than a turn's share of connections to write: go on at once.
            let wait = if self.carried.is_empty() { 20 } else { 0 };
            let _ = self
                .poll
                .poll(&mut events, Some(Duration::from_millis(wait)));
            for event in events.iter() {
                let Token(k) = event.token();
                if event.is_writable() {
                    self.on_writable(k, now);
                }
            }
        }
        for (k, c) in self.conns.iter_mut() {
            if let Some(tls) = self.tls.get_mut(&k) {
                tls.close(&mut c.stream);
            }
            let _ = c.stream.shutdown(std::net::Shutdown::Write);
        }
        info!("shut down");
    }

    /// Reloads the configuration file; `by` (an operator's REHASH) hears how it went.
    fn rehash(&mut self, by: Option<ConnId>) {
        let (loaded, note) = self.reload();
        if let Some(note) = &note {
            warn!("{note}");
        }
        if let Some(by) = by {
            self.world
                .rehashed(by, loaded, note.as_deref(), &mut self.out);
        }
    }

    /// Reads the file and applies it: whether it was read, and what went wrong if anything.
    fn reload(&mut self) -> (bool, Option<String>) {
        let Some(path) = self.opts.config_path.clone() else {
            let note = "rehash: running on the built-in configuration; nothing to reload";
            return (false, Some(note.into()));
        };
        let cfg = match Config::load(&path) {
            Ok(cfg) => cfg,
            Err(e) => {
                return (
                    false,
                    Some(format!("rehash failed, keeping the old configuration: {e}")),
                )
            }
        };
        let old = self.world.config.clone();
        if let Some(why) = cfg.frozen_change(&old) {
            let note = format!("rehash refused, keeping the old configuration: {why}");
            return (false, Some(note));
        }
        let changes = cfg.changes_from(&old);
        if changes.is_empty() {
            info!("rehash: nothing changed");
        }
        for change in changes {
            info!("rehash: {change}");
        }
        let wanted = self.wanted_listeners(&cfg);
        for slot in 0..self.listeners.len() {
            let Some(l) = &mut self.listeners[slot] else {
                continue;
            };
            let configured = wanted
                .iter()
                .find(|(a, ..)| *a == l.addr || (a.port() == 0 && a.ip() == l.addr.ip()));
            if let Some((_, tls, websocket)) = configured {
                // New handshakes take the reloaded certificate; sessions keep theirs.
                if tls.is_some() {
                    info!("rehash: {}: TLS certificate reloaded", l.addr);
                }
                l.tls = tls.clone();
                // New connections only: a session keeps the protocol it started with.
                l.websocket = *websocket;
            } else {
                info!("rehash: closing listener {}", l.addr);
                if let Some(mut l) = self.listeners[slot].take() {
                    let _ = self.poll.registry().deregister(&mut l.sock);
                }
            }
        }
        for (addr, tls, websocket) in wanted {
            let open = self
                .listeners
                .iter()
                .flatten()
                .any(|l| l.addr == addr || (addr.port() == 0 && l.addr.ip() == addr.ip()));
            if !open {
                match self.open_listener((addr, tls, websocket)) {
                    Ok(bound) => info!("rehash: listening on {bound}"),
                    Err(e) => warn!("rehash: {e}"),
                }
            }
        }
        let note = self.world.set_config(cfg, &mut self.out).err();
        self.tell_sts_port();
        (true, note.map(|note| format!("rehash: {note}")))
    }

    fn accept(&mut self, slot: usize, now: Clock) {
        loop {
            let Some(Some(l)) = self.listeners.get(slot) else {
                return;
            };
            let (stream, peer) = match l.sock.accept() {
                Ok(pair) => pair,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) if listener::is_fd_exhaustion(&e) => {
                    // Pending connections stay in the backlog; try again shortly. Said once
                    // per episode: a long exhaustion must not flood the log.
                    if !self.fd_exhausted {
                        warn!("accept: {e}; retrying every 100 ms until descriptors are free");
                        self.fd_exhausted = true;
                    }
                    self.accept_retry_ms = Some(now.mono_ms + 100);
                    return;
                }
                Err(e) => {
                    warn!("accept on {}: {e}", l.addr);
                    return;
                }
            };
            if self.fd_exhausted {
                info!("accept: descriptors available again");
                self.fd_exhausted = false;
            }
            let _ = stream.set_nodelay(true);
            let sndbuf = self.world.config.limits.so_sndbuf;
            if sndbuf > 0 {
                let _ = socket2::SockRef::from(&stream).set_send_buffer_size(sndbuf);
            }
            let (tls, websocket) = (l.tls.clone(), l.websocket);
            let Some(k) = self.add_conn(stream, None) else {
                continue;
            };
            info!("conn {k}: accepted from {peer}");
            let id = ConnId::from_index(k);
            if self.world.on_open(id, peer.ip(), now, &mut self.out) {
                if let Some(cfg) = tls {
                    self.start_tls(k, Tls::server(cfg));
                }
                if websocket {
                    self.ws.insert(k, Ws::default());
                }
            } else {
                self.refuse(k, tls, websocket);
            }
            self.apply(now);
        }
    }

    /// Prepares refused connection `k` to hear why in its own protocol: a WebSocket listener
    /// answers a browser's request with a 503, a TLS listener says it (as ERROR or 503) after
    /// the handshake. The closing deadline (`LINGER_MS`) bounds a handshake that does not
    /// finish, and at most [`MAX_REFUSING`] refused handshakes run at once, so a flood that
    /// is refused for its rate costs no more than that. Past it (or if no session can be
    /// made) the refusal goes out without TLS, which the client reports as a TLS error.
    fn refuse(&mut self, k: usize, tls: Option<Arc<rustls::ServerConfig>>, websocket: bool) {
        if let Some(cfg) = tls {
            let Some(session) = (self.refusing.len() < MAX_REFUSING)
                .then(|| Tls::server(cfg).ok())
                .flatten()
            else {
                return;
            };
            if let Some(c) = self.conns.get_mut(k) {
                c.tls = true;
                self.tls.insert(k, Box::new(session));
                self.refusing.insert(k);
            }
        }
        if websocket {
            // A browser reads HTTP here: the refusal goes out as a 503, not a bare ERROR.
            self.ws.insert(k, Ws::refused());
        }
    }

    /// Puts a socket in the slab, registered once for both readiness kinds (no reregister
    /// syscalls later). `dialing` names the portal of an outbound connect still in progress.
    fn add_conn(
        &mut self,
        mut stream: mio::net::TcpStream,
        dialing: Option<&str>,
    ) -> Option<usize> {
        let entry = self.conns.vacant_entry();
        let k = entry.key();
        if let Err(e) = self.poll.registry().register(
            &mut stream,
            Token(k),
            Interest::READABLE | Interest::WRITABLE,
        ) {
            warn!("register connection: {e}");
            return None;
        }
        let mut conn = Conn::new(stream);
        conn.connecting = dialing.map(Into::into);
        entry.insert(conn);
        Some(k)
    }

    /// Gives connection `k` its TLS session and tells the core it is secure.
    fn start_tls(&mut self, k: usize, tls: io::Result<Tls>) {
        let Some(c) = self.conns.get_mut(k) else {
            return;
        };
        match tls {
            Ok(tls) => {
                c.tls = true;
                self.tls.insert(k, Box::new(tls));
                self.world.set_secure(ConnId::from_index(k), None);
            }
            Err(e) => {
                warn!("conn {k}: cannot start TLS: {e}");
                self.world
                    .close_conn(ConnId::from_index(k), "TLS unavailable", &mut self.out);
            }
        }
    }

    fn on_writable(&mut self, k: usize, now: Clock) {
        let Some(c) = self.conns.get_mut(k) else {
            return;
        };
        if c.connecting.is_some() {
            self.finish_connect(k, now);
            return;
        }
        c.writable = true;
        // A TLS session may hold records of its own (handshake, close_notify).
        if (!c.sendq.is_empty() || c.tls) && !c.in_dirty {
            c.in_dirty = true;
            self.dirty.push(k);
        }
    }

    /// Reads until WouldBlock or the budget; a closing connection's input is discarded.
    ///
    /// With `drain` false a short read ends the loop: the socket was empty a moment ago and
    /// any byte arriving later raises a new edge (Linux epoll), so the extra read that would
    /// only return EAGAIN is saved (a third of the read syscalls under load). An event that
    /// also reports EOF or an error drains, so the EOF is not missed.
    fn read(&mut self, k: usize, now: Clock, drain: bool) {
        let mut total = 0;
        loop {
            let Some(c) = self.conns.get_mut(k) else {
                return;
            };
            if c.state == State::Dead {
                return;
            }
            if c.tls {
                self.read_tls(k, now);
                return;
            }
            match c.stream.read(&mut self.scratch) {
                Ok(0) => {
                    self.lost(k, "Connection closed", now);
                    return;
                }
                Ok(n) => {
                    total += n;
                    if c.is_open() {
                        let data = std::mem::take(&mut self.scratch);
                        self.process(k, &data[..n], now);
                        self.scratch = data;
                    }
                    if total >= READ_BUDGET {
                        self.pending_read.push(k);
                        return;
                    }
                    if !drain && n < self.scratch.len() {
                        return;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    self.lost(k, &format!("Read error: {e}"), now);
                    return;
                }
            }
        }
    }

    /// [`Server::read`] for a TLS connection: encrypted bytes until WouldBlock or the
    /// budget, each batch's plaintext through [`Server::process`].
    fn read_tls(&mut self, k: usize, now: Clock) {
        let mut total = 0;
        loop {
            let (Some(c), Some(tls)) = (self.conns.get_mut(k), self.tls.get_mut(&k)) else {
                return;
            };
            if c.state == State::Dead {
                return;
            }
            let got = match tls.read_socket(&mut c.stream) {
                Ok(got) => got,
                Err(e) => {
                    // The alert tells the peer why; then the connection is gone.
                    let _ = tls.push(&mut c.stream);
                    if let Some(d) = self.dialer.dials.iter().find(|d| d.conn == Some(k)) {
                        warn!("portal {}: link refused: {e}", d.name);
                    }
                    self.lost(k, &format!("Read error: {e}"), now);
                    return;
                }
            };
            if let Some(fp) = tls.take_handshake_done() {
                self.world.set_secure(ConnId::from_index(k), fp);
                // Lines queued during the handshake may go now.
                c.writable = true;
            }
            if tls.wants_write() || !c.sendq.is_empty() {
                mark_dirty(c, &mut self.dirty, ConnId::from_index(k));
            }
            if !self.read_plaintext(k, now) {
                self.lost(k, "Connection closed", now);
                return;
            }
            match got {
                Got::Eof => {
                    self.lost(k, "Connection closed", now);
                    return;
                }
                Got::Empty => return,
                Got::Bytes(n) => total += n,
            }
            if total >= READ_BUDGET {
                self.pending_read.push(k);
                return;
            }
        }
    }

    /// Hands the decrypted input of `k` to the core; false once the peer said close_notify.
    fn read_plaintext(&mut self, k: usize, now: Clock) -> bool {
        loop {
            let Some(tls) = self.tls.get_mut(&k) else {
                return true;
            };
            match tls.read_plain(&mut self.scratch) {
                None => return false,
                Some(0) => return true,
                Some(n) => {
                    let data = std::mem::take(&mut self.scratch);
                    self.process(k, &data[..n], now);
                    self.scratch = data;
                }
            }
        }
    }

    /// Input from `k`'s transport: through its WebSocket session if it has one, then framed
    /// into lines for the core.
    fn process(&mut self, k: usize, data: &[u8], now: Clock) {
        let Some(c) = self.conns.get_mut(k) else {
            return;
        };
        if !c.is_open() {
            return;
        }
        self.traffic.bytes_in += data.len() as u64;
        if !data.is_empty() && !self.ws.is_empty() && self.ws.contains_key(&k) {
            self.process_ws(k, data, now);
        } else {
            self.frame_lines(k, data, now);
        }
    }

    /// Frames `data` (after any held input) and runs each line through the core, stopping
    /// while the client is over its flood budget.
    fn frame_lines(&mut self, k: usize, data: &[u8], now: Clock) {
        let Some(c) = self.conns.get_mut(k).filter(|c| c.is_open()) else {
            return;
        };
        let (world, out) = (&mut self.world, &mut self.out);
        let paused = c.framer.feed(data, |input| {
            if world.local(ConnId::from_index(k)).is_none() {
                return Flow::Pause;
            }
            if !world.ready(ConnId::from_index(k), now) {
                return Flow::Pause;
            }
            match input {
                Input::Line(line) => world.on_line(ConnId::from_index(k), line, now, out),
                Input::TooLong => world.on_too_long(ConnId::from_index(k), now, out),
            }
            Flow::Continue
        });
        let still_open = world.local(ConnId::from_index(k)).is_some();
        if paused && still_open && !c.in_throttled {
            c.in_throttled = true;
            self.throttled.push(k);
        }
        if still_open && c.framer.pending() > RECVQ_LIMIT {
            self.world
                .close_conn(ConnId::from_index(k), "Excess Flood", &mut self.out);
        }
        self.apply(now);
        if self.conns.get(k).is_some_and(|c| c.in_dirty) && self.answers.last() != Some(&k) {
            self.answers.push(k);
        }
    }

    /// [`Server::process`] for a WebSocket connection: the messages in `data` become lines
    /// for the framer; control frames (and the HTTP answers) go straight to the send queue.
    fn process_ws(&mut self, k: usize, data: &[u8], now: Clock) {
        let (Some(c), Some(ws)) = (self.conns.get_mut(k), self.ws.get_mut(&k)) else {
            return;
        };
        let mut lines = Vec::new();
        let fed = ws.feed(data, &mut lines);
        if let Some(bytes) = ws.take_out() {
            c.sendq.push(bytes.into());
            mark_dirty(c, &mut self.dirty, ConnId::from_index(k));
        }
        if !lines.is_empty() {
            self.frame_lines(k, &lines, now);
        }
        if let Fed::End(reason) = fed {
            self.world
                .close_conn(ConnId::from_index(k), reason, &mut self.out);
            self.apply(now);
        }
    }

    /// Moves the core's outbox into send queues; closes whoever goes over its limit.
    fn apply(&mut self, now: Clock) {
        // Password checks go to the worker; one it cannot take fails now.
        for req in std::mem::take(&mut self.out.checks) {
            if let Some((ticket, verdict)) = self.checker.submit(req) {
                self.world.on_checked(ticket, verdict, now, &mut self.out);
            }
        }
        // No connection's limit is below this one: the clients' limit, or a portal's that is
        // set lower. Past it the connection's own limit is looked up.
        let floor = self
            .world
            .config
            .portal
            .iter()
            .map(|p| p.sendq_bytes)
            .fold(self.world.config.limits.sendq_bytes, usize::min);
        self.traffic.lines_out += self.out.sends.len() as u64;
        for (id, line) in self.out.sends.drain(..) {
            let Some(c) = self.conns.get_mut(id.index()) else {
                continue;
            };
            // A WebSocket connection's line goes out as one frame.
            let Some(line) = wire(&mut self.ws, id.index(), line, false) else {
                continue;
            };
            match c.queue(line, floor, || self.world.sendq_limit(id)) {
                Queued::Yes => mark_dirty(c, &mut self.dirty, id),
                // Each connection is here once: `queue` reports an overflow only on the
                // way in. It is cut in `cut_overflowed`, a bounded number per turn.
                Queued::Overflowed => self.cuts.push_back(id.index()),
                Queued::Dropped => {}
            }
        }
        for (id, line) in self.out.closes.drain(..) {
            let Some(c) = closable_conn(&mut self.conns, id) else {
                continue;
            };
            // An overflowed connection's backlog goes now: only its ERROR is left to send.
            if c.state == State::Overflowed {
                c.sendq.discard_unsent();
            }
            if let Some(line) = wire(&mut self.ws, id.index(), line, true) {
                c.sendq.push(line);
            }
            c.state = State::Closing {
                deadline_ms: now.mono_ms + LINGER_MS,
                shut: false,
            };
            self.closing.push(id.index());
            mark_dirty(c, &mut self.dirty, id);
        }
        if let Some(stop) = self.out.stop.take() {
            self.restarting = stop == Stop::Restart;
            match stop {
                Stop::Die => info!("DIE from an operator: shutting down"),
                Stop::Restart => info!("RESTART from an operator: shutting down to start again"),
            }
            self.begin_shutdown();
        }
        if let Some(by) = self.out.rehash.take() {
            self.rehash(Some(by));
            // The answer (and any SQUIT the new file causes) goes out now.
            self.apply(now);
        }
        for name in std::mem::take(&mut self.out.linked) {
            self.dialer.linked(&name);
        }
        // A paged reply ended: input held behind it is read now, not on the next retry.
        for id in std::mem::take(&mut self.out.resume) {
            if self.conns.get(id.index()).is_some_and(|c| c.in_throttled) {
                self.process(id.index(), &[], now);
            }
        }
    }

    /// Cuts up to `CUTS_PER_TURN` connections that went over their send queue limit: one
    /// log line, the QUIT to their channels, and their ERROR (`apply` drops the backlog).
    fn cut_overflowed(&mut self, now: Clock) {
        if self.cuts.is_empty() {
            return;
        }
        let n = self.cuts.len().min(CUTS_PER_TURN);
        for k in self.cuts.drain(..n).collect::<Vec<_>>() {
            if self
                .conns
                .get(k)
                .is_some_and(|c| c.state == State::Overflowed)
            {
                warn!("conn {k}: SendQ exceeded");
                self.world
                    .close_conn(ConnId::from_index(k), "SendQ exceeded", &mut self.out);
            }
        }
        self.apply(now);
    }

    /// Writes up to `FLUSHES_PER_TURN` connections: half the share goes to those left over
    /// from earlier turns (oldest first, so none waits for ever), then those with output
    /// new this turn (a PONG, a reply, a line to a member who had nothing queued), then
    /// more left-overs if there is room. A crowd's backlog thus never stands between a
    /// client and its answer for more than a turn.
    fn flush_dirty(&mut self, now: Clock) {
        let mut still = Vec::new();
        // Answers first. They are bounded by the connections read this turn (at most one
        // poll's events), and each is also listed in `dirty` or `carried`. One written out
        // keeps its mark, so that entry finds it empty (no write) and its next line does
        // not list it twice. One whose write budget ran out stays unmarked: that entry is
        // skipped this turn (one budget per turn), and `still` lists it again.
        let answers = std::mem::take(&mut self.answers);
        for &k in &answers {
            let spent = still.len();
            self.flush_conn(k, now, &mut still);
            if still.len() == spent {
                if let Some(c) = self.conns.get_mut(k) {
                    c.in_dirty = true;
                }
            }
        }
        self.answers = answers;
        self.answers.clear();
        let (mut old, mut fresh) = (
            std::mem::take(&mut self.carried),
            std::mem::take(&mut self.dirty),
        );
        let mut room = FLUSHES_PER_TURN;
        let mut old_rest = old.split_off(old.len().min(room / 2));
        room -= old.len();
        let fresh_rest = fresh.split_off(fresh.len().min(room));
        room -= fresh.len();
        let old_tail = old_rest.split_off(old_rest.len().min(room));
        // Not reached this turn: they stay marked dirty and go first next turn.
        let mut later = old_tail;
        later.extend(fresh_rest);
        for k in old.into_iter().chain(fresh).chain(old_rest) {
            self.flush_conn(k, now, &mut still);
        }
        // Marked only now, so a second entry for one of them this turn was skipped.
        for &k in &still {
            if let Some(c) = self.conns.get_mut(k) {
                c.in_dirty = true;
            }
        }
        // `lost` fans out a QUIT or a netsplit and marks those connections dirty: they are
        // in `self.dirty` now. Replacing it would leave them flagged but never flushed.
        // A connection whose write budget ran out waits behind the ones not reached.
        later.append(&mut still);
        self.carried = later;
    }

    /// Takes `k`'s entry and writes what it has queued, up to its write budget (then it
    /// goes on `still`, to be marked again by the caller); returns the bytes written.
    ///
    /// An unmarked entry is skipped: a connection is marked from its listing until its
    /// entry is taken, so that is a second entry (taken already this turn) or the stale
    /// key of a connection reaped since. Duplicates thus never outlive a turn.
    fn flush_conn(&mut self, k: usize, now: Clock, still: &mut Vec<usize>) -> usize {
        let Some(c) = self.conns.get_mut(k).filter(|c| c.in_dirty) else {
            return 0;
        };
        c.in_dirty = false;
        if c.state == State::Dead || !c.writable {
            return 0;
        }
        let queued = c.sendq.len();
        let flushed = match self.tls.get_mut(&k).filter(|_| c.tls) {
            Some(tls) => tls.flush(&mut c.sendq, &mut c.stream),
            None => c.sendq.flush(&mut c.stream),
        };
        let written = queued - c.sendq.len();
        self.traffic.bytes_out += written as u64;
        match flushed {
            Ok(Flushed::Empty) => {}
            Ok(Flushed::Blocked) => c.writable = false,
            Ok(Flushed::Budget) => still.push(k),
            Err(e) => self.lost(k, &format!("Write error: {e}"), now),
        }
        written
    }

    /// The peer is gone (EOF or an error): the core fans out the QUIT now; the slab entry
    /// goes at the end of the turn so no stale event can reach a reused key.
    fn lost(&mut self, k: usize, reason: &str, now: Clock) {
        let Some(c) = self.conns.get_mut(k) else {
            return;
        };
        let was_open = c.is_open();
        c.state = State::Dead;
        self.closing.push(k);
        if was_open {
            debug!("conn {k}: {reason}");
            self.world
                .on_close(ConnId::from_index(k), reason, now, &mut self.out);
            self.apply(now);
        }
    }

    /// Whether `k`'s TLS session still holds records for the socket.
    fn tls_pending(&self, k: usize) -> bool {
        self.tls.get(&k).is_some_and(|t| t.wants_write())
    }

    /// Finishes closing connections: write-shutdown once flushed, drop on EOF or deadline.
    fn reap(&mut self, now: Clock) {
        let mut keep = Vec::new();
        for k in std::mem::take(&mut self.closing) {
            let Some(c) = self.conns.get_mut(k) else {
                continue;
            };
            match c.state {
                State::Dead => {
                    self.dialer.ended(k, now.mono_ms);
                    self.tls.remove(&k);
                    self.refusing.remove(&k);
                    self.ws.remove(&k);
                    let mut c = self.conns.remove(k);
                    let _ = self.poll.registry().deregister(&mut c.stream);
                    self.world.on_close(
                        ConnId::from_index(k),
                        "Connection closed",
                        now,
                        &mut self.out,
                    );
                }
                State::Closing { deadline_ms, shut } => {
                    if now.mono_ms >= deadline_ms {
                        c.state = State::Dead;
                        keep.push(k);
                    } else if !shut && c.sendq.is_empty() && !self.tls_pending(k) {
                        let c = &mut self.conns[k];
                        if let Some(tls) = self.tls.get_mut(&k) {
                            tls.close(&mut c.stream);
                        }
                        let _ = c.stream.shutdown(std::net::Shutdown::Write);
                        c.state = State::Closing {
                            deadline_ms,
                            shut: true,
                        };
                        keep.push(k);
                    } else {
                        keep.push(k);
                    }
                }
                State::Open | State::Overflowed => {}
            }
        }
        self.closing = keep;
        self.apply(now);
    }
}

impl Server {
    /// Dials every portal that should be up and is not.
    fn dial_due(&mut self, now: Clock) {
        // Backoffs were reset as links came up (`Outbox::linked`), not here: a link that
        // lives less than a tick would not be seen.
        self.dialer.sync(&self.world.config);
        let world = &self.world;
        let due = self.dialer.due(
            now.mono_ms,
            |n| world.portal_busy(n),
            |k| world.link_settled(ConnId::from_index(k)),
        );
        if let Some(name) = due {
            self.dial(&name);
        }
    }

    /// Starts a non-blocking connect to a portal; the WRITABLE edge finishes it.
    fn dial(&mut self, name: &str) {
        let Some(portal) = self.world.config.portal.iter().find(|p| p.name == name) else {
            return;
        };
        let Some(addr) = portal.address else {
            return;
        };
        if portal.tls && portal.client_tls.is_none() {
            // Never in the clear what is configured for TLS (settings are built by load).
            warn!("portal {name}: tls = true but no TLS settings were loaded; not dialing");
            return;
        }
        if self.world.portal_busy(name) {
            return;
        }
        let stream = match mio::net::TcpStream::connect(addr) {
            Ok(s) => s,
            Err(e) => {
                warn!("portal {name}: cannot dial {addr}: {e}");
                return;
            }
        };
        let Some(k) = self.add_conn(stream, Some(name)) else {
            return;
        };
        self.dialer.sync(&self.world.config);
        self.dialer.dialing(name, k);
        info!("portal {name}: dialing {addr}");
    }

    /// The connect finished, one way or the other (mio's connect recipe: take_error, then
    /// peer_addr tells whether it is really connected).
    fn finish_connect(&mut self, k: usize, now: Clock) {
        let Some(c) = self.conns.get_mut(k) else {
            return;
        };
        let name = c.connecting.clone().unwrap_or_default();
        let result = match c.stream.take_error() {
            Ok(Some(e)) | Err(e) => Err(e),
            Ok(None) => c.stream.peer_addr(),
        };
        match result {
            Ok(peer) => {
                c.connecting = None;
                c.writable = true;
                let _ = c.stream.set_nodelay(true);
                info!("portal {name}: connected to {peer}");
                let tls = self.world.config.portal.iter().find(|p| *p.name == *name);
                if let Some(cfg) = tls.and_then(|p| p.client_tls.clone()) {
                    self.start_tls(k, Tls::client(cfg, &name));
                }
                if !self
                    .world
                    .on_dial(ConnId::from_index(k), &name, peer.ip(), now, &mut self.out)
                {
                    self.lost(k, "portal removed", now);
                }
                self.apply(now);
            }
            Err(e) if e.kind() == io::ErrorKind::NotConnected => {}
            Err(e) => {
                warn!("portal {name}: connect failed: {e}");
                c.connecting = None;
                self.lost(k, "connect failed", now);
            }
        }
    }
}

/// The connection a closing line from the core is for: open, or overflowed and waiting for
/// it; one already closing (or gone) has had its last line.
fn closable_conn(conns: &mut Slab<Conn>, id: ConnId) -> Option<&mut Conn> {
    conns
        .get_mut(id.index())
        .filter(|c| matches!(c.state, State::Open | State::Overflowed))
}

/// `line` as it goes on connection `k`'s wire: as it is, or as a WebSocket frame (`last`:
/// followed by the close frame); `None` when nothing may go. The table is looked at only
/// while it has sessions, so a server without WebSocket clients pays nothing per line.
fn wire(ws: &mut HashMap<usize, Ws>, k: usize, line: Rc<[u8]>, last: bool) -> Option<Rc<[u8]>> {
    if ws.is_empty() {
        return Some(line);
    }
    match ws.get_mut(&k) {
        None => Some(line),
        Some(w) if last => w.finish(&line).map(Into::into),
        Some(w) => w.frame(&line).map(Into::into),
    }
}

/// Puts a connection on the list flushed before the next poll, once.
fn mark_dirty(c: &mut Conn, dirty: &mut Vec<usize>, id: ConnId) {
    if !c.in_dirty {
        c.in_dirty = true;
        dirty.push(id.index());
    }
}
