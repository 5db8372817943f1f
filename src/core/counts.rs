//! Counts kept as users and connections come and go, so LUSERS never walks the network.
//! Only `World`'s methods that add and remove what is counted change them, and with
//! overflow checks on in the test profile a count that would go below zero fails a test.

use super::state::umode::{INVISIBLE, OPER};

#[derive(Default, Debug, Clone)]
pub struct Counts {
    /// Local connections that are neither a user nor a link (registering, or closing).
    pub unregistered: usize,
    pub local_users: usize,
    pub max_local_users: usize,
    pub max_global_users: usize,
    /// Users with +o, and with +i, anywhere in the network.
    pub opers: usize,
    pub invisible: usize,
    /// Connections accepted since start.
    pub connections_total: u64,
    /// Lines received from every connection since start (metrics).
    pub lines_in: u64,
    /// Connections and link attempts refused since start, by [`Refusal`] (metrics).
    pub refused: [u64; Refusal::ALL.len()],
}

/// Why a connection or a link attempt was refused, for the refusal counters: an operator
/// watching these sees an attack, or a limit set too low, before users complain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// `limits.max_clients`.
    MaxClients,
    /// `limits.max_clients_per_ip`.
    PerIp,
    /// `limits.connects_per_ip_per_min`.
    ConnectRate,
    /// A K/D/G-line (an ACCESS `$`/`*` DENY) at registration.
    Ban,
    /// A wrong or missing server password.
    BadPassword,
    /// Refused unchecked: the address is suspended for guessing passwords.
    Guessing,
    /// A portal handshake refused (unknown name, bad password, TLS, version).
    Portal,
}

impl Refusal {
    pub const ALL: [Refusal; 7] = [
        Refusal::MaxClients,
        Refusal::PerIp,
        Refusal::ConnectRate,
        Refusal::Ban,
        Refusal::BadPassword,
        Refusal::Guessing,
        Refusal::Portal,
    ];

    /// The label value metrics show.
    pub fn name(self) -> &'static str {
        match self {
            Refusal::MaxClients => "max_clients",
            Refusal::PerIp => "per_ip",
            Refusal::ConnectRate => "connect_rate",
            Refusal::Ban => "ban",
            Refusal::BadPassword => "bad_password",
            Refusal::Guessing => "password_guessing",
            Refusal::Portal => "portal",
        }
    }
}

impl Counts {
    pub(super) fn opened(&mut self) {
        self.unregistered += 1;
        self.connections_total += 1;
    }
    /// A connection dialed for a portal (not counted as accepted).
    pub(super) fn dialed(&mut self) {
        self.unregistered += 1;
    }
    /// An unregistered connection became a local user.
    pub(super) fn registered(&mut self) {
        self.unregistered -= 1;
        self.local_users += 1;
        self.max_local_users = self.max_local_users.max(self.local_users);
    }
    /// An unregistered connection became a portal link.
    pub(super) fn linked(&mut self) {
        self.unregistered -= 1;
    }
    /// A local user left; its connection, closing, counts as unregistered until it goes.
    pub(super) fn user_left(&mut self) {
        self.local_users -= 1;
        self.unregistered += 1;
    }
    /// An unregistered connection is gone.
    pub(super) fn closed_unregistered(&mut self) {
        self.unregistered -= 1;
    }
    pub(super) fn refused(&mut self, why: Refusal) {
        self.refused[why as usize] += 1;
    }
    pub(super) fn line_in(&mut self) {
        self.lines_in += 1;
    }
    pub(super) fn user_seen(&mut self, global_users: usize) {
        self.max_global_users = self.max_global_users.max(global_users);
    }
    pub(super) fn umodes_changed(&mut self, old: u16, new: u16) {
        for (counter, bit) in [(&mut self.opers, OPER), (&mut self.invisible, INVISIBLE)] {
            match (old & bit != 0, new & bit != 0) {
                (false, true) => *counter += 1,
                (true, false) => *counter -= 1,
                _ => {}
            }
        }
    }
}
