mod common;
use common::*;
use std::time::{SystemTime, UNIX_EPOCH};

/// The sorted names of a 353 line that must start with `head` (`:irc.test 353 me = #a :`).
fn names(line: &str, head: &str) -> Vec<String> {
    let rest = line
        .strip_prefix(head)
        .unwrap_or_else(|| panic!("expected {head:?}..., got {line:?}"));
    let mut v: Vec<String> = rest.split(' ').map(str::to_string).collect();
    v.sort();
    v
}

fn now_s() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

#[test]
fn creator_joins_as_operator() {
    let s = server();
    let mut a = s.user("alice");
    a.send("JOIN #a");
    a.expect(":alice!~alice@127.0.0.1 JOIN #a");
    a.expect(":irc.test 353 alice = #a :@alice");
    a.expect(":irc.test 366 alice #a :End of /NAMES list");
    a.expect_nothing();
}

#[test]
fn second_joiner_is_announced_and_sees_everyone() {
    let s = server();
    let mut a = s.user("alice");
    let mut b = s.user("bob");
    join(&mut a, "#a");
    b.send("JOIN #a");
    b.expect(":bob!~bob@127.0.0.1 JOIN #a");
    let l = b.line();
    assert_eq!(names(&l, ":irc.test 353 bob = #a :"), ["@alice", "bob"]);
    b.expect(":irc.test 366 bob #a :End of /NAMES list");
    a.expect(":bob!~bob@127.0.0.1 JOIN #a");
    a.expect_nothing();
    b.expect_nothing();
}

#[test]
fn join_keeps_the_channel_spelling_of_its_creator() {
    let s = server();
    let mut a = s.user("alice");
    let mut b = s.user("bob");
    join(&mut a, "#Rust");
    b.send("JOIN #rUST");
    b.expect(":bob!~bob@127.0.0.1 JOIN #Rust");
    b.skip_until(":irc.test 366 bob #Rust :End of /NAMES list");
    a.expect(":bob!~bob@127.0.0.1 JOIN #Rust");
    // rfc1459: `[` and `{` are the same letter.
    join(&mut a, "#x[1]");
    b.send("JOIN #X{1}");
    b.expect(":bob!~bob@127.0.0.1 JOIN #x[1]");
}

#[test]
fn joining_twice_says_nothing() {
    let s = server();
    let mut a = s.user("alice");
    join(&mut a, "#a");
    a.send("JOIN #a");
    a.send("JOIN #A");
    a.expect_nothing();
}

#[test]
fn join_a_list_of_channels() {
    let s = server();
    let mut a = s.user("alice");
    a.send("JOIN #a,#b,&local");
    for ch in ["#a", "#b", "&local"] {
        a.expect(&format!(":alice!~alice@127.0.0.1 JOIN {ch}"));
        a.expect(&format!(":irc.test 353 alice = {ch} :@alice"));
        a.expect(&format!(":irc.test 366 alice {ch} :End of /NAMES list"));
    }
    a.expect_nothing();
}

#[test]
fn join_with_keys_creates_keyless_channels() {
    let s = server();
    let mut a = s.user("alice");
    let mut b = s.user("bob");
    a.send("JOIN #a,#b key1,key2");
    a.expect(":alice!~alice@127.0.0.1 JOIN #a");
    a.skip_until(":irc.test 366 alice #a ");
    a.expect(":alice!~alice@127.0.0.1 JOIN #b");
    a.skip_until(":irc.test 366 alice #b ");
    // A key given for a channel without one is ignored; fewer keys than channels is fine.
    b.send("JOIN #a,#b wrong");
    b.expect(":bob!~bob@127.0.0.1 JOIN #a");
    b.skip_until(":irc.test 366 bob #a ");
    b.expect(":bob!~bob@127.0.0.1 JOIN #b");
    b.skip_until(":irc.test 366 bob #b ");
    b.expect_nothing();
    // LIST shows no +k.
    b.send("LIST #a");
    b.expect(":irc.test 321 bob Channel :Users  Name");
    b.expect(":irc.test 322 bob #a 2 :[+nt] ");
    b.expect(":irc.test 323 bob :End of /LIST");
}

