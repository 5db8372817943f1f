//! The four scenarios.  Each is a [`Handler`] (fed by the engine) plus a
//! `tick` that advances its phases; the driver in `main.rs` calls `tick`
//! once per event-loop iteration.

use std::time::Duration;

use crate::engine::{push_u64, CloseReason, Engine, Handler, Msg};
use crate::fleet::{Fleet, Phase, NO_CHAN, NO_TOK};
use crate::stats::{rss_bytes, CpuMark, Hist, Report};
use crate::Config;
use portico::proto::framer::find_byte;

/// What the driver should do next.
pub enum Step {
    /// Keep going; poll for at most this long.
    Continue(Duration),
    Done,
}

pub trait Scenario: Handler {
    fn tick(&mut self, eng: &mut Engine, now: u64) -> Step;
    fn report(&self, eng: &Engine, r: &mut Report);
    /// A fatal setup error (reported and exit code 1).
    fn fatal(&self) -> Option<&str>;
    /// Failed operations the scenario counted (its report's `errors`), if it counts any.
    fn errors(&self) -> u64 {
        0
    }
}

const MS: u64 = 1_000_000;
const SEC: u64 = 1_000_000_000;
/// Fraction of clients that must come up for a scenario to run.
const MIN_UP: f64 = 0.95;

fn secs(ns: u64) -> f64 {
    ns as f64 / 1e9
}

pub fn setup_fatal(fleet: &Fleet) -> Option<String> {
    let need = (fleet.len() as f64 * MIN_UP).ceil() as usize;
    (fleet.up < need).then(|| {
        format!(
            "only {} of {} clients came up (need {need}); failures: refused={} eof={} io={} timeout={} nick={} rejected={} connect_call={}",
            fleet.up,
            fleet.len(),
            fleet.c.refused,
            fleet.c.eof,
            fleet.c.io_error,
            fleet.c.timeout,
            fleet.c.nick_rejected,
            fleet.c.rejected,
            fleet.c.connect_error
        ) + &match fleet.c.server_errors_text() {
            t if t.is_empty() => String::new(),
            t => format!("; the server said: {t}"),
        } + if fleet.c.eof as usize > fleet.len() / 10 {
            "; many connections were closed before registering, which is what a server's \
             per-IP connection limit does: spread the clients over more loopback addresses \
             with --source-ips N, or raise the server's limit (Portico: [limits] \
             max_clients_per_ip)"
        } else {
            ""
        }
    })
}

// ---------------------------------------------------------------- connect

#[derive(PartialEq, Eq)]
enum CPhase {
    Setup,
    Idle,
    Check,
    Done,
}

/// N clients register and idle; a final PING round counts survivors.
pub struct Connect {
    fleet: Fleet,
    pid: Option<String>,
    idle_ns: u64,
    phase: CPhase,
    rss_before: Option<u64>,
    rss_after: Option<u64>,
    rss_end: Option<u64>,
    mark0: CpuMark,
    mark1: CpuMark,
    idle_end: u64,
    check_end: u64,
    check_sent: usize,
    ponged: Vec<bool>,
    pongs: usize,
    fatal: Option<String>,
}

impl Connect {
    pub fn new(cfg: &Config, now: u64) -> Connect {
        let n = cfg.clients.unwrap_or(1000);
        let fleet = Fleet::new(
            &cfg.nick_prefix,
            vec![NO_CHAN; n],
            vec![false; n],
            cfg.batch,
            None,
            None,
        );
        let pid = cfg.server_pid.clone();
        let rss_before = pid.as_deref().and_then(rss_bytes);
        Connect {
            fleet,
            mark0: CpuMark::take(now, pid.as_deref()),
            mark1: CpuMark::default(),
            pid,
            idle_ns: cfg.duration_ns,
            phase: CPhase::Setup,
            rss_before,
            rss_after: None,
            rss_end: None,
            idle_end: 0,
            check_end: 0,
            check_sent: 0,
            ponged: vec![false; n],
            pongs: 0,
            fatal: None,
        }
    }
}

impl Handler for Connect {
    fn on_ready(&mut self, eng: &mut Engine, tok: usize, cid: u32, now: u64) {
        self.fleet.on_ready(eng, tok, cid, now);
    }

