//! IRCv3 draft/channel-rename over real TCP: the specification's examples as transcripts
//! (with and without the capability, and an IRCX client's view), then two linked servers.
mod common;
use common::net::{converge, linked_pair};
use common::{join, server, with_caps, TestClient, TestServer};

const CAP: &str = "draft/channel-rename";

#[test]
fn spec_examples_with_the_capability() {
    let s = server();
    let mut c = with_caps(&s, "nick", CAP);
    join(&mut c, "#boaring");
    c.send("RENAME #boaring #boring :Typo fix");
    c.expect(":nick!~nick@127.0.0.1 RENAME #boaring #boring :Typo fix");
    join(&mut c, "#coding");
    c.send("RENAME #coding #programming");
    c.expect(":nick!~nick@127.0.0.1 RENAME #coding #programming :");
    // Still the same channel, under its new name.
    c.send("NAMES #programming");
    c.expect(":irc.test 353 nick = #programming :@nick");
    c.expect(":irc.test 366 nick #programming :End of /NAMES list");
    c.send("NAMES #coding");
    c.expect(":irc.test 366 nick #coding :End of /NAMES list");
}

#[test]
fn spec_example_without_the_capability_is_a_part_and_a_join() {
    let s = server();
    let mut c = s.user("nick");
    join(&mut c, "#foo");
    c.send("TOPIC #foo :Topic of the renamed channel");
    c.expect(":nick!~nick@127.0.0.1 TOPIC #foo :Topic of the renamed channel");
    c.send("RENAME #foo #bar :Changing the channel name");
    c.expect(":nick!~nick@127.0.0.1 PART #foo :Changing the channel name");
    c.expect(":nick!~nick@127.0.0.1 JOIN #bar");
    c.expect(":irc.test 332 nick #bar :Topic of the renamed channel");
    let line = c.expect_prefix(":irc.test 333 nick #bar nick!~nick@127.0.0.1 ");
    assert!(
        line.rsplit(' ').next().unwrap().parse::<u64>().is_ok(),
        "{line}"
    );
    c.expect(":irc.test 353 nick = #bar :@nick");
    c.expect(":irc.test 366 nick #bar :End of /NAMES list");
}

#[test]
fn spec_examples_of_failures() {
    let s = server();
    let mut op = s.user("nick");
    let mut other = s.user("other");
    join(&mut op, "#aniki");
    join(&mut other, "#aniki");
    other.send("RENAME #aniki #aneki");
    other.expect(":irc.test 482 other #aniki :You're not channel operator");
    join(&mut op, "#evil");
    join(&mut op, "#good");
    op.sync();
    op.send("RENAME #evil #good :Don't be evil");
    op.expect(
        ":irc.test FAIL RENAME CHANNEL_NAME_IN_USE #evil #good :The channel name is already taken",
    );
    op.send("RENAME #evil &local");
    op.expect(
        ":irc.test FAIL RENAME CANNOT_RENAME #evil &local :You cannot change a channel prefix type",
    );
    join(&mut op, "#magical-girls");
    op.send("RENAME #magical-girls #witches");
    op.skip_until(" 366 nick #witches ");
    op.send("RENAME #witches #magical-girls");
    op.expect(":irc.test FAIL RENAME CANNOT_RENAME #witches #magical-girls :This channel has been renamed recently");
    op.send("RENAME #nowhere #else");
    op.expect(":irc.test 403 nick #nowhere :No such channel");
}

/// Members see the rename in their own form: RENAME with the capability, PART and JOIN
/// (extended-join, an IRCX client's NAMES) without it; a case change only to the former.
#[test]
fn each_member_sees_it_in_their_form() {
    let s = server();
    let mut owner = s.user("owner");
    owner.send("IRCX");
    owner.skip_until(" 800 ");
    join(&mut owner, "#room");
    let mut capped = with_caps(&s, "capped", CAP);
    let mut ext = with_caps(&s, "ext", "extended-join");
    join(&mut capped, "#room");
    join(&mut ext, "#room");
    owner.sync();
    capped.sync();
    owner.send("RENAME #room #hall :bigger");
    owner.expect(":owner!~owner@127.0.0.1 PART #room :bigger");
    owner.expect(":owner!~owner@127.0.0.1 JOIN #hall");
    let names = owner.skip_until(" 366 owner #hall ");
    let line = names.iter().find(|l| l.contains(" 353 ")).expect("353");
    let mut nicks: Vec<&str> = line
        .strip_prefix(":irc.test 353 owner = #hall :")
        .expect("353 form")
        .split(' ')
        .collect();
    nicks.sort_unstable();
    assert_eq!(nicks, [".owner", "capped", "ext"], "IRCX prefixes");
    capped.expect(":owner!~owner@127.0.0.1 RENAME #room #hall :bigger");
    ext.expect(":ext!~ext@127.0.0.1 PART #room :bigger");
    ext.expect(":ext!~ext@127.0.0.1 JOIN #hall * :ext real");
    ext.skip_until(" 366 ext #hall ");
    capped.send("PRIVMSG #hall :still here");
    owner.expect(":capped!~capped@127.0.0.1 PRIVMSG #hall :still here");
    ext.expect(":capped!~capped@127.0.0.1 PRIVMSG #hall :still here");
    // A change of case only: nothing for those without the capability.
    let mut owner_caps = owner;
    owner_caps.send(&format!("CAP REQ :{CAP}"));
    owner_caps.expect(&format!(":irc.test CAP owner ACK :{CAP}"));
    // The cooldown holds for this channel; a new one shows the case change.
    join(&mut owner_caps, "#case");
    join(&mut ext, "#case");
    owner_caps.sync();
    owner_caps.send("RENAME #case #CASE");
    owner_caps.expect(":owner!~owner@127.0.0.1 RENAME #case #CASE :");
    ext.send("NAMES #case");
    ext.expect_prefix(":irc.test 353 ext = #CASE :");
}

