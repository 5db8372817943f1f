//! Bringing a fixed population of clients up: connect with at most
//! `--connect-batch` handshakes in flight, retry refused/failed attempts with
//! exponential backoff, optionally OPER + user mode for privileged clients,
//! then JOIN one channel and wait for 366.

use std::collections::VecDeque;

use crate::engine::{CloseReason, Engine, Msg};

/// Attempts per client before it counts as failed.
const MAX_ATTEMPTS: u8 = 5;
/// First retry delay; doubles per attempt.
const RETRY_BASE_NS: u64 = 100_000_000;
/// A client must be up (registered and joined) this long after connecting.
const HANDSHAKE_TIMEOUT_NS: u64 = 30_000_000_000;
/// How often the timeout scan runs.
const SCAN_EVERY_NS: u64 = 250_000_000;

pub const NO_TOK: usize = usize::MAX;
pub const NO_CHAN: u32 = u32::MAX;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Phase {
    Waiting,
    Handshake,
    Sync,
    Joining,
    Up,
    Failed,
    Dropped,
}

pub struct Member {
    pub tok: usize,
    pub phase: Phase,
    attempts: u8,
    retry_at: u64,
    started: u64,
    pub chan: u32,
    pub privileged: bool,
}

#[derive(Default)]
pub struct FleetCounters {
    pub refused: u64,
    pub io_error: u64,
    pub eof: u64,
    pub timeout: u64,
    pub nick_rejected: u64,
    pub rejected: u64,
    pub connect_error: u64,
    pub retries: u64,
    pub oper_ok: u64,
    pub oper_failed: u64,
    /// What the server said when it closed clients during setup: the first few distinct
    /// ERROR texts, each with how often (a per-IP limit, a ban, a full server…).
    pub server_errors: Vec<(String, u64)>,
}

/// Distinct server ERROR texts kept; more would only repeat the pattern.
const MAX_SERVER_ERRORS: usize = 4;

impl FleetCounters {
    fn note_server_error(&mut self, text: &[u8]) {
        let text = String::from_utf8_lossy(text);
        let room = self.server_errors.len() < MAX_SERVER_ERRORS;
        match self.server_errors.iter_mut().find(|(t, _)| *t == text) {
            Some((_, n)) => *n += 1,
            None if room => self.server_errors.push((text.into_owned(), 1)),
            None => {}
        }
    }

    /// `"<text>" ×N; …`, or empty.
    pub fn server_errors_text(&self) -> String {
        self.server_errors
            .iter()
            .map(|(t, n)| format!("ERROR {t:?} x{n}"))
            .collect::<Vec<_>>()
            .join("; ")
    }
}

pub struct Fleet {
    pub m: Vec<Member>,
    queue: VecDeque<u32>,
    retry: Vec<u32>,
    in_handshake: usize,
    batch: usize,
    /// `#<nick prefix>`: channel `i` is `#<nick prefix><i>`.
    chan_prefix: Vec<u8>,
    oper: Option<String>,
    umode: Option<String>,
    pub up: usize,
    pub failed: usize,
    pub dropped: usize,
    pub registered: usize,
    pub first_connect_at: Option<u64>,
    pub last_ready_at: u64,
    pub done_at: Option<u64>,
    next_scan: u64,
    pub c: FleetCounters,
}

impl Fleet {
    /// `chans[i]` is the channel client `i` joins (or `NO_CHAN`),
    /// `privileged[i]` whether it sends OPER/MODE first.
    pub fn new(
        nick_prefix: &str,
        chans: Vec<u32>,
        privileged: Vec<bool>,
        batch: usize,
        oper: Option<(String, String)>,
        umode: Option<String>,
    ) -> Fleet {
        let m: Vec<Member> = chans
            .into_iter()
            .zip(privileged)
            .map(|(chan, privileged)| Member {
                tok: NO_TOK,
                phase: Phase::Waiting,
                attempts: 0,
                retry_at: 0,
                started: 0,
                chan,
                privileged,
            })
            .collect();
        let queue = (0..m.len() as u32).collect();
        Fleet {
            m,
            queue,
            retry: Vec::new(),
            in_handshake: 0,
            batch: batch.max(1),
            chan_prefix: format!("#{nick_prefix}").into_bytes(),
            oper: oper.map(|(n, p)| format!("OPER {n} {p}\r\n")),
            umode,
            up: 0,
            failed: 0,
            dropped: 0,
            registered: 0,
            first_connect_at: None,
            last_ready_at: 0,
            done_at: None,
            next_scan: 0,
            c: FleetCounters::default(),
        }
    }

