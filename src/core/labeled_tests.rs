//! labeled-response in the core: ACK, one labeled line, a batch, and a batch kept open.

use super::with_tag;
use crate::core::ids::Key;
use crate::core::testing::{lines, TestWorld};
use crate::core::{ConnId, Outbox};

/// A user with `labeled-response`, `batch` and `echo-message`.
fn labeled_user(t: &mut TestWorld, nick: &str) -> ConnId {
    let c = t.user(nick);
    t.feed(c, "CAP REQ :batch labeled-response echo-message");
    t.take(c);
    c
}

#[test]
fn no_reply_is_acked() {
    let mut t = TestWorld::new();
    let a = labeled_user(&mut t, "alice");
    assert_eq!(
        t.ask(a, "@label=abc PONG :foobar"),
        ["@label=abc :irc.test ACK"]
    );
}

#[test]
fn one_reply_line_carries_the_label() {
    let mut t = TestWorld::new();
    let a = labeled_user(&mut t, "alice");
    assert_eq!(
        t.ask(a, "@label=dc11f13f11 PRIVMSG nick :Hello"),
        ["@label=dc11f13f11 :irc.test 401 alice nick :No such nick/channel"]
    );
    // Other tags on the command are not the label's business.
    assert_eq!(
        t.ask(a, "@+x=1;label=p PING :x"),
        ["@label=p :irc.test PONG irc.test :x"]
    );
}

#[test]
fn several_lines_are_a_batch_with_the_label_on_its_start() {
    let mut t = TestWorld::new();
    let a = labeled_user(&mut t, "alice");
    t.user("bob");
    let got = t.ask(a, "@label=mGhe5V7RTV WHOIS bob");
    let n = got.len();
    assert!(n > 3, "{got:?}");
    assert_eq!(
        got[0],
        "@label=mGhe5V7RTV :irc.test BATCH +L1 labeled-response"
    );
    assert_eq!(
        got[1],
        "@batch=L1 :irc.test 311 alice bob ~bob 127.0.0.1 * :bob real"
    );
    assert_eq!(
        got[n - 2],
        "@batch=L1 :irc.test 318 alice bob :End of /WHOIS list"
    );
    assert_eq!(got[n - 1], ":irc.test BATCH -L1");
    assert!(got[1..n - 1].iter().all(|l| l.starts_with("@batch=L1 ")));
    // The next one gets a new reference.
    assert_eq!(
        t.ask(a, "@label=2 WHOIS bob")[0],
        "@label=2 :irc.test BATCH +L2 labeled-response"
    );
}

#[test]
fn without_the_caps_or_with_a_bad_label_nothing_changes() {
    let mut t = TestWorld::new();
    let a = t.user("alice");
    assert!(t.ask(a, "@label=abc PONG :x").is_empty());
    // labeled-response alone is not enough: the spec needs batch too.
    t.feed(a, "CAP REQ labeled-response");
    t.take(a);
    assert!(t.ask(a, "@label=abc PONG :x").is_empty());
    t.feed(a, "CAP REQ batch");
    t.take(a);
    assert_eq!(t.ask(a, "@label=abc PONG :x"), ["@label=abc :irc.test ACK"]);
    // Empty, valueless or longer than 64 bytes: no label.
    assert!(t.ask(a, "@label= PONG :x").is_empty());
    assert!(t.ask(a, "@label PONG :x").is_empty());
    let long = "x".repeat(65);
    assert!(t.ask(a, &format!("@label={long} PONG :x")).is_empty());
    let just = "x".repeat(64);
    assert_eq!(
        t.ask(a, &format!("@label={just} PONG :x")),
        [format!("@label={just} :irc.test ACK")]
    );
}

