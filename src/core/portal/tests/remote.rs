//! The burst, and every verb a peer sends: what local users and the other links get.

use super::*;
use crate::core::testing::TestWorld;

// ---- burst ------------------------------------------------------------------------------

#[test]
fn burst_carries_users_away_channels_modes_topic_and_bans() {
    let mut t = TestWorld::with_portals();
    let alice = t.user("alice");
    let bob = t.user("bob");
    t.feed(alice, "JOIN #c");
    t.feed(bob, "JOIN #c");
    t.feed(alice, "MODE #c +kl sekrit 5");
    t.feed(alice, "MODE #c +v bob");
    t.feed(alice, "MODE #c +b x!*@*");
    t.feed(alice, "MODE #c +b y!*@*");
    t.feed(alice, "TOPIC #c :the topic");
    t.feed(bob, "AWAY :gone fishing");
    t.feed(bob, "MODE bob +i");
    t.feed(bob, "JOIN #d");
    let peer = t.link("peer.test", 2, ALL, 2);
    assert_eq!(
        norm(t.take(peer)),
        vec![
            OUR_HANDSHAKE[0],
            OUR_HANDSHAKE[1],
            OUR_HANDSHAKE[2],
            ":irc.test NICK alice 1 1700000000000 ~alice 127.0.0.1 1 + :alice real",
            ":irc.test NICK bob 1 1700000000000 ~bob 127.0.0.1 1 +i :bob real",
            ":bob AWAY :gone fishing",
            ":irc.test SJOIN 1700000000000 #c +ntkl sekrit 5 :+bob @alice",
            ":irc.test TB #c 1700000000 alice!~alice@127.0.0.1 :the topic",
            ":irc.test BMASK 1700000000000 #c b :x!*@* y!*@*",
            ":irc.test SJOIN 1700000000000 #d +nt :@bob",
            ":irc.test EOB",
        ]
    );
}

// ---- remote verbs ------------------------------------------------------------------------

#[test]
fn remote_nick_introduction_is_forwarded_only() {
    let mut n = net();
    n.from(
        n.peer,
        ":peer.test NICK ray 1 1650000000000 ~ray peer.host 2 +iw :Ray",
    );
    // Forwarded one hop further, as a SERVER is and as the burst gives it.
    assert_eq!(
        n.t.take(n.far),
        vec![":peer.test NICK ray 2 1650000000000 ~ray peer.host 2 +iw :Ray"]
    );
    assert!(n.t.take(n.alice).is_empty());
    // Known now: a message to ray goes to its link.
    n.t.feed(n.alice, "PRIVMSG ray :hi");
    assert_eq!(n.t.take(n.peer), vec![":alice PRIVMSG ray :hi"]);
    // A NICK for a server id not behind that link is ignored.
    n.from(
        n.peer,
        ":peer.test NICK zed 1 1650000000000 ~zed h 3 + :Zed",
    );
    assert!(n.t.take(n.far).is_empty());
    n.t.feed(n.alice, "PRIVMSG zed :hi");
    assert_eq!(
        n.t.take(n.alice),
        vec![":irc.test 401 alice zed :No such nick/channel"]
    );
}

#[test]
fn remote_nick_change() {
    let mut n = net();
    n.from(n.peer, ":rob NICK robert 1700000001000");
    assert_eq!(n.t.take(n.alice), vec![":rob!~rob@peer.host NICK :robert"]);
    assert_eq!(n.t.take(n.bob), vec![":rob!~rob@peer.host NICK :robert"]);
    assert_eq!(n.t.take(n.far), vec![":rob NICK robert 1700000001000"]);
}

#[test]
fn remote_quit() {
    let mut n = net();
    n.from(n.peer, ":rob QUIT :gone home");
    assert_eq!(
        n.t.take(n.alice),
        vec![":rob!~rob@peer.host QUIT :gone home"]
    );
    assert_eq!(n.t.take(n.far), vec![":rob QUIT :gone home"]);
    // Gone: a later line with its prefix is dropped.
    n.from(n.peer, ":rob PRIVMSG #c :ghost");
    assert!(n.t.take(n.alice).is_empty());
    assert!(n.t.take(n.far).is_empty());
}

