//! Local actions on the links, nick collisions, netsplits.

use super::*;

// ---- local actions on the links ------------------------------------------------------------

#[test]
fn local_registration_join_part_and_quit() {
    let mut n = net();
    let carol = n.t.user("carol");
    let intro = ":irc.test NICK carol 1 1700000000000 ~carol 127.0.0.1 1 + :carol real";
    assert_eq!(n.t.take(n.peer), vec![intro]);
    assert_eq!(n.t.take(n.far), vec![intro]);
    n.t.feed(carol, "JOIN #new");
    let create = ":irc.test SJOIN 1700000000000 #new +nt :@carol";
    assert_eq!(n.t.take(n.peer), vec![create]);
    assert_eq!(n.t.take(n.far), vec![create]);
    n.t.feed(carol, "JOIN #c");
    let join = ":irc.test SJOIN 1700000000000 #c + :carol";
    assert_eq!(n.t.take(n.peer), vec![join]);
    assert_eq!(n.t.take(n.far), vec![join]);
    n.t.feed(carol, "PART #c :later");
    assert_eq!(n.t.take(n.peer), vec![":carol PART #c :later"]);
    assert_eq!(n.t.take(n.far), vec![":carol PART #c :later"]);
    n.t.feed(carol, "QUIT :bye");
    assert_eq!(n.t.take(n.peer), vec![":carol QUIT :Quit: bye"]);
    assert_eq!(n.t.take(n.far), vec![":carol QUIT :Quit: bye"]);
}

#[test]
fn local_kick_topic_mode_and_nick() {
    let mut n = net();
    fn both(n: &mut Net, line: &str, want: &str) {
        n.t.feed(n.alice, line);
        assert_eq!(n.t.take(n.peer), vec![want], "{line}");
        assert_eq!(n.t.take(n.far), vec![want], "{line}");
    }
    both(&mut n, "MODE #c +o rob", ":alice MODE #c +o rob");
    both(&mut n, "MODE #c +l-t 20", ":alice MODE #c +l-t 20");
    both(
        &mut n,
        "TOPIC #c :hello all",
        ":alice TOPIC #c 1700000000 :hello all",
    );
    both(&mut n, "KICK #c fay :out", ":alice KICK #c fay :out");
    both(&mut n, "MODE alice +i", ":alice MODE alice :+i");
    both(&mut n, "NICK alicia", ":alice NICK alicia 1700000000000");
    assert_eq!(
        n.t.take(n.bob),
        vec![
            ":alice!~alice@127.0.0.1 MODE #c +o rob",
            ":alice!~alice@127.0.0.1 MODE #c +l-t 20",
            ":alice!~alice@127.0.0.1 TOPIC #c :hello all",
            ":alice!~alice@127.0.0.1 KICK #c fay :out",
            ":alice!~alice@127.0.0.1 NICK :alicia",
        ]
    );
}

#[test]
fn local_away_setname_and_invite() {
    let mut n = net();
    n.t.feed(n.bob, "AWAY :brb");
    assert_eq!(n.t.take(n.peer), vec![":bob AWAY :brb"]);
    assert_eq!(n.t.take(n.far), vec![":bob AWAY :brb"]);
    assert_eq!(n.t.take(n.alice), vec![":bob!~bob@127.0.0.1 AWAY :brb"]);
    n.t.feed(n.bob, "AWAY");
    assert_eq!(n.t.take(n.peer), vec![":bob AWAY"]);
    assert_eq!(n.t.take(n.alice), vec![":bob!~bob@127.0.0.1 AWAY"]);
    n.t.take(n.far);
    n.t.feed(n.bob, "SETNAME :Bob B");
    assert_eq!(n.t.take(n.peer), vec![":bob SETNAME :Bob B"]);
    assert_eq!(n.t.take(n.far), vec![":bob SETNAME :Bob B"]);
    assert_eq!(
        n.t.take(n.alice),
        vec![":bob!~bob@127.0.0.1 SETNAME :Bob B"]
    );
    n.t.feed(n.alice, "JOIN #d");
    n.t.feed(n.alice, "MODE #d +i");
    n.t.take(n.alice);
    n.t.take(n.peer);
    n.t.take(n.far);
    assert_eq!(
        n.t.ask(n.alice, "INVITE rob #d"),
        vec![":irc.test 341 alice rob #d"]
    );
    assert_eq!(n.t.take(n.peer), vec![":alice INVITE rob #d"]);
    assert_eq!(n.t.take(n.far), vec![":alice INVITE rob #d"]);
    // A local invitee: no link traffic.
    n.t.feed(n.alice, "INVITE bob #d");
    assert!(n.t.take(n.peer).is_empty());
    assert!(n.t.take(n.far).is_empty());
}