#[test]
fn join_zero_parts_everything() {
    let s = server();
    let mut a = s.user("alice");
    let mut b = s.user("bob");
    join(&mut a, "#a,#b");
    join(&mut b, "#a");
    a.sync();
    a.send("JOIN 0");
    a.expect(":alice!~alice@127.0.0.1 PART #a");
    a.expect(":alice!~alice@127.0.0.1 PART #b");
    a.expect_nothing();
    b.expect(":alice!~alice@127.0.0.1 PART #a");
    b.expect_nothing();
    // #b lost its last member and is gone; #a is left to bob.
    a.send("NAMES #b");
    a.expect(":irc.test 366 alice #b :End of /NAMES list");
    a.send("LIST");
    a.expect(":irc.test 321 alice Channel :Users  Name");
    a.expect(":irc.test 322 alice #a 1 :[+nt] ");
    a.expect(":irc.test 323 alice :End of /LIST");
    // JOIN 0 with no channels is harmless.
    a.send("JOIN 0");
    a.expect_nothing();
}

#[test]
fn join_names_that_are_not_channels() {
    let s = server();
    let mut a = s.user("alice");
    a.send("JOIN foo");
    a.expect(":irc.test 403 alice foo :No such channel");
    a.send("JOIN #");
    a.expect(":irc.test 479 alice # :Illegal channel name");
    a.send("JOIN &");
    a.expect(":irc.test 479 alice & :Illegal channel name");
    a.send("JOIN #a\x07b");
    a.expect(":irc.test 479 alice #a\x07b :Illegal channel name");
    let long = format!("#{}", "x".repeat(50));
    a.send(&format!("JOIN {long}"));
    a.expect(&format!(":irc.test 479 alice {long} :Illegal channel name"));
    // Invalid UTF-8, echoed byte for byte.
    a.send_raw(b"JOIN #caf\xe9\r\n");
    assert_eq!(
        a.line_bytes(),
        b":irc.test 479 alice #caf\xe9 :Illegal channel name"
    );
    a.send_raw(b"JOIN #\xff\xfe\r\n");
    assert_eq!(
        a.line_bytes(),
        b":irc.test 479 alice #\xff\xfe :Illegal channel name"
    );
    // Good and bad names in one list: each gets its own answer, in order.
    a.send("JOIN #ok,bad,#");
    a.expect(":alice!~alice@127.0.0.1 JOIN #ok");
    a.expect(":irc.test 353 alice = #ok :@alice");
    a.expect(":irc.test 366 alice #ok :End of /NAMES list");
    a.expect(":irc.test 403 alice bad :No such channel");
    a.expect(":irc.test 479 alice # :Illegal channel name");
    // Valid UTF-8 is a fine channel name.
    a.send("JOIN #café");
    a.expect(":alice!~alice@127.0.0.1 JOIN #café");
    a.skip_until(":irc.test 366 alice #café ");
    a.expect_nothing();
}

#[test]
fn join_needs_a_parameter() {
    let s = server();
    let mut a = s.user("alice");
    a.send("JOIN");
    a.expect(":irc.test 461 alice JOIN :Not enough parameters");
}

#[test]
fn too_many_channels() {
    let s = server();
    let mut a = s.user("alice");
    let list: Vec<String> = (1..=51).map(|i| format!("#c{i}")).collect();
    a.send(&format!("JOIN {}", list.join(",")));
    for ch in &list[..50] {
        a.expect(&format!(":alice!~alice@127.0.0.1 JOIN {ch}"));
        a.expect(&format!(":irc.test 353 alice = {ch} :@alice"));
        a.expect(&format!(":irc.test 366 alice {ch} :End of /NAMES list"));
    }
    a.expect(":irc.test 405 alice #c51 :You have joined too many channels");
    a.expect_nothing();
    // Leaving one makes room again.
    a.send("PART #c1");
    a.expect(":alice!~alice@127.0.0.1 PART #c1");
    a.send("JOIN #c51");
    a.expect(":alice!~alice@127.0.0.1 JOIN #c51");
}

