//! Registered channels from `[[channel]]`: there before anyone joins, kept while empty,
//! changed by a reload; `+r` is the server's alone.

use crate::core::testing::{TestWorld, BASE_CONFIG, PORTALS};

const LOBBY: &str = "[[channel]]
name = \"#Lobby\"
topic = \"Welcome\"
modes = \"ntw\"
memberkey = \"sesame\"
hostkey = \"hostpw\"
ownerkey = \"ownerpw\"
[channel.props]
SUBJECT = \"chat\"
ONJOIN = \"Hi\\\\nthere\"
";

const ATTIC: &str = "[[channel]]\nname = \"#attic\"\nmodes = \"\"\n";

fn world(channels: &str) -> TestWorld {
    TestWorld::with_config(&format!("{BASE_CONFIG}{channels}"))
}

#[test]
fn exists_before_anyone_joins() {
    let mut t = world(&format!("{LOBBY}{ATTIC}"));
    let a = t.user("alice");
    t.feed(a, "IRCX");
    t.take(a);
    assert_eq!(
        t.ask(a, "LISTX R=1"),
        vec![
            ":irc.test 811 alice :Start of ListX",
            ":irc.test 812 alice #Lobby +nrtw 0 0 :Welcome",
            ":irc.test 812 alice #attic +r 0 0 :",
            ":irc.test 817 alice :End of ListX",
        ]
    );
    assert_eq!(
        t.ask(a, "LISTX R=0"),
        vec![
            ":irc.test 811 alice :Start of ListX",
            ":irc.test 817 alice :End of ListX",
        ]
    );
    assert_eq!(
        t.ask(a, "MODE #lobby"),
        vec![
            ":irc.test 324 alice #Lobby +nrtwk *",
            ":irc.test 329 alice #Lobby 1700000000",
        ]
    );
    assert_eq!(
        t.ask(a, "TOPIC #lobby"),
        vec![
            ":irc.test 332 alice #Lobby :Welcome",
            ":irc.test 333 alice #Lobby irc.test 1700000000",
        ]
    );
    assert_eq!(
        t.ask(a, "PROP #lobby SUBJECT"),
        vec![
            ":irc.test 818 alice #Lobby SUBJECT :chat",
            ":irc.test 819 alice #Lobby :End of properties",
        ]
    );
    let oid = t.w.channels[t.w.find_channel(b"#lobby").unwrap()].oid_str();
    assert_eq!(
        t.ask(a, &format!("PROP {oid} NAME")),
        vec![
            ":irc.test 818 alice #Lobby NAME :#Lobby".to_string(),
            ":irc.test 819 alice #Lobby :End of properties".to_string(),
        ]
    );
}

#[test]
fn survives_its_last_member_and_keeps_its_keys() {
    let mut t = world(LOBBY);
    let a = t.user("alice");
    let b = t.user("bob");
    assert_eq!(
        t.ask(a, "JOIN #lobby"),
        vec![":irc.test 475 alice #lobby :Cannot join channel (+k)"]
    );
    // The first member of a registered channel is not made a host.
    assert_eq!(
        t.ask(a, "JOIN #lobby sesame"),
        vec![
            ":alice!~alice@127.0.0.1 JOIN #Lobby",
            ":irc.test 332 alice #Lobby :Welcome",
            ":irc.test 333 alice #Lobby irc.test 1700000000",
            ":irc.test 353 alice = #Lobby :alice",
            ":irc.test 366 alice #Lobby :End of /NAMES list",
            ":#Lobby PRIVMSG #Lobby :Hi",
            ":#Lobby PRIVMSG #Lobby :there",
        ]
    );
    t.feed(a, "PART #lobby");
    t.take(a);
    let ch = t.w.find_channel(b"#lobby").expect("still there");
    assert!(t.w.channels[ch].members.is_empty());
    // OWNERKEY makes the joiner an owner, shown as a server mode.
    assert_eq!(
        &t.ask(b, "JOIN #lobby ownerpw")[..2],
        [
            ":bob!~bob@127.0.0.1 JOIN #Lobby",
            ":irc.test MODE #Lobby +q bob",
        ]
    );
    t.feed(b, "QUIT");
    assert_eq!(t.w.find_channel(b"#lobby"), Some(ch));
    // An ordinary channel still goes with its last member.
    t.feed(a, "JOIN #plain");
    t.feed(a, "PART #plain");
    assert_eq!(t.w.find_channel(b"#plain"), None);
}

#[test]
fn only_the_server_sets_r() {
    let mut t = world(LOBBY);
    let a = t.user("alice");
    t.feed(a, "JOIN #lobby hostpw");
    t.feed(a, "JOIN #mine");
    t.take(a);
    let refused = ":irc.test 481 alice :Permission Denied- Only the server sets that mode";
    assert_eq!(t.ask(a, "MODE #lobby -r"), vec![refused]);
    assert_eq!(
        t.ask(a, "MODE #lobby +m-r"),
        vec![refused, ":alice!~alice@127.0.0.1 MODE #Lobby +m"]
    );
    assert_eq!(t.ask(a, "MODE #mine +r"), vec![refused]);
    t.feed(a, "IRCX");
    t.take(a);
    assert_eq!(t.ask(a, "CREATE #new r"), vec![refused]);
    assert_eq!(t.w.find_channel(b"#new"), None);
    let ch = t.w.find_channel(b"#lobby").unwrap();
    assert!(t.w.channels[ch].is_registered());
}

