//! Password checks off the loop thread. An argon2 verification costs tens of milliseconds
//! on purpose; run inside the one loop, a crowd of attempts would stall every user. So the
//! core asks the shell for a check ([`CheckRequest`] in the [`Outbox`]), the shell runs it on
//! its worker thread, and the verdict comes back later through [`World::on_checked`].
//!
//! Each request has a ticket that is never reused, so a verdict for a connection that closed
//! meanwhile (its [`ConnId`] perhaps given to someone else) finds nothing to finish; a wrong
//! password still counts against the address it came from, or hanging up would be a free
//! guess. Checks in flight are bounded (all of them, and per address as many as the guard
//! lets an address fail): past that an attempt fails at once, without a check.

use super::guard::MAX_FAILURES;
use super::{ConnId, Outbox, World};
use hashbrown::HashMap;
use std::net::IpAddr;

/// Checks in flight at once, in the whole server.
pub const MAX_IN_FLIGHT: usize = 32;

/// A check for the shell's worker: does `password` match the argon2 `hash`?
#[derive(Debug)]
pub struct CheckRequest {
    pub ticket: u64,
    pub hash: Box<str>,
    pub password: Box<[u8]>,
}

/// What a check found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Match,
    Mismatch,
    /// Not checked: the worker's queue was full (the attempt fails, uncounted).
    Busy,
}

/// What a check is for, and so what its verdict finishes.
#[derive(Debug, Clone)]
pub enum Purpose {
    /// SASL PLAIN for this account (`None`: no such account, bound to fail).
    Sasl(Option<Box<str>>),
    /// IRCX `AUTH PLAIN` for this account.
    Auth(Option<Box<str>>),
    /// OPER with this `[[oper]]` block's name.
    Oper(Box<str>),
    /// Abandoned (the connection closed or gave up): only the guard hears the verdict.
    Discard,
}

#[derive(Debug)]
struct Pending {
    conn: ConnId,
    ip: IpAddr,
    purpose: Purpose,
}

/// The checks in flight.
#[derive(Debug, Default)]
pub struct Checks {
    next_ticket: u64,
    pending: HashMap<u64, Pending>,
}

impl Checks {
    pub fn in_flight(&self) -> usize {
        self.pending.len()
    }
}

impl World {
    /// Asks for a check of `password` against `hash` for `conn`. False (nothing asked) when
    /// too many are in flight, or this connection already has one: the caller fails the
    /// attempt at once.
    pub fn start_check(
        &mut self,
        conn: ConnId,
        hash: &str,
        password: &[u8],
        purpose: Purpose,
        out: &mut Outbox,
    ) -> bool {
        let Some(ip) = self.local(conn).map(|l| l.ip) else {
            return false;
        };
        let from = super::guard::guessed_from(ip);
        let same_address = self
            .checks
            .pending
            .values()
            .filter(|p| super::guard::guessed_from(p.ip) == from)
            .count();
        // With the guard on, an address may not have more guesses in flight than it may
        // fail before it is suspended.
        let per_address = self.guard_window_ms() != 0 && same_address >= MAX_FAILURES as usize;
        if self.checks.pending.len() >= MAX_IN_FLIGHT || per_address || self.check_in_flight(conn) {
            log::info!("conn {conn}: password check refused: too many in flight");
            return false;
        }
        self.checks.next_ticket += 1;
        let ticket = self.checks.next_ticket;
        self.checks
            .pending
            .insert(ticket, Pending { conn, ip, purpose });
        out.checks.push(CheckRequest {
            ticket,
            hash: hash.into(),
            password: password.into(),
        });
        true
    }

    /// Whether `conn` waits for a check (and for what).
    pub fn check_in_flight(&self, conn: ConnId) -> bool {
        self.checks
            .pending
            .values()
            .any(|p| p.conn == conn && !matches!(p.purpose, Purpose::Discard))
    }

    /// The connection closed or gave up: its checks finish nothing, but still count.
    pub fn abandon_checks(&mut self, conn: ConnId) {
        for p in self.checks.pending.values_mut() {
            if p.conn == conn {
                p.purpose = Purpose::Discard;
            }
        }
    }

    /// A verdict from the shell. A ticket not in flight (never asked, or finished) is
    /// ignored.
    pub fn on_checked(
        &mut self,
        ticket: u64,
        verdict: Verdict,
        now: super::Clock,
        out: &mut Outbox,
    ) {
        self.now = now;
        let Some(p) = self.checks.pending.remove(&ticket) else {
            return;
        };
        if verdict == Verdict::Mismatch {
            let window = self.guard_window_ms();
            if window != 0 {
                self.auth_guard.failed(p.ip, now.mono_ms, window);
            }
        }
        let ok = verdict == Verdict::Match;
        match p.purpose {
            Purpose::Sasl(account) => {
                super::handlers::sasl::checked(self, p.conn, account.filter(|_| ok), verdict, out)
            }
            Purpose::Auth(account) => {
                super::handlers::ircx::auth::checked(self, p.conn, account.filter(|_| ok), out)
            }
            Purpose::Oper(name) => super::handlers::oper::checked(self, p.conn, &name, ok, out),
            Purpose::Discard => {}
        }
        self.flush_events(out);
    }
}