#[test]
fn part_with_and_without_reason() {
    let s = server();
    let mut a = s.user("alice");
    let mut b = s.user("bob");
    join(&mut a, "#a,#b");
    join(&mut b, "#a,#b");
    a.sync();
    b.send("PART #a");
    b.expect(":bob!~bob@127.0.0.1 PART #a");
    a.expect(":bob!~bob@127.0.0.1 PART #a");
    b.send("PART #B :see you later");
    b.expect(":bob!~bob@127.0.0.1 PART #b :see you later");
    a.expect(":bob!~bob@127.0.0.1 PART #b :see you later");
    a.expect_nothing();
    b.expect_nothing();
    // bob really left: +n keeps his messages out now.
    b.send("PRIVMSG #a :hello?");
    b.expect(":irc.test 404 bob #a :Cannot send to channel");
    a.expect_nothing();
}

#[test]
fn part_a_list_with_errors() {
    let s = server();
    let mut a = s.user("alice");
    let mut b = s.user("bob");
    join(&mut a, "#a,#b");
    join(&mut b, "#x");
    b.send("PART #nope");
    b.expect(":irc.test 403 bob #nope :No such channel");
    b.send("PART #a");
    b.expect(":irc.test 442 bob #a :You're not on that channel");
    a.send("PART #a,#nope,#x,#b :bye");
    a.expect(":alice!~alice@127.0.0.1 PART #a :bye");
    a.expect(":irc.test 403 alice #nope :No such channel");
    a.expect(":irc.test 442 alice #x :You're not on that channel");
    a.expect(":alice!~alice@127.0.0.1 PART #b :bye");
    a.expect_nothing();
    b.expect_nothing();
    a.send("PART");
    a.expect(":irc.test 461 alice PART :Not enough parameters");
}

#[test]
fn last_part_destroys_the_channel() {
    let s = server();
    let mut a = s.user("alice");
    let mut b = s.user("bob");
    join(&mut a, "#a");
    a.send("TOPIC #a :old topic");
    a.expect(":alice!~alice@127.0.0.1 TOPIC #a :old topic");
    a.send("PART #a");
    a.expect(":alice!~alice@127.0.0.1 PART #a");
    // A fresh channel: bob is its operator and there is no topic.
    b.send("JOIN #a");
    b.expect(":bob!~bob@127.0.0.1 JOIN #a");
    b.expect(":irc.test 353 bob = #a :@bob");
    b.expect(":irc.test 366 bob #a :End of /NAMES list");
}

#[test]
fn topic_query_set_and_errors() {
    let s = server();
    let mut a = s.user("alice");
    let mut b = s.user("bob");
    let mut c = s.user("carol");
    join(&mut a, "#a");
    join(&mut b, "#a");
    a.sync();

    a.send("TOPIC #a");
    a.expect(":irc.test 331 alice #a :No topic is set");

    let before = now_s();
    a.send("TOPIC #A :Welcome to #a: be nice");
    let line = ":alice!~alice@127.0.0.1 TOPIC #a :Welcome to #a: be nice";
    a.expect(line);
    b.expect(line);
    let after = now_s();

    for (cl, nick) in [(&mut b, "bob"), (&mut c, "carol")] {
        cl.send("TOPIC #a");
        cl.expect(&format!(":irc.test 332 {nick} #a :Welcome to #a: be nice"));
        let l = cl.expect_prefix(&format!(":irc.test 333 {nick} #a alice!~alice@127.0.0.1 "));
        let t: u64 = l
            .rsplit(' ')
            .next()
            .unwrap()
            .parse()
            .expect("333 time is a number");
        assert!(
            before <= t && t <= after,
            "topic time {t} not in {before}..={after}"
        );
    }

    // Channels are created +nt: only operators set the topic; outsiders cannot at all.
    b.send("TOPIC #a :mine now");
    b.expect(":irc.test 482 bob #a :You're not channel operator");
    c.send("TOPIC #a :mine now");
    c.expect(":irc.test 442 carol #a :You're not on that channel");
    c.send("TOPIC #nope");
    c.expect(":irc.test 403 carol #nope :No such channel");
    c.send("TOPIC");
    c.expect(":irc.test 461 carol TOPIC :Not enough parameters");

    // A joiner gets 332 and 333 before the names.
    c.send("JOIN #a");
    c.expect(":carol!~carol@127.0.0.1 JOIN #a");
    c.expect(":irc.test 332 carol #a :Welcome to #a: be nice");
    c.expect_prefix(":irc.test 333 carol #a alice!~alice@127.0.0.1 ");
    c.expect_prefix(":irc.test 353 carol = #a :");
    c.expect(":irc.test 366 carol #a :End of /NAMES list");

    // An empty topic clears it.
    a.sync();
    b.sync();
    a.send("TOPIC #a :");
    let line = ":alice!~alice@127.0.0.1 TOPIC #a :";
    a.expect(line);
    b.expect(line);
    c.expect(line);
    b.send("TOPIC #a");
    b.expect(":irc.test 331 bob #a :No topic is set");
    for cl in [&mut a, &mut b, &mut c] {
        cl.expect_nothing();
    }
}

