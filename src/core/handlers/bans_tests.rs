//! KLINE, DLINE, GLINE and their UN- forms: replies, who may, disconnection and refusal,
//! expiry, STATS k/d/g/o, the agreement with ACCESS `$`/`*`, and G-lines over links.

use crate::core::testing::{TestWorld, BASE_CONFIG};
use crate::core::ConnId;

/// The link capabilities of a current Portico (with IRCX, which carries `*`).
const ALL_IRCX: &str = "AWAY BMASK EOB IRCX SETNAME TB";
/// The test clock's Unix time (ms).
const NOW: u64 = 1_700_000_000_000;

const OPERS: &str = "[[oper]]\nname = \"admin\"\npassword = \"pw\"\nhost = \"*@127.*\"\n\
                     [[oper]]\nname = \"boss\"\npassword = \"pw\"\nlevel = \"manager\"\n\
                     privileges = [\"kill\", \"die\", \"ban\"]\n";

fn world() -> TestWorld {
    TestWorld::with_config(&format!("{BASE_CONFIG}{OPERS}"))
}

fn oper(t: &mut TestWorld, nick: &str, name: &str) -> ConnId {
    let c = t.user(nick);
    t.feed(c, &format!("OPER {name} pw"));
    t.take(c);
    c
}

fn gone(t: &TestWorld, c: ConnId) -> bool {
    t.closed.iter().any(|(x, _)| *x == c)
}

#[test]
fn kline_disconnects_refuses_lists_and_is_an_access_entry() {
    let mut t = world();
    let o = oper(&mut t, "olga", "admin");
    let bob = t.user("bob");
    t.feed(bob, "USER x");
    assert_eq!(
        t.ask(o, "KLINE 30m ~bob@127.0.0.1 :spamming"),
        vec![":irc.test NOTICE olga :Added K-Line (30 min) for [~bob@127.0.0.1]: spamming"]
    );
    assert!(gone(&t, bob));
    assert_eq!(
        t.take(bob).last().unwrap(),
        "ERROR :Closing Link: 127.0.0.1 (spamming)"
    );
    // A new connection matching it is refused once it registers; others come in.
    let again = t.connect();
    t.feed(again, "NICK bob");
    assert_eq!(
        t.ask(again, "USER bob 0 * :Bob"),
        vec!["ERROR :Closing Link: 127.0.0.1 (spamming)"]
    );
    t.user("carol");
    assert_eq!(
        t.ask(o, "STATS k"),
        vec![
            ":irc.test 216 olga K 127.0.0.1 30 ~bob olga!~olga@127.0.0.1 :spamming",
            ":irc.test 219 olga k :End of /STATS report",
        ]
    );
    // The same entry, seen as IRCX ACCESS $.
    t.feed(o, "IRCX");
    t.take(o);
    assert_eq!(
        t.ask(o, "ACCESS $ LIST"),
        vec![
            ":irc.test 803 olga $ :Start of access entries",
            ":irc.test 804 olga $ DENY *!~bob@127.0.0.1$* 30 olga!~olga@127.0.0.1 :spamming",
            ":irc.test 805 olga $ :End of access entries",
        ]
    );
    assert_eq!(
        t.ask(o, "KLINE ~bob@127.0.0.1"),
        vec![":irc.test NOTICE olga :K-Line for [~bob@127.0.0.1] already exists"]
    );
    assert_eq!(
        t.ask(o, "UNKLINE ~bob@127.0.0.1"),
        vec![":irc.test NOTICE olga :Removed K-Line for [~bob@127.0.0.1]"]
    );
    assert_eq!(
        t.ask(o, "UNKLINE ~bob@127.0.0.1"),
        vec![":irc.test NOTICE olga :No K-Line for [~bob@127.0.0.1]"]
    );
    t.user("bob");
}

#[test]
fn a_temporary_kline_expires() {
    let mut t = world();
    let o = oper(&mut t, "olga", "admin");
    t.feed(o, "KLINE 1 *@127.0.0.1 :cool off");
    let c = t.connect();
    t.feed(c, "NICK bob");
    assert_eq!(
        t.ask(c, "USER bob 0 * :Bob"),
        vec!["ERROR :Closing Link: 127.0.0.1 (cool off)"]
    );
    t.tick(61_000);
    t.user("bob");
    t.take(o);
    assert_eq!(
        t.ask(o, "STATS k"),
        vec![":irc.test 219 olga k :End of /STATS report"]
    );
}