    pub fn len(&self) -> usize {
        self.m.len()
    }

    /// All clients are up or have failed for good.
    pub fn settled(&self) -> bool {
        self.done_at.is_some()
    }

    /// Token of client `cid` when it is fully up.
    #[inline]
    pub fn up_tok(&self, cid: u32) -> Option<usize> {
        let m = &self.m[cid as usize];
        (m.phase == Phase::Up).then_some(m.tok)
    }

    /// Start connections, fire due retries, enforce handshake timeouts.
    pub fn pump(&mut self, eng: &mut Engine, now: u64) {
        if self.done_at.is_some() {
            return;
        }
        if !self.retry.is_empty() {
            let mut i = 0;
            while i < self.retry.len() {
                let cid = self.retry[i];
                if self.m[cid as usize].retry_at <= now {
                    self.retry.swap_remove(i);
                    self.queue.push_back(cid);
                } else {
                    i += 1;
                }
            }
        }
        while self.in_handshake < self.batch {
            let Some(cid) = self.queue.pop_front() else {
                break;
            };
            self.start(eng, cid, now);
        }
        if now >= self.next_scan {
            self.next_scan = now + SCAN_EVERY_NS;
            for m in &self.m {
                if matches!(m.phase, Phase::Handshake | Phase::Sync | Phase::Joining)
                    && now.saturating_sub(m.started) > HANDSHAKE_TIMEOUT_NS
                {
                    eng.close(m.tok, CloseReason::Timeout);
                }
            }
        }
    }

    fn start(&mut self, eng: &mut Engine, cid: u32, now: u64) {
        self.first_connect_at.get_or_insert(now);
        let m = &mut self.m[cid as usize];
        m.attempts += 1;
        match eng.connect(cid) {
            Ok(tok) => {
                m.tok = tok;
                m.phase = Phase::Handshake;
                m.started = now;
                self.in_handshake += 1;
            }
            Err(e) => {
                log::debug!("client {cid}: connect: {e}");
                self.c.connect_error += 1;
                self.retry_or_fail(cid, now);
            }
        }
    }

    fn retry_or_fail(&mut self, cid: u32, now: u64) {
        let m = &mut self.m[cid as usize];
        m.tok = NO_TOK;
        if m.attempts < MAX_ATTEMPTS {
            m.phase = Phase::Waiting;
            m.retry_at = now + (RETRY_BASE_NS << (m.attempts - 1));
            self.retry.push(cid);
            self.c.retries += 1;
        } else {
            m.phase = Phase::Failed;
            self.failed += 1;
            self.check_done(now);
        }
    }

    fn check_done(&mut self, now: u64) {
        if self.done_at.is_none() && self.up + self.failed == self.m.len() {
            self.done_at = Some(now);
        }
    }

    fn join_or_up(&mut self, eng: &mut Engine, cid: u32, now: u64) {
        let m = &mut self.m[cid as usize];
        if m.chan != NO_CHAN {
            if let Some(out) = eng.out(m.tok) {
                out.extend_from_slice(b"JOIN ");
                out.extend_from_slice(&self.chan_prefix);
                crate::engine::push_u64(out, u64::from(m.chan));
                out.extend_from_slice(b"\r\n");
            }
            m.phase = Phase::Joining;
        } else {
            m.phase = Phase::Up;
            self.up += 1;
            self.check_done(now);
        }
    }

    pub fn on_ready(&mut self, eng: &mut Engine, tok: usize, cid: u32, now: u64) {
        let m = &mut self.m[cid as usize];
        if m.phase != Phase::Handshake {
            return;
        }
        self.in_handshake -= 1;
        self.registered += 1;
        self.last_ready_at = now;
        if m.privileged && (self.oper.is_some() || self.umode.is_some()) {
            m.phase = Phase::Sync;
            if let Some(oper) = &self.oper {
                eng.send(tok, oper.as_bytes());
            }
            if let Some(modes) = &self.umode {
                let prefix = eng.nick_prefix().to_vec();
                if let Some(out) = eng.out(tok) {
                    out.extend_from_slice(b"MODE ");
                    out.extend_from_slice(&prefix);
                    crate::engine::push_u64(out, u64::from(cid));
                    out.extend_from_slice(b" ");
                    out.extend_from_slice(modes.as_bytes());
                    out.extend_from_slice(b"\r\n");
                }
            }
            // The PONG comes back after the server has handled OPER/MODE.
            eng.send(tok, b"PING :sync\r\n");
        } else {
            self.join_or_up(eng, cid, now);
        }
    }

