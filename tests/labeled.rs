//! Reply shaping for modern clients (issue 11): `batch` with `labeled-response` (the
//! spec's own examples, exact lines), `draft/no-implicit-names`, `extended-monitor`,
//! `standard-replies` and channel mode `+C`, over real TCP.

mod common;
use common::*;

/// The sorted names of a 353 line (their order is the server's).
fn sorted_names(line: &str) -> Vec<String> {
    let (_, names) = line.rsplit_once(" :").unwrap();
    let mut v: Vec<String> = names.split(' ').map(str::to_string).collect();
    v.sort();
    v
}

#[test]
fn labeled_response_spec_examples() {
    let s = server();
    let mut a = with_caps(&s, "alice", "batch labeled-response echo-message");
    let mut bob = s.user("bob");
    // Failed PRIVMSG with ERR_NOSUCHNICK: the one reply line carries the label.
    a.send("@label=dc11f13f11 PRIVMSG nick :Hello");
    a.expect("@label=dc11f13f11 :irc.test 401 alice nick :No such nick/channel");
    // echo-message: the echo is the reply.
    a.send("@label=pQraCjj82e PRIVMSG bob :Hello!");
    a.expect("@label=pQraCjj82e :alice!~alice@127.0.0.1 PRIVMSG bob :Hello!");
    bob.expect(":alice!~alice@127.0.0.1 PRIVMSG bob :Hello!");
    // WHOIS using a batch.
    a.send("@label=mGhe5V7RTV WHOIS bob");
    let start = a.expect_prefix("@label=mGhe5V7RTV :irc.test BATCH +");
    let bref = start
        .strip_prefix("@label=mGhe5V7RTV :irc.test BATCH +")
        .and_then(|r| r.strip_suffix(" labeled-response"))
        .unwrap_or_else(|| panic!("{start:?}"))
        .to_string();
    assert!(bref.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'));
    a.expect(&format!(
        "@batch={bref} :irc.test 311 alice bob ~bob 127.0.0.1 * :bob real"
    ));
    let rest = a.skip_until(&format!(":irc.test BATCH -{bref}"));
    let (end, body) = rest.split_last().unwrap();
    assert_eq!(end, &format!(":irc.test BATCH -{bref}"));
    assert_eq!(
        body.last().unwrap(),
        &format!("@batch={bref} :irc.test 318 alice bob :End of /WHOIS list")
    );
    for l in body {
        assert!(l.starts_with(&format!("@batch={bref} ")), "{l:?}");
    }
    // ACK where no reply is required.
    a.send("@label=abc PONG :foobar");
    a.expect("@label=abc :irc.test ACK");
    a.expect_nothing();
}

#[test]
fn labels_need_batch_and_stay_off_unlabeled_commands() {
    let s = server();
    let mut a = with_caps(&s, "alice", "labeled-response");
    // Without batch, the label is not honoured (the spec requires both).
    a.send("@label=x PONG :y");
    a.expect_nothing();
    a.send("CAP REQ batch");
    a.expect(":irc.test CAP alice ACK :batch");
    a.send("@label=x PONG :y");
    a.expect("@label=x :irc.test ACK");
    // No label, no change.
    a.send("PING :z");
    a.expect(":irc.test PONG irc.test :z");
}

#[test]
fn labeled_join_is_one_batch_and_the_channel_sees_no_label() {
    let s = server();
    let mut bob = s.user("bob");
    join(&mut bob, "#c");
    let mut a = with_caps(&s, "alice", "batch labeled-response");
    a.send("@label=j1 JOIN #c");
    let start = a.expect_prefix("@label=j1 :irc.test BATCH +");
    let bref = start
        .trim_start_matches("@label=j1 :irc.test BATCH +")
        .trim_end_matches(" labeled-response")
        .to_string();
    a.expect(&format!("@batch={bref} :alice!~alice@127.0.0.1 JOIN #c"));
    let l = a.expect_prefix(&format!("@batch={bref} :irc.test 353 alice = #c :"));
    assert_eq!(sorted_names(&l), ["@bob", "alice"]);
    a.expect(&format!(
        "@batch={bref} :irc.test 366 alice #c :End of /NAMES list"
    ));
    a.expect(&format!(":irc.test BATCH -{bref}"));
    bob.expect(":alice!~alice@127.0.0.1 JOIN #c");
}

#[test]
fn no_implicit_names_leaves_names_out_of_join() {
    let s = server();
    let mut bob = s.user("bob");
    join(&mut bob, "#c");
    let mut a = with_caps(&s, "alice", "draft/no-implicit-names");
    a.send("JOIN #c");
    a.expect(":alice!~alice@127.0.0.1 JOIN #c");
    a.expect_nothing();
    // NAMES asked for still answers.
    a.send("NAMES #c");
    let l = a.expect_prefix(":irc.test 353 alice = #c :");
    assert_eq!(sorted_names(&l), ["@bob", "alice"]);
    a.expect(":irc.test 366 alice #c :End of /NAMES list");
}

#[test]
fn extended_monitor_brings_away_and_setname_of_monitored_nicks() {
    let s = server();
    let mut w = with_caps(&s, "watcher", "extended-monitor away-notify setname");
    let mut plain = with_caps(&s, "plain", "away-notify setname");
    let mut bob = s.user("bob");
    for c in [&mut w, &mut plain] {
        c.send("MONITOR + bob");
        c.expect(&format!(":irc.test 730 {} :bob!~bob@127.0.0.1", c.nick));
    }
    bob.send("AWAY :lunch");
    bob.expect(":irc.test 306 bob :You have been marked as being away");
    w.expect(":bob!~bob@127.0.0.1 AWAY :lunch");
    bob.send("SETNAME :Bob B");
    w.expect(":bob!~bob@127.0.0.1 SETNAME :Bob B");
    bob.send("AWAY");
    w.expect(":bob!~bob@127.0.0.1 AWAY");
    w.expect_nothing();
    // Without extended-monitor: only sign-ons and sign-offs.
    plain.expect_nothing();
    // Sharing a channel as well: told once, not twice.
    join(&mut w, "#c");
    join(&mut bob, "#c");
    w.skip_until(":bob!~bob@127.0.0.1 JOIN #c");
    bob.send("AWAY :again");
    w.expect(":bob!~bob@127.0.0.1 AWAY :again");
    w.expect_nothing();
}

#[test]
fn no_ctcp_mode_lets_action_through() {
    let s = server();
    let mut a = s.user("alice");
    let mut b = s.user("bob");
    join(&mut a, "#c");
    join(&mut b, "#c");
    a.expect(":bob!~bob@127.0.0.1 JOIN #c");
    a.send("MODE #c +C");
    a.expect(":alice!~alice@127.0.0.1 MODE #c +C");
    b.expect(":alice!~alice@127.0.0.1 MODE #c +C");
    b.send("PRIVMSG #c :\x01VERSION\x01");
    b.expect(":irc.test 404 bob #c :Cannot send to channel (+C: no CTCPs)");
    b.send("PRIVMSG #c :\x01ACTION waves\x01");
    a.expect(":bob!~bob@127.0.0.1 PRIVMSG #c :\x01ACTION waves\x01");
    // A CTCP NOTICE is dropped without a reply, as NOTICE errors are.
    b.send("NOTICE #c :\x01PING 1\x01");
    b.expect_nothing();
    a.expect_nothing();
    // Private CTCPs are not the channel's business.
    b.send("PRIVMSG alice :\x01VERSION\x01");
    a.expect(":bob!~bob@127.0.0.1 PRIVMSG alice :\x01VERSION\x01");
    a.send("MODE #c");
    a.expect_prefix(":irc.test 324 alice #c +Cnt");
}