#[test]
fn names_replies() {
    let s = server();
    let mut a = s.user("alice");
    let mut b = s.user("bob");
    let mut c = s.user("carol");
    join(&mut a, "#a,#b");
    join(&mut b, "#a");
    c.send("NAMES #A");
    let l = c.line();
    assert_eq!(names(&l, ":irc.test 353 carol = #a :"), ["@alice", "bob"]);
    c.expect(":irc.test 366 carol #a :End of /NAMES list");
    c.send("NAMES #a,#nope,#b");
    let l = c.line();
    assert_eq!(names(&l, ":irc.test 353 carol = #a :"), ["@alice", "bob"]);
    c.expect(":irc.test 366 carol #a :End of /NAMES list");
    c.expect(":irc.test 366 carol #nope :End of /NAMES list");
    c.expect(":irc.test 353 carol = #b :@alice");
    c.expect(":irc.test 366 carol #b :End of /NAMES list");
    c.send("NAMES");
    c.expect(":irc.test 366 carol * :End of /NAMES list");
    c.expect_nothing();
}

#[test]
fn list_all_by_mask_and_by_size() {
    let s = server();
    let mut a = s.user("alice");
    let mut b = s.user("bob");
    join(&mut a, "#a,#ab,#b");
    join(&mut b, "#ab,#b");
    a.sync();
    a.send("TOPIC #ab :the topic");
    a.expect(":alice!~alice@127.0.0.1 TOPIC #ab :the topic");
    b.sync();

    b.send("LIST");
    b.expect(":irc.test 321 bob Channel :Users  Name");
    b.expect(":irc.test 322 bob #a 1 :[+nt] ");
    b.expect(":irc.test 322 bob #ab 2 :[+nt] the topic");
    b.expect(":irc.test 322 bob #b 2 :[+nt] ");
    b.expect(":irc.test 323 bob :End of /LIST");

    b.send("LIST #a*");
    b.expect(":irc.test 321 bob Channel :Users  Name");
    b.expect(":irc.test 322 bob #a 1 :[+nt] ");
    b.expect(":irc.test 322 bob #ab 2 :[+nt] the topic");
    b.expect(":irc.test 323 bob :End of /LIST");

    b.send("LIST >1");
    b.expect(":irc.test 321 bob Channel :Users  Name");
    b.expect(":irc.test 322 bob #ab 2 :[+nt] the topic");
    b.expect(":irc.test 322 bob #b 2 :[+nt] ");
    b.expect(":irc.test 323 bob :End of /LIST");

    b.send("LIST <2");
    b.expect(":irc.test 321 bob Channel :Users  Name");
    b.expect(":irc.test 322 bob #a 1 :[+nt] ");
    b.expect(":irc.test 323 bob :End of /LIST");

    b.send("LIST #B");
    b.expect(":irc.test 321 bob Channel :Users  Name");
    b.expect(":irc.test 322 bob #b 2 :[+nt] ");
    b.expect(":irc.test 323 bob :End of /LIST");

    b.send("LIST #zz*");
    b.expect(":irc.test 321 bob Channel :Users  Name");
    b.expect(":irc.test 323 bob :End of /LIST");
    b.expect_nothing();
}