    fn on_msg(&mut self, eng: &mut Engine, tok: usize, cid: u32, msg: &Msg<'_>, now: u64) {
        if self.fleet.on_msg(eng, tok, cid, msg, now) {
            return;
        }
        if msg.cmd == b"PONG" && msg.last_param() == Some(b"chk") && !self.ponged[cid as usize] {
            self.ponged[cid as usize] = true;
            self.pongs += 1;
        }
    }

    fn on_closed(&mut self, _eng: &mut Engine, cid: u32, reason: CloseReason, now: u64) {
        self.fleet.on_closed(cid, reason, now);
    }
}

impl Scenario for Connect {
    fn tick(&mut self, eng: &mut Engine, now: u64) -> Step {
        match self.phase {
            CPhase::Setup => {
                self.fleet.pump(eng, now);
                if !self.fleet.settled() {
                    return Step::Continue(Duration::from_millis(5));
                }
                self.mark1 = CpuMark::take(now, self.pid.as_deref());
                self.rss_after = self.pid.as_deref().and_then(rss_bytes);
                if let Some(f) = setup_fatal(&self.fleet) {
                    self.fatal = Some(f);
                    return Step::Done;
                }
                log::info!(
                    "{} clients up in {:.2}s; idling {:.1}s",
                    self.fleet.up,
                    secs(now - self.fleet.first_connect_at.unwrap_or(0)),
                    secs(self.idle_ns)
                );
                self.idle_end = now + self.idle_ns;
                self.phase = CPhase::Idle;
            }
            CPhase::Idle => {
                if now >= self.idle_end {
                    for cid in 0..self.fleet.len() as u32 {
                        if let Some(tok) = self.fleet.up_tok(cid) {
                            eng.send(tok, b"PING :chk\r\n");
                            self.check_sent += 1;
                        }
                    }
                    self.check_end = now + 15 * SEC;
                    self.phase = CPhase::Check;
                }
            }
            CPhase::Check => {
                if self.pongs >= self.check_sent || now >= self.check_end {
                    self.rss_end = self.pid.as_deref().and_then(rss_bytes);
                    self.phase = CPhase::Done;
                }
            }
            CPhase::Done => return Step::Done,
        }
        Step::Continue(Duration::from_millis(20))
    }

    fn report(&self, _eng: &Engine, r: &mut Report) {
        self.fleet.report(r);
        r.float("registrations_per_s", self.fleet.reg_rate(), 1);
        r.float("idle_s", secs(self.idle_ns), 1);
        r.int("connections_held", self.pongs);
        r.int("ping_check_sent", self.check_sent);
        r.opt_int("server_rss_before", self.rss_before);
        r.opt_int("server_rss_after", self.rss_after);
        r.opt_int("server_rss_end", self.rss_end);
        let per_client = match (self.rss_before, self.rss_after) {
            (Some(b), Some(a)) if self.fleet.registered > 0 => {
                Some((a as f64 - b as f64) / self.fleet.registered as f64)
            }
            _ => None,
        };
        r.opt_float("server_rss_per_client", per_client, 0);
        r.str("cpu_window", "registration");
        r.cpu(
            &self.mark0,
            &self.mark1,
            self.fleet.registered as u64,
            "server_cpu_per_reg_us",
        );
    }

    fn fatal(&self) -> Option<&str> {
        self.fatal.as_deref()
    }
}

// ---------------------------------------------------------------- traffic

/// One message source: a client sending to a channel or a nick.
struct Sender {
    cid: u32,
    /// The client whose receipt of a message opens the window again.
    ack_cid: u32,
    target: Vec<u8>,
    recipients: u64,
    next_seq: u64,
    acked: u64,
    last_progress: u64,
    active: bool,
}

#[derive(PartialEq, Eq, Clone, Copy)]
enum TPhase {
    Setup,
    Run,
    Drain,
    Done,
}

/// If a sender's window sees no ack for this long, its in-flight
/// messages are written off so the sender does not stall forever.
const STALL_NS: u64 = 2 * SEC;
/// Open-loop: skip a message when this much is already queued locally.
const BACKLOG_CAP: usize = 1 << 20;
/// After the window closes, wait at most this long for stragglers.
const DRAIN_NS: u64 = 5 * SEC;
/// ...and at least this long once every sender is fully acknowledged.
const DRAIN_MIN_NS: u64 = 300 * MS;

static PAD: [u8; 512] = [b'x'; 512];

