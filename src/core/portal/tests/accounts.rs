//! Account names across portals: the ACCOUNT link capability (burst and changes), peers
//! without it, and ngIRCd's `METADATA … accountname`.

use super::{alice_and_ng_user, user_caps, ALL_IRCX};
use crate::config::hash_password;
use crate::core::testing::{TestWorld, BASE_CONFIG, PORTALS};
use crate::core::ConnId;

/// The portals, and `ann` with password `secret`.
fn world() -> TestWorld {
    let hash = hash_password(b"secret").unwrap();
    TestWorld::with_config(&format!(
        "{BASE_CONFIG}\n[[account]]\nname = \"ann\"\npassword = \"{hash}\"\n{PORTALS}"
    ))
}

/// alice, logged in as ann after registering (SASL).
fn ann(t: &mut TestWorld) -> ConnId {
    let a = user_caps(t, "alice", "sasl");
    t.feed(a, "AUTHENTICATE PLAIN");
    t.feed(a, "AUTHENTICATE AGFubgBzZWNyZXQ=");
    assert!(t.take(a).iter().any(|l| l.contains(" 903 ")));
    a
}

#[test]
fn the_burst_and_changes_carry_the_account_to_peers_that_offer_it() {
    let mut t = world();
    let _a = ann(&mut t);
    let peer = t.link("peer.test", 2, &format!("ACCOUNT {ALL_IRCX}"), 2);
    let burst = t.take(peer);
    let nick = burst
        .iter()
        .position(|l| l.contains(" NICK alice "))
        .unwrap();
    assert_eq!(burst[nick + 1], ":alice ACCOUNT ann");
    // A peer without the capability hears nothing of it.
    let old = t.link("far.test", 3, ALL_IRCX, 2);
    assert!(!t.take(old).iter().any(|l| l.contains(" ACCOUNT ")));
    // A user logging in after registering: the peer hears it at once.
    let b = user_caps(&mut t, "bob", "sasl");
    t.take(peer);
    t.take(old);
    t.feed(b, "AUTHENTICATE PLAIN");
    t.feed(b, "AUTHENTICATE AGFubgBzZWNyZXQ=");
    assert_eq!(t.take(peer), vec![":bob ACCOUNT ann"]);
    assert!(t.take(old).is_empty());
}

#[test]
fn a_remote_users_account_is_seen_here() {
    let mut t = world();
    let c = user_caps(&mut t, "carol", "account-notify extended-join");
    t.feed(c, "JOIN #c");
    let peer = t.link("peer.test", 2, &format!("ACCOUNT {ALL_IRCX}"), 2);
    t.feed(
        peer,
        ":peer.test NICK rob 1 1700000000000 ~rob far.host 2 + :Rob",
    );
    t.feed(peer, ":rob ACCOUNT robert");
    t.feed(peer, ":peer.test SJOIN 1700000000000 #c + :rob");
    t.take(c);
    let rob = t.w.find_nick(b"rob").unwrap();
    assert_eq!(t.w.account(rob), Some("robert"));
    assert!(t
        .ask(c, "WHOIS rob")
        .contains(&":irc.test 330 carol rob robert :is logged in as".to_string()));
    // Logged out over the link: account-notify here, and on to the other links.
    let far = t.link("far.test", 3, &format!("ACCOUNT {ALL_IRCX}"), 2);
    t.take(far);
    t.feed(peer, ":rob ACCOUNT *");
    assert_eq!(t.take(c), vec![":rob!~rob@far.host ACCOUNT *"]);
    assert_eq!(t.take(far), vec![":rob ACCOUNT *"]);
    assert_eq!(t.w.account(rob), None);
    // A name we would not pass on counts as logged out.
    t.feed(peer, ":rob ACCOUNT robert");
    t.feed(peer, ":rob ACCOUNT :bad name");
    assert_eq!(t.w.account(rob), None);
}

#[test]
fn ngircd_gets_the_account_as_metadata() {
    let mut t = world();
    let _a = ann(&mut t);
    let ng = t.link_ngircd("ng.test");
    let burst = t.take(ng);
    let nick = burst
        .iter()
        .position(|l| l.contains(" NICK alice "))
        .unwrap();
    assert_eq!(burst[nick + 1], ":irc.test METADATA alice accountname :ann");
}

/// ngIRCd's `METADATA <nick> accountname :<name>` (from services behind it, in its burst
/// or at login) logs its user in here: account-notify, WHOIS 330; an empty value logs out.
#[test]
fn ngircd_metadata_accountname_logs_its_user_in() {
    let mut t = world();
    let (a, ng) = alice_and_ng_user(&mut t, "account-notify", "nina");
    t.feed(ng, ":services.test METADATA nina accountname :nina_acct");
    let nina = t.w.find_nick(b"nina").unwrap();
    assert_eq!(t.w.account(nina), Some("nina_acct"));
    assert_eq!(t.take(a), [":nina!~nina@ng.host ACCOUNT nina_acct"]);
    assert!(t
        .ask(a, "WHOIS nina")
        .contains(&":irc.test 330 alice nina nina_acct :is logged in as".to_string()));
    // Its info key means nothing here (host keys are CHGHOST: see the ngIRCd tests); another user's account is not nina's to set.
    t.feed(ng, ":ng.test METADATA nina info :x.example");
    t.feed(ng, ":ng.test METADATA alice accountname :spoof");
    assert_eq!(t.take(a), Vec::<String>::new());
    assert_eq!(t.w.account(t.w.find_nick(b"alice").unwrap()), None);
    // A name a Portico link could not carry is ignored: nina keeps her account.
    let long = "n".repeat(crate::core::accounts::ACCOUNT_MAX + 1);
    // `*` too: a name on ngIRCd, a logout here.
    for bad in ["two words", "a:b", "ctl\u{1}x", "del\u{7f}", &long, "*"] {
        t.feed(
            ng,
            &format!(":services.test METADATA nina accountname :{bad}"),
        );
    }
    assert_eq!(t.w.account(nina), Some("nina_acct"));
    assert_eq!(t.take(a), Vec::<String>::new());
    let ok = "n".repeat(crate::core::accounts::ACCOUNT_MAX);
    t.feed(
        ng,
        &format!(":services.test METADATA nina accountname :{ok}"),
    );
    assert_eq!(t.w.account(nina), Some(&*ok));
    t.take(a);
    t.feed(ng, ":services.test METADATA nina accountname :");
    assert_eq!(t.w.account(nina), None);
    assert_eq!(t.take(a), [":nina!~nina@ng.host ACCOUNT *"]);
}
