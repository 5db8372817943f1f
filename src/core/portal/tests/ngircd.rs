//! The rfc2813 (ngIRCd) dialect: what we send and what its lines become.

use super::*;
use crate::core::testing::TestWorld;

// ---- rfc2813 (ngIRCd) -----------------------------------------------------------------------

/// ngIRCd's user `ngbob` in #c with local alice and bob, and far.test's fay.
fn ng_net() -> (Net, ConnId) {
    let mut n = net();
    let ng = n.t.link_ngircd("ng.test");
    n.t.feed(ng, ":ng.test NICK ngbob 1 ~ngbob ng.host 1 + :NG Bob");
    n.t.feed(ng, ":ng.test NJOIN #c :ngbob");
    for c in [n.alice, n.bob, n.peer, n.far, ng] {
        n.t.take(c);
    }
    (n, ng)
}

#[test]
fn ngircd_link_gets_rfc2813_handshake_and_burst() {
    let mut t = TestWorld::with_portals();
    let alice = t.user("alice");
    t.feed(alice, "JOIN #c");
    t.feed(alice, "MODE #c +l 9");
    t.feed(alice, "TOPIC #c :the topic");
    t.feed(alice, "MODE #c +b x!*@*");
    t.feed(alice, "AWAY :gone");
    t.feed(alice, "JOIN #plain");
    t.feed(alice, "MODE #plain -nt");
    t.take(alice);
    let far = t.link("far.test", 3, ALL, 2);
    t.feed(
        far,
        ":far.test NICK fay 1 1600000000000 ~fay far.host 3 +i :Fay F",
    );
    t.take(far);
    let ng = t.link_ngircd("ng.test");
    assert_eq!(
        t.take(ng),
        vec![
            "PASS pw 0210-IRC+ Portico|0.1.0:CHLMX P",
            "SERVER irc.test 1 :Portico IRC server",
            ":irc.test 005 ng.test NICKLEN=30 CASEMAPPING=rfc1459 PREFIX=(qov)~@+ CHANTYPES=#& CHANMODES=Ibe,k,l,imnpst :are supported on this server",
            ":irc.test 376 ng.test :End of MOTD command",
            ":irc.test SERVER far.test 2 4 :far.test server",
            ":irc.test NICK alice 1 ~alice 127.0.0.1 1 + :alice real",
            ":alice MODE alice :+a",
            ":far.test NICK fay 2 ~fay far.host 4 +i :Fay F",
            ":irc.test CHANINFO #c +ntl * 9 :the topic",
            ":irc.test NJOIN #c :@alice",
            ":irc.test MODE #c +b x!*@*",
            ":irc.test NJOIN #plain :@alice",
        ]
    );
    // The native link hears of the new server; the handshake numerics went nowhere else.
    assert_eq!(
        t.take(far),
        vec![":irc.test SERVER ng.test 2 9 :ng.test server"]
    );
    assert!(t.take(alice).is_empty());
}

#[test]
fn ngircd_handshake_refusals() {
    let cases: &[(&[&str], &str)] = &[
        (
            &["PASS nope 0210-IRC+ ngIRCd|26.1:CHLMSX P", "SERVER ng.test 1 :x"],
            crate::core::portal::handshake::DENIED,
        ),
        (
            &["PASS pw 0211-IRC+ ngIRCd|26.1:CHLMSX P", "SERVER ng.test 1 :x"],
            "Unsupported protocol version \"0211-IRC+\" from ng.test: RFC 2813 (0210) expected",
        ),
        (
            &[
                "PASS pw 0210-IRC+ ngIRCd|26.1:CHLMSX P",
                "SERVER ng.test 1 :x",
                ":ng.test 005 irc.test NICKLEN=9 CASEMAPPING=rfc1459 :are supported on this server",
            ],
            "Incompatible nickname length: ours 30, ng.test has 9; set the same on both",
        ),
        (
            &[
                "PASS pw 0210-IRC+ ngIRCd|26.1:CHLMSX P",
                "SERVER ng.test 1 :x",
                ":ng.test 005 irc.test NICKLEN=30 CASEMAPPING=ascii :are supported on this server",
            ],
            "Incompatible case mapping: ours rfc1459, ng.test has ascii; set casemapping = \"ascii\"",
        ),
    ];
    for (lines, reason) in cases {
        let mut t = TestWorld::with_portals();
        let c = t.connect();
        for l in *lines {
            t.feed(c, l);
        }
        let want = format!("ERROR :Closing Link: 127.0.0.1 ({reason})");
        assert_eq!(t.take(c).last(), Some(&want), "{lines:?}");
        assert_eq!(t.closed, vec![(c, want)]);
    }
}

