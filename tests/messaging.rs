mod common;
use common::*;

/// alice (op), bob and carol in `#a`, every join burst drained.
fn trio(s: &TestServer) -> (TestClient, TestClient, TestClient) {
    let mut a = s.user("alice");
    let mut b = s.user("bob");
    let mut c = s.user("carol");
    join(&mut a, "#a");
    join(&mut b, "#a");
    join(&mut c, "#a");
    a.sync();
    b.sync();
    (a, b, c)
}

#[test]
fn privmsg_to_a_channel_reaches_every_other_member() {
    let s = server();
    let (mut a, mut b, mut c) = trio(&s);
    let mut outsider = s.user("dave");
    a.send("PRIVMSG #a :hello there");
    b.expect(":alice!~alice@127.0.0.1 PRIVMSG #a :hello there");
    c.expect(":alice!~alice@127.0.0.1 PRIVMSG #a :hello there");
    // The channel is shown as it is spelt, whatever case the sender used.
    b.send("PRIVMSG #A :case");
    a.expect(":bob!~bob@127.0.0.1 PRIVMSG #a :case");
    c.expect(":bob!~bob@127.0.0.1 PRIVMSG #a :case");
    for cl in [&mut a, &mut b, &mut c, &mut outsider] {
        cl.expect_nothing();
    }
}

#[test]
fn privmsg_and_notice_to_a_nick() {
    let s = server();
    let mut a = s.user("alice");
    let mut b = s.user("bob");
    a.send("PRIVMSG BoB :hi bob");
    b.expect(":alice!~alice@127.0.0.1 PRIVMSG bob :hi bob");
    a.send("NOTICE bob :a notice");
    b.expect(":alice!~alice@127.0.0.1 NOTICE bob :a notice");
    // A single word needs no colon; the text comes back with one.
    a.send("PRIVMSG bob word");
    b.expect(":alice!~alice@127.0.0.1 PRIVMSG bob :word");
    // Text is relayed as it came: leading colon, double spaces, UTF-8.
    a.send("PRIVMSG bob ::-) two  spaces, héllo ✓");
    b.expect(":alice!~alice@127.0.0.1 PRIVMSG bob ::-) two  spaces, héllo ✓");
    // ...even if it is not UTF-8.
    a.send_raw(b"PRIVMSG bob :caf\xe9\r\n");
    assert_eq!(
        b.line_bytes(),
        b":alice!~alice@127.0.0.1 PRIVMSG bob :caf\xe9"
    );
    // To oneself.
    a.send("PRIVMSG alice :note to self");
    a.expect(":alice!~alice@127.0.0.1 PRIVMSG alice :note to self");
    a.expect_nothing();
    b.expect_nothing();
}

#[test]
fn notice_to_a_channel() {
    let s = server();
    let (mut a, mut b, mut c) = trio(&s);
    b.send("NOTICE #a :heads up");
    a.expect(":bob!~bob@127.0.0.1 NOTICE #a :heads up");
    c.expect(":bob!~bob@127.0.0.1 NOTICE #a :heads up");
    for cl in [&mut a, &mut b, &mut c] {
        cl.expect_nothing();
    }
}

#[test]
fn several_targets_each_get_their_copy() {
    let s = server();
    let (mut a, mut b, mut c) = trio(&s);
    let mut d = s.user("dave");
    a.send("PRIVMSG #a,dave,nobody,bob :to many");
    b.expect(":alice!~alice@127.0.0.1 PRIVMSG #a :to many");
    c.expect(":alice!~alice@127.0.0.1 PRIVMSG #a :to many");
    d.expect(":alice!~alice@127.0.0.1 PRIVMSG dave :to many");
    a.expect(":irc.test 401 alice nobody :No such nick/channel");
    b.expect(":alice!~alice@127.0.0.1 PRIVMSG bob :to many");
    for cl in [&mut a, &mut b, &mut c, &mut d] {
        cl.expect_nothing();
    }
}

#[test]
fn too_many_targets() {
    let s = server();
    let mut a = s.user("alice");
    let mut b = s.user("bob");
    a.send("PRIVMSG bob,bob,bob,bob,bob :spam");
    a.expect(":irc.test 407 alice bob,bob,bob,bob,bob :Too many targets");
    b.expect_nothing();
    a.send("PRIVMSG bob,bob,bob,bob :four is fine");
    for _ in 0..4 {
        b.expect(":alice!~alice@127.0.0.1 PRIVMSG bob :four is fine");
    }
    b.expect_nothing();
}

#[test]
fn statusmsg_reaches_only_operators() {
    let s = server();
    let (mut a, mut b, mut c) = trio(&s);
    b.send("PRIVMSG @#a :psst, ops");
    a.expect(":bob!~bob@127.0.0.1 PRIVMSG @#a :psst, ops");
    b.send("NOTICE @#A :ops notice");
    a.expect(":bob!~bob@127.0.0.1 NOTICE @#a :ops notice");
    // `+#a` reaches voiced users and operators.
    c.send("PRIVMSG +#a :voices and ops");
    a.expect(":carol!~carol@127.0.0.1 PRIVMSG +#a :voices and ops");
    // alice is the only operator: her own status message reaches nobody.
    a.send("PRIVMSG @#a :alone");
    for cl in [&mut a, &mut b, &mut c] {
        cl.expect_nothing();
    }
    // Status messages obey the channel's rules for outsiders.
    let mut d = s.user("dave");
    d.send("PRIVMSG @#a :let me in");
    d.expect(":irc.test 404 dave #a :Cannot send to channel");
    a.expect_nothing();
}