#[test]
fn remote_kill_of_a_local_user() {
    let mut n = net();
    n.from(n.peer, ":rob KILL alice :spam");
    assert_eq!(
        n.t.take(n.alice),
        vec![
            ":rob!~rob@peer.host KILL alice :spam",
            "ERROR :Closing Link: 127.0.0.1 (Killed (rob (spam)))",
        ]
    );
    assert_eq!(
        n.t.take(n.bob),
        vec![":alice!~alice@127.0.0.1 QUIT :Killed (rob (spam))"]
    );
    // The link hears the KILL only: the QUIT is implied.
    assert_eq!(n.t.take(n.far), vec![":rob KILL alice :spam"]);
}

#[test]
fn remote_kill_of_a_remote_user() {
    let mut n = net();
    n.from(n.peer, ":peer.test KILL fay :collided");
    assert_eq!(
        n.t.take(n.alice),
        vec![":fay!~fay@far.host QUIT :Killed (peer.test (collided))"]
    );
    assert_eq!(n.t.take(n.far), vec![":peer.test KILL fay :collided"]);
}

#[test]
fn remote_sjoin_into_an_existing_channel_and_a_new_one() {
    let mut n = net();
    n.from(
        n.peer,
        ":peer.test NICK ray 1 1650000000000 ~ray peer.host 2 + :Ray",
    );
    n.t.take(n.far);
    n.from(n.peer, ":peer.test SJOIN 1700000000000 #c + :+ray");
    assert_eq!(
        n.t.take(n.alice),
        vec![":ray!~ray@peer.host JOIN #c", ":peer.test MODE #c +v ray",]
    );
    assert_eq!(
        n.t.take(n.far),
        vec![":peer.test SJOIN 1700000000000 #c + :+ray"]
    );
    // A channel new here, with its modes: no local member, forwarded.
    n.from(
        n.peer,
        ":peer.test SJOIN 1650000000000 #new +ntk key :@ray rob",
    );
    assert!(n.t.take(n.alice).is_empty());
    assert_eq!(
        n.t.take(n.far),
        vec![":peer.test SJOIN 1650000000000 #new +ntk key :@ray rob"]
    );
    // Local users join it as any channel: the key is checked, the link hears a plain join.
    assert_eq!(
        n.t.ask(n.alice, "JOIN #new"),
        vec![":irc.test 475 alice #new :Cannot join channel (+k)"]
    );
    n.t.feed(n.alice, "JOIN #new key");
    let got = n.t.take(n.alice);
    assert_eq!(got[0], ":alice!~alice@127.0.0.1 JOIN #new");
    assert_eq!(
        n.t.take(n.peer),
        vec![":irc.test SJOIN 1650000000000 #new + :alice"]
    );
    assert_eq!(
        n.t.take(n.far),
        vec![":irc.test SJOIN 1650000000000 #new + :alice"]
    );
}

#[test]
fn remote_sjoin_of_unknown_or_wrong_direction_nicks_creates_nothing() {
    let mut n = net();
    n.from(
        n.peer,
        ":peer.test SJOIN 1650000000000 #ghost +nt :@nobody fay",
    );
    assert!(n.t.take(n.far).is_empty());
    // The channel was not left behind: alice creates it afresh.
    n.t.feed(n.alice, "JOIN #ghost");
    n.t.take(n.alice);
    assert_eq!(
        n.t.take(n.peer),
        vec![":irc.test SJOIN 1700000000000 #ghost +nt :@alice"]
    );
}

#[test]
fn older_channel_ts_wins_and_wipes_our_modes_and_ops() {
    let mut n = net();
    n.t.feed(n.alice, "MODE #c +k key");
    n.t.feed(n.alice, "MODE #c +b x!*@*");
    n.t.take(n.alice);
    n.t.take(n.bob);
    n.t.take(n.peer);
    n.t.take(n.far);
    n.from(
        n.peer,
        ":peer.test NICK ray 1 1650000000000 ~ray peer.host 2 + :Ray",
    );
    n.from(n.peer, ":peer.test SJOIN 1600000000000 #c +m :@ray");
    let want = vec![
        ":peer.test MODE #c -ntkbo * x!*@* alice",
        ":peer.test MODE #c +m",
        ":ray!~ray@peer.host JOIN #c",
        ":peer.test MODE #c +o ray",
    ];
    assert_eq!(n.t.take(n.alice), want);
    assert_eq!(n.t.take(n.bob), want);
    assert_eq!(
        n.t.take(n.far),
        vec![
            ":peer.test NICK ray 2 1650000000000 ~ray peer.host 2 + :Ray",
            ":peer.test SJOIN 1600000000000 #c +m :@ray",
        ]
    );
    // alice is no longer an operator there.
    assert_eq!(
        n.t.ask(n.alice, "MODE #c +i"),
        vec![":irc.test 482 alice #c :You're not channel operator"]
    );
}