#[test]
fn local_actions_as_ngircd_sees_them() {
    let (mut n, ng) = ng_net();
    let check = |from: ConnId, n: &mut Net, line: &str, ng_want: &[&str], far_want: &[&str]| {
        n.t.feed(from, line);
        assert_eq!(n.t.take(ng), ng_want, "{line}");
        assert_eq!(n.t.take(n.far), far_want, "{line}");
    };
    check(
        n.alice,
        &mut n,
        "AWAY :brb",
        &[":alice MODE alice :+a"],
        &[":alice AWAY :brb"],
    );
    check(
        n.alice,
        &mut n,
        "AWAY",
        &[":alice MODE alice :-a"],
        &[":alice AWAY"],
    );
    check(
        n.alice,
        &mut n,
        "TOPIC #c :hello",
        &[":alice TOPIC #c :hello"],
        &[":alice TOPIC #c 1700000000 :hello"],
    );
    check(
        n.alice,
        &mut n,
        "@+x=1 PRIVMSG #c :hi",
        &[":alice PRIVMSG #c :hi"],
        &["@+x=1 :alice PRIVMSG #c :hi"],
    );
    check(
        n.alice,
        &mut n,
        "@+typing=active TAGMSG #c",
        &[],
        &["@+typing=active :alice TAGMSG #c"],
    );
    check(n.alice, &mut n, "SETNAME :Al", &[], &[":alice SETNAME :Al"]);
    check(
        n.alice,
        &mut n,
        "MODE #c +bk y!*@* key",
        &[":alice MODE #c +bk y!*@* key"],
        &[":alice MODE #c +bk y!*@* key"],
    );
    check(
        n.alice,
        &mut n,
        "JOIN #new",
        &[
            ":irc.test CHANINFO #new +nt",
            ":irc.test NJOIN #new :@alice",
        ],
        &[":irc.test SJOIN 1700000000000 #new +nt :@alice"],
    );
    check(
        n.bob,
        &mut n,
        "JOIN #new",
        &[":irc.test NJOIN #new :bob"],
        &[":irc.test SJOIN 1700000000000 #new + :bob"],
    );
    check(
        n.alice,
        &mut n,
        "NICK alicia",
        &[":alice NICK :alicia"],
        &[":alice NICK alicia 1700000000000"],
    );
    // From the native link, relayed to ngIRCd in its form.
    check(
        n.far,
        &mut n,
        "@+x=1 :fay PRIVMSG #c :yo",
        &[":fay PRIVMSG #c :yo"],
        &[],
    );
    check(
        n.far,
        &mut n,
        ":fay NICK faye 1700000005000",
        &[":fay NICK :faye"],
        &[],
    );
    check(
        n.far,
        &mut n,
        ":far.test BMASK 1700000000000 #c b :z!*@*",
        &[":far.test MODE #c +b z!*@*"],
        &[],
    );
    check(n.far, &mut n, ":far.test EOB", &[], &[]);
}