/// A labeled RENAME is answered with the label (a batch for the fallback's lines).
#[test]
fn a_labeled_rename_is_answered_with_its_label() {
    let s = server();
    let mut c = with_caps(&s, "nick", &format!("batch labeled-response {CAP}"));
    join(&mut c, "#a");
    c.send("@label=r1 RENAME #a #b");
    c.expect("@label=r1 :nick!~nick@127.0.0.1 RENAME #a #b :");
    c.send("@label=r2 RENAME #b #c");
    c.expect("@label=r2 :irc.test FAIL RENAME CANNOT_RENAME #b #c :This channel has been renamed recently");
}

/// A user on `s` (named `me`) with `caps`.
fn user_with(s: &TestServer, me: &str, nick: &str, caps: &str) -> TestClient {
    let mut c = s.user_on(nick);
    c.send(&format!("CAP REQ :{caps}"));
    c.expect(&format!(":{me} CAP {nick} ACK :{caps}"));
    c
}

/// Members on both servers see the rename in their form; messages, WHO and NAMES then
/// work under the new name on both sides, and the servers agree.
#[test]
fn a_rename_crosses_the_link() {
    let (hub, leaf) = linked_pair("");
    let mut alice = user_with(&hub, "hub.test", "alice", CAP);
    let mut bob = leaf.user_on("bob");
    let mut carol = user_with(&leaf, "leaf.test", "carol", CAP);
    alice.send("JOIN #old");
    alice.skip_until(" 366 ");
    alice.send("TOPIC #old :kept");
    alice.skip_until(" TOPIC #old ");
    alice.send("MODE #old +b bad!*@*");
    alice.skip_until(" MODE #old +b ");
    converge(&[&hub, &leaf]);
    for c in [&mut bob, &mut carol] {
        c.send("JOIN #old");
        c.skip_until(" 366 ");
    }
    converge(&[&hub, &leaf]);
    for c in [&mut alice, &mut bob, &mut carol] {
        c.sync();
    }
    alice.send("RENAME #old #new :tidy");
    alice.expect(":alice!~alice@127.0.0.1 RENAME #old #new :tidy");
    carol.expect(":alice!~alice@127.0.0.1 RENAME #old #new :tidy");
    bob.expect(":bob!~bob@127.0.0.1 PART #old :tidy");
    bob.expect(":bob!~bob@127.0.0.1 JOIN #new");
    bob.expect(":leaf.test 332 bob #new :kept");
    bob.expect_prefix(":leaf.test 333 bob #new alice!~alice@127.0.0.1 ");
    let line = bob.expect_prefix(":leaf.test 353 bob = #new :");
    let mut nicks: Vec<&str> = line.rsplit(" :").next().unwrap().split(' ').collect();
    nicks.sort_unstable();
    assert_eq!(nicks, ["@alice", "bob", "carol"]);
    bob.expect(":leaf.test 366 bob #new :End of /NAMES list");
    let view = converge(&[&hub, &leaf]);
    assert!(view.contains("#new") && !view.contains("#old"), "{view}");

    bob.send("PRIVMSG #new :from the leaf");
    alice.expect(":bob!~bob@127.0.0.1 PRIVMSG #new :from the leaf");
    carol.expect(":bob!~bob@127.0.0.1 PRIVMSG #new :from the leaf");
    alice.send("PRIVMSG #new :from the hub");
    bob.expect(":alice!~alice@127.0.0.1 PRIVMSG #new :from the hub");
    for (c, me) in [(&mut alice, "hub.test"), (&mut bob, "leaf.test")] {
        let nick = c.nick.clone();
        c.send("WHO #new");
        let who = c.skip_until(&format!(":{me} 315 {nick} #new "));
        let mut rows: Vec<String> = who
            .iter()
            .filter(|l| l.contains(" 352 "))
            .map(|l| l.split(' ').nth(7).unwrap_or_default().to_string())
            .collect();
        rows.sort_unstable();
        assert_eq!(rows, ["alice", "bob", "carol"], "{who:#?}");
        c.send("MODE #new b");
        c.expect_prefix(&format!(":{me} 367 {nick} #new bad!*@* "));
        c.expect(&format!(":{me} 368 {nick} #new :End of channel ban list"));
    }
    // The old name is free again, on both servers.
    bob.send("JOIN #old");
    bob.expect(":bob!~bob@127.0.0.1 JOIN #old");
    bob.skip_until(" 366 ");
    converge(&[&hub, &leaf]);
}

/// The leaf refuses a rename onto a channel that exists on the hub only as far as it
/// knows: both know every channel, so the name is taken on both.
#[test]
fn a_name_taken_anywhere_in_the_network_is_refused() {
    let (hub, leaf) = linked_pair("");
    let mut alice = hub.user_on("alice");
    let mut bob = leaf.user_on("bob");
    alice.send("JOIN #hubs");
    alice.skip_until(" 366 ");
    bob.send("JOIN #leafs");
    bob.skip_until(" 366 ");
    converge(&[&hub, &leaf]);
    bob.send("RENAME #leafs #hubs");
    bob.expect(":leaf.test FAIL RENAME CHANNEL_NAME_IN_USE #leafs #hubs :The channel name is already taken");
}
