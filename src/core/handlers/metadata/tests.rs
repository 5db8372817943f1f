//! METADATA transcripts: each subcommand with its replies and refusals (the draft's own
//! examples where it has them), notifications, and PROP and METADATA as two views of one
//! channel store.

use crate::core::testing::TestWorld;
use crate::core::ConnId;

const ALICE: &str = ":alice!~alice@127.0.0.1";

/// A user who negotiated draft/metadata-2, welcome burst taken.
fn meta_user(t: &mut TestWorld, nick: &str) -> ConnId {
    let c = t.user_with_caps(nick, "draft/metadata-2");
    t.take(c);
    c
}

/// alice (metadata, op of #c), bob (metadata, subscribed to `url`), carol (IRCX, no
/// metadata) in #c. Everything sent so far is taken.
fn room() -> (TestWorld, [ConnId; 3]) {
    let mut t = TestWorld::new();
    let a = meta_user(&mut t, "alice");
    let b = meta_user(&mut t, "bob");
    let c = t.user("carol");
    t.feed(c, "IRCX");
    t.feed(b, "METADATA * SUB url");
    for who in [a, b, c] {
        t.feed(who, "JOIN #c");
    }
    for who in [a, b, c] {
        t.take(who);
    }
    (t, [a, b, c])
}

#[test]
fn cap_ls_302_carries_the_limits() {
    let mut t = TestWorld::new();
    let c = t.connect();
    let ls = t.ask(c, "CAP LS 302").join("\n");
    assert!(
        ls.contains(" draft/metadata-2=max-subs=50,max-keys=20,max-value-bytes=255 "),
        "{ls}"
    );
    let old = t.connect();
    let ls = t.ask(old, "CAP LS").join("\n");
    assert!(ls.contains(" draft/metadata-2 "), "{ls}");
    assert_eq!(
        t.ask(c, "CAP REQ :draft/metadata-2"),
        [":irc.test CAP * ACK :draft/metadata-2"]
    );
}

#[test]
fn set_get_list_and_delete_on_self() {
    let (mut t, [a, _, _]) = room();
    assert_eq!(
        t.ask(a, "METADATA * SET url :http://www.example.com"),
        [":irc.test 761 alice alice url * :http://www.example.com"]
    );
    t.feed(a, "METADATA * SET im.xmpp :alice@xmpp.example.com");
    t.take(a);
    assert_eq!(
        t.ask(a, "METADATA alice GET blargh splot im.xmpp"),
        [
            ":irc.test 766 alice alice blargh :key not set",
            ":irc.test 766 alice alice splot :key not set",
            ":irc.test 761 alice alice im.xmpp * :alice@xmpp.example.com",
        ]
    );
    assert_eq!(
        t.ask(a, "METADATA * LIST"),
        [
            ":irc.test 761 alice alice url * :http://www.example.com",
            ":irc.test 761 alice alice im.xmpp * :alice@xmpp.example.com",
        ]
    );
    assert_eq!(
        t.ask(a, "METADATA * SET url"),
        [":irc.test 766 alice alice url :key not set"]
    );
    assert_eq!(
        t.ask(a, "METADATA * SET url"),
        [":irc.test FAIL METADATA KEY_NOT_SET alice url :Key not set"]
    );
    // Anyone reads a user's metadata.
    let (mut t, [a, b, _]) = room();
    t.feed(a, "METADATA * SET url :x");
    t.take(a);
    t.take(b);
    assert_eq!(
        t.ask(b, "METADATA alice GET url"),
        [":irc.test 761 bob alice url * :x"]
    );
}

