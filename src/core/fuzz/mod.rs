//! Deterministic fuzzing of the core: thousands of random lines built from a grammar of
//! real commands and interesting parameters, from clients, from a native portal and from
//! an rfc2813 (ngIRCd) portal, mixed with clock ticks and dropped connections. After every
//! step the world's invariants are checked and every line sent is checked for form; now and
//! then a probe message checks that delivery still works. No crate is needed: a xorshift
//! generator with fixed seeds makes every run the same, so a failure names its seed, its
//! step and the inputs that led to it.

mod checks;
mod client;
mod harness;
mod ngircd;
mod portal;
mod rng;

use crate::core::testing::BASE_CONFIG;
use harness::{Fuzz, FUZZ_CONFIG, NG_PORTAL};

fn portal_fuzz(config: &str, portals: &[(&str, u16)], seed: u64, steps: usize) -> Fuzz {
    let mut f = Fuzz::new(config, seed);
    for _ in 0..4 {
        f.register();
    }
    for i in 0..steps {
        f.replenish();
        f.ensure_links(portals);
        f.chaos();
        if f.rng.chance(3, 5) {
            f.link_step();
        } else {
            f.client_step();
        }
        if f.rng.chance(1, 500) {
            f.rehash(config);
        }
        if i % 20 == 0 {
            f.probe();
        }
    }
    f.teardown();
    f
}

const NATIVE: &[(&str, u16)] = &[("leaf.test", 2), ("hub.test", 3)];
const MIXED: &[(&str, u16)] = &[("ng.test", 5), ("leaf.test", 2)];

// ---- client side ------------------------------------------------------------------------

/// A server with a password, ASCII case mapping, short nicks and room for few clients.
const STRICT_CONFIG: &str = "\
[server]
name = \"irc.test\"
id = 1
network = \"TestNet\"
password = \"srvpw\"

[limits]
casemapping = \"ascii\"
max_clients = 12
max_clients_per_ip = 4
nick_length = 9

[[oper]]
name = \"admin\"
password = \"pw\"

[[oper]]
name = \"boss\"
password = \"pw\"
level = \"manager\"

# A third of its registrations give a wrong server password: the guard would soon lock all
# four addresses out (for up to an hour), and the run would go on with nobody registered.
[testing]
auth_window_ms = 0
";

fn client_fuzz(config: &str, seed: u64, steps: usize) -> Fuzz {
    let mut f = Fuzz::new(config, seed);
    for _ in 0..4 {
        f.register();
    }
    for i in 0..steps {
        f.replenish();
        f.chaos();
        f.client_step();
        if i % 20 == 0 {
            f.probe();
        }
    }
    f.teardown();
    f
}

/// The inputs that found each bug, replayed through the same checks.
#[test]
fn fuzz_regressions() {
    let config = format!("{BASE_CONFIG}{FUZZ_CONFIG}{NG_PORTAL}");
    let mut f = Fuzz::new(&config, 1);
    let a = f.user("alice", "");
    let b = f.user("bob", "message-tags server-time");
    let leaf = f.link_native("leaf.test", 2).expect("leaf links");
    let hub = f.link_native("hub.test", 3).expect("hub links");
    let ng = f.link_rfc().expect("ng links");

    // A client tag with a raw CR was relayed as is: the line broke in two.
    f.feed(a, b"@+a=b\rc;+ok=1 PRIVMSG bob :hi");
    assert_eq!(f.got_by(b).len(), 1);
    assert!(f.got_by(b)[0].contains("+ok=1") && !f.got_by(b)[0].contains("+a="));
    // Client tags near 8191 bytes plus server-time overflowed the tag section. A client
    // may send 4094 bytes of tags now (more gets 417): the most, plus msgid and time.
    let long = format!("@+long={} PRIVMSG bob :hi", "v".repeat(4094 - 6));
    f.feed(a, long.as_bytes());
    assert_eq!(f.got_by(b).len(), 1);

    // An SJOIN naming no known member left an empty channel behind.
    f.feed(leaf, b":leaf.test SJOIN 1 #ghosts + :@ghost alice");
    assert!(f.w.find_channel(b"#ghosts").is_none());
    assert!(f.got_by(hub).is_empty() && f.got_by(ng).is_empty());

    // A relayed line with a raw CR (in a parameter or in the tags) reached other links.
    f.feed(leaf, b":leaf.test NEWTHING a\rb");
    assert_eq!(f.got_by(hub), vec![":leaf.test NEWTHING ab\\x0d\\x0a"]);
    f.feed(leaf, b"@+a=b\rc :leaf.test NEWTHING x");
    assert_eq!(
        f.got_by(hub),
        vec!["@+a=bc :leaf.test NEWTHING x\\x0d\\x0a"]
    );

    // Servers without a usable name or ID were added to the network.
    let servers = f.w.servers.len();
    for line in [
        &b":leaf.test SERVER *.test 2 7 :x"[..],
        b":leaf.test SERVER",
        b":leaf.test SERVER x.test 2 0 :x",
        b":leaf.test SERVER x.test 2 :x",
    ] {
        f.feed(leaf, line);
    }
    assert_eq!(f.w.servers.len(), servers);

    // A channel key from an SJOIN was kept raw: `a,b` can never be given in a JOIN.
    f.feed(
        leaf,
        b":leaf.test NICK rem 2 1700000000000 ~u h.test 2 + :Rem",
    );
    f.feed(leaf, b":leaf.test SJOIN 1 #k +k a,b :@rem");
    let ch = f.w.find_channel(b"#k").expect("#k exists");
    assert_eq!(f.w.channels[ch].key.as_deref(), Some("ab"));

    // Tags of a relayed line, a short BMASK or TB, reached ngIRCd in native form.
    f.feed(leaf, b"@+x=y :rem MODE #k +i");
    assert_eq!(f.got_by(ng), vec![":rem MODE #k +i\\x0d\\x0a"]);
    f.feed(leaf, b":leaf.test BMASK 1 #k b");
    f.feed(leaf, b":leaf.test TB #k 5");
    assert!(f.got_by(ng).is_empty());

    // Something that is no command at all was relayed to every link.
    f.feed(leaf, b"@+x=y :leaf.test @ x");
    f.feed(leaf, b":leaf.test \xff\xfe x");
    assert!(f.got_by(hub).is_empty() && f.got_by(ng).is_empty());
    f.teardown();
}