#[test]
fn kick_reaches_everyone_and_removes_the_victim() {
    let s = server();
    let mut a = s.user("alice");
    let mut b = s.user("bob");
    let mut c = s.user("carol");
    join(&mut a, "#a");
    join(&mut b, "#a");
    join(&mut c, "#a");
    a.sync();
    b.sync();

    a.send("KICK #A BOB :behave yourself");
    let line = ":alice!~alice@127.0.0.1 KICK #a bob :behave yourself";
    a.expect(line);
    b.expect(line);
    c.expect(line);
    for cl in [&mut a, &mut b, &mut c] {
        cl.expect_nothing();
    }
    b.send("PRIVMSG #a :let me back");
    b.expect(":irc.test 404 bob #a :Cannot send to channel");
    c.send("NAMES #a");
    let l = c.line();
    assert_eq!(names(&l, ":irc.test 353 carol = #a :"), ["@alice", "carol"]);
    c.expect(":irc.test 366 carol #a :End of /NAMES list");

    // Without a reason, the kicker's nick is the reason.
    a.send("KICK #a carol");
    let line = ":alice!~alice@127.0.0.1 KICK #a carol :alice";
    a.expect(line);
    c.expect(line);
    b.expect_nothing();
}

#[test]
fn kick_several_at_once() {
    let s = server();
    let mut a = s.user("alice");
    let mut b = s.user("bob");
    let mut c = s.user("carol");
    join(&mut a, "#a");
    join(&mut b, "#a");
    join(&mut c, "#a");
    a.sync();
    b.sync();
    a.send("KICK #a bob,nobody,carol :out");
    a.expect(":alice!~alice@127.0.0.1 KICK #a bob :out");
    a.expect(":irc.test 401 alice nobody :No such nick/channel");
    a.expect(":alice!~alice@127.0.0.1 KICK #a carol :out");
    b.expect(":alice!~alice@127.0.0.1 KICK #a bob :out");
    c.expect(":alice!~alice@127.0.0.1 KICK #a bob :out");
    c.expect(":alice!~alice@127.0.0.1 KICK #a carol :out");
    for cl in [&mut a, &mut b, &mut c] {
        cl.expect_nothing();
    }
}

#[test]
fn kick_errors() {
    let s = server();
    let mut a = s.user("alice");
    let mut b = s.user("bob");
    let mut c = s.user("carol");
    join(&mut a, "#a");
    join(&mut b, "#a");
    join(&mut c, "#c");
    a.sync();
    b.send("KICK #a alice :no");
    b.expect(":irc.test 482 bob #a :You're not channel operator");
    a.send("KICK #a carol");
    a.expect(":irc.test 441 alice carol #a :They aren't on that channel");
    a.send("KICK #a nobody");
    a.expect(":irc.test 401 alice nobody :No such nick/channel");
    c.send("KICK #a bob");
    c.expect(":irc.test 442 carol #a :You're not on that channel");
    a.send("KICK #nope bob");
    a.expect(":irc.test 403 alice #nope :No such channel");
    a.send("KICK #a");
    a.expect(":irc.test 461 alice KICK :Not enough parameters");
    for cl in [&mut a, &mut b, &mut c] {
        cl.expect_nothing();
    }
}

#[test]
fn kicking_oneself_as_last_member_ends_the_channel() {
    let s = server();
    let mut a = s.user("alice");
    join(&mut a, "#a");
    a.send("KICK #a alice :bye me");
    a.expect(":alice!~alice@127.0.0.1 KICK #a alice :bye me");
    a.send("LIST");
    a.expect(":irc.test 321 alice Channel :Users  Name");
    a.expect(":irc.test 323 alice :End of /LIST");
}