#[test]
fn echo_is_the_labeled_reply_and_others_get_no_label() {
    let mut t = TestWorld::new();
    let a = labeled_user(&mut t, "alice");
    let b = t.user("bob");
    t.feed(b, "CAP REQ :batch labeled-response message-tags");
    t.take(b);
    let got = t.ask(a, "@label=pQraCjj82e PRIVMSG bob :Hello!");
    assert_eq!(
        got,
        ["@label=pQraCjj82e :alice!~alice@127.0.0.1 PRIVMSG bob :Hello!"]
    );
    assert_eq!(t.take(b), [":alice!~alice@127.0.0.1 PRIVMSG bob :Hello!"]);
    // Without echo-message a delivered message has no reply: ACK.
    t.feed(a, "CAP REQ -echo-message");
    t.take(a);
    assert_eq!(
        t.ask(a, "@label=q PRIVMSG bob :Hi"),
        ["@label=q :irc.test ACK"]
    );
    assert_eq!(t.take(b), [":alice!~alice@127.0.0.1 PRIVMSG bob :Hi"]);
}

#[test]
fn a_message_to_oneself_is_delivered_unlabeled() {
    let mut t = TestWorld::new();
    let a = labeled_user(&mut t, "alice");
    // The delivered copy has no label; the echo is the reply.
    assert_eq!(
        t.ask(a, "@label=s PRIVMSG alice :me"),
        [
            ":alice!~alice@127.0.0.1 PRIVMSG alice :me",
            "@label=s :alice!~alice@127.0.0.1 PRIVMSG alice :me",
        ]
    );
    // Without echo-message the reply is empty: ACK after the delivery.
    t.feed(a, "CAP REQ -echo-message");
    t.take(a);
    assert_eq!(
        t.ask(a, "@label=s PRIVMSG alice :me"),
        [
            ":alice!~alice@127.0.0.1 PRIVMSG alice :me",
            "@label=s :irc.test ACK",
        ]
    );
}

#[test]
fn a_command_that_closes_the_connection_gets_no_ack() {
    let mut t = TestWorld::new();
    let a = labeled_user(&mut t, "alice");
    assert_eq!(
        t.ask(a, "@label=z QUIT :bye"),
        ["ERROR :Closing Link: 127.0.0.1 (Quit: bye)"]
    );
}

#[test]
fn a_reply_continued_in_later_turns_keeps_its_batch_open() {
    let mut t = TestWorld::new();
    let a = labeled_user(&mut t, "alice");
    let b = labeled_user(&mut t, "bob");
    // As a pager would: the handler says the reply continues (here: the test does, on
    // PONG, which has no reply of its own), then later turns add lines and end it.
    let mut out = Outbox::default();
    let label =
        t.w.label_for(
            a,
            &crate::proto::message::parse(b"@label=w PONG x").unwrap(),
            &out,
        )
        .expect("labeled");
    t.w.reply_continues(a);
    t.w.wrap_response(a, label, &mut out);
    let page = |t: &mut TestWorld, out: &mut Outbox, text: &str| {
        let from = out.sends.len();
        t.w.server_notice(out, b, "not alice's");
        t.w.server_notice(out, a, text);
        t.w.continue_reply(a, from, out);
    };
    page(&mut t, &mut out, "page 1");
    page(&mut t, &mut out, "page 2");
    t.w.end_reply(a, &mut out);
    // Ended: further calls change nothing.
    page(&mut t, &mut out, "after");
    t.w.end_reply(a, &mut out);
    let lines: Vec<String> = out
        .sends
        .iter()
        .map(|(c, l)| format!("{}>{}", c.index(), String::from_utf8_lossy(l).trim_end()))
        .collect();
    assert_eq!(
        lines,
        [
            "0>@label=w :irc.test BATCH +L1 labeled-response",
            "1>:irc.test NOTICE bob :not alice's",
            "0>@batch=L1 :irc.test NOTICE alice :page 1",
            "1>:irc.test NOTICE bob :not alice's",
            "0>@batch=L1 :irc.test NOTICE alice :page 2",
            "0>:irc.test BATCH -L1",
            "1>:irc.test NOTICE bob :not alice's",
            "0>:irc.test NOTICE alice :after",
        ]
    );
}

#[test]
fn tags_are_added_first() {
    assert_eq!(&*with_tag(b"label=a", b":s X\r\n"), b"@label=a :s X\r\n");
    assert_eq!(
        &*with_tag(b"label=a", b"@time=t :s X\r\n"),
        b"@label=a;time=t :s X\r\n"
    );
}