/// Fanout (channels) and privmsg (pairs): closed-loop windows or an
/// open-loop rate, latency from the timestamp carried in every message.
pub struct Traffic {
    name: &'static str,
    /// Shape parameters for the report (channels/members/... or pairs).
    shape: Vec<(&'static str, usize)>,
    fleet: Fleet,
    senders: Vec<Sender>,
    /// cid -> sender index (u32::MAX if the client does not send).
    sender_of: Vec<u32>,
    window: u64,
    rate: Option<f64>,
    msg_size: usize,
    warmup_ns: u64,
    dur_ns: u64,
    pid: Option<String>,
    phase: TPhase,
    send_start: u64,
    t0: u64,
    t1: u64,
    drain_end: u64,
    next_scan: u64,
    rr: usize,
    mark0: Option<CpuMark>,
    mark1: Option<CpuMark>,
    sent_total: u64,
    sent_win: u64,
    expected_win: u64,
    delivered_win: u64,
    lines_total: u64,
    bad_lines: u64,
    /// PRIVMSGs from nicknames that are not this run's clients.
    foreign_lines: u64,
    stalls: u64,
    written_off: u64,
    skipped_backlog: u64,
    hist: Hist,
    /// Open loop: how late messages left compared to their schedule.
    lag: Hist,
    fatal: Option<String>,
}

impl Traffic {
    fn build(
        name: &'static str,
        cfg: &Config,
        chans: Vec<u32>,
        privileged: Vec<bool>,
        senders: Vec<Sender>,
    ) -> Traffic {
        let n = chans.len();
        let mut sender_of = vec![u32::MAX; n];
        for (i, s) in senders.iter().enumerate() {
            sender_of[s.cid as usize] = i as u32;
        }
        Traffic {
            name,
            shape: Vec::new(),
            fleet: Fleet::new(
                &cfg.nick_prefix,
                chans,
                privileged,
                cfg.batch,
                cfg.oper.clone(),
                cfg.umode.clone(),
            ),
            senders,
            sender_of,
            window: cfg.window.max(1),
            rate: cfg.rate,
            msg_size: cfg.msg_size,
            warmup_ns: cfg.warmup_ns,
            dur_ns: cfg.duration_ns,
            pid: cfg.server_pid.clone(),
            phase: TPhase::Setup,
            send_start: 0,
            t0: u64::MAX,
            t1: u64::MAX,
            drain_end: 0,
            next_scan: 0,
            rr: 0,
            mark0: None,
            mark1: None,
            sent_total: 0,
            sent_win: 0,
            expected_win: 0,
            delivered_win: 0,
            lines_total: 0,
            bad_lines: 0,
            foreign_lines: 0,
            stalls: 0,
            written_off: 0,
            skipped_backlog: 0,
            hist: Hist::new(),
            lag: Hist::new(),
            fatal: None,
        }
    }

    fn sender(cid: u32, ack_cid: u32, target: Vec<u8>) -> Sender {
        Sender {
            cid,
            ack_cid,
            target,
            recipients: 1,
            next_seq: 0,
            acked: 0,
            last_progress: 0,
            active: true,
        }
    }

    /// C channels x M members; the first S members of a channel send, the
    /// last member acknowledges.
    pub fn fanout(cfg: &Config) -> Result<Traffic, String> {
        let (c, m, s) = (cfg.channels, cfg.members, cfg.senders);
        if c == 0 || m < 2 || s == 0 || s >= m {
            return Err(
                "fanout needs --channels >= 1, --members >= 2 and 1 <= --senders < --members"
                    .into(),
            );
        }
        let n = c * m;
        let mut chans = Vec::with_capacity(n);
        let mut privileged = Vec::with_capacity(n);
        let mut senders = Vec::with_capacity(c * s);
        for ch in 0..c {
            for k in 0..m {
                chans.push(ch as u32);
                privileged.push(k < s);
                if k < s {
                    let target = format!("#{}{ch}", cfg.nick_prefix).into_bytes();
                    senders.push(Self::sender(
                        (ch * m + k) as u32,
                        (ch * m + m - 1) as u32,
                        target,
                    ));
                }
            }
        }
        let mut t = Self::build("fanout", cfg, chans, privileged, senders);
        t.shape = vec![("channels", c), ("members", m), ("senders_per_channel", s)];
        Ok(t)
    }

