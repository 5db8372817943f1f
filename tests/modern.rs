//! The modern client protocol (issue 11): what today's clients negotiate and expect, each
//! checked line by line against the IRCv3 specifications and modern.ircdocs.horse.

mod common;
use common::*;

/// `alice` (op) and `bob` in `#c`, each having read their JOIN bursts.
fn channel_pair(s: &TestServer) -> (TestClient, TestClient) {
    let mut alice = s.user("alice");
    let mut bob = s.user("bob");
    join(&mut alice, "#c");
    join(&mut bob, "#c");
    alice.expect(":bob!~bob@127.0.0.1 JOIN #c");
    (alice, bob)
}

#[test]
fn bad_key_and_limit_get_696_not_461() {
    let s = server();
    let (mut a, mut b) = channel_pair(&s);
    a.send("MODE #c +k :");
    a.expect(":irc.test 696 alice #c k * :Invalid key");
    a.send("MODE #c +k :two words");
    a.expect(":irc.test 696 alice #c k * :Invalid key");
    a.send("MODE #c +l :");
    a.expect(":irc.test 696 alice #c l * :Invalid limit");
    a.send("MODE #c +l ten");
    a.expect(":irc.test 696 alice #c l ten :Invalid limit");
    // Nothing changed, and nobody was told of anything.
    a.send("MODE #c");
    a.expect_prefix(":irc.test 324 alice #c +nt");
    a.skip_until(" 329 ");
    b.expect_nothing();
    // A good key still works, and a bare -k still removes it.
    a.send("MODE #c +k sesame");
    a.expect(":alice!~alice@127.0.0.1 MODE #c +k sesame");
    a.send("MODE #c -k");
    a.expect(":alice!~alice@127.0.0.1 MODE #c -k *");
    // Missing altogether is still 461.
    a.send("MODE #c +l");
    a.expect(":irc.test 461 alice MODE :Not enough parameters");
}

#[test]
fn user_with_empty_realname_gets_461() {
    let s = server();
    let mut c = s.connect();
    c.send("NICK alice");
    c.send("USER alice 0 * :");
    c.expect(":irc.test 461 alice USER :Not enough parameters");
    c.send("USER alice 0 * :Alice");
    c.expect_prefix(":irc.test 001 alice ");
}

#[test]
fn user_name_that_is_not_utf8_is_cleaned_or_refused() {
    let s = server();
    let mut c = s.connect();
    c.send("NICK alice");
    // Nothing an ident can hold: refused with a reason.
    c.send_raw(b"USER \xff\xfe 0 * :Alice\r\n");
    c.expect(":irc.test 468 alice :Your username is invalid");
    // Some of it usable: registered with what is left.
    c.send_raw(b"USER \xe9lise 0 * :Alice\r\n");
    c.expect_prefix(":irc.test 001 alice ");
    c.skip_until(" 376 ");
    c.send("WHOIS alice");
    c.expect(":irc.test 311 alice alice ~lise 127.0.0.1 * :Alice");
}

#[test]
fn who_channel_shows_invisible_members_to_members_and_opers() {
    let s = TestServer::start(
        "[limits]\nflood_burst = 1000\n[[oper]]\nname = \"op\"\npassword = \"pw\"\n",
    );
    let (mut a, mut b) = channel_pair(&s);
    b.send("MODE bob +i");
    b.expect(":bob MODE bob :+i");
    a.send("WHO #c");
    a.expect(":irc.test 352 alice #c ~alice 127.0.0.1 irc.test alice H@ :0 alice real");
    a.expect(":irc.test 352 alice #c ~bob 127.0.0.1 irc.test bob H :0 bob real");
    a.expect(":irc.test 315 alice #c :End of WHO list");
    // An outsider does not see bob; an operator does.
    let mut c = s.user("carol");
    c.send("WHO #c");
    c.expect(":irc.test 352 carol #c ~alice 127.0.0.1 irc.test alice H@ :0 alice real");
    c.expect(":irc.test 315 carol #c :End of WHO list");
    c.send("OPER op pw");
    c.skip_until(" MODE carol ");
    c.send("WHO #c");
    c.expect(":irc.test 352 carol #c ~alice 127.0.0.1 irc.test alice H@ :0 alice real");
    c.expect(":irc.test 352 carol #c ~bob 127.0.0.1 irc.test bob H :0 bob real");
    c.expect(":irc.test 315 carol #c :End of WHO list");
}