#[test]
fn reload_adds_changes_and_removes() {
    let mut t = world(&format!("{LOBBY}{ATTIC}"));
    let a = t.user("alice");
    let c = t.user("carol");
    t.feed(a, "IRCX");
    t.feed(a, "JOIN #lobby sesame");
    t.feed(c, "JOIN #lobby sesame");
    t.feed(a, "JOIN #attic");
    t.take(a);
    t.take(c);
    let changed = LOBBY
        .replace("Welcome", "New topic")
        .replace("ntw", "ntm")
        .replace("sesame", "opensesame")
        .replace("chat", "talk")
        .replace("hostpw", "hostpw2");
    t.tick(60_000);
    t.reload(&format!(
        "{BASE_CONFIG}{changed}[[channel]]\nname = \"#new\"\nlimit = 5\n"
    ));
    let rfc = vec![
        ":irc.test MODE #Lobby -wk+mk * opensesame",
        ":irc.test TOPIC #Lobby :New topic",
    ];
    assert_eq!(t.take(c), rfc);
    let mut ircx = rfc.clone();
    ircx.extend([
        ":irc.test PROP #Lobby SUBJECT :talk",
        // Key properties reach IRCX hosts only; alice is not one.
        ":irc.test MODE #attic -r",
    ]);
    assert_eq!(t.take(a), ircx);
    assert_eq!(
        t.ask(a, "LISTX R=1"),
        vec![
            ":irc.test 811 alice :Start of ListX",
            ":irc.test 812 alice #Lobby +mnrt 2 0 :New topic",
            ":irc.test 812 alice #new +nrt 0 5 :",
            ":irc.test 817 alice :End of ListX",
        ]
    );
    assert_eq!(
        t.ask(a, "TOPIC #lobby"),
        vec![
            ":irc.test 332 alice #Lobby :New topic",
            ":irc.test 333 alice #Lobby irc.test 1700000060",
        ]
    );
    assert_eq!(
        t.ask(a, "MODE #lobby")[0],
        ":irc.test 324 alice #Lobby +mnrtk opensesame"
    );
    assert_eq!(t.ask(a, "MODE #new")[0], ":irc.test 324 alice #new +nrtl 5");
    assert_eq!(
        t.ask(c, "JOIN #lobby sesame"),
        Vec::<String>::new(),
        "already a member"
    );
    t.feed(c, "PART #lobby");
    t.take(c);
    assert_eq!(
        t.ask(c, "JOIN #lobby sesame"),
        vec![":irc.test 475 carol #lobby :Cannot join channel (+k)"]
    );
    t.take(a);
    // #attic lost +r while alice is in it: it goes when she leaves.
    t.feed(a, "PART #attic");
    assert_eq!(t.w.find_channel(b"#attic"), None);
}

#[test]
fn reload_keeps_what_members_changed_unless_the_entry_changes_it() {
    let mut t = world(LOBBY);
    let a = t.user("alice");
    t.feed(a, "JOIN #lobby hostpw");
    t.feed(a, "MODE #lobby -w+i");
    t.feed(a, "TOPIC #lobby :Ours");
    t.take(a);
    t.reload(&format!("{BASE_CONFIG}{LOBBY}"));
    assert!(t.take(a).is_empty());
    // An entry for a channel that exists makes it registered, adding only what it says.
    t.feed(a, "JOIN #c");
    t.take(a);
    t.reload(&format!(
        "{BASE_CONFIG}{LOBBY}[[channel]]\nname = \"#c\"\nmodes = \"ntm\"\n"
    ));
    assert_eq!(t.take(a), vec![":irc.test MODE #c +mr"]);
    // Removing an empty one destroys it.
    t.feed(a, "PART #lobby");
    t.take(a);
    t.reload(BASE_CONFIG);
    assert_eq!(t.take(a), vec![":irc.test MODE #c -r"]);
    assert_eq!(t.w.find_channel(b"#lobby"), None);
}

#[test]
fn empty_registered_channels_are_not_burst_and_links_cannot_drop_them() {
    let mut t = TestWorld::with_config(&format!("{BASE_CONFIG}{LOBBY}\n{PORTALS}"));
    let peer = t.link("peer.test", 2, "AWAY BMASK EOB SETNAME TB", 2);
    let burst = t.take(peer);
    assert!(!burst.iter().any(|l| l.contains("#Lobby")), "{burst:?}");
    // A peer's SJOIN naming nobody known leaves it; +r from a link is not taken.
    t.feed(peer, ":peer.test SJOIN 1800000000000 #lobby +r :nobody");
    t.feed(peer, ":peer.test MODE #lobby -r");
    let ch = t.w.find_channel(b"#lobby").expect("still there");
    assert!(t.w.channels[ch].is_registered());
    // The first local member's SJOIN carries the channel's modes (+r is not for links).
    let a = t.user("alice");
    t.take(peer);
    t.feed(a, "JOIN #lobby sesame");
    assert_eq!(
        t.take(peer),
        vec![
            ":irc.test SJOIN 1700000000000 #Lobby +ntwk sesame :alice",
            ":irc.test TB #Lobby 1700000000 irc.test :Welcome",
        ]
    );
}

#[test]
fn reload_takes_off_a_key_and_limit_the_entry_no_longer_gives() {
    let entry = "[[channel]]\nname = \"#new\"\nmodes = \"\"\n";
    let mut t = world(&format!("{entry}limit = 5\nmemberkey = \"pw\"\n"));
    let a = t.user("alice");
    t.feed(a, "JOIN #new pw");
    t.take(a);
    t.reload(&format!("{BASE_CONFIG}{entry}"));
    assert_eq!(t.take(a), vec![":irc.test MODE #new -kl *"]);
    t.reload(&format!("{BASE_CONFIG}{entry}modes = \"s\"\n").replace("modes = \"\"\n", ""));
    assert_eq!(t.take(a), vec![":irc.test MODE #new +s"]);
}