    /// P pairs; both clients of a pair send to each other.
    pub fn privmsg(cfg: &Config) -> Result<Traffic, String> {
        let p = cfg.pairs;
        if p == 0 {
            return Err("privmsg needs --pairs >= 1".into());
        }
        let n = 2 * p;
        let mut senders = Vec::with_capacity(n);
        for cid in 0..n as u32 {
            let partner = cid ^ 1;
            let target = format!("{}{partner}", cfg.nick_prefix).into_bytes();
            senders.push(Self::sender(cid, partner, target));
        }
        let mut t = Self::build("privmsg", cfg, vec![NO_CHAN; n], vec![true; n], senders);
        t.shape = vec![("pairs", p)];
        Ok(t)
    }

    fn start_run(&mut self, eng: &mut Engine, now: u64) {
        // Recipients per message: live channel members minus the sender.
        let mut per_chan: Vec<u64> = Vec::new();
        for m in &self.fleet.m {
            if m.chan != NO_CHAN && m.phase == Phase::Up {
                let c = m.chan as usize;
                if per_chan.len() <= c {
                    per_chan.resize(c + 1, 0);
                }
                per_chan[c] += 1;
            }
        }
        for s in &mut self.senders {
            let m = &self.fleet.m[s.cid as usize];
            s.active = m.phase == Phase::Up && self.fleet.m[s.ack_cid as usize].phase == Phase::Up;
            if m.chan != NO_CHAN {
                s.recipients = per_chan
                    .get(m.chan as usize)
                    .copied()
                    .unwrap_or(1)
                    .saturating_sub(1);
            }
            s.last_progress = now;
        }
        let active = self.senders.iter().filter(|s| s.active).count();
        log::info!(
            "{}: {} clients up, {} active senders; warm-up {:.1}s, measuring {:.1}s",
            self.name,
            self.fleet.up,
            active,
            secs(self.warmup_ns),
            secs(self.dur_ns)
        );
        self.phase = TPhase::Run;
        self.send_start = now;
        self.t0 = now + self.warmup_ns;
        self.t1 = self.t0 + self.dur_ns;
        if self.rate.is_none() {
            for i in 0..self.senders.len() {
                self.top_up(eng, i, now);
            }
        }
    }

    /// Closed loop: fill sender `i`'s window.
    fn top_up(&mut self, eng: &mut Engine, i: usize, now: u64) {
        let s = &mut self.senders[i];
        if !s.active || s.next_seq - s.acked >= self.window {
            return;
        }
        let Some(tok) = self.fleet.up_tok(s.cid) else {
            s.active = false;
            return;
        };
        let Some(out) = eng.out(tok) else {
            return;
        };
        if s.next_seq == s.acked {
            s.last_progress = now;
        }
        let in_win = now >= self.t0 && now < self.t1;
        while s.next_seq - s.acked < self.window {
            write_msg(out, &s.target, s.next_seq, now, self.msg_size);
            s.next_seq += 1;
            self.sent_total += 1;
            if in_win {
                self.sent_win += 1;
                self.expected_win += s.recipients;
            }
        }
    }

    /// Open loop: send what the schedule says is due by `now`.
    fn open_loop(&mut self, eng: &mut Engine, rate: f64, now: u64) {
        let n = self.senders.len();
        // Message i is scheduled at send_start + i / rate: i + 1 are due.
        let due = ((now - self.send_start) as f64 * rate / 1e9) as u64 + 1;
        let mut idle_rounds = 0;
        while self.sent_total < due {
            let sched = self.send_start + (self.sent_total as f64 * 1e9 / rate) as u64;
            if sched >= self.t1 {
                break;
            }
            let s = &mut self.senders[self.rr];
            self.rr = (self.rr + 1) % n;
            let tok = if s.active {
                self.fleet.up_tok(s.cid)
            } else {
                None
            };
            let Some(tok) = tok else {
                s.active = false;
                idle_rounds += 1;
                if idle_rounds > n {
                    break; // nobody left to send
                }
                continue;
            };
            idle_rounds = 0;
            self.sent_total += 1;
            if eng.backlog(tok) > BACKLOG_CAP {
                self.skipped_backlog += 1;
                continue;
            }
            let Some(out) = eng.out(tok) else {
                continue;
            };
            // Stamped with the real send time: the tool never waits for the
            // server (writes queue up locally), so server stalls still show
            // as latency; the tool's own lateness is reported as send_lag.
            write_msg(out, &s.target, s.next_seq, now, self.msg_size);
            self.lag.record(now - sched);
            if s.next_seq == s.acked {
                s.last_progress = now;
            }
            s.next_seq += 1;
            if now >= self.t0 && now < self.t1 {
                self.sent_win += 1;
                self.expected_win += s.recipients;
            }
        }
    }