#[test]
fn ngircd_users_channels_and_modes_arrive_as_native_lines() {
    let (mut n, ng) = ng_net();
    // ngIRCd's user in its form: timestamp 0, its server's id; +a is away.
    n.from(ng, ":ng.test NICK ngcat 1 ~ngcat ng.host 1 +ai :NG Cat");
    assert_eq!(
        n.t.take(n.far),
        vec![
            ":ng.test NICK ngcat 2 0 ~ngcat ng.host 9 +i :NG Cat",
            ":ngcat AWAY :Away",
        ]
    );
    // JOIN with ^G modes: a one-member SJOIN.
    n.from(ng, ":ngcat JOIN #c\x07o");
    assert_eq!(
        n.t.take(n.alice),
        vec![
            ":ngcat!~ngcat@ng.host JOIN #c",
            ":ngcat!~ngcat@ng.host AWAY :Away",
            ":ng.test MODE #c +o ngcat",
        ]
    );
    assert_eq!(
        n.t.take(n.bob),
        vec![":ngcat!~ngcat@ng.host JOIN #c", ":ng.test MODE #c +o ngcat"]
    );
    assert_eq!(
        n.t.take(n.far),
        vec![":ng.test SJOIN 1700000000000 #c + :@ngcat"]
    );
    // NJOIN with ngIRCd's prefixes for a new channel: ours now.
    n.from(ng, ":ng.test NJOIN #ngc :@@ngbob,%ngcat");
    assert_eq!(
        n.t.take(n.far),
        vec![":ng.test SJOIN 1700000000000 #ngc + :@ngbob +ngcat"]
    );
    // CHANINFO is held until the channel's NJOIN.
    n.from(ng, ":ng.test CHANINFO #info +ntlk key 7 :ng topic");
    assert!(n.t.take(n.far).is_empty());
    n.from(ng, ":ng.test NJOIN #info :@ngbob");
    assert_eq!(
        n.t.take(n.far),
        vec![
            ":ng.test SJOIN 1700000000000 #info +ntlk 7 key :@ngbob",
            ":ng.test TB #info 1700000000 ng.test :ng topic",
        ]
    );
    // Channel modes: ngIRCd-only ones dropped with their parameters (`e` is shared).
    n.from(ng, ":ngbob MODE #c +eMv e!*@* ngbob");
    assert_eq!(
        n.t.take(n.alice),
        vec![":ngbob!~ngbob@ng.host MODE #c +ev e!*@* ngbob"]
    );
    assert_eq!(n.t.take(n.far), vec![":ngbob MODE #c +ev e!*@* ngbob"]);
    n.from(ng, ":ngbob MODE #c +PzM");
    assert!(n.t.take(n.alice).is_empty());
    assert!(n.t.take(n.far).is_empty());
}

#[test]
fn ngircd_away_topic_messages_and_quit() {
    let (mut n, ng) = ng_net();
    n.from(ng, ":ngbob MODE ngbob :+a");
    assert_eq!(n.t.take(n.alice), vec![":ngbob!~ngbob@ng.host AWAY :Away"]);
    assert_eq!(n.t.take(n.far), vec![":ngbob AWAY :Away"]);
    n.from(ng, ":ngbob MODE ngbob :-a+i");
    assert_eq!(n.t.take(n.alice), vec![":ngbob!~ngbob@ng.host AWAY"]);
    // No sign of the removed `a` is left behind.
    assert_eq!(
        n.t.take(n.far),
        vec![":ngbob MODE ngbob :+i", ":ngbob AWAY"]
    );
    n.from(ng, ":ngbob TOPIC #c :from ng");
    assert_eq!(
        n.t.take(n.alice),
        vec![":ngbob!~ngbob@ng.host TOPIC #c :from ng"]
    );
    assert_eq!(n.t.take(n.far), vec![":ngbob TOPIC #c 1700000000 :from ng"]);
    // From the server (its burst): a TB timed now; same second, it wins on the greater text.
    n.from(ng, ":ng.test TOPIC #c :server topic");
    assert_eq!(n.t.take(n.alice), vec![":ng.test TOPIC #c :server topic"]);
    assert_eq!(
        n.t.take(n.far),
        vec![":ng.test TB #c 1700000000 ng.test :server topic"]
    );
    n.from(ng, ":ngbob PRIVMSG #c :hello portico");
    assert_eq!(
        n.t.take(n.alice),
        vec![":ngbob!~ngbob@ng.host PRIVMSG #c :hello portico"]
    );
    assert_eq!(n.t.take(n.far), vec![":ngbob PRIVMSG #c :hello portico"]);
    n.from(ng, ":ngbob PRIVMSG fay :hi fay");
    assert_eq!(n.t.take(n.far), vec![":ngbob PRIVMSG fay :hi fay"]);
    // Ignored extras: a numeric, METADATA keys without a Portico meaning, an empty or
    // bad host.
    n.from(ng, ":ng.test 376 irc.test :End of MOTD command");
    n.from(ng, ":ng.test METADATA ngbob certfp :abc");
    n.from(ng, ":ng.test METADATA ngbob host :");
    n.from(ng, ":ng.test METADATA ngbob host :bad host");
    assert!(n.t.take(n.far).is_empty());
    assert!(n.t.take(n.alice).is_empty());
    // A new cloak (flag M), shown at +x: alice, without chghost, gets the spec's fallback;
    // fay's server, without the CHGHOST link capability, nothing.
    n.from(ng, ":ng.test METADATA ngbob cloakhost :cloak.ng");
    n.from(ng, ":ngbob MODE ngbob :+x");
    assert_eq!(n.t.take(n.far), [":ngbob MODE ngbob :+x"]);
    assert_eq!(
        n.t.take(n.alice),
        vec![
            ":ngbob!~ngbob@ng.host QUIT :Changing hostname",
            ":ngbob!~ngbob@cloak.ng JOIN #c",
        ]
    );
    assert!(n.t.take(n.far).is_empty());
    n.from(ng, ":ng.test METADATA ngbob user :bob");
    assert_eq!(
        n.t.take(n.alice),
        vec![
            ":ngbob!~ngbob@cloak.ng QUIT :Changing hostname",
            ":ngbob!bob@cloak.ng JOIN #c",
        ]
    );
    n.from(ng, ":ngbob QUIT :\"bye\"");
    assert_eq!(n.t.take(n.alice), vec![":ngbob!bob@cloak.ng QUIT :\"bye\""]);
    // Passed on in the form it came in (a trailing parameter stays one).
    assert_eq!(n.t.take(n.far), vec![":ngbob QUIT :\"bye\""]);
}