/// Steps per seed (each a line, a tick or a drop, plus a probe every 20).
const STEPS: usize = 5000;

/// A run that never got far (no remote users, no relinks) tests little: the generator
/// must keep reaching the interesting states.
fn assert_coverage(f: &Fuzz, remote: bool) {
    let ok = f.probes > 100
        && f.max_channels >= 5
        && (!remote || f.max_remote >= 5 && f.max_servers >= 5 && f.linked >= 3);
    assert!(
        ok,
        "seed {:#x}: {} probes, at most {} channels, {} remote users, {} servers; {} links made",
        f.seed, f.probes, f.max_channels, f.max_remote, f.max_servers, f.linked
    );
}

#[test]
fn fuzz_clients() {
    let config = format!("{BASE_CONFIG}{FUZZ_CONFIG}");
    for seed in [0x5eed_0001, 0xdead_beef, 0x1234_5678_9abc] {
        assert_coverage(&client_fuzz(&config, seed, STEPS), false);
    }
    assert_coverage(&client_fuzz(STRICT_CONFIG, 0x5eed_0002, STEPS), false);
}

#[test]
fn fuzz_native_portals() {
    let config = format!("{BASE_CONFIG}{FUZZ_CONFIG}");
    // Valid ACCESS lines from links are rare by design (most are junk to refuse): counted
    // over the three seeds, run twice as long as the others (at STEPS they fell to 6 when
    // issue 11 changed what some client lines do, which sent the runs down other paths).
    let mut access_total = 0;
    for seed in [0x11_0001, 0xfeed_f00d, 0x2222_3333_4444] {
        let f = portal_fuzz(&config, NATIVE, seed, 2 * STEPS);
        assert_coverage(&f, true);
        // IRCX properties from links (PROP, BPROP) were applied, not only refused.
        assert!(
            f.remote_props >= 3,
            "seed {seed:#x}: {} property changes from links",
            f.remote_props
        );
        // Per seed it depends on the command table's order (client commands are picked
        // from it, which shifts the random stream): only the total is asserted.
        access_total += f.remote_access;
    }
    assert!(
        access_total >= 6,
        "{access_total} access changes from links (over three seeds)"
    );
}

#[test]
fn fuzz_rfc2813_portal() {
    let config = format!("{BASE_CONFIG}{FUZZ_CONFIG}{NG_PORTAL}");
    for seed in [0x33_0001, 0xabad_1dea, 0x5555_6666_7777] {
        assert_coverage(&portal_fuzz(&config, MIXED, seed, STEPS), true);
    }
}

/// A longer search, off by default: `FUZZ_SEEDS=50 FUZZ_WHICH=client|strict|native|rfc2813
/// cargo test --release --lib fuzz_search -- --ignored`.
#[test]
#[ignore]
fn fuzz_search() {
    let n: u64 = std::env::var("FUZZ_SEEDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10);
    let which = std::env::var("FUZZ_WHICH").unwrap_or_default();
    let native = format!("{BASE_CONFIG}{FUZZ_CONFIG}");
    let mixed = format!("{BASE_CONFIG}{FUZZ_CONFIG}{NG_PORTAL}");
    for seed in 1..=n {
        let seed = seed * 7919;
        match which.as_str() {
            "client" => drop(client_fuzz(&native, seed, 20 * STEPS)),
            "strict" => drop(client_fuzz(STRICT_CONFIG, seed, 20 * STEPS)),
            "native" => drop(portal_fuzz(&native, NATIVE, seed, 20 * STEPS)),
            _ => drop(portal_fuzz(&mixed, MIXED, seed, 20 * STEPS)),
        }
    }
}