#[test]
fn refusals_use_the_drafts_fail_codes() {
    let (mut t, [a, _, _]) = room();
    let cases = [
        (
            "METADATA $a:user SET url :http://www.example.com",
            ":irc.test FAIL METADATA INVALID_TARGET $a:user :Invalid target",
        ),
        (
            "METADATA * SET $url$ :http://www.example.com",
            ":irc.test FAIL METADATA KEY_INVALID $url$ :Invalid key",
        ),
        (
            "METADATA bob SET url :http://www.example.com",
            ":irc.test FAIL METADATA KEY_NO_PERMISSION bob url :Permission denied",
        ),
        (
            "METADATA bob CLEAR",
            ":irc.test FAIL METADATA KEY_NO_PERMISSION bob * :Permission denied",
        ),
        (
            "METADATA * destr0y",
            ":irc.test FAIL METADATA SUBCOMMAND_INVALID destr0y :Invalid subcommand",
        ),
        (
            "METADATA nobody LIST",
            ":irc.test FAIL METADATA INVALID_TARGET nobody :Invalid target",
        ),
        (
            "METADATA * GET",
            ":irc.test 461 alice METADATA :Not enough parameters",
        ),
        (
            "METADATA *",
            ":irc.test 461 alice METADATA :Not enough parameters",
        ),
    ];
    for (line, want) in cases {
        assert_eq!(t.ask(a, line), [want], "{line}");
    }
    let long = "v".repeat(256);
    assert_eq!(
        t.ask(a, &format!("METADATA * SET url :{long}")),
        [":irc.test FAIL METADATA VALUE_INVALID :Invalid value"]
    );
    t.feed(a, "METADATA * SET url :\u{ff}");
    t.feed_bytes(a, b"METADATA * SET url :\xff\xfe");
    assert_eq!(
        t.take(a),
        [
            ":irc.test 761 alice alice url * :\u{ff}",
            ":irc.test FAIL METADATA VALUE_INVALID :Invalid value",
        ]
    );
}

#[test]
fn a_user_holds_at_most_max_keys() {
    let (mut t, [a, _, _]) = room();
    for i in 0..20 {
        t.feed(a, &format!("METADATA * SET k{i} :v"));
    }
    assert_eq!(t.take(a).len(), 20);
    assert_eq!(
        t.ask(a, "METADATA * SET k20 :v"),
        [":irc.test FAIL METADATA LIMIT_REACHED alice :Metadata limit reached"]
    );
    // Changing one that is there is no new key.
    assert_eq!(
        t.ask(a, "METADATA * SET k0 :w"),
        [":irc.test 761 alice alice k0 * :w"]
    );
}

#[test]
fn subscriptions_follow_the_drafts_examples() {
    let mut t = TestWorld::new();
    let m = meta_user(&mut t, "modernclient");
    assert_eq!(
        t.ask(m, "METADATA * SUB avatar website foo bar"),
        [":irc.test 770 modernclient :avatar website foo bar"]
    );
    assert_eq!(
        t.ask(m, "METADATA * UNSUB foo bar"),
        [":irc.test 771 modernclient :foo bar"]
    );
    assert_eq!(
        t.ask(m, "METADATA * SUBS"),
        [":irc.test 772 modernclient :avatar website"]
    );
    assert_eq!(
        t.ask(m, "METADATA * SUB foo $url bar"),
        [
            ":irc.test FAIL METADATA KEY_INVALID $url :Invalid key",
            ":irc.test 770 modernclient :foo bar",
        ]
    );
    // Up to max-subs (50): the first key past it stops the rest. Replies too long for
    // one line are split.
    let more: Vec<String> = (0..46).map(|i| format!("a-rather-long-key-{i}")).collect();
    for part in more[..40].chunks(20) {
        let got = t.ask(m, &format!("METADATA * SUB {}", part.join(" ")));
        assert_eq!(got.len(), 2, "{got:?}");
        let keys: Vec<&str> = got
            .iter()
            .inspect(|l| assert!(l.starts_with(":irc.test 770 modernclient :"), "{l}"))
            .flat_map(|l| l.split_once(" :").unwrap().1.split(' '))
            .collect();
        assert_eq!(keys, part);
    }
    let rest = more[40..].join(" ");
    assert_eq!(
        t.ask(m, &format!("METADATA * SUB {rest} website email city")),
        [
            ":irc.test FAIL METADATA TOO_MANY_SUBS email :Too many subscriptions".to_string(),
            format!(":irc.test 770 modernclient :{rest} website"),
        ]
    );
    let subs = t.ask(m, "METADATA * SUBS");
    assert!(subs.len() > 1, "long lists are split: {subs:?}");
    let all: Vec<&str> = subs
        .iter()
        .inspect(|l| assert!(l.len() <= 510, "{l}"))
        .flat_map(|l| l.split_once(" :").unwrap().1.split(' '))
        .collect();
    assert_eq!(all.len(), 50);
    assert!(!all.contains(&"email"));
    // No subscriptions: no replies.
    let other = meta_user(&mut t, "other");
    assert_eq!(t.ask(other, "METADATA * SUBS"), Vec::<String>::new());
}