#[test]
fn ngircd_nick_collision_removes_both() {
    let (mut n, ng) = ng_net();
    n.from(ng, ":ng.test NICK alice 1 ~x ng.host 1 + :X");
    assert_eq!(
        n.t.take(n.alice),
        vec![
            ":irc.test KILL alice :irc.test (Nick collision)",
            "ERROR :Closing Link: 127.0.0.1 (Nick collision)",
        ]
    );
    assert_eq!(n.t.take(n.far), vec![":alice QUIT :Nick collision"]);
    assert_eq!(n.t.take(n.peer), vec![":alice QUIT :Nick collision"]);
    assert_eq!(
        n.t.take(n.bob),
        vec![":alice!~alice@127.0.0.1 QUIT :Nick collision"]
    );
    assert_eq!(
        n.t.ask(n.bob, "PRIVMSG alice :hm"),
        vec![":irc.test 401 bob alice :No such nick/channel"]
    );
}

#[test]
fn ngircd_split() {
    let (mut n, ng) = ng_net();
    n.t.drop_conn(ng, "EOF");
    assert_eq!(
        n.t.take(n.alice),
        vec![":ngbob!~ngbob@ng.host QUIT :irc.test ng.test"]
    );
    assert_eq!(n.t.take(n.far), vec![":irc.test SQUIT ng.test :EOF"]);
    assert_eq!(n.t.take(n.peer), vec![":irc.test SQUIT ng.test :EOF"]);
}

#[test]
fn ngircd_chaninfo_limit_before_key() {
    let (mut n, ng) = ng_net();
    // ngIRCd lists the modes in the order they were set, its parameters always key, limit.
    n.from(ng, ":ng.test CHANINFO #lk +lk key 7 :");
    n.from(ng, ":ng.test NJOIN #lk :@ngbob");
    // The native SJOIN gives the parameters in the order of the letters: consistent.
    assert_eq!(
        n.t.take(n.far),
        vec![":ng.test SJOIN 1700000000000 #lk +lk 7 key :@ngbob"]
    );
    n.t.take(n.peer);
    // The key is the key here (the limit 7 does not keep alice out either).
    assert_eq!(
        n.t.ask(n.alice, "JOIN #lk key")[0],
        ":alice!~alice@127.0.0.1 JOIN #lk"
    );
    assert_eq!(n.t.take(ng), vec![":irc.test NJOIN #lk :alice"]);
    n.t.take(n.far);
    // Such an SJOIN from another Portico, on its way to ngIRCd.
    n.from(n.far, ":far.test SJOIN 1650000000000 #lk2 +lk 7 key :fay");
    // The values follow the letters: key "key", limit 7, whatever their order.
    assert_eq!(
        n.t.take(ng),
        vec![
            ":far.test CHANINFO #lk2 +lk key 7 :",
            ":far.test NJOIN #lk2 :fay",
        ]
    );
}