#[test]
fn equal_channel_ts_merges_and_newer_ts_keeps_ours() {
    let mut n = net();
    n.t.feed(n.alice, "MODE #c +k abc");
    n.t.take(n.alice);
    n.t.take(n.bob);
    n.t.take(n.peer);
    n.t.take(n.far);
    for nick in ["ray", "roy"] {
        n.from(
            n.peer,
            &format!(":peer.test NICK {nick} 1 1650000000000 ~{nick} peer.host 2 + :R"),
        );
    }
    n.t.take(n.far);
    // Equal: flags united, the greater key wins, statuses kept.
    n.from(n.peer, ":peer.test SJOIN 1700000000000 #c +ntik zzz :@ray");
    assert_eq!(
        n.t.take(n.alice),
        vec![
            ":peer.test MODE #c +ik zzz",
            ":ray!~ray@peer.host JOIN #c",
            ":peer.test MODE #c +o ray",
        ]
    );
    assert_eq!(
        n.t.take(n.far),
        vec![":peer.test SJOIN 1700000000000 #c +ntik zzz :@ray"]
    );
    // Newer: our modes stay, the members join without status.
    n.from(n.peer, ":peer.test SJOIN 1800000000000 #c +ms :@roy");
    assert_eq!(n.t.take(n.alice), vec![":roy!~roy@peer.host JOIN #c"]);
    assert_eq!(
        n.t.take(n.far),
        vec![":peer.test SJOIN 1800000000000 #c +ms :@roy"]
    );
    // alice is still an operator.
    n.t.feed(n.alice, "MODE #c -i");
    assert_eq!(
        n.t.take(n.alice),
        vec![":alice!~alice@127.0.0.1 MODE #c -i"]
    );
}

#[test]
fn remote_part_and_kick() {
    let mut n = net();
    n.from(n.peer, ":rob PART #c :bye");
    assert_eq!(n.t.take(n.alice), vec![":rob!~rob@peer.host PART #c :bye"]);
    assert_eq!(n.t.take(n.far), vec![":rob PART #c :bye"]);
    assert_eq!(n.t.take(n.bob), vec![":rob!~rob@peer.host PART #c :bye"]);
    n.from(n.far, ":fay KICK #c bob :out");
    assert_eq!(
        n.t.take(n.alice),
        vec![":fay!~fay@far.host KICK #c bob :out"]
    );
    assert_eq!(n.t.take(n.bob), vec![":fay!~fay@far.host KICK #c bob :out"]);
    assert_eq!(n.t.take(n.peer), vec![":fay KICK #c bob :out"]);
    // bob is out: messages to #c no longer reach him; rob left, so nor do they peer.test.
    n.from(n.far, ":fay PRIVMSG #c :hi");
    assert!(n.t.take(n.bob).is_empty());
    assert!(n.t.take(n.peer).is_empty());
    assert_eq!(n.t.take(n.alice), vec![":fay!~fay@far.host PRIVMSG #c :hi"]);
    // A PART for a channel the user is not in is dropped.
    n.from(n.peer, ":rob PART #c :again");
    assert!(n.t.take(n.far).is_empty());
    assert!(n.t.take(n.alice).is_empty());
}

#[test]
fn remote_channel_and_user_modes() {
    let mut n = net();
    n.from(n.peer, ":rob MODE #c +o-v+l fay bob 10");
    assert_eq!(
        n.t.take(n.alice),
        vec![":rob!~rob@peer.host MODE #c +ol fay 10"]
    );
    assert_eq!(n.t.take(n.far), vec![":rob MODE #c +o-v+l fay bob 10"]);
    n.from(n.peer, ":peer.test MODE #c +m");
    assert_eq!(n.t.take(n.alice), vec![":peer.test MODE #c +m"]);
    assert_eq!(n.t.take(n.far), vec![":peer.test MODE #c +m"]);
    // A user's own modes: no local user is told, the links are.
    n.from(n.peer, ":rob MODE rob :+iw");
    assert!(n.t.take(n.alice).is_empty());
    assert_eq!(n.t.take(n.far), vec![":rob MODE rob :+iw"]);
    // Someone else's user modes: dropped.
    n.from(n.peer, ":rob MODE alice :+i");
    assert!(n.t.take(n.far).is_empty());
    assert!(n.t.take(n.alice).is_empty());
}