#[test]
fn client_tags_up_to_4094_bytes_pass_and_more_get_417() {
    let s = server();
    let mut a = with_caps(&s, "alice", "message-tags");
    let mut b = with_caps(&s, "bob", "message-tags");
    // Exactly 4094 bytes of tag data (without `@` and the space).
    let tag = format!("+x={}", "v".repeat(4094 - 3));
    a.send(&format!("@{tag} PRIVMSG bob :big"));
    let (_, got) = split_msgid(&b.line());
    assert!(
        got == format!("@{tag} :alice!~alice@127.0.0.1 PRIVMSG bob :big"),
        "{}",
        &got[got.len().saturating_sub(80)..]
    );
    // One byte more: 417, dropped, and the connection goes on.
    a.send(&format!("@{tag}v PRIVMSG bob :too big"));
    a.expect(":irc.test 417 alice :Input line was too long");
    b.expect_nothing();
    a.send("PRIVMSG bob :after");
    let (_, got) = split_msgid(&b.line());
    assert_eq!(got, ":alice!~alice@127.0.0.1 PRIVMSG bob :after");
}

#[test]
fn every_message_gets_one_msgid_shared_by_its_copies() {
    let s = server();
    let mut a = with_caps(&s, "alice", "message-tags echo-message");
    let mut b = with_caps(&s, "bob", "message-tags");
    let mut c = s.user("carol");
    for cl in [&mut a, &mut b, &mut c] {
        join(cl, "#c");
    }
    a.skip_until(":carol!~carol@127.0.0.1 JOIN #c");
    b.skip_until(":carol!~carol@127.0.0.1 JOIN #c");
    a.send("@+draft/reply=x PRIVMSG #c :hi");
    let (echo, echo_rest) = split_msgid(&a.line());
    let (seen, seen_rest) = split_msgid(&b.line());
    assert_eq!(echo, seen);
    assert_eq!(
        seen_rest,
        "@+draft/reply=x :alice!~alice@127.0.0.1 PRIVMSG #c :hi"
    );
    assert_eq!(echo_rest, seen_rest);
    // Without message-tags: the plain line.
    c.expect(":alice!~alice@127.0.0.1 PRIVMSG #c :hi");
    // NOTICE and TAGMSG too, each its own id.
    a.send("NOTICE bob :n");
    let (n1, _) = split_msgid(&a.line());
    let (n2, rest) = split_msgid(&b.line());
    assert_eq!(rest, ":alice!~alice@127.0.0.1 NOTICE bob :n");
    assert_eq!(n1, n2);
    assert_ne!(n1, echo);
    a.send("@+typing=active TAGMSG #c");
    let (t1, _) = split_msgid(&a.line());
    let (t2, rest) = split_msgid(&b.line());
    assert_eq!(rest, "@+typing=active :alice!~alice@127.0.0.1 TAGMSG #c");
    assert_eq!(t1, t2);
    assert!(t1 != n1 && t1 != echo);
    c.expect_nothing();
}

/// `user_on` plus a CAP REQ for `caps`.
fn net_user(s: &TestServer, nick: &str, caps: &str) -> TestClient {
    let mut c = s.user_on(nick);
    c.send(&format!("CAP REQ :{caps}"));
    c.skip_until(" ACK ");
    c
}

#[test]
fn msgid_is_kept_across_a_portal() {
    let (hub, leaf) = common::net::linked_pair("");
    let mut alice = net_user(&hub, "alice", "message-tags echo-message");
    let mut bob = net_user(&leaf, "bob", "message-tags");
    common::net::converge(&[&hub, &leaf]);
    alice.send("@+x=1 PRIVMSG bob :over there");
    let (sent, _) = split_msgid(&alice.line());
    let (got, rest) = split_msgid(&bob.line());
    assert_eq!(sent, got);
    assert_eq!(
        rest,
        "@+x=1 :alice!~alice@127.0.0.1 PRIVMSG bob :over there"
    );
    // And back: the leaf's own id (its server ID leads), kept on the hub.
    bob.send("PRIVMSG alice :back");
    let (back, _) = split_msgid(&alice.line());
    assert!(
        back.starts_with("0002") && sent.starts_with("0001"),
        "{sent} {back}"
    );
}