#[test]
fn local_channel_message_goes_once_to_each_link_with_members() {
    let mut n = net();
    n.from(
        n.peer,
        ":peer.test NICK ray 1 1650000000000 ~ray peer.host 2 + :Ray",
    );
    n.from(n.peer, ":peer.test SJOIN 1700000000000 #c + :ray");
    n.from(n.peer, ":peer.test SJOIN 1650000000000 #p + :ray");
    n.t.take(n.far);
    n.t.take(n.alice);
    n.t.take(n.bob);
    n.t.feed(n.alice, "PRIVMSG #c :hi all");
    assert_eq!(n.t.take(n.peer), vec![":alice PRIVMSG #c :hi all"]);
    assert_eq!(n.t.take(n.far), vec![":alice PRIVMSG #c :hi all"]);
    assert_eq!(
        n.t.take(n.bob),
        vec![":alice!~alice@127.0.0.1 PRIVMSG #c :hi all"]
    );
    assert!(n.t.take(n.alice).is_empty());
    // #p (no +n) has members behind peer.test only.
    n.t.feed(n.alice, "NOTICE #p :outside");
    assert_eq!(n.t.take(n.peer), vec![":alice NOTICE #p :outside"]);
    assert!(n.t.take(n.far).is_empty());
    // To a remote user: its link only.
    n.t.feed(n.alice, "PRIVMSG fay :psst");
    assert_eq!(n.t.take(n.far), vec![":alice PRIVMSG fay :psst"]);
    assert!(n.t.take(n.peer).is_empty());
}

#[test]
fn oper_kill_of_a_remote_user_wallops_and_squit() {
    let mut n = net_with(OPER);
    assert_eq!(
        n.t.ask(n.alice, "OPER admin pw"),
        vec![
            ":irc.test 381 alice :You are now an IRC operator",
            ":alice MODE alice :+o",
        ]
    );
    assert_eq!(n.t.take(n.peer), vec![":alice MODE alice :+o"]);
    assert_eq!(n.t.take(n.far), vec![":alice MODE alice :+o"]);
    n.t.feed(n.alice, "KILL rob :spamming");
    assert_eq!(n.t.take(n.peer), vec![":alice KILL rob :spamming"]);
    assert_eq!(n.t.take(n.far), vec![":alice KILL rob :spamming"]);
    assert_eq!(
        n.t.take(n.bob),
        vec![":rob!~rob@peer.host QUIT :Killed (alice (spamming))"]
    );
    n.t.feed(n.alice, "WALLOPS :attention");
    assert_eq!(n.t.take(n.peer), vec![":alice WALLOPS :attention"]);
    assert_eq!(n.t.take(n.far), vec![":alice WALLOPS :attention"]);
    // SQUIT of a server behind a link travels toward it; of a direct link, drops it.
    n.from(n.peer, ":peer.test SERVER leaf.test 2 4 :a leaf");
    n.t.take(n.far);
    n.t.take(n.alice);
    n.t.feed(n.alice, "SQUIT leaf.test :go away");
    assert_eq!(n.t.take(n.peer), vec![":alice SQUIT leaf.test :go away"]);
    assert!(n.t.take(n.far).is_empty());
    n.t.feed(n.alice, "SQUIT far.test :maintenance");
    assert_eq!(
        n.t.take(n.far),
        vec!["ERROR :Closing Link: 127.0.0.1 (maintenance)"]
    );
    assert_eq!(
        n.t.take(n.peer),
        vec![":irc.test SQUIT far.test :maintenance"]
    );
    assert_eq!(
        n.t.take(n.alice),
        vec![":fay!~fay@far.host QUIT :irc.test far.test"]
    );
}

// ---- nick collisions ------------------------------------------------------------------------

#[test]
fn collision_older_remote_nick_wins() {
    let mut n = net();
    n.from(
        n.peer,
        ":peer.test NICK alice 1 1600000000000 ~other peer.host 2 + :Other",
    );
    // Passed on one hop further.
    let line = ":peer.test NICK alice 2 1600000000000 ~other peer.host 2 + :Other";
    assert_eq!(
        n.t.take(n.alice),
        vec![
            ":irc.test KILL alice :irc.test (Nick collision)",
            "ERROR :Closing Link: 127.0.0.1 (Nick collision)",
        ]
    );
    assert_eq!(
        n.t.take(n.bob),
        vec![":alice!~alice@127.0.0.1 QUIT :Nick collision"]
    );
    assert_eq!(n.t.take(n.far), vec![":alice QUIT :Nick collision", line]);
    n.t.feed(n.bob, "PRIVMSG alice :who are you?");
    assert_eq!(n.t.take(n.peer), vec![":bob PRIVMSG alice :who are you?"]);
}