#[test]
fn remote_topic_and_topic_burst() {
    let mut n = net();
    n.from(n.peer, ":rob TOPIC #c 1650000000 :new topic");
    assert_eq!(
        n.t.take(n.alice),
        vec![":rob!~rob@peer.host TOPIC #c :new topic"]
    );
    assert_eq!(n.t.take(n.far), vec![":rob TOPIC #c 1650000000 :new topic"]);
    assert_eq!(
        n.t.take(n.bob),
        vec![":rob!~rob@peer.host TOPIC #c :new topic"]
    );
    assert_eq!(
        n.t.ask(n.bob, "TOPIC #c"),
        vec![
            ":irc.test 332 bob #c :new topic",
            ":irc.test 333 bob #c rob!~rob@peer.host 1650000000",
        ]
    );
    // TB: an older topic loses, a newer one wins and is shown from the server.
    n.from(n.far, ":far.test TB #c 1600000000 x!y@z :older");
    assert!(n.t.take(n.alice).is_empty());
    assert!(n.t.take(n.peer).is_empty());
    n.from(n.far, ":far.test TB #c 1660000000 x!y@z :newer");
    assert_eq!(n.t.take(n.alice), vec![":far.test TOPIC #c :newer"]);
    assert_eq!(
        n.t.take(n.peer),
        vec![":far.test TB #c 1660000000 x!y@z :newer"]
    );
    assert_eq!(n.t.take(n.bob), vec![":far.test TOPIC #c :newer"]);
    assert_eq!(
        n.t.ask(n.bob, "TOPIC #c"),
        vec![
            ":irc.test 332 bob #c :newer",
            ":irc.test 333 bob #c x!y@z 1660000000",
        ]
    );
}

#[test]
fn remote_bmask() {
    let mut n = net();
    n.from(n.peer, ":peer.test BMASK 1700000000000 #c b :a!*@* b!*@*");
    assert_eq!(
        n.t.take(n.alice),
        vec![":peer.test MODE #c +bb a!*@* b!*@*"]
    );
    assert_eq!(
        n.t.take(n.far),
        vec![":peer.test BMASK 1700000000000 #c b :a!*@* b!*@*"]
    );
    // Known masks are not added twice; a younger channel's bans are ignored.
    n.from(n.peer, ":peer.test BMASK 1700000000000 #c b :a!*@* c!*@*");
    assert_eq!(n.t.take(n.alice), vec![":peer.test MODE #c +b c!*@*"]);
    n.t.take(n.far);
    n.from(n.peer, ":peer.test BMASK 1800000000000 #c b :d!*@*");
    assert!(n.t.take(n.alice).is_empty());
    assert!(n.t.take(n.far).is_empty());
}

#[test]
fn remote_channel_messages_with_tags_and_status_targets() {
    let mut n = net();
    n.from(n.peer, "@+draft/reply=abc :rob PRIVMSG #c :hello");
    assert_eq!(
        n.t.take(n.alice),
        vec!["@+draft/reply=abc :rob!~rob@peer.host PRIVMSG #c :hello"]
    );
    assert_eq!(
        n.t.take(n.bob),
        vec![":rob!~rob@peer.host PRIVMSG #c :hello"]
    );
    assert_eq!(
        n.t.take(n.far),
        vec!["@+draft/reply=abc :rob PRIVMSG #c :hello"]
    );
    // TAGMSG only to message-tags clients.
    n.from(n.peer, "@+typing=active :rob TAGMSG #c");
    assert_eq!(
        n.t.take(n.alice),
        vec!["@+typing=active :rob!~rob@peer.host TAGMSG #c"]
    );
    assert!(n.t.take(n.bob).is_empty());
    assert_eq!(n.t.take(n.far), vec!["@+typing=active :rob TAGMSG #c"]);
    // @#c: local operators only; the link still gets it (its operators may be there).
    n.from(n.peer, ":rob NOTICE @#c :ops only");
    assert_eq!(
        n.t.take(n.alice),
        vec![":rob!~rob@peer.host NOTICE @#c :ops only"]
    );
    assert!(n.t.take(n.bob).is_empty());
    assert_eq!(n.t.take(n.far), vec![":rob NOTICE @#c :ops only"]);
    // An empty text is no message.
    n.from(n.peer, ":rob PRIVMSG #c :");
    assert!(n.t.take(n.alice).is_empty());
    assert!(n.t.take(n.far).is_empty());
}