/// An IRCX owner reaches ngIRCd as its founder (`~` in NJOIN, MODE `q`); ngIRCd's founder,
/// admin and halfop arrive as owner, op and voice.
#[test]
fn owners_and_ngircd_founders() {
    let (mut n, ng) = ng_net();
    n.t.feed(n.alice, "IRCX");
    n.t.take(n.alice);
    n.t.feed(n.alice, "JOIN #own");
    assert_eq!(
        n.t.take(ng),
        vec![
            ":irc.test CHANINFO #own +nt",
            ":irc.test NJOIN #own :~alice",
        ]
    );
    n.t.feed(n.bob, "JOIN #own");
    n.t.take(ng);
    for (line, want) in [
        ("MODE #own +q bob", ":alice MODE #own +q bob"),
        // Not left out as for an older Portico: ngIRCd knows the founder apart from the op.
        ("MODE #own +o-q bob bob", ":alice MODE #own +o-q bob bob"),
    ] {
        n.t.feed(n.alice, line);
        assert_eq!(n.t.take(ng), vec![want], "{line}");
    }
    // ngIRCd's statuses: owners to an IRCX user here, ops to an older Portico.
    for (line, to, want) in [
        (
            ":ng.test NJOIN #ngown :~@ngbob",
            n.far,
            ":ng.test SJOIN 1700000000000 #ngown + :@ngbob",
        ),
        (
            ":ngbob MODE #c +qa ngbob bob",
            n.alice,
            ":ngbob!~ngbob@ng.host MODE #c +qo ngbob bob",
        ),
        (
            ":ngbob MODE #c -a+h bob bob",
            n.far,
            ":ngbob MODE #c -o+v bob bob",
        ),
        (
            ":ngbob JOIN #own\x07q",
            n.far,
            ":ng.test SJOIN 1700000000000 #own + :@ngbob",
        ),
    ] {
        for c in [n.far, n.bob, n.alice] {
            n.t.take(c);
        }
        n.from(ng, line);
        assert_eq!(n.t.take(to), vec![want], "{line}");
    }
    n.t.take(n.bob);
    for chan in ["#ngown", "#own"] {
        let names = n.t.ask(n.bob, &format!("NAMES {chan}"));
        let members = names[0].rsplit(" :").next().unwrap_or_default();
        assert!(members.split(' ').any(|m| m == "~ngbob"), "{names:?}");
    }
}

/// ngIRCd keeps two hosts (irc-metadata.c, client.c): `host`, the real one, shown there only
/// without +x, and `cloakhost`, shown with +x. A cloak shown here is not replaced by the real
/// host until ngIRCd says the user is uncloaked (-x), or the real host would be out.
#[test]
fn ngircd_real_host_never_replaces_its_cloak() {
    let mut t = TestWorld::with_portals();
    let (alice, ng) = alice_and_ng_user(&mut t, "chghost", "ngbob");
    // What ngIRCd sends, and what alice sees of it.
    let steps: &[(&[&str], &[&str])] = &[
        // Uncloaked, the real host is what ngIRCd shows: so it is here.
        (
            &[":ng.test METADATA ngbob host :real.ng"],
            &[":ngbob!~ngbob@ng.host CHGHOST ~ngbob real.ng"],
        ),
        // +x: ngIRCd sends the cloak first (its echo of the MODE to the user makes it).
        (
            &[
                ":ng.test METADATA ngbob cloakhost :cloak.ng",
                ":ngbob MODE ngbob :+x",
            ],
            &[":ngbob!~ngbob@real.ng CHGHOST ~ngbob cloak.ng"],
        ),
        // A new real host behind the cloak stays hidden, as on ngIRCd; a new cloak is shown.
        (&[":ng.test METADATA ngbob host :moved.ng"], &[]),
        (
            &[":ng.test METADATA ngbob cloakhost :vhost.ng"],
            &[":ngbob!~ngbob@cloak.ng CHGHOST ~ngbob vhost.ng"],
        ),
        // After -x ngIRCd shows the real host again: its next one is shown here.
        (
            &[
                ":ngbob MODE ngbob :-x",
                ":ng.test METADATA ngbob host :moved.ng",
            ],
            &[":ngbob!~ngbob@vhost.ng CHGHOST ~ngbob moved.ng"],
        ),
        // Empty or invalid hosts are ignored.
        (
            &[
                ":ng.test METADATA ngbob cloakhost :",
                ":ng.test METADATA ngbob host :bad host",
                ":ng.test METADATA ngbob cloakhost ::x",
                ":ng.test METADATA ngbob host :-x",
            ],
            &[],
        ),
    ];
    steps_seen(&mut t, ng, alice, steps);
    let ngbob = t.w.find_nick(b"ngbob").unwrap();
    assert_eq!(&*t.w.clients[ngbob].host, "moved.ng");
}

/// The two METADATA lines our CHGHOST of `nick` becomes on the ngIRCd link, the host under
/// `key`.
fn chghost_to_ngircd(nick: &str, key: &str, host: &str) -> Vec<String> {
    vec![
        format!(":irc.test METADATA {nick} user :~{nick}"),
        format!(":irc.test METADATA {nick} {key} :{host}"),
    ]
}