#[test]
fn labeled_rehash_waits_for_the_reload_and_fails_in_a_standard_reply() {
    let mut t = TestWorld::with_config(&format!(
        "{}[[oper]]\nname = \"admin\"\npassword = \"pw\"\n",
        crate::core::testing::BASE_CONFIG
    ));
    let a = labeled_user(&mut t, "alice");
    t.feed(a, "OPER admin pw");
    t.feed(a, "CAP REQ standard-replies");
    t.take(a);
    // The answer comes when the shell has reloaded: the batch opens now, empty, …
    assert_eq!(
        t.ask(a, "@label=r REHASH"),
        ["@label=r :irc.test BATCH +L1 labeled-response"]
    );
    assert!(t.rehash);
    // … and the shell's answer fills and ends it.
    let mut out = Outbox::default();
    t.w.rehashed(a, false, Some("x.toml:3: bad"), &mut out);
    assert_eq!(
        lines(&out),
        [
            "@batch=L1 :irc.test FAIL REHASH CONFIG_BAD :x.toml:3: bad",
            ":irc.test BATCH -L1",
        ]
    );
    // Loaded, with a note: 382 and a WARN; unlabeled, so no batch.
    let mut out = Outbox::default();
    t.feed(a, "REHASH");
    t.w.rehashed(a, true, Some("casemapping kept"), &mut out);
    assert_eq!(
        lines(&out),
        [
            ":irc.test 382 alice portico.toml :Rehashing",
            ":irc.test WARN REHASH CONFIG_BAD :casemapping kept",
        ]
    );
}

#[test]
fn no_ctcp_channel_refuses_ctcp_but_not_action() {
    let mut t = TestWorld::new();
    let a = t.user("alice");
    let b = t.user("bob");
    t.feed(a, "JOIN #c");
    t.feed(b, "JOIN #c");
    t.feed(a, "MODE #c +C");
    t.take(a);
    t.take(b);
    assert_eq!(
        t.ask(b, "PRIVMSG #c :\x01VERSION\x01"),
        [":irc.test 404 bob #c :Cannot send to channel (+C: no CTCPs)"]
    );
    assert!(t.take(a).is_empty());
    assert!(t.ask(b, "PRIVMSG #c :\x01ACTION hi\x01").is_empty());
    assert_eq!(
        t.take(a),
        [":bob!~bob@127.0.0.1 PRIVMSG #c :\x01ACTION hi\x01"]
    );
}

#[test]
fn a_paged_reply_stays_in_one_labeled_batch_to_its_last_page() {
    let crowd = "[limits]\nmax_clients_per_ip = 0\n";
    let mut t = TestWorld::with_config(&format!("{}{crowd}", crate::core::testing::BASE_CONFIG));
    let a = labeled_user(&mut t, "alice");
    t.feed(a, "JOIN #big");
    for i in 0..250 {
        let c = t.user(&format!("u{i}"));
        t.feed(c, "JOIN #big");
    }
    t.take(a);
    t.feed_paged(a, "@label=w WHO #big");
    let mut got = t.take(a);
    assert!(t.w.pages.holds(a), "the reply took one page: {}", got.len());
    assert_eq!(got[0], "@label=w :irc.test BATCH +L1 labeled-response");
    while t.next_page(a) {
        got.append(&mut t.take(a));
    }
    got.append(&mut t.take(a));
    let n = got.len();
    // alice, the 250 users, the end numeric, and the batch's two ends: nothing else.
    assert_eq!(n, 1 + 251 + 1 + 1, "{:?}", &got[n.saturating_sub(3)..]);
    assert_eq!(
        got[n - 2],
        "@batch=L1 :irc.test 315 alice #big :End of WHO list"
    );
    assert_eq!(got[n - 1], ":irc.test BATCH -L1");
    assert!(got[1..n - 1]
        .iter()
        .all(|l| l.starts_with("@batch=L1 :irc.test 352 alice #big ") || l.contains(" 315 ")));
    // The next labeled command starts a new batch or stands alone.
    assert_eq!(
        t.ask(a, "@label=p PING :x"),
        ["@label=p :irc.test PONG irc.test :x"]
    );
}