#[test]
fn collision_newer_remote_nick_loses_and_equal_both_lose() {
    let mut n = net();
    n.from(
        n.peer,
        ":peer.test NICK alice 1 1800000000000 ~other peer.host 2 + :Other",
    );
    assert!(n.t.take(n.alice).is_empty());
    assert!(n.t.take(n.far).is_empty());
    n.t.feed(n.bob, "PRIVMSG alice :still you?");
    assert_eq!(
        n.t.take(n.alice),
        vec![":bob!~bob@127.0.0.1 PRIVMSG alice :still you?"]
    );
    n.from(
        n.peer,
        ":peer.test NICK alice 1 1700000000000 ~other peer.host 2 + :Other",
    );
    assert_eq!(
        n.t.take(n.alice),
        vec![
            ":irc.test KILL alice :irc.test (Nick collision)",
            "ERROR :Closing Link: 127.0.0.1 (Nick collision)",
        ]
    );
    assert_eq!(n.t.take(n.far), vec![":alice QUIT :Nick collision"]);
    assert_eq!(
        n.t.take(n.bob),
        vec![":alice!~alice@127.0.0.1 QUIT :Nick collision"]
    );
    assert_eq!(
        n.t.ask(n.bob, "PRIVMSG alice :anyone?"),
        vec![":irc.test 401 bob alice :No such nick/channel"]
    );
}

#[test]
fn collision_on_a_remote_nick_change() {
    let mut n = net();
    // rob renames to alice with a newer timestamp: rob loses.
    n.from(n.peer, ":rob NICK alice 1800000000000");
    assert_eq!(n.t.take(n.far), vec![":rob QUIT :Nick collision"]);
    assert_eq!(
        n.t.take(n.bob),
        vec![":rob!~rob@peer.host QUIT :Nick collision"]
    );
    assert!(closed_with(&n.t, n.alice).is_none());
    // fay renames to bob with an older one: bob loses, fay becomes bob.
    n.from(n.far, ":fay NICK bob 1600000000000");
    assert_eq!(
        n.t.take(n.bob),
        vec![
            ":irc.test KILL bob :irc.test (Nick collision)",
            "ERROR :Closing Link: 127.0.0.1 (Nick collision)",
        ]
    );
    assert_eq!(
        n.t.take(n.alice),
        vec![
            ":rob!~rob@peer.host QUIT :Nick collision",
            ":bob!~bob@127.0.0.1 QUIT :Nick collision",
            ":fay!~fay@far.host NICK :bob",
        ]
    );
    assert_eq!(
        n.t.take(n.peer),
        vec![":bob QUIT :Nick collision", ":fay NICK bob 1600000000000"]
    );
}

// ---- netsplit -------------------------------------------------------------------------------

#[test]
fn dropping_a_link_quits_everyone_behind_it_with_one_squit() {
    let mut n = net();
    n.from(n.peer, ":peer.test SERVER leaf.test 2 4 :a leaf");
    n.from(
        n.peer,
        ":leaf.test NICK lee 3 1650000000000 ~lee leaf.host 4 + :Lee",
    );
    n.from(n.peer, ":leaf.test SJOIN 1700000000000 #c + :lee");
    n.from(n.peer, ":peer.test SJOIN 1650000000000 #r + :rob");
    n.t.take(n.far);
    n.t.take(n.alice);
    n.t.take(n.bob);
    n.t.drop_conn(n.peer, "Connection reset by peer");
    let mut got = n.t.take(n.alice);
    got.sort();
    assert_eq!(
        got,
        vec![
            ":lee!~lee@leaf.host QUIT :irc.test peer.test",
            ":rob!~rob@peer.host QUIT :irc.test peer.test",
        ]
    );
    assert_eq!(
        n.t.take(n.far),
        vec![":irc.test SQUIT peer.test :Connection reset by peer"]
    );
    // Channels left empty are gone: #r is created afresh.
    n.t.feed(n.alice, "JOIN #r");
    assert_eq!(
        n.t.take(n.far),
        vec![":irc.test SJOIN 1700000000000 #r +nt :@alice"]
    );
    // The peer may link again.
    let again = n.t.link("peer.test", 2, ALL, 2);
    assert_eq!(n.t.take(again)[..3], OUR_HANDSHAKE);
}
