//! Host cloaking (`[cloak] secret`): every local user's host is shown to others as a
//! keyed hash of their address, stable for an address and unguessable without the
//! secret. The user themselves (396 at welcome, 378 in WHOIS) and operators with the
//! `see-ips` privilege (378, STATS l) still see the address.
//!
//! A cloak has three parts, hashes of the whole address and of two of its prefixes
//! (IPv4 /24 and /16; IPv6 /64 and /48): `<addr>.<net>.<wider>.ip` (`.ip6`), so a ban on
//! `*.<net>.<wider>.ip` covers the /24 without telling anyone what it is. Server bans
//! (K/D-lines) match the address as well as the cloak (`World::access_targets`).

use std::net::IpAddr;

/// Hex digits per part: 32 bits, so a part is no help for guessing the others.
const PART_HEX: usize = 8;

/// The cloak of `ip` under `secret`.
pub fn cloak(secret: &str, ip: IpAddr) -> String {
    let (bytes, prefixes, suffix): (Vec<u8>, [usize; 2], &str) = match ip {
        IpAddr::V4(v4) => (v4.octets().to_vec(), [3, 2], "ip"),
        IpAddr::V6(v6) => (v6.octets().to_vec(), [8, 6], "ip6"),
    };
    format!(
        "{}.{}.{}.{suffix}",
        part(secret, &bytes),
        part(secret, &bytes[..prefixes[0]]),
        part(secret, &bytes[..prefixes[1]])
    )
}

/// The first hex digits of BLAKE2b(len(secret) ‖ secret ‖ len(data) ‖ data): a keyed
/// hash (BLAKE2 has no length extension, and the lengths keep inputs apart).
fn part(secret: &str, data: &[u8]) -> String {
    use blake2::{Blake2b512, Digest};
    let mut h = Blake2b512::new();
    h.update((secret.len() as u64).to_be_bytes());
    h.update(secret.as_bytes());
    h.update((data.len() as u64).to_be_bytes());
    h.update(data);
    h.finalize()
        .iter()
        .take(PART_HEX / 2)
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn stable_keyed_and_sharing_the_network_parts() {
        let a = cloak("s3cret-s3cret-s3cret", ip("192.0.2.7"));
        assert_eq!(a, cloak("s3cret-s3cret-s3cret", ip("192.0.2.7")));
        assert_ne!(a, cloak("another-secret-here", ip("192.0.2.7")));
        assert!(a.ends_with(".ip") && a.len() == 3 * 9 + 2, "{a}");
        assert!(!a.contains("192"));
        // Same /24: only the first part differs; another /16: all differ.
        let b = cloak("s3cret-s3cret-s3cret", ip("192.0.2.8"));
        assert_ne!(a[..8], b[..8]);
        assert_eq!(a[8..], b[8..]);
        let c = cloak("s3cret-s3cret-s3cret", ip("198.51.100.7"));
        assert_ne!(a[9..], c[9..]);
        let v6 = cloak("s3cret-s3cret-s3cret", ip("2001:db8:1:2::5"));
        let v6b = cloak("s3cret-s3cret-s3cret", ip("2001:db8:1:2::6"));
        assert!(v6.ends_with(".ip6"));
        assert_eq!(v6[8..], v6b[8..]);
    }

    mod in_the_world {
        use super::*;
        use crate::core::testing::{TestWorld, BASE_CONFIG};

        const SECRET: &str = "a-long-test-secret-0123";

        fn world() -> (TestWorld, String) {
            let t = TestWorld::with_config(&format!(
                "{BASE_CONFIG}[cloak]\nsecret = \"{SECRET}\"\n\
                 [[oper]]\nname = \"seer\"\npassword = \"pw\"\n\
                 [[oper]]\nname = \"blind\"\npassword = \"pw\"\nprivileges = [\"kill\", \"ban\"]\n\
                 [[oper]]\nname = \"here\"\npassword = \"pw\"\nhost = \"*@127.0.0.1\"\n"
            ));
            (t, cloak(SECRET, ip("127.0.0.1")))
        }

        #[test]
        fn others_see_the_cloak_the_user_and_seeing_opers_the_address() {
            let (mut t, host) = world();
            let a = t.connect();
            t.feed(a, "NICK alice");
            t.feed(a, "USER alice 0 * :Alice");
            let welcome = t.take(a);
            assert!(
                welcome[0].ends_with(&format!("alice!~alice@{host}")),
                "{welcome:?}"
            );
            assert_eq!(
                welcome.last().unwrap(),
                &format!(":irc.test 396 alice {host} :is now your displayed host")
            );
            let b = t.user("bob");
            t.feed(a, "JOIN #c");
            t.feed(b, "JOIN #c");
            assert_eq!(
                t.take(a).last().unwrap(),
                &format!(":bob!~bob@{host} JOIN #c")
            );
            t.take(b);
            let whois = t.ask(b, "WHOIS alice");
            assert!(whois.iter().all(|l| !l.contains("127.0.0.1")), "{whois:?}");
            assert_eq!(
                whois[0],
                format!(":irc.test 311 bob alice ~alice {host} * :Alice")
            );
            let own = format!(":irc.test 378 alice alice :is connecting from *@{host} 127.0.0.1");
            assert!(t.ask(a, "WHOIS alice").contains(&own));
            t.feed(b, "OPER blind pw");
            t.take(b);
            assert!(t.ask(b, "WHOIS alice").iter().all(|l| !l.contains(" 378 ")));
            t.feed(b, "OPER seer pw");
            t.take(b);
            let seen = format!(":irc.test 378 bob alice :is connecting from *@{host} 127.0.0.1");
            assert!(t.ask(b, "WHOIS alice").contains(&seen));
        }

        #[test]
        fn an_oper_host_mask_matches_the_address_behind_the_cloak() {
            let (mut t, _) = world();
            let a = t.user("alice");
            assert_eq!(
                t.ask(a, "OPER here pw")[0],
                ":irc.test 381 alice :You are now an IRC operator"
            );
        }

        #[test]
        fn server_bans_on_addresses_reach_cloaked_users() {
            let (mut t, host) = world();
            let o = t.user("olga");
            t.feed(o, "OPER blind pw");
            let victim = t.user("victim");
            t.feed(o, "DLINE 127.0.0.0/8 :range");
            assert!(t.closed.iter().any(|(c, _)| *c == victim));
            let again = t.connect();
            t.feed(again, "NICK victim");
            assert_eq!(
                t.ask(again, "USER victim 0 * :V"),
                vec![format!("ERROR :Closing Link: {host} (range)")]
            );
        }
    }
}