#[test]
fn invite_replies_and_delivery() {
    let s = server();
    let mut a = s.user("alice");
    let mut b = s.user("bob");
    let mut c = s.user("carol");
    join(&mut a, "#a");
    join(&mut c, "#a");
    a.sync();

    a.send("INVITE BOB #A");
    a.expect(":irc.test 341 alice bob #a");
    b.expect(":alice!~alice@127.0.0.1 INVITE bob #a");
    // Other members without invite-notify hear nothing.
    c.expect_nothing();

    a.send("INVITE carol #a");
    a.expect(":irc.test 443 alice carol #a :is already on channel");
    b.send("INVITE carol #a");
    b.expect(":irc.test 442 bob #a :You're not on that channel");
    a.send("INVITE nobody #a");
    a.expect(":irc.test 401 alice nobody :No such nick/channel");
    a.send("INVITE bob #nope");
    a.expect(":irc.test 403 alice #nope :No such channel");
    a.send("INVITE bob");
    a.expect(":irc.test 461 alice INVITE :Not enough parameters");

    // An away target: the inviter is told.
    b.send("AWAY :lunch");
    b.expect(":irc.test 306 bob :You have been marked as being away");
    c.send("INVITE bob #a");
    c.expect(":irc.test 341 carol bob #a");
    c.expect(":irc.test 301 carol bob :lunch");
    b.expect(":carol!~carol@127.0.0.1 INVITE bob #a");

    // The invitation is consumed by joining.
    b.send("JOIN #a");
    b.expect(":bob!~bob@127.0.0.1 JOIN #a");
    for cl in [&mut a, &mut c] {
        cl.expect(":bob!~bob@127.0.0.1 JOIN #a");
        cl.expect_nothing();
    }
}

#[test]
fn long_topic_and_kick_reason_are_cut_on_a_character_boundary() {
    let s = server();
    let mut a = s.user("alice");
    let mut b = s.user("bob");
    join(&mut a, "#a");
    join(&mut b, "#a");
    a.sync();
    // TOPICLEN is 390 bytes: the two-byte "é" at 389..391 does not fit and is dropped whole.
    let topic = format!("{}é and more", "t".repeat(389));
    a.send(&format!("TOPIC #a :{topic}"));
    let want = format!(":alice!~alice@127.0.0.1 TOPIC #a :{}", "t".repeat(389));
    a.expect(&want);
    b.expect(&want);
    b.send("TOPIC #a");
    b.expect(&format!(":irc.test 332 bob #a :{}", "t".repeat(389)));
    // KICKLEN is 255 bytes: "€" (three bytes) at 254..257 goes.
    a.send(&format!("KICK #a bob :{}€", "k".repeat(254)));
    let want = format!(":alice!~alice@127.0.0.1 KICK #a bob :{}", "k".repeat(254));
    b.skip_until(" 333 bob #a ");
    b.expect(&want);
    a.expect(&want);
}

#[test]
fn long_names_lists_are_split_into_several_353s() {
    let s = TestServer::start("[limits]\nmax_clients_per_ip = 0\nflood_burst = 1000\n");
    let nicks: Vec<String> = (0..24)
        .map(|i| format!("{}{i:02}", "n".repeat(28)))
        .collect();
    let mut members = Vec::new();
    for n in &nicks {
        let mut c = s.user(n);
        join(&mut c, "#big");
        members.push(c);
    }
    let mut v = s.user("viewer");
    let mut uh = s.connect();
    uh.send("CAP REQ :userhost-in-names");
    uh.send("NICK uh");
    uh.send("USER uh 0 * :uh");
    uh.expect(":irc.test CAP * ACK :userhost-in-names");
    uh.send("CAP END");
    uh.skip_until(" 376 ");
    uh.nick = "uh".into();
    for (c, me, entry) in [(&mut v, "viewer", 0), (&mut uh, "uh", 1)] {
        c.send("NAMES #big");
        let head = format!(":irc.test 353 {me} = #big :");
        let mut all = Vec::new();
        let mut lines = 0;
        loop {
            let l = c.line();
            if l.starts_with(&format!(":irc.test 366 {me} #big ")) {
                break;
            }
            assert!(l.len() + 2 <= 512, "353 too long: {} bytes", l.len() + 2);
            all.extend(names(&l, &head));
            lines += 1;
        }
        assert!(lines >= 2, "{me}: expected several 353 lines, got {lines}");
        all.sort();
        let mut want: Vec<String> = nicks
            .iter()
            .enumerate()
            .map(|(i, n)| {
                let op = if i == 0 { "@" } else { "" };
                if entry == 0 {
                    format!("{op}{n}")
                } else {
                    // USERLEN is 10 with the "~": nine characters of the user name are kept.
                    format!("{op}{n}!~{}@127.0.0.1", &n[..9])
                }
            })
            .collect();
        want.sort();
        assert_eq!(all, want, "{me}");
    }
}