    /// Handles setup traffic; returns true when the line was consumed.
    pub fn on_msg(
        &mut self,
        eng: &mut Engine,
        tok: usize,
        cid: u32,
        msg: &Msg<'_>,
        now: u64,
    ) -> bool {
        let phase = self.m[cid as usize].phase;
        match (phase, msg.cmd) {
            (Phase::Up, _) => false,
            // Said before the server closes a client it refuses: why, in its words.
            (_, b"ERROR") => {
                self.c
                    .note_server_error(msg.last_param().unwrap_or_default());
                true
            }
            (Phase::Joining, b"366") => {
                self.m[cid as usize].phase = Phase::Up;
                self.up += 1;
                self.check_done(now);
                true
            }
            (
                Phase::Joining,
                b"403" | b"405" | b"471" | b"473" | b"474" | b"475" | b"476" | b"477",
            ) => {
                log::warn!(
                    "client {cid}: JOIN refused: {}",
                    String::from_utf8_lossy(msg.params)
                );
                eng.close(tok, CloseReason::Rejected);
                true
            }
            (Phase::Sync, b"381") => {
                self.c.oper_ok += 1;
                true
            }
            (Phase::Sync, b"464" | b"491") => {
                if self.c.oper_failed == 0 {
                    log::warn!("OPER failed: {}", String::from_utf8_lossy(msg.params));
                }
                self.c.oper_failed += 1;
                true
            }
            (Phase::Sync, b"PONG") if msg.last_param() == Some(b"sync") => {
                self.join_or_up(eng, cid, now);
                true
            }
            _ => true,
        }
    }

    pub fn on_closed(&mut self, cid: u32, reason: CloseReason, now: u64) {
        let phase = self.m[cid as usize].phase;
        match phase {
            Phase::Up => {
                self.m[cid as usize].phase = Phase::Dropped;
                self.m[cid as usize].tok = NO_TOK;
                self.up -= 1;
                self.dropped += 1;
                log::debug!("client {cid}: dropped ({})", reason.name());
            }
            Phase::Handshake | Phase::Sync | Phase::Joining => {
                if phase == Phase::Handshake {
                    self.in_handshake -= 1;
                } else {
                    self.registered -= 1;
                }
                match reason {
                    CloseReason::Refused => self.c.refused += 1,
                    CloseReason::Eof => self.c.eof += 1,
                    CloseReason::Timeout => self.c.timeout += 1,
                    CloseReason::NickRejected => self.c.nick_rejected += 1,
                    CloseReason::Rejected => self.c.rejected += 1,
                    CloseReason::IoError | CloseReason::Protocol => self.c.io_error += 1,
                }
                log::debug!("client {cid}: setup failed ({})", reason.name());
                self.retry_or_fail(cid, now);
            }
            Phase::Waiting | Phase::Failed | Phase::Dropped => {}
        }
    }

    /// Registrations per second over the registering phase.
    pub fn reg_rate(&self) -> f64 {
        match self.first_connect_at {
            Some(t0) if self.last_ready_at > t0 => {
                self.registered as f64 / ((self.last_ready_at - t0) as f64 / 1e9)
            }
            _ => 0.0,
        }
    }

    /// Failure counters as report fields.
    pub fn report(&self, r: &mut crate::stats::Report) {
        r.int("clients", self.m.len());
        r.int("clients_up", self.up);
        r.int("clients_failed", self.failed);
        r.int("clients_dropped", self.dropped);
        r.int("setup_retries", self.c.retries);
        r.int("fail_refused", self.c.refused);
        r.int("fail_eof", self.c.eof);
        r.int("fail_io", self.c.io_error);
        r.int("fail_timeout", self.c.timeout);
        r.int("fail_nick", self.c.nick_rejected);
        r.int("fail_rejected", self.c.rejected);
        r.int("fail_connect_call", self.c.connect_error);
        if !self.c.server_errors.is_empty() {
            r.str("server_errors", self.c.server_errors_text());
        }
        if self.oper.is_some() {
            r.int("oper_ok", self.c.oper_ok);
            r.int("oper_failed", self.c.oper_failed);
        }
    }
}