#[test]
fn subscribers_sharing_a_channel_hear_of_user_changes() {
    let (mut t, [a, b, c]) = room();
    t.feed(a, "METADATA * SET url :http://a.example");
    assert_eq!(
        t.take(b),
        [format!("{ALICE} METADATA alice url * :http://a.example")]
    );
    assert_eq!(t.take(c), Vec::<String>::new(), "no capability");
    assert_eq!(
        t.take(a),
        [":irc.test 761 alice alice url * :http://a.example"]
    );
    // Not subscribed to this key: nothing.
    t.feed(a, "METADATA * SET avatar :x");
    assert_eq!(t.take(b), Vec::<String>::new());
    t.feed(a, "METADATA * SET url");
    assert_eq!(t.take(b), [format!("{ALICE} METADATA alice url *")]);
    // Unsubscribed: nothing more.
    t.feed(b, "METADATA * UNSUB url");
    t.take(b);
    t.feed(a, "METADATA * SET url :again");
    assert_eq!(t.take(b), Vec::<String>::new());
}

#[test]
fn channel_keys_are_for_hosts_to_set_and_members_to_hear() {
    let (mut t, [a, b, c]) = room();
    assert_eq!(
        t.ask(a, "METADATA #c SET url :http://www.example.com"),
        [":irc.test 761 alice #c url * :http://www.example.com"]
    );
    assert_eq!(
        t.take(b),
        [format!("{ALICE} METADATA #c url * :http://www.example.com")]
    );
    // The IRCX member sees the same change as PROP.
    assert_eq!(
        t.take(c),
        [format!("{ALICE} PROP #c url :http://www.example.com")]
    );
    assert_eq!(
        t.ask(b, "METADATA #c SET url :mine"),
        [":irc.test FAIL METADATA KEY_NO_PERMISSION #c url :Permission denied"]
    );
    assert_eq!(
        t.ask(b, "METADATA #c CLEAR"),
        [":irc.test FAIL METADATA KEY_NO_PERMISSION #c * :Permission denied"]
    );
}