    /// Write off in-flight messages of senders that saw no ack for a while.
    fn scan_stalls(&mut self, eng: &mut Engine, now: u64) {
        for i in 0..self.senders.len() {
            let s = &mut self.senders[i];
            if s.active && s.next_seq > s.acked && now - s.last_progress > STALL_NS {
                self.stalls += 1;
                self.written_off += s.next_seq - s.acked;
                s.acked = s.next_seq;
                s.last_progress = now;
                if self.phase == TPhase::Run && self.rate.is_none() {
                    self.top_up(eng, i, now);
                }
            }
        }
    }

    fn all_acked(&self) -> bool {
        self.senders
            .iter()
            .all(|s| !s.active || s.acked >= s.next_seq)
    }
}

fn write_msg(out: &mut Vec<u8>, target: &[u8], seq: u64, ts: u64, size: usize) {
    let start = out.len();
    out.extend_from_slice(b"PRIVMSG ");
    out.extend_from_slice(target);
    out.extend_from_slice(b" :");
    push_u64(out, seq);
    out.push(b' ');
    push_u64(out, ts);
    out.push(b' ');
    let len = out.len() - start + 2;
    let pad = size.saturating_sub(len).clamp(1, PAD.len());
    out.extend_from_slice(&PAD[..pad]);
    out.extend_from_slice(b"\r\n");
}

/// `<seq> <ts> ...` -> (seq, ts)
fn parse_payload(text: &[u8]) -> Option<(u64, u64)> {
    let at = find_byte(text, b' ')?;
    let (seq, rest) = (&text[..at], &text[at + 1..]);
    let ts = &rest[..find_byte(rest, b' ').unwrap_or(rest.len())];
    Some((
        crate::engine::parse_u64(seq)?,
        crate::engine::parse_u64(ts)?,
    ))
}

impl Handler for Traffic {
    fn on_ready(&mut self, eng: &mut Engine, tok: usize, cid: u32, now: u64) {
        self.fleet.on_ready(eng, tok, cid, now);
    }

    fn on_msg(&mut self, eng: &mut Engine, tok: usize, cid: u32, msg: &Msg<'_>, now: u64) {
        if self.fleet.on_msg(eng, tok, cid, msg, now) || msg.cmd != b"PRIVMSG" {
            return;
        }
        self.lines_total += 1;
        let from = msg
            .nick()
            .strip_prefix(eng.nick_prefix())
            .and_then(crate::engine::parse_u64);
        let Some(from) = from else {
            self.foreign_lines += 1;
            return;
        };
        let Some((seq, ts)) = msg.param(1).and_then(parse_payload) else {
            self.bad_lines += 1;
            return;
        };
        if ts >= self.t0 && ts < self.t1 {
            self.delivered_win += 1;
            self.hist.record(now.saturating_sub(ts));
        }
        let Some(&si) = self.sender_of.get(from as usize) else {
            return;
        };
        let Some(s) = self.senders.get_mut(si as usize) else {
            return;
        };
        if s.ack_cid == cid && seq >= s.acked {
            s.acked = seq + 1;
            s.last_progress = now;
            if self.phase == TPhase::Run && self.rate.is_none() {
                self.top_up(eng, si as usize, now);
            }
        }
    }

