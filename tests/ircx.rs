//! IRCX over real TCP: discovery, the per-connection switch, and an IRCX client and an RFC
//! client in the same channel, each seeing its own form of a whisper.
mod common;
use common::*;

#[test]
fn an_ircx_client_asks_before_registering_and_switches() {
    let s = server();
    let mut c = s.connect();
    c.send("MODE ISIRCX");
    c.expect(":irc.test 800 * 0 0 ANON,PLAIN 512 *");
    c.send("IRCX");
    c.expect(":irc.test 800 * 1 0 ANON,PLAIN 512 *");
    c.register("alice");
    c.send("MODE alice");
    c.expect(":irc.test 221 alice +x");
}

#[test]
fn ircx_and_rfc_clients_share_a_channel() {
    let s = server();
    let mut a = s.user("alice");
    let mut b = s.user("bob");
    let mut c = s.user("carol");
    b.send("IRCX");
    b.expect(":irc.test 800 bob 1 0 ANON,PLAIN 512 *");
    b.expect(":bob MODE bob :+x");
    b.sync();
    for cl in [&mut a, &mut b, &mut c] {
        join(cl, "#c");
    }
    a.sync();
    b.sync();
    // An RFC client knows no WHISPER…
    a.send("WHISPER #c bob :x");
    a.expect(":irc.test 421 alice WHISPER :Unknown command");
    // …an IRCX one whispers to both kinds, each in its own form.
    b.send("WHISPER #c alice,carol :psst");
    a.expect(":bob!~bob@127.0.0.1 PRIVMSG alice :psst");
    c.expect(":bob!~bob@127.0.0.1 PRIVMSG carol :psst");
    c.send("IRCX");
    c.sync();
    b.send("WHISPER #c carol :again");
    c.expect(":bob!~bob@127.0.0.1 WHISPER #c carol :again");
    for cl in [&mut a, &mut b, &mut c] {
        cl.expect_nothing();
    }
}

#[test]
fn create_prop_and_listx_over_tcp() {
    let s = server();
    let mut a = s.user("alice");
    let mut b = s.user("bob");
    for c in [&mut a, &mut b] {
        c.send("IRCX");
        c.sync();
    }
    a.send("CREATE #room tnl 20");
    let oid = a.expect_prefix(":irc.test CREATE #room 0");
    let oid = oid.rsplit(' ').next().unwrap().to_string();
    a.expect(":alice!~alice@127.0.0.1 JOIN #room");
    a.sync();
    a.send("PROP #room SUBJECT :gardens");
    a.expect(":alice!~alice@127.0.0.1 PROP #room SUBJECT :gardens");
    b.send(&format!("PROP {oid} SUBJECT,NAME"));
    b.expect(":irc.test 818 bob #room SUBJECT :gardens");
    b.expect(":irc.test 818 bob #room NAME :#room");
    b.expect(":irc.test 819 bob #room :End of properties");
    b.send("LISTX S=gard*");
    b.expect(":irc.test 811 bob :Start of ListX");
    b.expect(":irc.test 812 bob #room +nt 1 20 :");
    b.expect(":irc.test 817 bob :End of ListX");
    a.expect_nothing();
}

#[test]
fn an_auditorium_over_tcp() {
    let s = server();
    let mut a = s.user("alice");
    let mut b = s.user("bob");
    let mut c = s.user("carol");
    a.send("IRCX");
    a.sync();
    a.send("CREATE #hall x");
    a.expect_prefix(":irc.test CREATE #hall 0");
    a.expect(":alice!~alice@127.0.0.1 JOIN #hall");
    a.sync();
    b.send("JOIN #hall");
    b.expect(":bob!~bob@127.0.0.1 JOIN #hall");
    // Members come in hash order: either way, bob and the host, nobody else.
    let names = b.line();
    assert!(
        names == ":irc.test 353 bob = #hall :~alice bob"
            || names == ":irc.test 353 bob = #hall :bob ~alice",
        "{names}"
    );
    b.expect(":irc.test 366 bob #hall :End of /NAMES list");
    a.expect(":bob!~bob@127.0.0.1 JOIN #hall");
    c.send("JOIN #hall");
    c.expect(":carol!~carol@127.0.0.1 JOIN #hall");
    c.skip_until(":irc.test 366 carol #hall ");
    a.expect(":carol!~carol@127.0.0.1 JOIN #hall");
    // carol's question reaches the host alone; the host's answer reaches everyone.
    c.send("PRIVMSG #hall :question");
    a.expect(":carol!~carol@127.0.0.1 PRIVMSG #hall :question");
    a.send("PRIVMSG #hall :answer");
    b.expect(":alice!~alice@127.0.0.1 PRIVMSG #hall :answer");
    c.expect(":alice!~alice@127.0.0.1 PRIVMSG #hall :answer");
    c.send("PART #hall");
    c.expect(":carol!~carol@127.0.0.1 PART #hall");
    a.expect(":carol!~carol@127.0.0.1 PART #hall");
    // bob never saw carol come, speak or go.
    b.expect_nothing();
}

