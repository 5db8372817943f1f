//! The figures of a Prometheus scrape, in the text exposition format (version 0.0.4):
//! what the core counts anyway ([`super::counts`], the links' lag and bursts), and what
//! only the shell knows (bytes, send queues), which it passes in. One small text per
//! scrape; nothing here walks the users or channels.

use super::counts::Refusal;
use super::{Clock, World};
use std::fmt::{Display, Write};

/// What the shell counts: the core never sees bytes or send queues.
#[derive(Debug, Default, Clone, Copy)]
pub struct ShellFigures {
    pub bytes_in: u64,
    pub bytes_out: u64,
    /// Lines handed to send queues.
    pub lines_out: u64,
    /// Bytes queued on every connection and not yet written.
    pub sendq_bytes: u64,
    /// Connections listed for a write in a coming turn of the loop.
    pub write_waiting: u64,
}

/// A text exposition being written: `# HELP` and `# TYPE` once per family, then its
/// samples.
#[derive(Default)]
struct Exposition {
    text: String,
}

impl Exposition {
    fn family(&mut self, name: &str, kind: &str, help: &str) {
        let _ = writeln!(self.text, "# HELP {name} {help}\n# TYPE {name} {kind}");
    }

    fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: impl Display) {
        self.text.push_str(name);
        if !labels.is_empty() {
            let pairs: Vec<String> = labels
                .iter()
                .map(|(k, v)| format!("{k}=\"{}\"", escape(v)))
                .collect();
            let _ = write!(self.text, "{{{}}}", pairs.join(","));
        }
        let _ = writeln!(self.text, " {value}");
    }

    /// A family of one sample without labels.
    fn single(&mut self, name: &str, kind: &str, help: &str, value: impl Display) {
        self.family(name, kind, help);
        self.sample(name, &[], value);
    }
}

/// A label value as the format wants it: backslash, double quote and newline escaped.
fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// Milliseconds as the seconds Prometheus expects (its base unit).
fn seconds(ms: u64) -> String {
    format!("{}.{:03}", ms / 1000, ms % 1000)
}

impl World {
    /// The scrape's body at `now`.
    pub fn metrics(&self, now: Clock, shell: &ShellFigures) -> String {
        let mut m = Exposition::default();
        let c = self.counts();
        let up = now.mono_ms.saturating_sub(self.started_mono_ms);
        m.single(
            "portico_uptime_seconds",
            "gauge",
            "Seconds since the server started.",
            seconds(up),
        );
        m.single(
            "portico_local_clients",
            "gauge",
            "Users connected to this server.",
            c.local_users,
        );
        m.single(
            "portico_network_clients",
            "gauge",
            "Users on the whole network, this server's included.",
            self.clients.len(),
        );
        m.single(
            "portico_unregistered_connections",
            "gauge",
            "Connections here that are neither a user nor a portal yet.",
            c.unregistered,
        );
        m.single(
            "portico_channels",
            "gauge",
            "Channels in the network.",
            self.channels.len(),
        );
        m.single(
            "portico_servers",
            "gauge",
            "Servers in the network, this one included.",
            self.servers.len(),
        );
        m.single(
            "portico_operators",
            "gauge",
            "IRC operators in the network.",
            c.opers,
        );
        m.single(
            "portico_connections_accepted_total",
            "counter",
            "Connections accepted since start.",
            c.connections_total,
        );
        m.single(
            "portico_lines_in_total",
            "counter",
            "Lines received since start.",
            c.lines_in,
        );
        m.single(
            "portico_lines_out_total",
            "counter",
            "Lines queued to connections since start.",
            shell.lines_out,
        );
        m.single(
            "portico_bytes_in_total",
            "counter",
            "Bytes received since start (after TLS).",
            shell.bytes_in,
        );
        m.single(
            "portico_bytes_out_total",
            "counter",
            "Bytes written since start (before TLS).",
            shell.bytes_out,
        );
        m.single(
            "portico_sendq_bytes",
            "gauge",
            "Bytes queued on all connections, not yet written.",
            shell.sendq_bytes,
        );
        m.single(
            "portico_write_waiting_connections",
            "gauge",
            "Connections with output waiting for a write turn of the loop (list entries; a stale or second one is dropped when reached).",
            shell.write_waiting,
        );
        m.family(
            "portico_refused_total",
            "counter",
            "Connections and link attempts refused since start, by reason.",
        );
        for why in Refusal::ALL {
            m.sample(
                "portico_refused_total",
                &[("reason", why.name())],
                c.refused[why as usize],
            );
        }
        self.portal_metrics(now, &mut m);
        m.text
    }