/// An operator's CHGHOST reaches ngIRCd as the host it shows (irc-metadata.c): `cloakhost`
/// for a user it cloaks (+x), else `host`. A `host` under a cloak would change only the real
/// host ngIRCd hides, and it would go on showing the old cloak. A second +x (ngIRCd sends
/// no cloak, it has one) cloaks again; our own users are never +x there.
#[test]
fn chghost_reaches_ngircd_as_the_host_it_shows() {
    let mut t = TestWorld::with_portals_and(OPER);
    let (alice, ng) = alice_and_ng_user(&mut t, "chghost", "ngbob");
    let olga = t.user("olga");
    t.feed(olga, "OPER admin pw");
    t.take(ng);
    let steps: &[(&[&str], &str, &str)] = &[
        (&[], "v1.example", "host"),
        (
            &[
                ":ng.test METADATA ngbob cloakhost :cloak.ng",
                ":ngbob MODE ngbob :+x",
            ],
            "v2.example",
            "cloakhost",
        ),
        (&[":ngbob MODE ngbob :-x"], "v3.example", "host"),
        (&[":ng.test MODE ngbob :+x"], "v4.example", "cloakhost"),
    ];
    for (lines, host, key) in steps {
        for l in *lines {
            t.feed(ng, l);
        }
        t.feed(olga, &format!("CHGHOST ngbob {host}"));
        assert_eq!(
            t.take(ng),
            chghost_to_ngircd("ngbob", key, host),
            "{lines:?}"
        );
    }
    t.feed(olga, "CHGHOST alice a.example");
    assert_eq!(t.take(ng), chghost_to_ngircd("alice", "host", "a.example"));
    assert_eq!(
        t.take(alice).last().map(String::as_str),
        Some(":alice!~alice@127.0.0.1 CHGHOST ~alice a.example")
    );
}

/// alice (with chghost) in #c, olga an operator, then an ngIRCd link: alice, olga, the link.
fn alice_olga_and_ng(t: &mut TestWorld) -> (ConnId, ConnId, ConnId) {
    let alice = user_caps(t, "alice", "chghost");
    t.feed(alice, "JOIN #c");
    let olga = t.user("olga");
    t.feed(olga, "OPER admin pw");
    (alice, olga, t.link_ngircd("ng.test"))
}

/// How many hosts the ngIRCd link `ng` keeps hidden.
fn hidden_hosts(t: &TestWorld, ng: ConnId) -> usize {
    match &t.w.link(ng).expect("linked").dialect {
        crate::core::portal::Dialect::Rfc2813(rfc) => rfc.hidden.len(),
        _ => panic!("not an ngIRCd link"),
    }
}

/// Feeds each step's lines from ngIRCd and checks the exact lines alice gets.
fn steps_seen(t: &mut TestWorld, ng: ConnId, alice: ConnId, steps: &[(&[&str], &[&str])]) {
    for (lines, want) in steps {
        for l in *lines {
            t.feed(ng, l);
        }
        assert_eq!(t.take(alice), *want, "{lines:?}");
    }
}

/// ngIRCd swaps its two hosts on ±x and sends no METADATA for it (irc-mode.c, client.c
/// `Client_HostnameDisplayed`): Portico keeps the one hidden and swaps them too. After -x
/// the real host is shown again, a real host that changed behind the cloak included.
#[test]
fn minus_x_shows_ngircds_real_host_again() {
    let mut t = TestWorld::with_portals();
    let (alice, ng) = alice_and_ng_user(&mut t, "chghost", "ngbob");
    let steps: &[(&[&str], &[&str])] = &[
        (
            &[
                ":ng.test METADATA ngbob cloakhost :cloak.ng",
                ":ngbob MODE ngbob :+x",
            ],
            &[":ngbob!~ngbob@ng.host CHGHOST ~ngbob cloak.ng"],
        ),
        (
            &[":ngbob MODE ngbob :-x"],
            &[":ngbob!~ngbob@cloak.ng CHGHOST ~ngbob ng.host"],
        ),
        // A repeated -x swaps nothing.
        (&[":ngbob MODE ngbob :-x"], &[]),
        (
            &[":ngbob MODE ngbob :+x"],
            &[":ngbob!~ngbob@ng.host CHGHOST ~ngbob cloak.ng"],
        ),
        (&[":ng.test METADATA ngbob host :moved.ng"], &[]),
        (
            &[":ngbob MODE ngbob :-x"],
            &[":ngbob!~ngbob@cloak.ng CHGHOST ~ngbob moved.ng"],
        ),
    ];
    steps_seen(&mut t, ng, alice, steps);
    assert_eq!(hidden_hosts(&t, ng), 1);
}