#[test]
fn remote_private_messages_follow_the_route() {
    let mut n = net();
    n.from(n.peer, ":rob PRIVMSG alice :hi alice");
    assert_eq!(
        n.t.take(n.alice),
        vec![":rob!~rob@peer.host PRIVMSG alice :hi alice"]
    );
    assert!(n.t.take(n.far).is_empty());
    n.from(n.peer, "@+x=y :rob NOTICE fay :hi fay");
    assert_eq!(n.t.take(n.far), vec!["@+x=y :rob NOTICE fay :hi fay"]);
    assert!(n.t.take(n.alice).is_empty());
    // TAGMSG to a local user without message-tags: dropped.
    n.from(n.peer, "@+typing=active :rob TAGMSG bob");
    assert!(n.t.take(n.bob).is_empty());
    n.from(n.peer, "@+typing=active :rob TAGMSG alice");
    assert_eq!(
        n.t.take(n.alice),
        vec!["@+typing=active :rob!~rob@peer.host TAGMSG alice"]
    );
}

#[test]
fn remote_away_setname_and_wallops() {
    let mut n = net();
    n.from(n.peer, ":rob AWAY :lunch");
    assert_eq!(n.t.take(n.alice), vec![":rob!~rob@peer.host AWAY :lunch"]);
    assert!(n.t.take(n.bob).is_empty());
    assert_eq!(n.t.take(n.far), vec![":rob AWAY :lunch"]);
    n.t.feed(n.bob, "PRIVMSG rob :you there?");
    assert_eq!(n.t.take(n.bob), vec![":irc.test 301 bob rob :lunch"]);
    assert_eq!(n.t.take(n.peer), vec![":bob PRIVMSG rob :you there?"]);
    n.from(n.peer, ":rob AWAY");
    assert_eq!(n.t.take(n.alice), vec![":rob!~rob@peer.host AWAY"]);
    assert_eq!(n.t.take(n.far), vec![":rob AWAY"]);

    n.from(n.peer, ":rob SETNAME :Robert R");
    assert_eq!(
        n.t.take(n.alice),
        vec![":rob!~rob@peer.host SETNAME :Robert R"]
    );
    assert!(n.t.take(n.bob).is_empty());
    assert_eq!(n.t.take(n.far), vec![":rob SETNAME :Robert R"]);

    n.t.feed(n.bob, "MODE bob +w");
    n.t.take(n.bob);
    n.t.take(n.peer);
    n.t.take(n.far);
    n.from(n.peer, ":rob WALLOPS :hear ye");
    assert_eq!(
        n.t.take(n.bob),
        vec![":rob!~rob@peer.host WALLOPS :hear ye"]
    );
    assert!(n.t.take(n.alice).is_empty());
    assert_eq!(n.t.take(n.far), vec![":rob WALLOPS :hear ye"]);
    n.from(n.peer, ":peer.test WALLOPS :from the server");
    assert_eq!(n.t.take(n.bob), vec![":peer.test WALLOPS :from the server"]);
    assert_eq!(n.t.take(n.far), vec![":peer.test WALLOPS :from the server"]);
}