    fn on_closed(&mut self, _eng: &mut Engine, cid: u32, reason: CloseReason, now: u64) {
        if self.phase != TPhase::Setup {
            log::warn!("client {cid} lost during the run ({})", reason.name());
            if let Some(s) = self
                .sender_of
                .get(cid as usize)
                .and_then(|&i| self.senders.get_mut(i as usize))
            {
                s.active = false;
            }
        }
        self.fleet.on_closed(cid, reason, now);
    }
}

impl Scenario for Traffic {
    fn tick(&mut self, eng: &mut Engine, now: u64) -> Step {
        match self.phase {
            TPhase::Setup => {
                self.fleet.pump(eng, now);
                if !self.fleet.settled() {
                    return Step::Continue(Duration::from_millis(5));
                }
                if let Some(f) = setup_fatal(&self.fleet) {
                    self.fatal = Some(f);
                    return Step::Done;
                }
                self.start_run(eng, now);
            }
            TPhase::Run => {
                if self.mark0.is_none() && now >= self.t0 {
                    self.mark0 = Some(CpuMark::take(now, self.pid.as_deref()));
                }
                if let Some(rate) = self.rate {
                    self.open_loop(eng, rate, now);
                }
                if now >= self.next_scan {
                    self.next_scan = now + 100 * MS;
                    self.scan_stalls(eng, now);
                }
                if now >= self.t1 {
                    self.mark1 = Some(CpuMark::take(now, self.pid.as_deref()));
                    self.phase = TPhase::Drain;
                    self.drain_end = now + DRAIN_NS;
                }
            }
            TPhase::Drain => {
                if now >= self.drain_end || (now >= self.t1 + DRAIN_MIN_NS && self.all_acked()) {
                    self.phase = TPhase::Done;
                }
            }
            TPhase::Done => return Step::Done,
        }
        let wait = match (self.phase, self.rate) {
            (TPhase::Run, Some(_)) => Duration::from_millis(1),
            _ => Duration::from_millis(10),
        };
        Step::Continue(wait)
    }

    fn report(&self, _eng: &Engine, r: &mut Report) {
        for &(k, v) in &self.shape {
            r.int(k, v);
        }
        self.fleet.report(r);
        r.int("senders", self.senders.iter().filter(|s| s.active).count());
        match self.rate {
            Some(rate) => r.float("rate_target", rate, 1),
            None => r.int("window", self.window),
        }
        r.int("msg_size", self.msg_size);
        r.float("measured_s", secs(self.dur_ns), 2);
        let per_s = self.delivered_win as f64 / secs(self.dur_ns);
        r.int("sent", self.sent_win);
        r.float("sent_per_s", self.sent_win as f64 / secs(self.dur_ns), 1);
        r.int("expected", self.expected_win);
        r.int("delivered", self.delivered_win);
        r.int("lost", self.expected_win.saturating_sub(self.delivered_win));
        let loss = if self.expected_win > 0 {
            100.0 * self.expected_win.saturating_sub(self.delivered_win) as f64
                / self.expected_win as f64
        } else {
            0.0
        };
        r.float("loss_pct", loss, 3);
        let key = if self.name == "fanout" {
            "lines_per_s"
        } else {
            "msgs_per_s"
        };
        r.float(key, per_s, 1);
        r.latency(
            ["latency_samples", "p50_ms", "p99_ms", "max_ms", "mean_ms"],
            &self.hist,
        );
        r.int("lines_received_total", self.lines_total);
        r.int("bad_lines", self.bad_lines);
        r.int("foreign_lines", self.foreign_lines);
        r.int("window_stalls", self.stalls);
        r.int("written_off", self.written_off);
        if self.rate.is_some() {
            r.int("skipped_backlog", self.skipped_backlog);
            r.float("send_lag_p50_ms", self.lag.quantile(0.5) as f64 / 1e6, 3);
            r.float("send_lag_p99_ms", self.lag.quantile(0.99) as f64 / 1e6, 3);
        }
        if let (Some(a), Some(b)) = (&self.mark0, &self.mark1) {
            r.cpu(a, b, self.delivered_win, "server_cpu_per_line_us");
        }
    }