/// Atheme's "vhost off" on ngIRCd: `MODE n -x`, then an empty `cloakhost`. The real host
/// comes back and the removed vhost is gone: a later +x shows no cloak until ngIRCd makes
/// one. An empty cloak while +x shows the real host too.
#[test]
fn an_empty_cloakhost_removes_ngircds_cloak() {
    let mut t = TestWorld::with_portals();
    let (alice, ng) = alice_and_ng_user(&mut t, "chghost", "ngbob");
    let steps: &[(&[&str], &[&str])] = &[
        (
            &[
                ":services.test METADATA ngbob cloakhost :vhost.example",
                ":services.test MODE ngbob :+x",
            ],
            &[":ngbob!~ngbob@ng.host CHGHOST ~ngbob vhost.example"],
        ),
        (
            &[
                ":services.test MODE ngbob :-x",
                ":services.test METADATA ngbob cloakhost :",
            ],
            &[":ngbob!~ngbob@vhost.example CHGHOST ~ngbob ng.host"],
        ),
        (&[":ngbob MODE ngbob :+x"], &[]),
        (
            &[":ng.test METADATA ngbob cloakhost :made.ng"],
            &[":ngbob!~ngbob@ng.host CHGHOST ~ngbob made.ng"],
        ),
        (
            &[":services.test METADATA ngbob cloakhost :"],
            &[":ngbob!~ngbob@made.ng CHGHOST ~ngbob ng.host"],
        ),
        (
            &[":ng.test METADATA ngbob host :moved.ng"],
            &[":ngbob!~ngbob@ng.host CHGHOST ~ngbob moved.ng"],
        ),
    ];
    steps_seen(&mut t, ng, alice, steps);
    assert_eq!(hidden_hosts(&t, ng), 0);
}

/// +x, -x, a new real host, +x: ngIRCd sends no cloak at the second +x (it has one) and
/// shows it; the new real host it hides is not shown here.
#[test]
fn a_second_plus_x_hides_the_new_real_host() {
    let mut t = TestWorld::with_portals();
    let (alice, ng) = alice_and_ng_user(&mut t, "chghost", "ngbob");
    let steps: &[(&[&str], &[&str])] = &[
        (
            &[
                ":ng.test METADATA ngbob cloakhost :cloak.ng",
                ":ngbob MODE ngbob :+x",
                ":ngbob MODE ngbob :-x",
            ],
            &[
                ":ngbob!~ngbob@ng.host CHGHOST ~ngbob cloak.ng",
                ":ngbob!~ngbob@cloak.ng CHGHOST ~ngbob ng.host",
            ],
        ),
        (
            &[":ng.test METADATA ngbob host :h2.ng"],
            &[":ngbob!~ngbob@ng.host CHGHOST ~ngbob h2.ng"],
        ),
        (
            &[":ngbob MODE ngbob :+x"],
            &[":ngbob!~ngbob@h2.ng CHGHOST ~ngbob cloak.ng"],
        ),
    ];
    steps_seen(&mut t, ng, alice, steps);
    let ngbob = t.w.find_nick(b"ngbob").unwrap();
    assert_eq!(&*t.w.clients[ngbob].host, "cloak.ng");
}