    /// Per linked portal: lag, send queue, time linked, and the peer's last burst.
    fn portal_metrics(&self, now: Clock, m: &mut Exposition) {
        let links: Vec<_> = self
            .links
            .iter()
            .filter_map(|&c| self.link(c))
            .map(|l| (&*self.servers[l.server].name, l))
            .collect();
        m.family("portico_portal_lag_seconds", "gauge", "Round trip of the last PING on each portal link (or the wait of an unanswered one, if longer).");
        for (name, l) in &links {
            if let Some(lag) = l.lag.current(now.mono_ms) {
                m.sample(
                    "portico_portal_lag_seconds",
                    &[("portal", name)],
                    seconds(lag),
                );
            }
        }
        m.family(
            "portico_portal_sendq_bytes",
            "gauge",
            "Bytes queued on each portal link, as of the last second.",
        );
        for (name, l) in &links {
            m.sample(
                "portico_portal_sendq_bytes",
                &[("portal", name)],
                l.sendq_bytes,
            );
        }
        m.family(
            "portico_portal_linked_seconds",
            "gauge",
            "Seconds each portal link has been up.",
        );
        for (name, l) in &links {
            let up = now.mono_ms.saturating_sub(l.linked_ms);
            m.sample(
                "portico_portal_linked_seconds",
                &[("portal", name)],
                seconds(up),
            );
        }
        m.family(
            "portico_portal_burst_seconds",
            "gauge",
            "How long the peer's burst took on each portal link.",
        );
        for (name, b) in links.iter().filter_map(|(n, l)| Some((n, l.burst?))) {
            m.sample(
                "portico_portal_burst_seconds",
                &[("portal", name)],
                seconds(b.took_ms),
            );
        }
        m.family(
            "portico_portal_last_burst_timestamp_seconds",
            "gauge",
            "Unix time the peer's burst ended on each portal link.",
        );
        for (name, b) in links.iter().filter_map(|(n, l)| Some((n, l.burst?))) {
            let at = seconds(b.ended_unix_ms);
            m.sample(
                "portico_portal_last_burst_timestamp_seconds",
                &[("portal", name)],
                at,
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::ShellFigures;
    use crate::core::ids::Key;
    use crate::core::testing::TestWorld;

    /// The lines of `text` that are samples of `family` (not its HELP and TYPE).
    fn samples<'a>(text: &'a str, family: &str) -> Vec<&'a str> {
        text.lines()
            .filter(|l| l.starts_with(family) && l[family.len()..].starts_with([' ', '{']))
            .collect()
    }

    #[test]
    fn figures_follow_what_happens() {
        let mut t = TestWorld::with_portals_and("[limits]\nmax_clients_per_ip = 2\n");
        let a = t.user("alice");
        t.feed(a, "JOIN #c");
        t.user("bob");
        // A third connection from 127.0.0.1: refused by the per-IP limit.
        let mut out = crate::core::Outbox::default();
        let third = crate::core::ConnId::from_index(9);
        assert!(!t
            .w
            .on_open(third, "127.0.0.1".parse().unwrap(), t.now, &mut out));
        let shell = ShellFigures {
            bytes_in: 10,
            bytes_out: 20,
            lines_out: 3,
            sendq_bytes: 40,
            write_waiting: 4,
        };
        t.now.mono_ms += 2_500;
        let text = t.w.metrics(t.now, &shell);
        for want in [
            "# HELP portico_local_clients Users connected to this server.\n# TYPE portico_local_clients gauge\nportico_local_clients 2\n",
            "\nportico_uptime_seconds 2.500\n",
            "\nportico_network_clients 2\n",
            "\nportico_channels 1\n",
            "\nportico_servers 1\n",
            "\nportico_connections_accepted_total 2\n",
            "\nportico_lines_in_total 5\n",
            "\nportico_lines_out_total 3\n",
            "\nportico_bytes_in_total 10\n",
            "\nportico_bytes_out_total 20\n",
            "\nportico_sendq_bytes 40\n",
            "\nportico_write_waiting_connections 4\n",
            "\n# TYPE portico_refused_total counter\n",
        ] {
            assert!(text.contains(want), "{want:?} not in\n{text}");
        }
        assert_eq!(
            samples(&text, "portico_refused_total"),
            vec![
                "portico_refused_total{reason=\"max_clients\"} 0",
                "portico_refused_total{reason=\"per_ip\"} 1",
                "portico_refused_total{reason=\"connect_rate\"} 0",
                "portico_refused_total{reason=\"ban\"} 0",
                "portico_refused_total{reason=\"bad_password\"} 0",
                "portico_refused_total{reason=\"password_guessing\"} 0",
                "portico_refused_total{reason=\"portal\"} 0",
            ]
        );
        assert!(samples(&text, "portico_portal_lag_seconds").is_empty());
    }

    #[test]
    fn portals_show_lag_queue_and_burst() {
        let mut t = TestWorld::with_portals();
        let peer = t.link("peer.test", 2, "EOB", 2);
        let ng = t.link_ngircd("ng.test");
        t.now.mono_ms += 1_200;
        t.now.unix_ms += 1_200;
        t.feed(peer, ":peer.test EOB");
        t.tick(800);
        t.now.mono_ms += 42;
        t.feed(peer, ":peer.test PONG peer.test :irc.test");
        t.w.set_link_sendq(ng, 7_000);
        let text = t.w.metrics(t.now, &ShellFigures::default());
        assert_eq!(
            samples(&text, "portico_portal_lag_seconds"),
            vec!["portico_portal_lag_seconds{portal=\"peer.test\"} 0.042"],
            "ng.test has not answered yet"
        );
        assert_eq!(
            samples(&text, "portico_portal_sendq_bytes"),
            vec![
                "portico_portal_sendq_bytes{portal=\"peer.test\"} 0",
                "portico_portal_sendq_bytes{portal=\"ng.test\"} 7000",
            ]
        );
        assert_eq!(
            samples(&text, "portico_portal_linked_seconds"),
            vec![
                "portico_portal_linked_seconds{portal=\"peer.test\"} 2.042",
                "portico_portal_linked_seconds{portal=\"ng.test\"} 2.042",
            ]
        );
        assert_eq!(
            samples(&text, "portico_portal_burst_seconds"),
            vec!["portico_portal_burst_seconds{portal=\"peer.test\"} 1.200"]
        );
        assert_eq!(
            samples(&text, "portico_portal_last_burst_timestamp_seconds"),
            vec![
                "portico_portal_last_burst_timestamp_seconds{portal=\"peer.test\"} 1700000001.200"
            ]
        );
    }

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(super::escape("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }
}