#[test]
fn monitor_tells_of_sign_on_and_off() {
    let s = server();
    let mut a = s.user("alice");
    let _bob = s.user("bob");
    a.send("MONITOR + bob,carol,Bob");
    a.expect(":irc.test 730 alice :bob!~bob@127.0.0.1");
    a.expect(":irc.test 731 alice :carol");
    a.send("MONITOR L");
    a.expect(":irc.test 732 alice :bob,carol");
    a.expect(":irc.test 733 alice :End of MONITOR list");
    let mut carol = s.user("carol");
    a.expect(":irc.test 730 alice :carol!~carol@127.0.0.1");
    carol.send("NICK dave");
    a.expect(":irc.test 731 alice :carol");
    carol.send("NICK carol");
    a.expect(":irc.test 730 alice :carol!~carol@127.0.0.1");
    carol.send("QUIT :bye");
    a.expect(":irc.test 731 alice :carol");
    a.send("MONITOR S");
    a.expect(":irc.test 730 alice :bob!~bob@127.0.0.1");
    a.expect(":irc.test 731 alice :carol");
    a.send("MONITOR - bob");
    a.send("MONITOR L");
    a.expect(":irc.test 732 alice :carol");
    a.expect(":irc.test 733 alice :End of MONITOR list");
    a.send("MONITOR C");
    a.send("MONITOR L");
    a.expect(":irc.test 733 alice :End of MONITOR list");
    s.user("carol");
    a.expect_nothing();
    a.send("MONITOR +");
    a.expect(":irc.test 461 alice MONITOR :Not enough parameters");
}

#[test]
fn monitor_list_is_full_at_the_limit() {
    let s = server();
    let mut a = s.connect();
    a.send("NICK alice");
    a.send("USER alice 0 * :Alice");
    let burst = a.skip_until(" 376 ").join("\n");
    assert!(burst.contains(" MONITOR=100 "), "{burst}");
    a.nick = "alice".into();
    let first: Vec<String> = (0..99).map(|i| format!("n{i}")).collect();
    a.send(&format!("MONITOR + {}", first.join(",")));
    a.skip_until(" 731 ");
    a.sync();
    a.send("MONITOR + x1,x2,x3");
    a.expect(":irc.test 734 alice 100 x2,x3 :Monitor list is full.");
    a.expect(":irc.test 731 alice :x1");
}

#[test]
fn monitor_sees_users_on_other_servers() {
    let (hub, leaf) = common::net::linked_pair("");
    let mut alice = hub.user_on("alice");
    alice.send("MONITOR + bob");
    alice.expect(":hub.test 731 alice :bob");
    let mut bob = leaf.user_on("bob");
    alice.expect(":hub.test 730 alice :bob!~bob@127.0.0.1");
    bob.send("QUIT :bye");
    alice.expect(":hub.test 731 alice :bob");
}

#[test]
fn bot_mode_shows_in_whois_who_and_the_bot_tag() {
    let s = server();
    let mut a = s.connect();
    a.send("CAP REQ :message-tags");
    a.send("NICK alice");
    a.send("USER alice 0 * :alice real");
    a.send("CAP END");
    let burst = a.skip_until(" 376 ").join("\n");
    assert!(burst.contains(" BOT=B "), "{burst}");
    a.nick = "alice".into();
    let mut bot = s.user("bot");
    bot.send("MODE bot +B");
    bot.expect(":bot MODE bot :+B");
    join(&mut a, "#c");
    join(&mut bot, "#c");
    a.expect(":bot!~bot@127.0.0.1 JOIN #c");
    a.send("WHOIS bot");
    let whois = a.skip_until(" 318 ");
    assert!(
        whois.contains(&":irc.test 335 alice bot :is a bot".to_string()),
        "{whois:#?}"
    );
    a.send("WHO bot");
    a.expect(":irc.test 352 alice * ~bot 127.0.0.1 irc.test bot HB :0 bot real");
    a.expect(":irc.test 315 alice bot :End of WHO list");
    bot.send("PRIVMSG #c :beep");
    let (_, rest) = split_msgid(&a.line());
    assert_eq!(rest, "@bot :bot!~bot@127.0.0.1 PRIVMSG #c :beep");
    bot.send("MODE bot -B");
    bot.expect(":bot MODE bot :-B");
    bot.send("PRIVMSG #c :human now");
    let (_, rest) = split_msgid(&a.line());
    assert_eq!(rest, ":bot!~bot@127.0.0.1 PRIVMSG #c :human now");
}