#[test]
fn a_full_cloneable_channel_over_tcp() {
    let s = server();
    let mut a = s.user("alice");
    let mut b = s.user("bob");
    a.send("IRCX");
    a.sync();
    a.send("CREATE #lobby dl 1");
    a.expect_prefix(":irc.test CREATE #lobby 0");
    a.sync();
    b.send("JOIN #lobby");
    b.expect(":bob!~bob@127.0.0.1 JOIN #lobby1");
    b.expect(":irc.test 353 bob = #lobby1 :bob");
    b.expect(":irc.test 366 bob #lobby1 :End of /NAMES list");
    let clone = a.expect_prefix(":irc.test CLONE #lobby 0");
    b.send("MODE #lobby1");
    b.expect(":irc.test 324 bob #lobby1 +El 1");
    b.sync();
    a.send(&format!("PROP {} NAME", clone.rsplit(' ').next().unwrap()));
    a.expect(":irc.test 818 alice #lobby1 NAME :#lobby1");
    a.expect(":irc.test 819 alice #lobby1 :End of properties");
    a.expect_nothing();
}

#[test]
fn lagged_lines_arrive_by_the_loops_timer() {
    let s = server();
    let mut a = s.user("alice");
    let mut b = s.user("bob");
    a.send("IRCX");
    a.sync();
    join(&mut a, "#slow");
    join(&mut b, "#slow");
    a.skip_until(":bob!~bob@127.0.0.1 JOIN #slow");
    a.send("PROP #slow LAG :1");
    a.expect(":alice!~alice@127.0.0.1 PROP #slow LAG :1");
    let sent = std::time::Instant::now();
    b.send("PRIVMSG #slow :late");
    a.expect(":bob!~bob@127.0.0.1 PRIVMSG #slow :late");
    let waited = sent.elapsed();
    assert!(
        waited >= std::time::Duration::from_millis(950)
            && waited < std::time::Duration::from_millis(1500),
        "{waited:?}"
    );
}

/// ACCESS over TCP: an IRCX owner's DENY keeps an RFC client out with 474, a GRANT lets
/// it in again, a user's own list stops another's messages, and a `$` DENY closes the
/// matching connection with an ERROR while its channel sees the QUIT.
#[test]
fn access_lists_over_tcp() {
    let s = TestServer::start(&format!(
        "{EASY}[[oper]]\nname = \"admin\"\npassword = \"pw\"\n"
    ));
    let mut a = s.user("alice");
    let mut b = s.user("bob");
    a.send("IRCX");
    a.sync();
    join(&mut a, "#c");
    a.send("ACCESS #c ADD DENY bob 0 :not you");
    a.expect(":irc.test 801 alice #c DENY bob!*@*$* 0 alice!~alice@127.0.0.1 :not you");
    b.send("JOIN #c");
    b.expect(":irc.test 474 bob #c :Cannot join channel (+b)");
    a.send("ACCESS #c ADD GRANT bob");
    a.expect(":irc.test 801 alice #c GRANT bob!*@*$* 0 alice!~alice@127.0.0.1 :");
    join(&mut b, "#c");
    a.sync();
    // alice blocks bob: his private message never arrives, his channel line does.
    a.send("ACCESS alice ADD DENY bob");
    a.expect(":irc.test 801 alice alice DENY bob!*@*$* 0 alice!~alice@127.0.0.1 :");
    b.send("PRIVMSG alice :private");
    b.send("PRIVMSG #c :public");
    a.expect(":bob!~bob@127.0.0.1 PRIVMSG #c :public");
    a.send("OPER admin pw");
    a.skip_until(" 381 ");
    a.sync();
    a.send("ACCESS $ ADD DENY bob 0 :banned here");
    a.expect(":irc.test 801 alice $ DENY bob!*@*$* 0 alice!~alice@127.0.0.1 :banned here");
    a.expect(":bob!~bob@127.0.0.1 QUIT :banned here");
    let last = b.expect_closed();
    assert_eq!(
        last.last().map(String::as_str),
        Some("ERROR :Closing Link: 127.0.0.1 (banned here)"),
        "{last:?}"
    );
    let mut again = s.connect();
    again.send("NICK bob");
    again.send("USER bob 0 * :Bob");
    assert_eq!(
        again.expect_closed(),
        ["ERROR :Closing Link: 127.0.0.1 (banned here)"]
    );
}