    fn fatal(&self) -> Option<&str> {
        self.fatal.as_deref()
    }
}

// ---------------------------------------------------------------- churn

#[derive(PartialEq, Eq, Clone, Copy)]
enum WState {
    Idle,
    Registering,
    Joining,
    Leaving,
}

struct Worker {
    tok: usize,
    state: WState,
    round: u32,
    started: u64,
    next_at: u64,
    chan: Vec<u8>,
}

/// Per-cycle timeout.
const CYCLE_TIMEOUT_NS: u64 = 10 * SEC;
/// Pause after a failed cycle.
const ERROR_BACKOFF_NS: u64 = 50 * MS;
/// After the window closes, wait this long for cycles in progress.
const CHURN_TAIL_NS: u64 = 10 * SEC;

/// K workers each looping connect/register/JOIN/PART/QUIT/close.
pub struct Churn {
    workers: Vec<Worker>,
    /// Workers with no connection (waiting to start a cycle).
    idle: Vec<usize>,
    warmup_ns: u64,
    dur_ns: u64,
    pid: Option<String>,
    started: bool,
    t0: u64,
    t1: u64,
    tail_end: u64,
    next_scan: u64,
    mark0: Option<CpuMark>,
    mark1: Option<CpuMark>,
    cycles_win: u64,
    cycles_total: u64,
    errors: [u64; 7],
    connect_errors: u64,
    hist: Hist,
    fatal: Option<String>,
}

impl Churn {
    pub fn new(cfg: &Config) -> Churn {
        let k = cfg.clients.unwrap_or(50).max(1);
        let workers = (0..k)
            .map(|w| Worker {
                tok: NO_TOK,
                state: WState::Idle,
                round: 0,
                started: 0,
                next_at: 0,
                chan: format!("#churn{w}").into_bytes(),
            })
            .collect();
        Churn {
            idle: (0..k).collect(),
            workers,
            warmup_ns: cfg.warmup_ns,
            dur_ns: cfg.duration_ns,
            pid: cfg.server_pid.clone(),
            started: false,
            t0: u64::MAX,
            t1: u64::MAX,
            tail_end: u64::MAX,
            next_scan: 0,
            mark0: None,
            mark1: None,
            cycles_win: 0,
            cycles_total: 0,
            errors: [0; 7],
            connect_errors: 0,
            hist: Hist::new(),
            fatal: None,
        }
    }

    fn worker_of(&self, cid: u32) -> usize {
        cid as usize % self.workers.len()
    }

    /// Start worker `w`'s next cycle; false if the connect call failed.
    fn start_cycle(&mut self, eng: &mut Engine, w: usize, now: u64) -> bool {
        let k = self.workers.len() as u64;
        let wk = &mut self.workers[w];
        let cid = u64::from(wk.round) * k + w as u64;
        wk.round = wk.round.wrapping_add(1);
        let Ok(cid) = u32::try_from(cid) else {
            wk.round = 0;
            wk.next_at = now;
            return false;
        };
        match eng.connect(cid) {
            Ok(tok) => {
                wk.tok = tok;
                wk.state = WState::Registering;
                wk.started = now;
                true
            }
            Err(e) => {
                log::debug!("churn worker {w}: connect: {e}");
                self.connect_errors += 1;
                wk.next_at = now + ERROR_BACKOFF_NS;
                false
            }
        }
    }
}

fn reason_index(r: CloseReason) -> usize {
    match r {
        CloseReason::Eof => 0,
        CloseReason::Refused => 1,
        CloseReason::IoError => 2,
        CloseReason::NickRejected => 3,
        CloseReason::Rejected => 4,
        CloseReason::Timeout => 5,
        CloseReason::Protocol => 6,
    }
}

impl Handler for Churn {
    fn on_ready(&mut self, eng: &mut Engine, tok: usize, cid: u32, _now: u64) {
        let w = self.worker_of(cid);
        let wk = &mut self.workers[w];
        if wk.state != WState::Registering {
            return;
        }
        if let Some(out) = eng.out(tok) {
            out.extend_from_slice(b"JOIN ");
            out.extend_from_slice(&wk.chan);
            out.extend_from_slice(b"\r\n");
        }
        wk.state = WState::Joining;
    }

    fn on_msg(&mut self, eng: &mut Engine, tok: usize, cid: u32, msg: &Msg<'_>, _now: u64) {
        let w = self.worker_of(cid);
        let wk = &mut self.workers[w];
        if wk.state == WState::Joining && msg.cmd == b"366" {
            if let Some(out) = eng.out(tok) {
                out.extend_from_slice(b"PART ");
                out.extend_from_slice(&wk.chan);
                out.extend_from_slice(b"\r\nQUIT :bye\r\n");
            }
            wk.state = WState::Leaving;
        }
    }