#[test]
fn bot_mode_crosses_a_portal() {
    let (hub, leaf) = common::net::linked_pair("");
    let mut alice = hub.user_on("alice");
    let mut bot = leaf.user_on("bot");
    bot.send("MODE bot +B");
    bot.expect(":bot MODE bot :+B");
    common::net::converge(&[&hub, &leaf]);
    alice.send("WHOIS bot");
    let whois = alice.skip_until(" 318 ");
    assert!(
        whois.contains(&":hub.test 335 alice bot :is a bot".to_string()),
        "{whois:#?}"
    );
}

#[test]
fn whox_answers_354_with_the_fields_asked_in_fixed_order() {
    let s = server();
    let (mut a, mut b) = channel_pair(&s);
    b.send("AWAY :out");
    b.skip_until(" 306 ");
    // Asked out of order: answered t c u i h s n f d l a o, then r as the trailing one.
    a.send("WHO #c %rnfcuhtsd,42");
    a.expect(":irc.test 354 alice 42 #c ~alice 127.0.0.1 irc.test alice H@ 0 :alice real");
    a.expect(":irc.test 354 alice 42 #c ~bob 127.0.0.1 irc.test bob G 0 :bob real");
    a.expect(":irc.test 315 alice #c :End of WHO list");
    // The address only to the user themselves; account 0 (none); op level n/a.
    a.send("WHO bob %nia");
    a.expect(":irc.test 354 alice 255.255.255.255 bob 0");
    a.expect(":irc.test 315 alice bob :End of WHO list");
    a.send("WHO alice %ino");
    a.expect(":irc.test 354 alice 127.0.0.1 alice n/a");
    a.expect(":irc.test 315 alice alice :End of WHO list");
    // A token that is no number of up to three digits is 0; `o` before `%` still filters.
    a.send("WHO #c o%tn,abcd");
    a.expect(":irc.test 315 alice #c :End of WHO list");
    a.send("WHO #c %tn,abcd");
    a.expect(":irc.test 354 alice 0 alice");
    a.expect(":irc.test 354 alice 0 bob");
    a.skip_until(" 315 ");
}

#[test]
fn invite_alone_lists_invitations() {
    let s = server();
    let (mut a, mut b) = channel_pair(&s);
    a.send("JOIN #b");
    a.skip_until(" 366 ");
    let mut c = s.user("carol");
    c.send("INVITE");
    c.expect(":irc.test 337 carol :End of /INVITE list");
    a.send("INVITE carol #c");
    a.expect(":irc.test 341 alice carol #c");
    c.expect(":alice!~alice@127.0.0.1 INVITE carol #c");
    a.send("INVITE carol #b");
    a.skip_until(" 341 ");
    c.skip_until(" INVITE carol #b");
    c.send("INVITE");
    c.expect(":irc.test 336 carol #b");
    c.expect(":irc.test 336 carol #c");
    c.expect(":irc.test 337 carol :End of /INVITE list");
    c.send("INVITE bob");
    c.expect(":irc.test 461 carol INVITE :Not enough parameters");
    b.expect_nothing();
}