/// ngIRCd's burst follows each NICK with the user's cloak if it has one, +x or not
/// (client.c `Client_Announce`). The cloak of a user introduced without +x is kept hidden
/// (ngIRCd shows its real host) and shown at its next +x, which brings no METADATA; our
/// CHGHOST reaches ngIRCd as the key it shows.
#[test]
fn ngircds_burst_cloak_of_a_user_without_x_waits_for_its_plus_x() {
    let mut t = TestWorld::with_portals_and(OPER);
    let (alice, olga, ng) = alice_olga_and_ng(&mut t);
    t.feed(ng, ":ng.test NICK ngbob 1 ~ngbob real.ng 1 +i :NG");
    t.feed(ng, ":ng.test METADATA ngbob cloakhost :bob.cloak");
    t.feed(ng, ":ng.test NICK ngcat 1 ~ngcat real.ng 1 +ix :NG");
    t.feed(ng, ":ng.test METADATA ngcat cloakhost :cat.cloak");
    t.feed(ng, "NJOIN #c :ngbob,ngcat");
    t.take(alice);
    t.take(ng);
    let host = |t: &TestWorld, nick: &[u8]| t.w.clients[t.w.find_nick(nick).unwrap()].host.clone();
    assert_eq!(&*host(&t, b"ngbob"), "real.ng");
    assert_eq!(&*host(&t, b"ngcat"), "cat.cloak");
    t.feed(ng, ":ng.test METADATA ngbob host :moved.ng");
    t.feed(ng, ":ng.test METADATA ngcat host :moved.ng");
    assert_eq!(
        t.take(alice),
        [":ngbob!~ngbob@real.ng CHGHOST ~ngbob moved.ng"]
    );
    t.feed(olga, "CHGHOST ngbob v1.example");
    assert_eq!(t.take(ng), chghost_to_ngircd("ngbob", "host", "v1.example"));
    t.feed(olga, "CHGHOST ngcat v2.example");
    assert_eq!(
        t.take(ng),
        chghost_to_ngircd("ngcat", "cloakhost", "v2.example")
    );
    t.take(alice);
    t.feed(ng, ":ngbob MODE ngbob :+x");
    assert_eq!(
        t.take(alice),
        [":ngbob!~ngbob@v1.example CHGHOST ~ngbob bob.cloak"]
    );
}

/// A NICK with +x and no cloak after it (ngIRCd has none for it: a services pseudo-client,
/// a user learned over a link without flag M) is cloaked there: its `host`s stay hidden
/// until -x, and our CHGHOST reaches ngIRCd as its `cloakhost`.
#[test]
fn an_ngircd_user_introduced_with_plus_x_keeps_its_real_host_hidden() {
    let mut t = TestWorld::with_portals_and(OPER);
    let (alice, olga, ng) = alice_olga_and_ng(&mut t);
    t.feed(ng, ":ng.test NICK ngsvc 1 ~ngsvc svc.cloak 1 +ix :NG");
    t.feed(ng, "NJOIN #c :ngsvc");
    t.take(alice);
    t.take(ng);
    t.feed(ng, ":ng.test METADATA ngsvc host :real.ng");
    assert_eq!(t.take(alice), Vec::<String>::new());
    t.feed(olga, "CHGHOST ngsvc v1.example");
    assert_eq!(
        t.take(ng),
        chghost_to_ngircd("ngsvc", "cloakhost", "v1.example")
    );
    t.take(alice);
    t.feed(ng, ":ngsvc MODE ngsvc :-x");
    assert_eq!(
        t.take(alice),
        [":ngsvc!~ngsvc@v1.example CHGHOST ~ngsvc real.ng"]
    );
}

/// The hidden hosts of an ngIRCd link go with their users: QUIT, KILL, a nick collision,
/// a split behind ngIRCd.
#[test]
fn ngircds_hidden_hosts_leave_with_their_users() {
    let mut t = TestWorld::with_portals_and(OPER);
    let olga = t.user("olga");
    t.feed(olga, "OPER admin pw");
    let ng = t.link_ngircd("ng.test");
    t.feed(ng, ":ng.test SERVER leaf.test 2 7 :leaf");
    for (nick, token) in [("q1", 1), ("k1", 1), ("c1", 1), ("s1", 7), ("s2", 7)] {
        t.feed(
            ng,
            &format!(":ng.test NICK {nick} 1 ~u real.ng {token} +x :NG"),
        );
        t.feed(
            ng,
            &format!(":ng.test METADATA {nick} cloakhost :{nick}.cloak"),
        );
    }
    assert_eq!(hidden_hosts(&t, ng), 5);
    t.feed(ng, ":q1 QUIT :bye");
    assert_eq!(hidden_hosts(&t, ng), 4);
    t.feed(olga, "KILL k1 :out");
    assert_eq!(hidden_hosts(&t, ng), 3);
    t.feed(ng, ":ng.test NICK olga 1 ~u real.ng 1 +x :NG");
    t.feed(ng, ":ng.test NICK c1 1 ~u real.ng 1 + :NG");
    assert!(t.w.find_nick(b"c1").is_none());
    assert_eq!(hidden_hosts(&t, ng), 2);
    t.feed(ng, ":ng.test SQUIT leaf.test :gone");
    assert_eq!(hidden_hosts(&t, ng), 0);
}