#[test]
fn prop_and_metadata_are_two_views_of_one_store() {
    let (mut t, [a, b, c]) = room();
    t.feed(a, "MODE #c +o carol");
    t.feed(b, "METADATA * SUB subject");
    for who in [a, b, c] {
        t.take(who);
    }
    // PROP sets an IRCX property; METADATA reads it under its lowercase name, and its
    // subscribers hear of it.
    t.feed(c, "PROP #c SUBJECT :Rust");
    assert_eq!(t.take(c), [":carol!~carol@127.0.0.1 PROP #c SUBJECT :Rust"]);
    assert_eq!(
        t.take(b),
        [":carol!~carol@127.0.0.1 METADATA #c subject * :Rust"]
    );
    assert_eq!(
        t.ask(a, "METADATA #c GET subject"),
        [":irc.test 761 alice #c subject * :Rust"]
    );
    // METADATA sets it; PROP reads it, and IRCX members see the PROP echo.
    assert_eq!(
        t.ask(a, "METADATA #c SET subject :Go"),
        [":irc.test 761 alice #c subject * :Go"]
    );
    assert_eq!(t.take(c), [format!("{ALICE} PROP #c SUBJECT :Go")]);
    assert_eq!(
        t.ask(c, "PROP #c SUBJECT"),
        [
            ":irc.test 818 carol #c SUBJECT :Go",
            ":irc.test 819 carol #c :End of properties",
        ]
    );
    // A free-form key: set by either, listed by both.
    t.feed(c, "PROP #c WEBSITE :https://example.org");
    t.feed(a, "METADATA #c SET avatar :https://example.org/a.png");
    t.take(a);
    t.take(c);
    assert_eq!(
        t.ask(a, "METADATA #c GET website avatar"),
        [
            ":irc.test 761 alice #c website * :https://example.org",
            ":irc.test 761 alice #c avatar * :https://example.org/a.png",
        ]
    );
    let props = t.ask(c, "PROP #c *");
    assert!(
        props.ends_with(&[
            ":irc.test 818 carol #c website :https://example.org".to_string(),
            ":irc.test 818 carol #c avatar :https://example.org/a.png".to_string(),
            ":irc.test 819 carol #c :End of properties".to_string(),
        ]),
        "{props:?}"
    );
    // PROP deletes what METADATA set.
    t.feed(c, "PROP #c AVATAR :");
    assert_eq!(
        t.ask(a, "METADATA #c GET avatar"),
        [":irc.test 766 alice #c avatar :key not set"]
    );
}

#[test]
fn ircx_keys_and_computed_properties_are_not_settable_here() {
    let (mut t, [a, _, c]) = room();
    t.feed(a, "METADATA #c SET subject :s");
    t.take(a);
    t.take(c);
    for key in ["hostkey", "ownerkey", "memberkey", "account", "clientguid"] {
        assert_eq!(
            t.ask(a, &format!("METADATA #c SET {key} :pw")),
            [format!(
                ":irc.test FAIL METADATA KEY_NO_PERMISSION #c {key} :Permission denied"
            )]
        );
        assert_eq!(
            t.ask(a, &format!("METADATA #c GET {key}")),
            [format!(
                ":irc.test FAIL METADATA KEY_NO_PERMISSION #c {key} :Permission denied"
            )]
        );
    }
    for key in ["topic", "oid", "name", "creation", "lag"] {
        assert_eq!(
            t.ask(a, &format!("METADATA #c SET {key} :x")),
            [format!(
                ":irc.test FAIL METADATA KEY_NO_PERMISSION #c {key} :Permission denied"
            )]
        );
    }
    // IRCX's own length limit holds in both views (LANGUAGE: 31 bytes).
    assert_eq!(
        t.ask(a, &format!("METADATA #c SET language :{}", "l".repeat(32))),
        [":irc.test FAIL METADATA VALUE_INVALID :Invalid value"]
    );
    // LIST: the readable IRCX properties and the free-form keys.
    let ch = t.w.find_channel(b"#c").unwrap();
    let (oid, created) = (t.w.channels[ch].oid_str(), t.w.channels[ch].created);
    assert_eq!(
        t.ask(a, "METADATA #c LIST"),
        [
            format!(":irc.test 761 alice #c oid * :{oid}"),
            ":irc.test 761 alice #c name * :#c".to_string(),
            format!(":irc.test 761 alice #c creation * :{created}"),
            ":irc.test 761 alice #c subject * :s".to_string(),
        ]
    );
    assert_eq!(t.take(c), Vec::<String>::new());
}

#[test]
fn a_channel_holds_at_most_max_free_keys() {
    let (mut t, [a, _, _]) = room();
    for i in 0..20 {
        t.feed(a, &format!("METADATA #c SET k{i} :v"));
    }
    t.feed(a, "METADATA #c SET subject :IRCX properties do not count");
    assert_eq!(t.take(a).len(), 21);
    assert_eq!(
        t.ask(a, "METADATA #c SET k20 :v"),
        [":irc.test FAIL METADATA LIMIT_REACHED #c :Metadata limit reached"]
    );
}