#[test]
fn no_such_nick_or_channel() {
    let s = server();
    let mut a = s.user("alice");
    a.send("PRIVMSG nobody :hello?");
    a.expect(":irc.test 401 alice nobody :No such nick/channel");
    a.send("PRIVMSG #nowhere :hello?");
    a.expect(":irc.test 401 alice #nowhere :No such nick/channel");
    a.send("PRIVMSG @#nowhere :hello?");
    a.expect(":irc.test 401 alice @#nowhere :No such nick/channel");
    a.expect_nothing();
}

#[test]
fn outsider_cannot_send_to_a_no_external_channel() {
    let s = server();
    let (mut a, mut b, mut c) = trio(&s);
    let mut d = s.user("dave");
    d.send("PRIVMSG #a :from outside");
    d.expect(":irc.test 404 dave #a :Cannot send to channel");
    // NOTICE fails silently.
    d.send("NOTICE #a :from outside");
    for cl in [&mut a, &mut b, &mut c, &mut d] {
        cl.expect_nothing();
    }
}

#[test]
fn missing_recipient_and_missing_text() {
    let s = server();
    let mut a = s.user("alice");
    let mut b = s.user("bob");
    a.send("PRIVMSG");
    a.expect(":irc.test 411 alice :No recipient given (PRIVMSG)");
    a.send("PRIVMSG :");
    a.expect(":irc.test 411 alice :No recipient given (PRIVMSG)");
    a.send("PRIVMSG bob");
    a.expect(":irc.test 412 alice :No text to send");
    a.send("PRIVMSG bob :");
    a.expect(":irc.test 412 alice :No text to send");
    // NOTICE never gets an error reply.
    a.send("NOTICE");
    a.send("NOTICE bob");
    a.send("NOTICE bob :");
    a.expect_nothing();
    b.expect_nothing();
}

#[test]
fn notice_to_a_missing_target_gets_no_reply() {
    let s = server();
    let mut a = s.user("alice");
    a.send("NOTICE nobody :are you there");
    a.send("NOTICE #nowhere :are you there");
    a.send("NOTICE a,b,c,d,e :too many");
    a.expect_nothing();
}

#[test]
fn away_replies_and_301() {
    let s = server();
    let mut a = s.user("alice");
    let mut b = s.user("bob");
    b.send("AWAY :out to lunch, back at 2");
    b.expect(":irc.test 306 bob :You have been marked as being away");
    a.send("PRIVMSG bob :ping");
    b.expect(":alice!~alice@127.0.0.1 PRIVMSG bob :ping");
    a.expect(":irc.test 301 alice bob :out to lunch, back at 2");
    // NOTICE does not trigger the away reply.
    a.send("NOTICE bob :quiet");
    b.expect(":alice!~alice@127.0.0.1 NOTICE bob :quiet");
    a.expect_nothing();
    // Nor does a channel message.
    join(&mut a, "#a");
    join(&mut b, "#a");
    a.sync();
    a.send("PRIVMSG #a :all");
    b.expect(":alice!~alice@127.0.0.1 PRIVMSG #a :all");
    a.expect_nothing();
    // Back.
    b.send("AWAY");
    b.expect(":irc.test 305 bob :You are no longer marked as being away");
    a.send("PRIVMSG bob :back?");
    b.expect(":alice!~alice@127.0.0.1 PRIVMSG bob :back?");
    a.expect_nothing();
    b.send("AWAY :");
    b.expect(":irc.test 305 bob :You are no longer marked as being away");
    b.expect_nothing();
}

#[test]
fn away_message_is_cut_to_awaylen() {
    let s = server();
    let mut a = s.user("alice");
    let mut b = s.user("bob");
    b.send(&format!("AWAY :{}", "z".repeat(250)));
    b.expect(":irc.test 306 bob :You have been marked as being away");
    a.send("PRIVMSG bob :x");
    a.expect(&format!(":irc.test 301 alice bob :{}", "z".repeat(200)));
    b.expect(":alice!~alice@127.0.0.1 PRIVMSG bob :x");
    // Never in the middle of a character: "é" at bytes 199..201 is dropped whole.
    b.send(&format!("AWAY :{}é", "y".repeat(199)));
    b.expect(":irc.test 306 bob :You have been marked as being away");
    a.send("PRIVMSG bob :x");
    a.expect(&format!(":irc.test 301 alice bob :{}", "y".repeat(199)));
}

#[test]
fn fifty_members_each_get_one_message_once() {
    let s = TestServer::start("[limits]\nmax_clients_per_ip = 0\nflood_burst = 1000\n");
    let mut clients: Vec<TestClient> = (0..50).map(|i| s.user(&format!("u{i}"))).collect();
    for c in clients.iter_mut() {
        join(c, "#big");
    }
    // Client i saw the JOINs of the 49 - i clients after it, each once, and nothing else.
    for (i, c) in clients.iter_mut().enumerate() {
        let seen = c.sync();
        let want: Vec<String> = (i + 1..50)
            .map(|j| format!(":u{j}!~u{j}@127.0.0.1 JOIN #big"))
            .collect();
        assert_eq!(seen, want, "u{i}");
    }
    clients[7].send("PRIVMSG #big :one for all");
    for (i, c) in clients.iter_mut().enumerate() {
        if i != 7 {
            c.expect(":u7!~u7@127.0.0.1 PRIVMSG #big :one for all");
        }
        c.expect_nothing();
    }
}