    fn on_closed(&mut self, eng: &mut Engine, cid: u32, reason: CloseReason, now: u64) {
        let w = self.worker_of(cid);
        let wk = &mut self.workers[w];
        let ok = wk.state == WState::Leaving && reason == CloseReason::Eof;
        if ok {
            self.cycles_total += 1;
            if now >= self.t0 && now < self.t1 {
                self.cycles_win += 1;
                self.hist.record(now - wk.started);
            }
            wk.next_at = now;
        } else {
            self.errors[reason_index(reason)] += 1;
            log::debug!("churn worker {w}: cycle failed ({})", reason.name());
            wk.next_at = now + ERROR_BACKOFF_NS;
        }
        wk.state = WState::Idle;
        wk.tok = NO_TOK;
        // Go straight into the next cycle rather than waiting for a tick.
        if !(ok && now < self.t1 && self.start_cycle(eng, w, now)) {
            self.idle.push(w);
        }
    }
}

impl Scenario for Churn {
    fn tick(&mut self, eng: &mut Engine, now: u64) -> Step {
        if !self.started {
            self.started = true;
            self.t0 = now + self.warmup_ns;
            self.t1 = self.t0 + self.dur_ns;
            self.tail_end = self.t1 + CHURN_TAIL_NS;
        }
        if self.mark0.is_none() && now >= self.t0 {
            self.mark0 = Some(CpuMark::take(now, self.pid.as_deref()));
        }
        if self.mark1.is_none() && now >= self.t1 {
            self.mark1 = Some(CpuMark::take(now, self.pid.as_deref()));
        }
        let running = now < self.t1;
        if running {
            let mut i = 0;
            while i < self.idle.len() {
                let w = self.idle[i];
                if self.workers[w].next_at <= now && self.start_cycle(eng, w, now) {
                    self.idle.swap_remove(i);
                } else {
                    i += 1;
                }
            }
        }
        if now >= self.next_scan {
            self.next_scan = now + 50 * MS;
            for wk in &self.workers {
                if wk.state != WState::Idle && now - wk.started > CYCLE_TIMEOUT_NS {
                    eng.close(wk.tok, CloseReason::Timeout);
                }
            }
        }
        let busy = self.workers.len() - self.idle.len();
        if !running && (busy == 0 || now >= self.tail_end) {
            if self.cycles_total == 0 {
                self.fatal = Some("churn: no cycle completed".into());
            }
            return Step::Done;
        }
        let wait = if running && !self.idle.is_empty() {
            1
        } else {
            10
        };
        Step::Continue(Duration::from_millis(wait))
    }

    fn report(&self, eng: &Engine, r: &mut Report) {
        r.int("workers", self.workers.len());
        r.float("measured_s", secs(self.dur_ns), 2);
        r.int("cycles", self.cycles_win);
        r.float(
            "cycles_per_s",
            self.cycles_win as f64 / secs(self.dur_ns),
            1,
        );
        r.int("cycles_total", self.cycles_total);
        r.latency(
            [
                "cycle_samples",
                "cycle_p50_ms",
                "cycle_p99_ms",
                "cycle_max_ms",
                "cycle_mean_ms",
            ],
            &self.hist,
        );
        r.int("errors", Scenario::errors(self));
        r.int("err_eof_early", self.errors[0]);
        r.int("err_refused", self.errors[1]);
        r.int("err_io", self.errors[2]);
        r.int("err_nick", self.errors[3]);
        r.int("err_timeout", self.errors[5]);
        r.int("err_connect_call", self.connect_errors);
        r.int("connections_opened", eng.stats.connects);
        if let (Some(a), Some(b)) = (&self.mark0, &self.mark1) {
            r.cpu(a, b, self.cycles_win, "server_cpu_per_cycle_us");
        }
    }

    fn fatal(&self) -> Option<&str> {
        self.fatal.as_deref()
    }

    fn errors(&self) -> u64 {
        self.errors.iter().sum::<u64>() + self.connect_errors
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_round_trip() {
        let mut out = Vec::new();
        write_msg(&mut out, b"#c", 42, 1_732_611_111_111, 100);
        assert_eq!(out.len(), 100);
        let text = &out[b"PRIVMSG #c :".len()..out.len() - 2];
        assert_eq!(parse_payload(text), Some((42, 1_732_611_111_111)));
        assert_eq!(parse_payload(b"7 8"), Some((7, 8)));
        assert_eq!(parse_payload(b"7"), None);
        assert_eq!(parse_payload(b"7 x 9"), None);
        assert_eq!(parse_payload(b"hello world"), None);
    }
}