#[test]
fn clear_deletes_what_the_user_may_set() {
    let (mut t, [a, b, _]) = room();
    t.feed(a, "METADATA * SET url :u");
    t.feed(a, "METADATA * SET avatar :v");
    t.feed(a, "METADATA #c SET url :c");
    t.feed(a, "METADATA #c SET subject :s");
    t.take(a);
    t.take(b);
    assert_eq!(
        t.ask(a, "METADATA * CLEAR"),
        [
            ":irc.test 766 alice alice url :key not set",
            ":irc.test 766 alice alice avatar :key not set",
        ]
    );
    assert_eq!(t.take(b), [format!("{ALICE} METADATA alice url *")]);
    assert_eq!(
        t.ask(a, "METADATA #c CLEAR"),
        [
            ":irc.test 766 alice #c subject :key not set",
            ":irc.test 766 alice #c url :key not set",
        ]
    );
    assert_eq!(t.take(b), [format!("{ALICE} METADATA #c url *")]);
    assert_eq!(t.ask(a, "METADATA #c LIST").len(), 3, "oid, name, creation");
    assert!(t.w.metadata.users.is_empty());
}

#[test]
fn join_and_sync_send_what_the_client_follows() {
    let (mut t, [a, b, _]) = room();
    t.feed(a, "METADATA * SET url :alice.example");
    t.feed(a, "METADATA #c SET url :c.example");
    t.feed(a, "METADATA #c SET other :not followed");
    t.take(a);
    t.take(b);
    assert_eq!(
        t.ask(b, "METADATA #c SYNC"),
        [
            ":irc.test METADATA #c url * :c.example",
            ":irc.test METADATA alice url * :alice.example",
        ]
    );
    assert_eq!(
        t.ask(b, "METADATA alice SYNC"),
        [":irc.test METADATA alice url * :alice.example"]
    );
    // A joining subscriber gets the same after NAMES.
    t.feed(b, "PART #c");
    t.take(b);
    let got = t.ask(b, "JOIN #c");
    let after_names: Vec<&String> = got
        .iter()
        .skip_while(|l| !l.contains(" 366 "))
        .skip(1)
        .collect();
    assert_eq!(
        after_names,
        [
            ":irc.test METADATA #c url * :c.example",
            ":irc.test METADATA alice url * :alice.example",
        ]
    );
    // Without subscriptions (or the capability) a JOIN sends no metadata.
    let (mut t, [a, _, c]) = room();
    t.feed(a, "METADATA #c SET url :c.example");
    t.feed(c, "PART #c");
    t.take(c);
    assert!(t.ask(c, "JOIN #c").iter().all(|l| !l.contains("METADATA")));
}

#[test]
fn secret_channels_keep_their_keys_from_outsiders() {
    let (mut t, [a, _, _]) = room();
    t.feed(a, "MODE #c +s");
    t.feed(a, "METADATA #c SET url :hidden");
    t.take(a);
    let out = meta_user(&mut t, "outsider");
    assert_eq!(
        t.ask(out, "METADATA #c GET url"),
        [":irc.test FAIL METADATA KEY_NO_PERMISSION #c url :Permission denied"]
    );
    assert_eq!(t.ask(out, "METADATA #c LIST"), Vec::<String>::new());
    assert_eq!(
        t.ask(out, "METADATA #c SYNC"),
        [":irc.test FAIL METADATA KEY_NO_PERMISSION #c * :Permission denied"]
    );
}

#[test]
fn a_leaving_user_takes_their_metadata_and_subscriptions() {
    let (mut t, [a, b, _]) = room();
    t.feed(a, "METADATA * SET url :x");
    t.drop_conn(a, "bye");
    t.drop_conn(b, "bye");
    assert!(t.w.metadata.users.is_empty());
    assert!(t.w.metadata.subs.is_empty());
}