#[test]
fn kick_several_nicks_and_names_of_several_channels() {
    let s = server();
    let (mut a, mut b) = channel_pair(&s);
    let mut c = s.user("carol");
    join(&mut c, "#c");
    a.skip_until(":carol!~carol@127.0.0.1 JOIN #c");
    b.skip_until(":carol!~carol@127.0.0.1 JOIN #c");
    a.send("JOIN #d");
    a.skip_until(" 366 ");
    a.send("NAMES #c,#d");
    let names = a.skip_until(" 366 alice #d ");
    assert_eq!(names.len(), 4, "{names:#?}");
    assert!(
        names[0].starts_with(":irc.test 353 alice = #c :"),
        "{names:#?}"
    );
    assert_eq!(names[1], ":irc.test 366 alice #c :End of /NAMES list");
    assert_eq!(names[2], ":irc.test 353 alice = #d :@alice");
    a.send("KICK #c bob,carol,nobody :out");
    a.expect(":alice!~alice@127.0.0.1 KICK #c bob :out");
    a.expect(":alice!~alice@127.0.0.1 KICK #c carol :out");
    a.expect(":irc.test 401 alice nobody :No such nick/channel");
    b.expect(":alice!~alice@127.0.0.1 KICK #c bob :out");
    c.expect(":alice!~alice@127.0.0.1 KICK #c bob :out");
    c.expect(":alice!~alice@127.0.0.1 KICK #c carol :out");
}

#[test]
fn ban_exceptions_and_invite_exceptions() {
    let s = server();
    let mut a = s.connect();
    a.send("NICK alice");
    a.send("USER alice 0 * :Alice");
    let burst = a.skip_until(" 376 ").join("\n");
    for token in [" EXCEPTS=e ", " INVEX=I ", " MAXLIST=b:100,e:100,I:100 "] {
        assert!(burst.contains(token), "{token} in {burst}");
    }
    a.nick = "alice".into();
    join(&mut a, "#c");
    a.send("MODE #c +be *!*@127.0.0.1 bob!*@*");
    a.expect(":alice!~alice@127.0.0.1 MODE #c +be *!*@127.0.0.1 bob!*@*");
    a.send("MODE #c +iI carol!*@*");
    a.expect(":alice!~alice@127.0.0.1 MODE #c +iI carol!*@*");
    a.send("MODE #c e");
    let l = a.expect_prefix(":irc.test 348 alice #c bob!*@* alice!~alice@127.0.0.1 ");
    assert!(
        l.split(' ')
            .nth(6)
            .is_some_and(|t| t.parse::<u64>().is_ok()),
        "{l}"
    );
    a.expect(":irc.test 349 alice #c :End of channel exception list");
    a.send("MODE #c I");
    a.expect_prefix(":irc.test 346 alice #c carol!*@* alice!~alice@127.0.0.1 ");
    a.expect(":irc.test 347 alice #c :End of channel invite list");
    // bob is banned but excepted; +i keeps him out; carol is invite-excepted but banned.
    let mut bob = s.user("bob");
    bob.send("JOIN #c");
    bob.expect(":irc.test 473 bob #c :Cannot join channel (+i)");
    a.send("MODE #c -i");
    a.skip_until(" MODE #c -i");
    bob.send("JOIN #c");
    bob.expect(":bob!~bob@127.0.0.1 JOIN #c");
    bob.skip_until(" 366 ");
    let mut carol = s.user("carol");
    carol.send("JOIN #c");
    carol.expect(":irc.test 474 carol #c :Cannot join channel (+b)");
    a.send("MODE #c -b+i *!*@127.0.0.1");
    a.skip_until(" MODE #c -b+i ");
    carol.send("JOIN #c");
    carol.expect(":carol!~carol@127.0.0.1 JOIN #c");
    a.send("MODE #c -e bob!*@*");
    a.skip_until(" MODE #c -e bob!*@*");
    a.send("MODE #c e");
    let rest = a.skip_until(" 349 alice #c ");
    assert!(rest.iter().all(|l| !l.contains(" 348 ")), "{rest:#?}");
}

#[test]
fn exception_lists_cross_a_portal_live_and_in_the_burst() {
    let hub = common::net::hub("");
    let mut alice = hub.user_on("alice");
    alice.send("JOIN #c");
    alice.skip_until(" 366 ");
    alice.send("MODE #c +e ex!*@*");
    alice.skip_until(" MODE #c +e ");
    // The leaf links after the +e: it comes in the burst (BMASK e).
    let leaf = common::net::leaf_of(&hub, "");
    common::net::converge(&[&hub, &leaf]);
    // Then a live +I.
    alice.send("MODE #c +I inv!*@*");
    alice.skip_until(" MODE #c +I ");
    common::net::converge(&[&hub, &leaf]);
    let mut bob = leaf.user_on("bob");
    bob.send("MODE #c e");
    bob.expect_prefix(":leaf.test 348 bob #c ex!*@* ");
    bob.expect(":leaf.test 349 bob #c :End of channel exception list");
    bob.send("MODE #c I");
    bob.expect_prefix(":leaf.test 346 bob #c inv!*@* ");
    bob.expect(":leaf.test 347 bob #c :End of channel invite list");
}

