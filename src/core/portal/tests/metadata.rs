//! draft/metadata-2 over links: channels' keys as the IRCX properties they are (PROP,
//! BPROP), users' keys with the `METADATA` link capability; nothing to ngIRCd or to peers
//! without the capability.

use super::*;

const NOW: u64 = 1700000000000;

/// A user who negotiated draft/metadata-2, welcome burst taken.
fn meta_user(t: &mut TestWorld, nick: &str) -> ConnId {
    let c = t.user_with_caps(nick, "draft/metadata-2");
    t.take(c);
    c
}

/// alice (metadata, op, subscribed to `url`) in #c; peer.test (IRCX and METADATA) with
/// nora in #c, far.test (IRCX only) with olly in #c, and ngIRCd (ng.test). All taken.
fn room() -> (TestWorld, [ConnId; 4]) {
    let mut t = TestWorld::with_portals();
    let new = t.link("peer.test", 2, ALL_META, 2);
    let old = t.link("far.test", 3, ALL_IRCX, 2);
    let ng = t.link_ngircd("ng.test");
    let alice = meta_user(&mut t, "alice");
    t.feed(alice, "METADATA * SUB url");
    t.feed(alice, "JOIN #c");
    seat_remotes(&mut t, new, old, NOW);
    for c in [new, old, ng, alice] {
        t.take(c);
    }
    (t, [new, old, ng, alice])
}

#[test]
fn a_channel_key_travels_as_a_property_to_ircx_links() {
    let (mut t, [new, old, ng, alice]) = room();
    t.feed(alice, "METADATA #c SET url :https://c.example");
    let want = format!(":alice PROP #c url {NOW} :https://c.example");
    assert_eq!(t.take(new), std::slice::from_ref(&want));
    // Every IRCX peer gets it (a release without free-form properties drops it).
    assert_eq!(t.take(old), [want]);
    assert_eq!(t.take(ng), Vec::<String>::new());
    assert_eq!(
        t.take(alice),
        [":irc.test 761 alice #c url * :https://c.example"]
    );
    // From a peer: stored, and local subscribers hear of it.
    t.feed(
        new,
        &format!(":nora PROP #c url {} :https://n.example", NOW + 1),
    );
    assert_eq!(
        t.take(alice),
        [":nora!~nora@new.host METADATA #c url * :https://n.example"]
    );
    assert_eq!(
        t.take(old),
        [format!(":nora PROP #c url {} :https://n.example", NOW + 1)]
    );
    // An older set loses.
    t.feed(new, &format!(":nora PROP #c url {} :stale", NOW - 1));
    assert_eq!(t.take(alice), Vec::<String>::new());
    // A bad key or value is dropped.
    t.feed(new, &format!(":nora PROP #c $bad {} :x", NOW + 2));
    t.feed(
        new,
        &format!(":nora PROP #c url {} :{}", NOW + 2, "v".repeat(256)),
    );
    assert_eq!(t.take(alice), Vec::<String>::new());
    assert_eq!(
        t.ask(alice, "METADATA #c GET url"),
        [":irc.test 761 alice #c url * :https://n.example"]
    );
}

#[test]
fn the_burst_carries_channel_and_user_keys() {
    let mut t = TestWorld::with_portals();
    let alice = meta_user(&mut t, "alice");
    t.feed(alice, "JOIN #c");
    t.feed(alice, "METADATA #c SET url :https://c.example");
    t.feed(alice, "METADATA * SET avatar :https://a.example");
    let new = t.link("peer.test", 2, ALL_META, 2);
    let old = t.link("far.test", 3, ALL_IRCX, 2);
    let ng = t.link_ngircd("ng.test");
    let meta = |lines: Vec<String>| -> Vec<String> {
        lines
            .into_iter()
            .filter(|l| l.contains(" url ") || l.contains(" avatar "))
            .collect()
    };
    assert_eq!(
        meta(t.take(new)),
        [
            format!(":alice METADATA alice avatar {NOW} :https://a.example"),
            format!(":irc.test BPROP {NOW} #c url {NOW} :https://c.example"),
        ]
    );
    assert_eq!(
        meta(t.take(old)),
        [format!(
            ":irc.test BPROP {NOW} #c url {NOW} :https://c.example"
        )]
    );
    assert_eq!(meta(t.take(ng)), Vec::<String>::new());
}

#[test]
fn a_users_keys_travel_to_metadata_links_only() {
    let (mut t, [new, old, ng, alice]) = room();
    t.feed(alice, "METADATA * SET url :https://a.example");
    assert_eq!(
        t.take(new),
        [format!(
            ":alice METADATA alice url {NOW} :https://a.example"
        )]
    );
    assert_eq!(t.take(old), Vec::<String>::new());
    assert_eq!(t.take(ng), Vec::<String>::new());
    // A delete in the same millisecond is stamped after the set, or other servers keep
    // the set (equal times: the greater value).
    t.feed(alice, "METADATA * SET url");
    assert_eq!(
        t.take(new),
        [format!(":alice METADATA alice url {} :", NOW + 1)]
    );
}

#[test]
fn a_remote_users_key_is_applied_told_and_checked() {
    let (mut t, [new, _, _, alice]) = room();
    t.feed(
        new,
        &format!(":nora METADATA nora url {} :https://n.example", NOW),
    );
    assert_eq!(
        t.take(alice),
        [":nora!~nora@new.host METADATA nora url * :https://n.example"]
    );
    assert_eq!(
        t.ask(alice, "METADATA nora GET url"),
        [":irc.test 761 alice nora url * :https://n.example"]
    );
    // Only the user sets their own keys; bad keys, values and times are dropped.
    for bad in [
        format!(":nora METADATA alice url {NOW} :spoof"),
        format!(":nora METADATA nora URL {NOW} :x"),
        ":nora METADATA nora url soon :x".to_string(),
        format!(":nora METADATA nora url {} :future", NOW + 48 * 3600 * 1000),
        format!(":nora METADATA nora url {} :older", NOW - 1),
    ] {
        t.feed(new, &bad);
    }
    assert_eq!(t.take(alice), Vec::<String>::new());
    assert!(t.w.user_meta(t.w.find_nick(b"alice").unwrap()).is_empty());
    // A delete.
    t.feed(new, &format!(":nora METADATA nora url {} :", NOW + 1));
    assert_eq!(t.take(alice), [":nora!~nora@new.host METADATA nora url *"]);
}