#[test]
fn remote_invite() {
    let mut n = net();
    n.from(n.peer, ":peer.test SJOIN 1650000000000 #inv +i :@rob");
    n.t.take(n.far);
    // To a local user: delivered, not forwarded; the JOIN then passes +i.
    n.from(n.peer, ":rob INVITE alice #inv");
    assert_eq!(
        n.t.take(n.alice),
        vec![":rob!~rob@peer.host INVITE alice #inv"]
    );
    assert!(n.t.take(n.far).is_empty());
    n.t.feed(n.alice, "JOIN #inv");
    assert_eq!(n.t.take(n.alice)[0], ":alice!~alice@127.0.0.1 JOIN #inv");
    assert_eq!(
        n.t.take(n.peer),
        vec![":irc.test SJOIN 1650000000000 #inv + :alice"]
    );
    n.t.take(n.far);
    // To a remote user: recorded and forwarded.
    n.from(n.peer, ":rob INVITE fay #inv");
    assert_eq!(n.t.take(n.far), vec![":rob INVITE fay #inv"]);
    assert!(n.t.take(n.alice).is_empty());
    // bob, not invited, stays out.
    assert_eq!(
        n.t.ask(n.bob, "JOIN #inv"),
        vec![":irc.test 473 bob #inv :Cannot join channel (+i)"]
    );
}

#[test]
fn servers_behind_the_peer_and_their_split() {
    let mut n = net();
    n.from(n.peer, ":peer.test SERVER leaf.test 2 4 :a leaf");
    assert_eq!(
        n.t.take(n.far),
        vec![":peer.test SERVER leaf.test 3 4 :a leaf"]
    );
    n.from(
        n.peer,
        ":leaf.test NICK lee 2 1650000000000 ~lee leaf.host 4 + :Lee",
    );
    n.from(n.peer, ":leaf.test SJOIN 1700000000000 #c + :lee");
    n.from(n.peer, ":leaf.test SJOIN 1650000000000 #leaf + :lee");
    assert_eq!(
        n.t.take(n.far),
        vec![
            ":leaf.test NICK lee 3 1650000000000 ~lee leaf.host 4 + :Lee",
            ":leaf.test SJOIN 1700000000000 #c + :lee",
            ":leaf.test SJOIN 1650000000000 #leaf + :lee",
        ]
    );
    assert_eq!(n.t.take(n.alice), vec![":lee!~lee@leaf.host JOIN #c"]);
    n.from(n.peer, ":peer.test SQUIT leaf.test :leaf died");
    assert_eq!(
        n.t.take(n.alice),
        vec![":lee!~lee@leaf.host QUIT :peer.test leaf.test"]
    );
    assert_eq!(
        n.t.take(n.far),
        vec![":irc.test SQUIT leaf.test :leaf died"]
    );
    // The split took the leaf's channel with it; rob (on peer.test) stays.
    n.t.feed(n.alice, "JOIN #leaf");
    n.t.take(n.alice);
    assert_eq!(
        n.t.take(n.far),
        vec![":irc.test SJOIN 1700000000000 #leaf +nt :@alice"]
    );
    n.t.take(n.peer);
    n.t.feed(n.alice, "PRIVMSG rob :still here?");
    assert_eq!(n.t.take(n.peer), vec![":alice PRIVMSG rob :still here?"]);
}

#[test]
fn a_server_introduced_twice_drops_the_link() {
    let mut n = net();
    n.t.feed(n.peer, ":peer.test SERVER far.test 2 3 :loop");
    assert_eq!(
        n.t.take(n.peer),
        vec!["ERROR :Closing Link: 127.0.0.1 (Server far.test (id 3) already exists; link dropped to break a loop)"]
    );
    assert_eq!(
        n.t.take(n.alice),
        vec![":rob!~rob@peer.host QUIT :irc.test peer.test"]
    );
    assert_eq!(
        n.t.take(n.far),
        vec![":irc.test SQUIT peer.test :Server far.test (id 3) already exists; link dropped to break a loop"]
    );
}

#[test]
fn the_peer_squitting_itself_closes_the_link() {
    let mut n = net();
    n.t.feed(n.peer, ":peer.test SQUIT peer.test :restarting");
    assert_eq!(
        n.t.take(n.peer),
        vec!["ERROR :Closing Link: 127.0.0.1 (restarting)"]
    );
    assert_eq!(
        n.t.take(n.alice),
        vec![":rob!~rob@peer.host QUIT :irc.test peer.test"]
    );
    assert_eq!(
        n.t.take(n.far),
        vec![":irc.test SQUIT peer.test :restarting"]
    );
}