#[test]
fn help_and_helpop_answer_704_705_706_and_524() {
    let s = server();
    let mut a = s.user("alice");
    a.send("HELP privmsg");
    a.expect(":irc.test 704 alice PRIVMSG :** Help: PRIVMSG **");
    a.expect(":irc.test 705 alice PRIVMSG :PRIVMSG <target>[,target...] :<text>");
    a.expect(":irc.test 705 alice PRIVMSG :Sends a message to users or channels (@#chan: to its ops only).");
    a.expect(":irc.test 706 alice PRIVMSG :End of /HELP");
    a.send("HELPOP MONITOR");
    a.expect(":irc.test 704 alice MONITOR :** Help: MONITOR **");
    a.skip_until(" 706 alice MONITOR ");
    a.send("HELP");
    a.expect(":irc.test 704 alice * :** Help: index **");
    a.expect(":irc.test 705 alice * :HELP <subject> for help on one of:");
    for line in [
        "ACCESS ADMIN AUTH AUTHENTICATE AWAY CAP CAPAB CHGHOST",
        "CHGIDENT CONNECT CREATE DATA DIE DLINE EVENT GLINE",
        "HELP HELPOP INFO INVITE IRCX ISIRCX ISON JOIN",
        "KICK KILL KLINE LINKS LIST LISTX LUSERS MAP",
        "MARKREAD METADATA MODE MONITOR MOTD NAMES NICK NOTICE",
        "OPER PART PASS PING PONG PRIVMSG PROP QUIT",
        "REHASH RENAME REPLY REQUEST RESTART SERVER SETNAME SQUIT",
        "STATS TAGMSG TIME TOPIC UNDLINE UNGLINE UNKLINE USER",
        "USERHOST VERSION WALLOPS WHISPER WHO WHOIS WHOWAS",
    ] {
        a.expect(&format!(":irc.test 705 alice * :{line}"));
    }
    a.expect(":irc.test 706 alice * :End of /HELP");
    a.send("HELP rename");
    a.expect(":irc.test 704 alice RENAME :** Help: RENAME **");
    a.expect(":irc.test 705 alice RENAME :RENAME <channel> <new name> [:reason]");
    a.expect(":irc.test 705 alice RENAME :Channel operators (owners, in a channel that has one): renames a channel; it keeps its members, modes, topic and lists.");
    a.expect(":irc.test 706 alice RENAME :End of /HELP");
    a.send("HELP FROB");
    a.expect(":irc.test 524 alice FROB :No help available on this topic");
}

/// `[limits] utf8only`: UTF8ONLY in ISUPPORT, and text that is not UTF-8 is refused with
/// the spec's `FAIL <command> INVALID_UTF8`, never relayed; valid text passes.
#[test]
fn utf8only_refuses_invalid_text_with_fail() {
    let s = TestServer::start("[limits]\nutf8only = true\n");
    let mut c = TestClient::connect(s.addr());
    c.send("NICK alice");
    c.send("USER alice 0 * :Alice");
    let welcome = c.skip_until(" 376 ");
    assert!(
        welcome
            .iter()
            .any(|l| l.contains(" 005 ") && l.contains(" UTF8ONLY ")),
        "{welcome:#?}"
    );
    let mut bob = s.user("bob");
    join(&mut bob, "#c");
    c.send("JOIN #c");
    c.skip_until(" 366 ");
    bob.sync();
    c.send_raw(b"PRIVMSG #c :caf\xe9\r\n");
    c.expect(
        ":irc.test FAIL PRIVMSG INVALID_UTF8 :Message rejected, your message contained invalid UTF-8",
    );
    c.send("PRIVMSG #c :café");
    bob.expect(":alice!~alice@127.0.0.1 PRIVMSG #c :café");
    bob.expect_nothing();
}