#[test]
fn dline_takes_addresses_and_cidr_ranges() {
    let mut t = world();
    let o = oper(&mut t, "olga", "admin");
    let bob = t.user("bob");
    assert_eq!(
        t.ask(o, "DLINE 10.0.0.0/8 :not here"),
        vec![":irc.test NOTICE olga :Added D-Line for [10.0.0.0/8]: not here"]
    );
    assert!(!gone(&t, bob));
    assert_eq!(
        t.ask(o, "DLINE bad.host"),
        vec![
            ":irc.test NOTICE olga :Invalid D-Line mask [bad.host]: use an IP address or CIDR range such as 192.0.2.7 or 198.51.100.0/24"
        ]
    );
    assert_eq!(
        t.ask(o, "DLINE 127.0.0.0/30 :loopback"),
        vec![":irc.test NOTICE olga :Added D-Line for [127.0.0.0/30]: loopback"]
    );
    assert!(gone(&t, bob), "127.0.0.1 is in 127.0.0.0/30");
    assert!(!gone(&t, o), "operators stay");
    assert_eq!(
        t.ask(o, "STATS d"),
        vec![
            ":irc.test 225 olga D 10.0.0.0/8 0 * olga!~olga@127.0.0.1 :not here",
            ":irc.test 225 olga D 127.0.0.0/30 0 * olga!~olga@127.0.0.1 :loopback",
            ":irc.test 219 olga d :End of /STATS report",
        ]
    );
    // D-lines are not K-lines.
    assert_eq!(
        t.ask(o, "STATS k"),
        vec![":irc.test 219 olga k :End of /STATS report"]
    );
    t.feed(o, "UNDLINE 127.0.0.0/30");
    t.take(o);
    t.user("bob");
}

#[test]
fn who_may_ban_and_bad_masks() {
    let mut t = world();
    let u = t.user("ursula");
    assert_eq!(
        t.ask(u, "KLINE *@x.y"),
        vec![":irc.test 481 ursula :Permission Denied- You're not an IRC operator"]
    );
    let o = oper(&mut t, "olga", "admin");
    assert_eq!(
        t.ask(o, "GLINE *@x.y"),
        vec![":irc.test 481 olga :Permission Denied- You're not an IRC operator"]
    );
    assert_eq!(
        t.ask(o, "KLINE *@*"),
        vec![
            ":irc.test NOTICE olga :Invalid K-Line mask [*@*]: use user@host, not one that matches everyone"
        ]
    );
    assert_eq!(
        t.ask(o, "KLINE 10"),
        vec![
            ":irc.test NOTICE olga :Invalid K-Line mask [10]: use user@host, not one that matches everyone"
        ]
    );
    // Lists are for operators.
    assert_eq!(
        t.ask(u, "STATS o"),
        vec![":irc.test 219 ursula o :End of /STATS report"]
    );
    assert_eq!(
        t.ask(o, "STATS o"),
        vec![
            ":irc.test 243 olga O *@127.* * admin sysop :kill,rehash,connect,squit,ban,wallops,see-ips,chghost",
            ":irc.test 243 olga O *@* * boss manager :kill,die,ban",
            ":irc.test 219 olga o :End of /STATS report",
        ]
    );
}

#[test]
fn gline_is_a_network_access_entry_and_crosses_ircx_links() {
    let mut t = TestWorld::with_portals_and(OPERS);
    let m = oper(&mut t, "max", "boss");
    let peer = t.link("peer.test", 2, ALL_IRCX, 2);
    t.take(peer);
    assert_eq!(
        t.ask(m, "GLINE 1h *@spam.example :spam"),
        vec![":irc.test NOTICE max :Added G-Line (60 min) for [*@spam.example]: spam"]
    );
    assert_eq!(
        t.take(peer),
        vec![format!(
            ":max ACCESS * ADD DENY *!*@spam.example$* {} 1700000000 1 max!~max@127.0.0.1 :spam",
            NOW + 3_600_000
        )]
    );
    assert_eq!(
        t.ask(m, "STATS g"),
        vec![
            ":irc.test 247 max G spam.example 60 * max!~max@127.0.0.1 :spam",
            ":irc.test 219 max g :End of /STATS report",
        ]
    );
    t.feed(m, "UNGLINE *@spam.example");
    assert_eq!(
        t.take(peer),
        vec![":max ACCESS * DELETE DENY *!*@spam.example$*".to_string()]
    );
}