#[test]
fn eob_ping_pong_and_error() {
    let mut n = net();
    n.from(n.peer, ":peer.test EOB");
    n.from(n.peer, ":peer.test PONG irc.test :irc.test");
    assert!(n.t.take(n.far).is_empty());
    assert!(n.t.take(n.alice).is_empty());
    assert_eq!(
        n.t.ask(n.peer, "PING :peer.test"),
        vec![":irc.test PONG irc.test :peer.test"]
    );
    n.t.feed(n.peer, "ERROR :going away");
    assert_eq!(
        n.t.take(n.peer),
        vec!["ERROR :Closing Link: 127.0.0.1 (ERROR from peer: going away)"]
    );
    assert_eq!(
        n.t.take(n.alice),
        vec![":rob!~rob@peer.host QUIT :irc.test peer.test"]
    );
    assert_eq!(
        n.t.take(n.far),
        vec![":irc.test SQUIT peer.test :ERROR from peer: going away"]
    );
}

#[test]
fn unknown_verbs_are_forwarded_and_bad_prefixes_dropped() {
    let mut n = net();
    n.from(n.peer, ":peer.test FOOBAR a b :c d");
    assert_eq!(n.t.take(n.far), vec![":peer.test FOOBAR a b :c d"]);
    assert!(n.t.take(n.alice).is_empty());
    // Not a command at all (RFC 1459: letters or three digits): dropped.
    n.from(n.peer, ":peer.test 1234 x");
    assert!(n.t.take(n.far).is_empty());
    // An unknown prefix, and fay (behind far.test) arriving from peer.test: dropped.
    n.from(n.peer, ":ghost PRIVMSG #c :boo");
    n.from(n.peer, ":fay PRIVMSG #c :spoofed");
    n.from(n.peer, ":far.test WALLOPS :spoofed");
    n.from(n.peer, ":fay FOOBAR x");
    for c in [n.alice, n.bob, n.far] {
        assert!(n.t.take(c).is_empty());
    }
}

#[test]
fn link_pings_and_times_out() {
    let mut n = net();
    n.t.tick(120_000);
    assert_eq!(n.t.take(n.peer), vec!["PING :irc.test"]);
    assert_eq!(n.t.take(n.far), vec!["PING :irc.test"]);
    assert_eq!(n.t.take(n.alice), vec!["PING :irc.test"]);
    n.t.take(n.bob);
    n.t.feed(n.far, ":far.test PONG far.test :irc.test");
    n.t.feed(n.alice, "PONG :irc.test");
    n.t.feed(n.bob, "PONG :irc.test");
    n.t.tick(60_000);
    assert_eq!(
        n.t.take(n.peer),
        vec!["ERROR :Closing Link: 127.0.0.1 (Ping timeout: 180 seconds)"]
    );
    // far.test answered the last PING a minute ago: its next lag PING is due.
    assert_eq!(
        n.t.take(n.far),
        vec![
            ":irc.test SQUIT peer.test :Ping timeout: 180 seconds",
            "PING :irc.test"
        ]
    );
    assert_eq!(
        n.t.take(n.alice),
        vec![":rob!~rob@peer.host QUIT :irc.test peer.test"]
    );
}

#[test]
fn a_loop_closed_by_a_younger_link_drops_that_link_not_the_established_one() {
    let mut t = TestWorld::with_portals_and("");
    let alice = t.user("alice");
    let peer = t.link("peer.test", 2, ALL, 2);
    t.tick(60_000);
    // far.test dialed us a minute after peer.test linked, and also dialed peer.test.
    let far = t.link("far.test", 3, ALL, 2);
    t.feed(
        far,
        ":far.test NICK fay 1 1600000000000 ~fay far.host 3 + :Fay F",
    );
    for c in [alice, peer, far] {
        t.take(c);
    }
    t.feed(peer, ":peer.test SERVER far.test 2 3 :loop");
    assert_eq!(
        t.take(far),
        vec!["ERROR :Closing Link: 127.0.0.1 (Server far.test (id 3) already exists; link dropped to break a loop)"]
    );
    // The established link stays, and far.test is now behind it.
    assert_eq!(t.take(peer), vec![":irc.test SQUIT far.test :Server far.test (id 3) already exists; link dropped to break a loop"]);
    t.feed(alice, "LINKS");
    assert_eq!(
        t.take(alice),
        vec![
            ":irc.test 364 alice irc.test irc.test :0 Portico IRC server",
            ":irc.test 364 alice peer.test irc.test :1 peer.test server",
            ":irc.test 364 alice far.test peer.test :2 loop",
            ":irc.test 365 alice * :End of /LINKS list",
        ]
    );
}
