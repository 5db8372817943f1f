//! Portico linked with a real ngIRCd (Debian's `ngircd`) over the rfc2813 portal profile:
//! links in both directions, bursts with channel state, every command across the link both
//! ways (asserted with the exact line the other side's client gets), WHOIS, netsplits,
//! relinks with nick collisions, and a Portico - Portico - ngIRCd chain.
//!
//! Without ngIRCd installed the tests skip, unless PORTICO_REQUIRE_NGIRCD=1 (then they fail).
mod common;
use common::net::{start, stats_figure, stats_p_with_lag, Peer};
use common::ngircd::{binary, Ngircd, PorticoPeer, LINK_PASSWORD, NG_NAME};
use common::{TestClient, TestServer};
use std::net::SocketAddr;
use std::path::Path;

const OPER: &str = "\n[[oper]]\nname = \"root\"\npassword = \"rootpw\"\n";

/// What ngIRCd logs once it has sent its burst to Portico.
const SYNCED: &str = "Synchronization with \"irc.test\" done";

/// How Portico reaches ngIRCd.
#[derive(Clone, Copy)]
enum Dial {
    /// ngIRCd dials Portico (on its client listener).
    No,
    /// Portico's portal has ngIRCd's address and `connect = true`.
    Auto(SocketAddr),
    /// Portico's portal has the address; an operator says `CONNECT ng.test`.
    OnConnect(SocketAddr),
}

/// The `[limits]` tail and tables for a Portico linked to ngIRCd: ascii case mapping and
/// 30-character nicks, as the ngIRCd config has, an operator, the rfc2813 portal.
fn ng_extra(dial: Dial) -> String {
    let mut extra = format!(
        "casemapping = \"ascii\"\nnick_length = 30\n{OPER}\n[[portal]]\nname = \"{NG_NAME}\"\nid = 50\npassword = \"{LINK_PASSWORD}\"\nprotocol = \"rfc2813\"\n"
    );
    match dial {
        Dial::No => {}
        Dial::Auto(a) => extra.push_str(&format!("address = \"{a}\"\nconnect = true\n")),
        Dial::OnConnect(a) => extra.push_str(&format!("address = \"{a}\"\n")),
    }
    extra
}

fn portico(dial: Dial) -> TestServer {
    start("irc.test", 1, &[], &ng_extra(dial))
}

/// ngIRCd configured to dial `p`; returns once both sides have the link.
fn ng_dialing(bin: &Path, p: &TestServer) -> Ngircd {
    let mut ng = Ngircd::start(
        bin,
        &[PorticoPeer {
            name: "irc.test",
            dial: Some(p.addr()),
        }],
    );
    ng.wait_log(SYNCED);
    p.wait_servers(&[NG_NAME]);
    ng
}

/// ngIRCd with a passive `[Server]` section for irc.test.
fn ng_passive(bin: &Path) -> Ngircd {
    Ngircd::start(
        bin,
        &[PorticoPeer {
            name: "irc.test",
            dial: None,
        }],
    )
}

/// Portico dials a passive ngIRCd (`connect = true`); returns once both sides have the link.
fn portico_dialing(bin: &Path) -> (TestServer, Ngircd) {
    let mut ng = ng_passive(bin);
    let p = portico_linked_to(&mut ng);
    (p, ng)
}

/// Portico dialing `ng`; returns once both sides have the link.
fn portico_linked_to(ng: &mut Ngircd) -> TestServer {
    let p = portico(Dial::Auto(ng.addr()));
    ng.wait_log(SYNCED);
    p.wait_servers(&[NG_NAME]);
    p
}

fn mask(nick: &str) -> String {
    format!("{nick}!~{nick}@127.0.0.1")
}

/// Joins and reads up to the end of NAMES; returns those lines.
fn join(c: &mut TestClient, chan: &str) -> Vec<String> {
    c.send(&format!("JOIN {chan}"));
    c.skip_until(" 366 ")
}

fn oper(c: &mut TestClient) {
    c.send("OPER root rootpw");
    c.skip_until(" 381 ");
}

fn ng_oper(c: &mut TestClient) {
    c.send("OPER ngoper ngpw");
    c.skip_until(" 381 ");
}

/// The lines a query produces up to (and including) the one containing `end`.
fn ask(c: &mut TestClient, query: &str, end: &str) -> Vec<String> {
    c.send(query);
    c.skip_until(end)
}

/// Everything `from`'s server sent before now has reached `to`'s server: a private message
/// from `from` to `to` travels the same ordered link, so when it arrives the rest has too.
fn barrier(from: &mut TestClient, to: &mut TestClient) {
    let token = format!("barrier {}", to.nick);
    from.send(&format!("PRIVMSG {} :{token}", to.nick));
    to.skip_until(&format!(" PRIVMSG {} :{token}", to.nick));
}

/// Waits until Portico knows `ng_user`, then until ngIRCd knows `portico_user`: after it
/// both servers know both users.
fn meet(p: &TestServer, portico_user: &mut TestClient, ng_user: &mut TestClient) {
    let nick = ng_user.nick.clone();
    p.wait_for(&format!("{nick} on Portico"), |s| {
        s.contains(&format!("user {nick} "))
    });
    barrier(portico_user, ng_user);
}

/// The next lines are exactly `want`, in any order.
#[track_caller]
fn expect_all(c: &mut TestClient, want: &[String]) {
    let mut got: Vec<String> = want.iter().map(|_| c.line()).collect();
    got.sort();
    let mut want = want.to_vec();
    want.sort();
    assert_eq!(got, want, "{}", c.nick);
}

fn has(lines: &[String], want: &str) -> bool {
    lines.iter().any(|l| l == want)
}

#[track_caller]
fn assert_has(lines: &[String], want: &str) {
    assert!(has(lines, want), "{want:?} missing from {lines:#?}");
}

/// The 353 line starting `head` lists exactly `members` (in any order).
#[track_caller]
fn assert_names(lines: &[String], head: &str, members: &[&str]) {
    let Some(line) = lines.iter().find(|l| l.starts_with(head)) else {
        panic!("no {head:?} in {lines:#?}");
    };
    let mut got: Vec<&str> = line[head.len()..].split(' ').collect();
    got.sort_unstable();
    let mut want = members.to_vec();
    want.sort_unstable();
    assert_eq!(got, want, "{line}");
}

#[track_caller]
fn assert_starts(lines: &[String], want: &str) {
    assert!(
        lines.iter().any(|l| l.starts_with(want)),
        "no line starting {want:?} in {lines:#?}"
    );
}

/// ngIRCd dials Portico's client listener; Portico's channel and users reach ngIRCd.
#[test]
fn ngircd_dials_portico_on_the_client_port_and_users_chat() {
    let Some(bin) = binary() else { return };
    let p = portico(Dial::No);
    let ng = ng_dialing(&bin, &p);
    let mut alice = p.user_on("alice");
    let mut ngbob = ng.user("ngbob");
    join(&mut alice, "#x");
    meet(&p, &mut alice, &mut ngbob);
    let names = join(&mut ngbob, "#x");
    assert_names(&names, ":ng.test 353 ngbob = #x :", &["ngbob", "@alice"]);
    alice.expect(&format!(":{} JOIN #x", mask("ngbob")));
    ngbob.send("PRIVMSG #x :hello from ngircd");
    alice.expect(":ngbob!~ngbob@127.0.0.1 PRIVMSG #x :hello from ngircd");
    alice.send("PRIVMSG #x :hello from portico");
    ngbob.expect(":alice!~alice@127.0.0.1 PRIVMSG #x :hello from portico");
    alice.send("PRIVMSG ngbob :private");
    ngbob.expect(":alice!~alice@127.0.0.1 PRIVMSG ngbob :private");
    ngbob.send("PRIVMSG alice :back");
    alice.expect(":ngbob!~ngbob@127.0.0.1 PRIVMSG alice :back");
}

/// Portico (`connect = true`) dials ngIRCd, whose `[Server]` section is passive.
#[test]
fn portico_dials_a_passive_ngircd_and_users_chat() {
    let Some(bin) = binary() else { return };
    let (p, ng) = portico_dialing(&bin);
    let mut alice = p.user_on("alice");
    let mut ngbob = ng.user("ngbob");
    let snap = p.wait_for("ngbob on Portico", |s| s.contains("user ngbob "));
    assert!(
        snap.contains("server ng.test 50") && snap.contains("user ngbob ~ngbob 127.0.0.1 ng.test"),
        "{snap}"
    );
    alice.send("PRIVMSG ngbob :hi over the dialed link");
    ngbob.expect(":alice!~alice@127.0.0.1 PRIVMSG ngbob :hi over the dialed link");
    ngbob.send("NOTICE alice :noted");
    alice.expect(":ngbob!~ngbob@127.0.0.1 NOTICE alice :noted");
}

/// ngIRCd answers Portico's lag PING (`PING :irc.test`) with `PONG ng.test :irc.test`:
/// STATS p shows the link's lag, and its burst as ended by that first answer.
#[test]
fn stats_p_shows_the_ngircd_links_lag_and_burst() {
    let Some(bin) = binary() else { return };
    let (p, _ng) = portico_dialing(&bin);
    let mut root = p.user_on("root");
    oper(&mut root);
    let line = stats_p_with_lag(&mut root, NG_NAME);
    assert!(
        line.starts_with(&format!(
            ":irc.test 249 root p :{NG_NAME} protocol rfc2813 caps [ACCOUNT AWAY BMASK CHGHOST TB] up "
        )),
        "{line}"
    );
    assert!(stats_figure(&line, "lag") < 5_000, "{line}");
    assert!(stats_figure(&line, "burst") < 5_000, "{line}");
    assert!(!line.ends_with("(bursting)"), "{line}");
}

/// Channel state made on each side before the link (modes, key, limit, ban, topic, ops and
/// voices), then Portico dials: both bursts cross and each side's clients see the other's.
#[test]
fn bursts_both_ways_carry_channel_modes_keys_limits_bans_and_topics() {
    let Some(bin) = binary() else { return };
    let mut ng = ng_passive(&bin);
    let p = portico(Dial::OnConnect(ng.addr()));

    let mut alice = p.user_on("alice");
    let mut pvoice = p.user_on("pvoice");
    join(&mut alice, "#pc");
    join(&mut pvoice, "#pc");
    alice.send("MODE #pc +klv pkey 10 pvoice");
    alice.send("MODE #pc +b *!*@bad.example");
    alice.send("TOPIC #pc :portico topic");
    alice.skip_until(" TOPIC #pc ");

    let mut ngbob = ng.user("ngbob");
    let mut ngvoice = ng.user("ngvoice");
    join(&mut ngbob, "#ngc");
    join(&mut ngvoice, "#ngc");
    ngbob.send("MODE #ngc +klv nkey 20 ngvoice");
    ngbob.send("MODE #ngc +b *!*@evil.example");
    ngbob.send("TOPIC #ngc :ngircd topic");
    ngbob.skip_until(" TOPIC #ngc ");
    // ngIRCd 26 gives a new channel no default modes.
    let modes = ask(&mut ngbob, "MODE #ngc", " 324 ");
    assert_has(&modes, ":ng.test 324 ngbob #ngc +kl nkey 20");

    oper(&mut alice);
    alice.send("CONNECT ng.test");
    ng.wait_log(SYNCED);
    p.wait_for("ngIRCd's burst", |s| s.contains("bans=[*!*@evil.example]"));
    // ngIRCd has Portico's burst once it has a message sent after it.
    barrier(&mut alice, &mut ngbob);

    // ngIRCd's view of Portico's channel.
    let names = ask(&mut ngbob, "NAMES #pc", " 366 ");
    assert_names(&names, ":ng.test 353 ngbob = #pc :", &["@alice", "+pvoice"]);
    ngbob.send("JOIN #pc");
    ngbob.expect(":ng.test 475 ngbob #pc :Cannot join channel (+k) -- Wrong channel key");
    let joined = ask(&mut ngbob, "JOIN #pc pkey", " 366 ");
    assert_has(&joined, ":ng.test 332 ngbob #pc :portico topic");
    let modes = ask(&mut ngbob, "MODE #pc", " 324 ");
    assert_has(&modes, ":ng.test 324 ngbob #pc +ntkl pkey 10");
    let bans = ask(&mut ngbob, "MODE #pc +b", " 368 ");
    assert_starts(&bans, ":ng.test 367 ngbob #pc *!*@bad.example ");
    let topic = ask(&mut ngbob, "TOPIC #pc", " 332 ");
    assert_has(&topic, ":ng.test 332 ngbob #pc :portico topic");

    // Portico's view of ngIRCd's channel.
    let names = ask(&mut alice, "NAMES #ngc", " 366 ");
    assert_names(
        &names,
        ":irc.test 353 alice = #ngc :",
        &["@ngbob", "+ngvoice"],
    );
    alice.send("JOIN #ngc");
    alice.expect(":irc.test 475 alice #ngc :Cannot join channel (+k)");
    let joined = ask(&mut alice, "JOIN #ngc nkey", " 366 ");
    assert_has(&joined, ":irc.test 332 alice #ngc :ngircd topic");
    let modes = ask(&mut alice, "MODE #ngc", " 329 ");
    assert_has(&modes, ":irc.test 324 alice #ngc +kl nkey 20");
    let bans = ask(&mut alice, "MODE #ngc +b", " 368 ");
    assert_starts(&bans, ":irc.test 367 alice #ngc *!*@evil.example ");

    let snap = p.snapshot();
    for want in [
        "server ng.test 50",
        "user ngbob ~ngbob 127.0.0.1 ng.test",
        "user ngvoice ~ngvoice 127.0.0.1 ng.test",
        "topic=\"ngircd topic\"",
        "bans=[*!*@evil.example] members=[+ngvoice @ngbob alice]",
    ] {
        assert!(snap.contains(want), "{want:?} missing from\n{snap}");
    }
}

/// Every command an ngIRCd user can send that crosses the link, as a Portico user sees it.
#[test]
fn ngircd_users_commands_reach_portico_users() {
    let Some(bin) = binary() else { return };
    let p = portico(Dial::No);
    let ng = ng_dialing(&bin, &p);
    let mut alice = p.user_on("alice");
    let mut ngbob = ng.user("ngbob");
    let mut ngcarol = ng.user("ngcarol");
    let ngb = mask("ngbob");

    // JOIN: ngbob creates #t on ngIRCd (and is its op there and on Portico).
    join(&mut ngbob, "#t");
    p.wait_for("#t on Portico", |s| s.contains("members=[@ngbob]"));
    let names = join(&mut alice, "#t");
    assert_names(&names, ":irc.test 353 alice = #t :", &["@ngbob", "alice"]);
    ngbob.expect(&format!(":{} JOIN :#t", mask("alice")));
    join(&mut ngcarol, "#t");
    alice.expect(&format!(":{} JOIN #t", mask("ngcarol")));

    // PRIVMSG and NOTICE, to the channel and to alice.
    ngbob.send("PRIVMSG #t :hello channel");
    alice.expect(&format!(":{ngb} PRIVMSG #t :hello channel"));
    ngbob.send("NOTICE #t :channel notice");
    alice.expect(&format!(":{ngb} NOTICE #t :channel notice"));
    ngbob.send("PRIVMSG alice :hello alice");
    alice.expect(&format!(":{ngb} PRIVMSG alice :hello alice"));
    ngbob.send("NOTICE alice :private notice");
    alice.expect(&format!(":{ngb} NOTICE alice :private notice"));

    // MODE: statuses, a ban, key, limit, moderated, topic lock.
    for (change, shown) in [
        ("+o alice", "+o alice"),
        ("+v alice", "+v alice"),
        ("+b *!*@ban.example", "+b *!*@ban.example"),
        ("+k sesame", "+k sesame"),
        ("+l 5", "+l 5"),
        ("+m", "+m"),
        ("+t", "+t"),
        ("-o alice", "-o alice"),
    ] {
        ngbob.send(&format!("MODE #t {change}"));
        alice.expect(&format!(":{ngb} MODE #t {shown}"));
    }
    let modes = ask(&mut alice, "MODE #t", " 329 ");
    assert_has(&modes, ":irc.test 324 alice #t +mtkl sesame 5");
    let bans = ask(&mut alice, "MODE #t +b", " 368 ");
    assert_starts(&bans, ":irc.test 367 alice #t *!*@ban.example ");
    // +m on Portico too: voiced alice may speak, ngcarol hears her.
    alice.send("PRIVMSG #t :voiced");
    ngcarol.skip_until(&format!(":{} PRIVMSG #t :voiced", mask("alice")));

    // Ban exceptions and invite exceptions, which both servers keep, arrive (as ngIRCd
    // sends them: one line or several); ngIRCd's five parameters a line arrive as
    // Portico's four plus one.
    ngbob.send("MODE #t +eIb ex!*@* inv!*@* b0!*@*");
    let got = alice.skip_until("b0!*@*").join("\n");
    for want in [" +e", "ex!*@*", "I", "inv!*@*", "b0!*@*"] {
        assert!(got.contains(want), "{want} in {got}");
    }
    alice.send("MODE #t e");
    alice.skip_until(" 348 alice #t ex!*@* ");
    alice.skip_until(" 349 ");
    ngbob.send("MODE #t -b b0!*@*");
    alice.expect(&format!(":{ngb} MODE #t -b b0!*@*"));
    ngbob.send("MODE #t +oovl-v alice ngcarol ngcarol 9 alice");
    alice.expect(&format!(":{ngb} MODE #t +oovl alice ngcarol ngcarol 9"));
    alice.expect(&format!(":{ngb} MODE #t -v alice"));
    p.wait_for("the modes on Portico", |s| {
        s.contains("+mtkl sesame 9 ") && s.contains("members=[@+ngcarol @alice @ngbob]")
    });

    // TOPIC.
    ngbob.send("TOPIC #t :a topic from ngircd");
    alice.expect(&format!(":{ngb} TOPIC #t :a topic from ngircd"));
    let topic = ask(&mut alice, "TOPIC #t", " 333 ");
    assert_has(&topic, ":irc.test 332 alice #t :a topic from ngircd");
    assert_starts(&topic, &format!(":irc.test 333 alice #t {ngb} "));

    // PART and KICK.
    ngcarol.send("PART #t :see you");
    alice.expect(&format!(":{} PART #t :see you", mask("ngcarol")));
    ngcarol.send("JOIN #t sesame");
    alice.expect(&format!(":{} JOIN #t", mask("ngcarol")));
    ngbob.send("KICK #t ngcarol :out");
    alice.expect(&format!(":{ngb} KICK #t ngcarol :out"));

    // NICK.
    ngbob.send("NICK ngrobert");
    alice.expect(&format!(":{ngb} NICK :ngrobert"));
    let ngr = "ngrobert!~ngbob@127.0.0.1";

    // AWAY: 301 on PRIVMSG and in WHOIS. ngIRCd sends only user mode +a, not the text;
    // Portico shows what ngIRCd shows for remote users.
    ngbob.send("AWAY :out for lunch");
    ngbob.skip_until(" 306 ");
    barrier(&mut ngbob, &mut alice);
    alice.send("PRIVMSG ngrobert :are you there?");
    alice.expect(":irc.test 301 alice ngrobert :Away");
    ngbob.expect(":alice!~alice@127.0.0.1 PRIVMSG ngrobert :are you there?");
    let whois = ask(&mut alice, "WHOIS ngrobert", " 318 ");
    assert_has(&whois, ":irc.test 301 alice ngrobert :Away");
    ngbob.send("AWAY");
    ngbob.skip_until(" 305 ");
    barrier(&mut ngbob, &mut alice);
    let whois = ask(&mut alice, "WHOIS ngrobert", " 318 ");
    assert!(!whois.iter().any(|l| l.contains(" 301 ")), "{whois:#?}");

    // QUIT: ngIRCd quotes a user's quit message, for its own users as for the network.
    ngbob.send("QUIT :gone home");
    alice.expect(&format!(":{ngr} QUIT :\"gone home\""));
    p.wait_for("ngrobert gone", |s| !s.contains("user ngrobert "));
}

/// Every command a Portico user can send that crosses the link, as an ngIRCd user sees it.
#[test]
fn portico_users_commands_reach_ngircd_users() {
    let Some(bin) = binary() else { return };
    let (p, ng) = portico_dialing(&bin);
    let mut alice = p.user_on("alice");
    let mut pcarol = p.user_on("pcarol");
    let mut ngbob = ng.user("ngbob");
    let al = mask("alice");

    // JOIN: alice creates #p on Portico.
    join(&mut alice, "#p");
    meet(&p, &mut alice, &mut ngbob);
    let names = join(&mut ngbob, "#p");
    assert_names(&names, ":ng.test 353 ngbob = #p :", &["@alice", "ngbob"]);
    alice.expect(&format!(":{} JOIN #p", mask("ngbob")));
    join(&mut pcarol, "#p");
    ngbob.expect(&format!(":{} JOIN :#p", mask("pcarol")));
    alice.expect(&format!(":{} JOIN #p", mask("pcarol")));

    // PRIVMSG and NOTICE, to the channel and to ngbob.
    alice.send("PRIVMSG #p :hello channel");
    ngbob.expect(&format!(":{al} PRIVMSG #p :hello channel"));
    alice.send("NOTICE #p :channel notice");
    ngbob.expect(&format!(":{al} NOTICE #p :channel notice"));
    alice.send("PRIVMSG ngbob :hello ngbob");
    ngbob.expect(&format!(":{al} PRIVMSG ngbob :hello ngbob"));
    alice.send("NOTICE ngbob :private notice");
    ngbob.expect(&format!(":{al} NOTICE ngbob :private notice"));

    // MODE: statuses, a ban, key, limit, moderated, topic lock.
    for (change, shown) in [
        ("+o ngbob", "+o ngbob"),
        ("+v ngbob", "+v ngbob"),
        ("+b *!*@ban.example", "+b *!*@ban.example"),
        ("+k sesame", "+k sesame"),
        ("+l 5", "+l 5"),
        ("+m", "+m"),
        ("-t", "-t"),
        ("+t", "+t"),
        ("-o ngbob", "-o ngbob"),
    ] {
        alice.send(&format!("MODE #p {change}"));
        alice.expect(&format!(":{al} MODE #p {shown}"));
        ngbob.expect(&format!(":{al} MODE #p {shown}"));
    }
    // An IRCX mode (+w NOWHISPER) stays on Portico's side; what else the line held crosses.
    alice.send("MODE #p +w");
    alice.expect(&format!(":{al} MODE #p +w"));
    alice.send("MODE #p -w");
    alice.expect(&format!(":{al} MODE #p -w"));
    let modes = ask(&mut ngbob, "MODE #p", " 324 ");
    assert!(!modes.iter().any(|l| l.contains(" MODE #p ")), "{modes:?}");
    assert_has(&modes, ":ng.test 324 ngbob #p +nklmt sesame 5");
    let bans = ask(&mut ngbob, "MODE #p +b", " 368 ");
    assert_starts(&bans, ":ng.test 367 ngbob #p *!*@ban.example ");
    // +m on ngIRCd too: voiced ngbob may speak.
    ngbob.send("PRIVMSG #p :voiced");
    alice.expect(&format!(":{} PRIVMSG #p :voiced", mask("ngbob")));

    // TOPIC.
    alice.send("TOPIC #p :a topic from portico");
    alice.expect(&format!(":{al} TOPIC #p :a topic from portico"));
    ngbob.expect(&format!(":{al} TOPIC #p :a topic from portico"));
    let topic = ask(&mut ngbob, "TOPIC #p", " 333 ");
    assert_has(&topic, ":ng.test 332 ngbob #p :a topic from portico");

    // PART and KICK.
    pcarol.send("PART #p :see you");
    ngbob.expect(&format!(":{} PART #p :see you", mask("pcarol")));
    alice.expect(&format!(":{} PART #p :see you", mask("pcarol")));
    pcarol.send("JOIN #p sesame");
    ngbob.expect(&format!(":{} JOIN :#p", mask("pcarol")));
    alice.expect(&format!(":{} JOIN #p", mask("pcarol")));
    alice.send("KICK #p pcarol :out");
    alice.expect(&format!(":{al} KICK #p pcarol :out"));
    ngbob.expect(&format!(":{al} KICK #p pcarol :out"));

    // NICK.
    alice.send("NICK alicia");
    alice.expect(&format!(":{al} NICK :alicia"));
    ngbob.expect(&format!(":{al} NICK :alicia"));
    let ali = "alicia!~alice@127.0.0.1";

    // AWAY: 301 on PRIVMSG and in WHOIS (RFC 2813 carries only "away", not the text:
    // ngIRCd shows its default for remote users).
    alice.send("AWAY :out for lunch");
    alice.skip_until(" 306 ");
    barrier(&mut alice, &mut ngbob);
    ngbob.send("PRIVMSG alicia :are you there?");
    ngbob.expect(":ng.test 301 ngbob alicia :Away");
    alice.expect(":ngbob!~ngbob@127.0.0.1 PRIVMSG alicia :are you there?");
    let whois = ask(&mut ngbob, "WHOIS alicia", " 318 ");
    assert_has(&whois, ":ng.test 301 ngbob alicia :Away");
    alice.send("AWAY");
    alice.skip_until(" 305 ");
    barrier(&mut alice, &mut ngbob);
    let whois = ask(&mut ngbob, "WHOIS alicia", " 318 ");
    assert!(!whois.iter().any(|l| l.contains(" 301 ")), "{whois:#?}");

    // QUIT.
    alice.send("QUIT :gone home");
    ngbob.expect(&format!(":{ali} QUIT :Quit: gone home"));
}

/// An ngIRCd operator kills a Portico user and a Portico operator kills an ngIRCd user.
#[test]
fn kills_cross_the_link_both_ways() {
    let Some(bin) = binary() else { return };
    let p = portico(Dial::No);
    let ng = ng_dialing(&bin, &p);
    let mut root = p.user_on("root");
    let mut alice = p.user_on("alice");
    let mut ngop = ng.user("ngop");
    let mut ngbob = ng.user("ngbob");
    oper(&mut root);
    ng_oper(&mut ngop);
    join(&mut alice, "#k");
    join(&mut root, "#k");
    meet(&p, &mut root, &mut ngbob);
    join(&mut ngbob, "#k");
    join(&mut ngop, "#k");
    alice.skip_until(&format!(":{} JOIN #k", mask("ngop")));
    root.skip_until(&format!(":{} JOIN #k", mask("ngop")));

    // ngIRCd -> Portico.
    ngop.send("KILL alice :behave");
    alice.expect(&format!(
        ":{} KILL alice :KILLed by ngop: behave",
        mask("ngop")
    ));
    let closing = alice.expect_closed();
    assert!(
        closing
            .iter()
            .any(|l| l.starts_with("ERROR :Closing Link: ")
                && l.contains("Killed (ngop (KILLed by ngop: behave))")),
        "{closing:#?}"
    );
    root.expect(&format!(
        ":{} QUIT :Killed (ngop (KILLed by ngop: behave))",
        mask("alice")
    ));
    let seen = ngbob.skip_until(&format!(":{} QUIT :", mask("alice")));
    assert_eq!(
        seen.last().unwrap(),
        &format!(":{} QUIT :KILLed by ngop: behave", mask("alice"))
    );
    p.wait_for("alice gone", |s| !s.contains("user alice "));

    // Portico -> ngIRCd.
    root.send("KILL ngbob :you too");
    root.expect(&format!(":{} QUIT :Killed (root (you too))", mask("ngbob")));
    let closing = ngbob.expect_closed();
    assert_eq!(closing.last().map(String::as_str), Some("ERROR :you too"));
    let seen = ngop.skip_until(&format!(":{} QUIT :", mask("ngbob")));
    assert_eq!(
        seen.last().unwrap(),
        &format!(":{} QUIT :you too", mask("ngbob"))
    );
}

/// WHOIS from each side of a user on the other names that user's server (312).
#[test]
fn whois_across_the_link_names_the_users_server() {
    let Some(bin) = binary() else { return };
    let (p, ng) = portico_dialing(&bin);
    let mut alice = p.user_on("alice");
    let mut ngbob = ng.user("ngbob");
    meet(&p, &mut alice, &mut ngbob);

    let whois = ask(&mut ngbob, "WHOIS alice", " 318 ");
    assert_has(
        &whois,
        ":ng.test 311 ngbob alice ~alice 127.0.0.1 * :alice real",
    );
    assert_has(
        &whois,
        ":ng.test 312 ngbob alice irc.test :Portico IRC server",
    );

    let whois = ask(&mut alice, "WHOIS ngbob", " 318 ");
    assert_has(
        &whois,
        ":irc.test 311 alice ngbob ~ngbob 127.0.0.1 * :ngbob real",
    );
    assert_has(&whois, ":irc.test 312 alice ngbob ng.test :ngIRCd test hub");
}

/// ngIRCd dies: every ngIRCd user quits once for Portico users, naming both servers.
#[test]
fn ngircd_stopping_is_a_netsplit_for_portico_users() {
    let Some(bin) = binary() else { return };
    let p = portico(Dial::No);
    let mut ng = ng_dialing(&bin, &p);
    let mut alice = p.user_on("alice");
    let mut ngbob = ng.user("ngbob");
    let mut ngcarol = ng.user("ngcarol");
    join(&mut alice, "#s");
    join(&mut alice, "#s2");
    meet(&p, &mut alice, &mut ngbob);
    for c in [&mut ngbob, &mut ngcarol] {
        join(c, "#s");
        join(c, "#s2");
    }
    alice.skip_until(&format!(":{} JOIN #s2", mask("ngcarol")));

    ng.stop();
    let mut quits = vec![alice.line(), alice.line()];
    quits.sort();
    assert_eq!(
        quits,
        [
            format!(":{} QUIT :irc.test ng.test", mask("ngbob")),
            format!(":{} QUIT :irc.test ng.test", mask("ngcarol")),
        ]
    );
    alice.expect_nothing();
    let snap = p.wait_for("ng.test gone", |s| !s.contains("ng.test"));
    assert!(!snap.contains("user ng"), "{snap}");
}

/// Portico dials a passive ngIRCd when its operator says `CONNECT ng.test`.
fn connect_on_demand(bin: &Path) -> (TestServer, Ngircd, TestClient) {
    let mut ng = ng_passive(bin);
    let p = portico(Dial::OnConnect(ng.addr()));
    let mut root = p.user_on("root");
    oper(&mut root);
    root.send("CONNECT ng.test");
    ng.wait_log(SYNCED);
    p.wait_servers(&[NG_NAME]);
    (p, ng, root)
}

/// A Portico operator's SQUIT splits the link: each side's users see the other's quit,
/// naming both servers. ngIRCd's channel changes while split; on the relink its burst
/// brings the changes and both sides agree again. (ngIRCd redials only after ConnectRetry,
/// at least 5 s, so Portico dials again here.)
#[test]
fn squit_from_portico_splits_and_the_relink_merges_what_changed() {
    let Some(bin) = binary() else { return };
    let (p, mut ng, mut root) = connect_on_demand(&bin);
    let mut alice = p.user_on("alice");
    let mut ngbob = ng.user("ngbob");
    let mut ngcarol = ng.user("ngcarol");
    join(&mut ngbob, "#r");
    ngbob.send("MODE #r +klb rkey 7 *!*@bad.example");
    ngbob.send("TOPIC #r :before the split");
    ngbob.skip_until(" TOPIC #r ");
    join(&mut ngcarol, "#r rkey");
    ngbob.skip_until(" JOIN :#r");
    p.wait_for("#r on Portico", |s| {
        s.contains("topic=\"before the split\"")
    });
    for c in [&mut alice, &mut root] {
        c.send("JOIN #r rkey");
        c.skip_until(" 366 ");
    }
    ngbob.skip_until(&format!(":{} JOIN :#r", mask("root")));
    alice.skip_until(&format!(":{} JOIN #r", mask("root")));

    root.send("SQUIT ng.test :maintenance");
    let mut seen = vec![ngbob.line(), ngbob.line()];
    seen.sort();
    assert_eq!(
        seen,
        [
            format!(":{} QUIT :ng.test irc.test", mask("alice")),
            format!(":{} QUIT :ng.test irc.test", mask("root")),
        ]
    );
    let mut seen = vec![alice.line(), alice.line()];
    seen.sort();
    assert_eq!(
        seen,
        [
            format!(":{} QUIT :irc.test ng.test", mask("ngbob")),
            format!(":{} QUIT :irc.test ng.test", mask("ngcarol")),
        ]
    );
    p.wait_for("the split", |s| !s.contains("ng.test"));
    ng.wait_log("Server \"irc.test\" unregistered");

    // While split, ngIRCd's channel changes; then the link comes back.
    ngbob.send("MODE #r +m");
    ngbob.send("TOPIC #r :during the split");
    ngbob.skip_until(" TOPIC #r ");
    root.send("CONNECT ng.test");
    ng.wait_log_n(SYNCED, 2);
    let snap = p.wait_for("the relink", |s| s.contains("topic=\"during the split\""));
    assert!(
        snap.contains("channel #r ")
            && snap.contains("+mkl rkey 7 ")
            && snap.contains("bans=[*!*@bad.example] members=[@ngbob alice ngcarol root]"),
        "{snap}"
    );
    // Portico's users saw ngIRCd's users come back, and the changes; ngIRCd's saw Portico's.
    expect_all(
        &mut alice,
        &[
            ":ng.test MODE #r +m".into(),
            ":ng.test TOPIC #r :during the split".into(),
            format!(":{} JOIN #r", mask("ngbob")),
            ":ng.test MODE #r +o ngbob".into(),
            format!(":{} JOIN #r", mask("ngcarol")),
        ],
    );
    expect_all(
        &mut ngbob,
        &[
            format!(":{} JOIN :#r", mask("alice")),
            format!(":{} JOIN :#r", mask("root")),
        ],
    );

    // Both sides agree.
    let modes = ask(&mut alice, "MODE #r", " 329 ");
    assert_has(&modes, ":irc.test 324 alice #r +mkl rkey 7");
    let modes = ask(&mut ngbob, "MODE #r", " 324 ");
    assert_has(&modes, ":ng.test 324 ngbob #r +klm rkey 7");
    let topic = ask(&mut ngbob, "TOPIC #r", " 333 ");
    assert_has(&topic, ":ng.test 332 ngbob #r :during the split");
    let names = ask(&mut ngbob, "NAMES #r", " 366 ");
    assert_names(
        &names,
        ":ng.test 353 ngbob = #r :",
        &["@ngbob", "ngcarol", "alice", "root"],
    );
    let names = ask(&mut alice, "NAMES #r", " 366 ");
    assert_names(
        &names,
        ":irc.test 353 alice = #r :",
        &["@ngbob", "ngcarol", "alice", "root"],
    );
}

/// The same nick registered on both sides while split: when the link comes back (Portico
/// dials), both users are killed, as ngIRCd does (RFC 2813 has no timestamps to pick one).
/// Each side kills its own on seeing the other's arrive; the link stays up (the Portico
/// user's away state, still in flight behind its NICK, is ignored by ngIRCd).
#[test]
fn nick_collision_on_relink_kills_both_users() {
    let Some(bin) = binary() else { return };
    let (p, mut ng, mut root) = connect_on_demand(&bin);
    let mut alice = p.user_on("alice");
    let mut ngbob = ng.user("ngbob");
    meet(&p, &mut alice, &mut ngbob);

    root.send("SQUIT ng.test :split");
    p.wait_for("the split", |s| !s.contains("ng.test"));
    ng.wait_log("Server \"irc.test\" unregistered");
    let mut pdup = p.user_on("dup");
    pdup.send("AWAY :brb");
    pdup.skip_until(" 306 ");
    let mut ngdup = ng.user("dup");
    join(&mut pdup, "#w");
    join(&mut alice, "#w");
    join(&mut ngdup, "#w");
    join(&mut ngbob, "#w");

    root.send("CONNECT ng.test");
    ng.wait_log_n(SYNCED, 2);
    // Portico's dup: ngIRCd's burst brings a dup without a timestamp, so both lose.
    let seen = pdup.skip_until(" KILL dup ");
    assert_eq!(
        seen.last().unwrap(),
        ":irc.test KILL dup :irc.test (Nick collision)"
    );
    let closing = pdup.expect_closed();
    assert!(
        closing
            .iter()
            .any(|l| l.starts_with("ERROR :Closing Link: ") && l.ends_with(" (Nick collision)")),
        "{closing:#?}"
    );
    // ngIRCd's dup: killed there when Portico's burst brought the other.
    let closing = ngdup.expect_closed();
    assert_eq!(
        closing.last().map(String::as_str),
        Some("ERROR :Nick collision")
    );
    // Each side's witness saw its own dup quit.
    let seen = alice.skip_until(&format!(":{} QUIT :", mask("dup")));
    assert_eq!(
        seen.last().unwrap(),
        &format!(":{} QUIT :Nick collision", mask("dup"))
    );
    let seen = ngbob.skip_until(&format!(":{} QUIT :", mask("dup")));
    assert_eq!(
        seen.last().unwrap(),
        &format!(":{} QUIT :Nick collision", mask("dup"))
    );
    // The link is still up and nobody is called dup.
    p.wait_for("ngbob back", |s| s.contains("user ngbob "));
    barrier(&mut alice, &mut ngbob);
    barrier(&mut ngbob, &mut alice);
    let snap = p.snapshot();
    assert!(
        snap.contains("server ng.test 50") && !snap.contains("user dup "),
        "{snap}"
    );
    ngbob.send("WHOIS dup");
    ngbob.expect(":ng.test 401 ngbob dup :No such nick or channel name");
    p.user_on("dup");
}

/// A Portico leaf linked to a Portico hub linked to ngIRCd (hub `irc.test` dials it), all
/// three linked and synced.
fn leaf_hub_ngircd(bin: &Path) -> (Ngircd, TestServer, TestServer) {
    let mut ng = ng_passive(bin);
    let hub = start(
        "irc.test",
        1,
        &[Peer {
            name: "leaf.test",
            id: 2,
            dial: None,
        }],
        &ng_extra(Dial::Auto(ng.addr())),
    );
    let leaf = start(
        "leaf.test",
        2,
        &[Peer {
            name: "irc.test",
            id: 1,
            dial: Some(hub.addr()),
        }],
        "casemapping = \"ascii\"\nnick_length = 30\n",
    );
    leaf.wait_servers(&["irc.test", NG_NAME]);
    ng.wait_log("Server \"leaf.test\" registered");
    (ng, hub, leaf)
}

/// Portico leaf - Portico hub - ngIRCd: one network for users on all three.
#[test]
fn chain_portico_portico_ngircd_is_one_network() {
    let Some(bin) = binary() else { return };
    let (ng, hub, leaf) = leaf_hub_ngircd(&bin);
    let mut lea = leaf.user_on("lea");
    let mut hubert = hub.user_on("hubert");
    let mut ngbob = ng.user("ngbob");
    leaf.wait_for("ngbob on the leaf", |s| {
        s.contains("user ngbob ~ngbob 127.0.0.1 ng.test")
    });

    join(&mut lea, "#chain");
    barrier(&mut lea, &mut ngbob);
    join(&mut hubert, "#chain");
    lea.expect(&format!(":{} JOIN #chain", mask("hubert")));
    barrier(&mut hubert, &mut ngbob);
    let names = join(&mut ngbob, "#chain");
    assert_names(
        &names,
        ":ng.test 353 ngbob = #chain :",
        &["@lea", "hubert", "ngbob"],
    );
    lea.expect(&format!(":{} JOIN #chain", mask("ngbob")));
    hubert.expect(&format!(":{} JOIN #chain", mask("ngbob")));

    lea.send("PRIVMSG #chain :from the leaf");
    hubert.expect(&format!(":{} PRIVMSG #chain :from the leaf", mask("lea")));
    ngbob.expect(&format!(":{} PRIVMSG #chain :from the leaf", mask("lea")));
    ngbob.send("PRIVMSG #chain :from ngircd");
    hubert.expect(&format!(":{} PRIVMSG #chain :from ngircd", mask("ngbob")));
    lea.expect(&format!(":{} PRIVMSG #chain :from ngircd", mask("ngbob")));
    ngbob.send("PRIVMSG lea :two hops");
    lea.expect(&format!(":{} PRIVMSG lea :two hops", mask("ngbob")));
    lea.send("PRIVMSG ngbob :and back");
    ngbob.expect(&format!(":{} PRIVMSG ngbob :and back", mask("lea")));

    let whois = ask(&mut ngbob, "WHOIS lea", " 318 ");
    assert_has(
        &whois,
        ":ng.test 312 ngbob lea leaf.test :Portico IRC server",
    );
    let whois = ask(&mut lea, "WHOIS ngbob", " 318 ");
    assert_has(&whois, ":leaf.test 312 lea ngbob ng.test :ngIRCd test hub");

    lea.send("NICK leanne");
    for c in [&mut hubert, &mut ngbob] {
        c.expect(&format!(":{} NICK :leanne", mask("lea")));
    }
    lea.expect(&format!(":{} NICK :leanne", mask("lea")));
    ngbob.send("NICK ngrobert");
    ngbob.expect(&format!(":{} NICK :ngrobert", mask("ngbob")));
    lea.expect(&format!(":{} NICK :ngrobert", mask("ngbob")));
    hubert.expect(&format!(":{} NICK :ngrobert", mask("ngbob")));

    let view = common::net::converge(&[&hub, &leaf]);
    assert!(
        view.contains("server ng.test 50")
            && view.contains("server leaf.test 2")
            && view.contains("members=[@leanne hubert ngrobert]"),
        "{view}"
    );

    lea.send("QUIT :leaving the leaf");
    let quit = ":leanne!~lea@127.0.0.1 QUIT :Quit: leaving the leaf";
    hubert.expect(quit);
    ngbob.expect(quit);
    ngbob.send("QUIT :done");
    hubert.expect(":ngrobert!~ngbob@127.0.0.1 QUIT :\"done\"");
    leaf.wait_for("ngrobert gone from the leaf", |s| {
        !s.contains("user ngrobert ")
    });
}

/// Portico's dialer (`connect = true`) links again by itself after a split.
#[test]
fn portico_redials_after_a_split() {
    let Some(bin) = binary() else { return };
    let (p, mut ng) = portico_dialing(&bin);
    let mut root = p.user_on("root");
    oper(&mut root);
    let mut ngbob = ng.user("ngbob");
    join(&mut ngbob, "#back");
    p.wait_for("#back on Portico", |s| s.contains("members=[@ngbob]"));
    join(&mut root, "#back");
    ngbob.expect(&format!(":{} JOIN :#back", mask("root")));

    root.send("SQUIT ng.test :flap");
    ngbob.expect(&format!(":{} QUIT :ng.test irc.test", mask("root")));
    root.expect(&format!(":{} QUIT :irc.test ng.test", mask("ngbob")));
    ng.wait_log_n(SYNCED, 2);
    ngbob.expect(&format!(":{} JOIN :#back", mask("root")));
    root.expect(&format!(":{} JOIN #back", mask("ngbob")));
    root.expect(":ng.test MODE #back +o ngbob");
}

/// Nicks and channels must fold alike on both sides: a Portico with rfc1459 case mapping
/// refuses ngIRCd (ascii) in the enhanced handshake, saying what to change.
#[test]
fn handshake_refuses_a_different_case_mapping() {
    let Some(bin) = binary() else { return };
    let mut ng = ng_passive(&bin);
    let extra = ng_extra(Dial::OnConnect(ng.addr())).replace("\"ascii\"", "\"rfc1459\"");
    let p = start("irc.test", 1, &[], &extra);
    let mut root = p.user_on("root");
    oper(&mut root);
    root.send("CONNECT ng.test");
    let got = ng.wait_log("Got ERROR from \"irc.test\"");
    assert!(
        got.contains(
            "(Incompatible case mapping: ours rfc1459, ng.test has ascii; set casemapping = \"ascii\")"
        ),
        "{got}"
    );
    p.wait_for("no link", |s| !s.contains("ng.test"));
}

/// `c`'s NAMES of `chan` (from `server`) lists exactly `members`.
#[track_caller]
fn names_now(c: &mut TestClient, server: &str, chan: &str, members: &[&str]) {
    let names = ask(c, &format!("NAMES {chan}"), " 366 ");
    let head = format!(":{server} 353 {} = {chan} :", c.nick);
    assert_names(&names, &head, members);
}

/// ngIRCd (Portico links to it) with a founder made before the link: it arrives in ngIRCd's
/// burst (Portico sends IRC+ flag `X`) as an owner. Portico's user made ops there.
fn ng_founder_then_link(bin: &Path) -> (TestServer, Ngircd, TestClient) {
    let mut ng = ng_passive(bin);
    let mut ngbob = ng.user("ngbob");
    ng_oper(&mut ngbob);
    join(&mut ngbob, "#ngown");
    ngbob.send("MODE #ngown +q ngbob");
    ngbob.skip_until(" MODE #ngown +q ngbob");
    let p = portico(Dial::Auto(ng.addr()));
    ng.wait_log(SYNCED);
    p.wait_for("ngIRCd's founder", |s| s.contains("members=[~@ngbob]"));
    (p, ng, ngbob)
}

/// An IRCX owner on Portico is ngIRCd's founder (`~`), in the channel's NJOIN and when made
/// later by MODE +q; ngIRCd's founder, from its burst or set there by MODE +q, is an owner
/// on Portico.
#[test]
fn ircx_owners_are_ngircd_founders_both_ways() {
    let Some(bin) = binary() else { return };
    let (p, _ng, mut ngbob) = ng_founder_then_link(&bin);
    let mut alice = p.user_on("alice");
    let mut bob = p.user_on("bob");
    let names = join(&mut bob, "#ngown");
    assert_names(&names, ":irc.test 353 bob = #ngown :", &["~ngbob", "bob"]);
    alice.send("IRCX");
    alice.sync();
    join(&mut alice, "#own");
    join(&mut bob, "#own");
    meet(&p, &mut alice, &mut ngbob);
    let names = join(&mut ngbob, "#own");
    assert_names(
        &names,
        ":ng.test 353 ngbob = #own :",
        &["ngbob", "~alice", "bob"],
    );
    alice.skip_until(":ngbob!~ngbob@127.0.0.1 JOIN #own");
    bob.skip_until(":ngbob!~ngbob@127.0.0.1 JOIN #own");
    alice.send("MODE #own +q bob");
    alice.expect(":alice!~alice@127.0.0.1 MODE #own +q bob");
    ngbob.expect(":alice!~alice@127.0.0.1 MODE #own +q bob");
    names_now(&mut ngbob, "ng.test", "#own", &["ngbob", "~alice", "~bob"]);
    // ngIRCd's operator makes ngbob founder there: an owner here.
    ngbob.send("MODE #own +q ngbob");
    ngbob.expect(":ngbob!~ngbob@127.0.0.1 MODE #own +q ngbob");
    alice.expect(":ngbob!~ngbob@127.0.0.1 MODE #own +q ngbob");
    bob.skip_until(":ngbob!~ngbob@127.0.0.1 MODE #own +q ngbob");
    names_now(&mut bob, "irc.test", "#own", &["~ngbob", "~alice", "~bob"]);
}

/// Portico–ngIRCd with an owner, a whisper and a PROP, checked from both sides: the owner is
/// `~` on both; a WHISPER to ngIRCd's member arrives there as a private message (the channel
/// is lost); PROP stays on Portico (its IRCX members see it, ngIRCd's user gets nothing, not
/// even the ONJOIN line, and the link goes on working).
#[test]
fn owner_whisper_and_prop_across_ngircd() {
    let Some(bin) = binary() else { return };
    let (p, mut ng) = portico_dialing(&bin);
    let mut alice = p.user_on("alice");
    let mut carol = p.user_on("carol");
    let mut ngbob = ng.user("ngbob");
    for c in [&mut alice, &mut carol] {
        c.send("IRCX");
        c.sync();
    }
    join(&mut alice, "#ix");
    join(&mut carol, "#ix");
    alice.skip_until(":carol!~carol@127.0.0.1 JOIN #ix");
    alice.send("PROP #ix ONJOIN :welcome to #ix");
    for c in [&mut alice, &mut carol] {
        c.expect(":alice!~alice@127.0.0.1 PROP #ix ONJOIN :welcome to #ix");
    }
    meet(&p, &mut alice, &mut ngbob);
    let names = join(&mut ngbob, "#ix");
    assert_names(
        &names,
        ":ng.test 353 ngbob = #ix :",
        &["ngbob", "~alice", "carol"],
    );
    for c in [&mut alice, &mut carol] {
        c.expect(":ngbob!~ngbob@127.0.0.1 JOIN #ix");
    }
    names_now(&mut carol, "irc.test", "#ix", &["ngbob", ".alice", "carol"]);

    // WHISPER: a private message for ngIRCd's user, a whisper for the IRCX member.
    alice.send("WHISPER #ix ngbob,carol :psst");
    ngbob.expect(":alice!~alice@127.0.0.1 PRIVMSG ngbob :psst");
    carol.expect(":alice!~alice@127.0.0.1 WHISPER #ix carol :psst");

    // PROP: set and listed on Portico; nothing of it reaches ngIRCd's user.
    alice.send("PROP #ix SUBJECT :portico talk");
    for c in [&mut alice, &mut carol] {
        c.expect(":alice!~alice@127.0.0.1 PROP #ix SUBJECT :portico talk");
    }
    let props = ask(&mut carol, "PROP #ix SUBJECT", " 819 ");
    assert_has(&props, ":irc.test 818 carol #ix SUBJECT :portico talk");
    alice.send("PRIVMSG ngbob :after the prop");
    ngbob.expect(":alice!~alice@127.0.0.1 PRIVMSG ngbob :after the prop");
    // The link still works both ways, and ngIRCd has nothing to say about it.
    ngbob.send("PRIVMSG #ix :still here");
    for c in [&mut alice, &mut carol] {
        c.expect(":ngbob!~ngbob@127.0.0.1 PRIVMSG #ix :still here");
    }
    let complaints: Vec<&String> = ng
        .log_so_far()
        .iter()
        .filter(|l| l.contains("irc.test") && (l.contains("nknown") || l.contains("ERROR")))
        .collect();
    assert!(complaints.is_empty(), "{complaints:#?}");
    p.wait_servers(&[NG_NAME]);
}

/// ngIRCd's `[SSL]` section: tests/data/server.crt and its key (ngIRCd wants them to
/// dial with TLS too).
fn ng_ssl() -> String {
    format!(
        "[SSL]\nCertFile = {}\nKeyFile = {}\n",
        common::tls::data("server.crt").display(),
        common::tls::data("server.key").display()
    )
}

/// Portico dials ngIRCd's TLS port (Debian's ngIRCd is built with GnuTLS), pinning the
/// certificate ngIRCd serves; users chat across the encrypted link.
#[test]
fn portico_dials_ngircd_over_tls_with_a_pinned_certificate() {
    let Some(bin) = binary() else { return };
    let tls_port = common::ngircd::free_port();
    let ssl = format!("{}Ports = {tls_port}\n", ng_ssl());
    let mut ng = Ngircd::start_with(
        &bin,
        &[PorticoPeer {
            name: "irc.test",
            dial: None,
        }],
        &ssl,
    );
    let addr = SocketAddr::from(([127, 0, 0, 1], tls_port));
    let pin = common::tls::fingerprint("server");
    let extra = format!(
        "{}tls = true\nfingerprint = \"{pin}\"\n",
        ng_extra(Dial::Auto(addr))
    );
    let p = start("irc.test", 1, &[], &extra);
    chat_over_tls(&p, &mut ng);
}

/// Once the link is up, a user on each side messages the other.
fn chat_over_tls(p: &TestServer, ng: &mut Ngircd) {
    ng.wait_log(SYNCED);
    p.wait_servers(&[NG_NAME]);
    let mut alice = p.user_on("alice");
    let mut ngbob = ng.user("ngbob");
    meet(p, &mut alice, &mut ngbob);
    alice.send("PRIVMSG ngbob :hi over TLS");
    ngbob.expect(":alice!~alice@127.0.0.1 PRIVMSG ngbob :hi over TLS");
    ngbob.send("NOTICE alice :noted");
    alice.expect(":ngbob!~ngbob@127.0.0.1 NOTICE alice :noted");
}

/// ngIRCd dials Portico's TLS listener (`SSLConnect`); Portico's portal for it says
/// `tls = true`, so the link is taken only over TLS.
#[test]
fn ngircd_dials_portico_over_tls() {
    let Some(bin) = binary() else { return };
    let dir = common::TempDir::new();
    dir.copy(&common::tls::data("server.crt"), "cert.pem");
    dir.copy(&common::tls::data("server.key"), "key.pem");
    let text = format!(
        "[server]\nname = \"irc.test\"\nid = 1\nmotd = \"hi\"\n\n\
         [[listen]]\naddress = \"127.0.0.1:0\"\n\n\
         [[listen]]\naddress = \"127.0.0.2:0\"\ntls = true\ncert = \"cert.pem\"\nkey = \"key.pem\"\n\n\
         [limits]\nflood_burst = 100000\nmax_clients_per_ip = 0\n{}tls = true\n",
        ng_extra(Dial::No)
    );
    let path = dir.write("portico.toml", &text);
    let config = portico::config::Config::load(&path).expect("test config");
    let p = TestServer::with_options(portico::net::Options::new(config));
    let tls = p.running.addrs[1];
    // The [Server] section written here: ngIRCd dials with TLS, trusting the test certificate
    // without a CA (SSLVerify = no).
    let server = format!(
        "{}[Server]\nName = irc.test\nMyPassword = {LINK_PASSWORD}\nPeerPassword = {LINK_PASSWORD}\n\
         Host = {}\nPort = {}\nSSLConnect = yes\nSSLVerify = no\n",
        ng_ssl(),
        tls.ip(),
        tls.port()
    );
    let mut ng = Ngircd::start_with(&bin, &[], &server);
    chat_over_tls(&p, &mut ng);
}

/// A user logged in on Portico (SASL): ngIRCd learns the account by METADATA and shows it
/// in its WHOIS (330).
#[test]
fn ngircd_learns_a_portico_users_account() {
    let Some(bin) = binary() else { return };
    let hash = portico::config::hash_password(b"secret").unwrap();
    let extra = format!(
        "{}[[account]]\nname = \"ann\"\npassword = \"{hash}\"\n",
        ng_extra(Dial::No)
    );
    let p = start("irc.test", 1, &[], &extra);
    let ng = ng_dialing(&bin, &p);
    let mut alice = p.user_on("alice");
    let mut ngbob = ng.user("ngbob");
    meet(&p, &mut alice, &mut ngbob);
    alice.send("AUTHENTICATE PLAIN");
    alice.expect("AUTHENTICATE +");
    // base64 of `\0ann\0secret`.
    alice.send("AUTHENTICATE AGFubgBzZWNyZXQ=");
    alice.skip_until(" 903 ");
    barrier(&mut alice, &mut ngbob);
    let whois = ask(&mut ngbob, "WHOIS alice", " 318 ");
    assert!(
        whois.iter().any(|l| l.contains(" 330 ngbob alice ann ")),
        "{whois:#?}"
    );
}

/// chghost with ngIRCd: a Portico operator's CHGHOST and CHGIDENT reach ngIRCd as its
/// METADATA `user` and `host` (its WHOIS shows them), and an ngIRCd user's cloak (+x,
/// announced to us as METADATA `cloakhost` because we offer IRC+ flag M) is a host change
/// here: CHGHOST for a client with the capability, and WHOIS shows it.
#[test]
fn host_changes_cross_the_link_both_ways() {
    let Some(bin) = binary() else { return };
    let (p, ng) = portico_dialing(&bin);
    let mut root = p.user_on("root");
    oper(&mut root);
    let mut alice = p.user_on("alice");
    alice.send("CAP REQ :chghost");
    alice.expect(":irc.test CAP alice ACK :chghost");
    let mut ngbob = ng.user("ngbob");
    meet(&p, &mut alice, &mut ngbob);
    join(&mut alice, "#hosts");
    join(&mut ngbob, "#hosts");
    alice.skip_until(":ngbob!~ngbob@127.0.0.1 JOIN #hosts");

    root.send("CHGHOST alice alice.vhost");
    root.skip_until(":irc.test NOTICE root :Changed the host of alice");
    root.send("CHGIDENT alice al");
    root.skip_until(":irc.test NOTICE root :Changed the username of alice");
    barrier(&mut alice, &mut ngbob);
    let whois = ask(&mut ngbob, "WHOIS alice", " 318 ");
    assert_has(
        &whois,
        ":ng.test 311 ngbob alice al alice.vhost * :alice real",
    );

    // ngIRCd lets an operator (or anyone, with CloakHostModeX) cloak.
    ng_oper(&mut ngbob);
    ngbob.send("MODE ngbob +x");
    let chg = alice
        .skip_until(":ngbob!~ngbob@127.0.0.1 CHGHOST ")
        .pop()
        .unwrap();
    let cloak = chg.rsplit(' ').next().unwrap().to_string();
    assert_eq!(
        chg,
        format!(":ngbob!~ngbob@127.0.0.1 CHGHOST ~ngbob {cloak}")
    );
    assert_ne!(cloak, "127.0.0.1");
    let whois = ask(&mut alice, "WHOIS ngbob", " 318 ");
    assert_has(
        &whois,
        &format!(":irc.test 311 alice ngbob ~ngbob {cloak} * :ngbob real"),
    );
    // ngIRCd's own WHOIS agrees.
    let mut ngcarl = ng.user("ngcarl");
    let whois = ask(&mut ngcarl, "WHOIS ngbob", " 318 ");
    assert_has(
        &whois,
        &format!(":ng.test 311 ngcarl ngbob ~ngbob {cloak} * :ngbob real"),
    );
}

/// ngIRCd expecting Portico (`irc.test`) and with services linked to it: a raw RFC 2813
/// server `services.test` offering IRC+ flag `M`, so ngIRCd takes its METADATA and sends
/// it ngIRCd's own.
fn ng_with_services(bin: &Path) -> (Ngircd, TestClient) {
    let mut ng = Ngircd::start(
        bin,
        &[
            PorticoPeer {
                name: "irc.test",
                dial: None,
            },
            PorticoPeer {
                name: "services.test",
                dial: None,
            },
        ],
    );
    let mut services = TestClient::connect(ng.addr());
    services.nick = "services".into();
    services.send(&format!("PASS {LINK_PASSWORD} 0210-IRC+ services|1.0:M P"));
    services.send("SERVER services.test 1 :Services");
    ng.wait_log("Server \"services.test\" registered");
    (ng, services)
}

/// Accounts from ngIRCd: services linked to ngIRCd (a raw RFC 2813 server plays them here:
/// ngIRCd itself sets no account without services) log its users in with
/// `METADATA <nick> accountname :<name>`. ngIRCd passes that on to servers with the IRC+
/// flag `M` (Portico sends it), in its burst and live: the user has the account here
/// (WHOIS 330, extended-join, account-notify), and loses it on an empty value.
#[test]
fn portico_learns_ngircd_users_accounts_from_its_services() {
    let Some(bin) = binary() else { return };
    let (mut ng, mut services) = ng_with_services(&bin);
    let mut ngbob = ng.user("ngbob");
    let mut ngcarol = ng.user("ngcarol");
    services.send(":services.test METADATA ngbob accountname :bobacct");
    // ngbob's account now comes in ngIRCd's burst.
    let p = portico_linked_to(&mut ng);
    let mut alice = p.connect();
    alice.register_with_caps("alice", "account-notify extended-join");
    meet(&p, &mut alice, &mut ngbob);
    let whois = ask(&mut alice, "WHOIS ngbob", " 318 ");
    assert_has(&whois, ":irc.test 330 alice ngbob bobacct :is logged in as");
    join(&mut alice, "#c");
    barrier(&mut alice, &mut ngbob);
    join(&mut ngbob, "#c");
    alice.expect(&format!(":{} JOIN #c bobacct :ngbob real", mask("ngbob")));
    join(&mut ngcarol, "#c");
    alice.expect(&format!(":{} JOIN #c * :ngcarol real", mask("ngcarol")));
    // Live: a login and a logout.
    services.send(":services.test METADATA ngcarol accountname :carolacct");
    alice.expect(&format!(":{} ACCOUNT carolacct", mask("ngcarol")));
    services.send(":services.test METADATA ngcarol accountname :");
    alice.expect(&format!(":{} ACCOUNT *", mask("ngcarol")));
    let whois = ask(&mut alice, "WHOIS ngcarol", " 318 ");
    assert!(!whois.iter().any(|l| l.contains(" 330 ")), "{whois:#?}");
}

/// ngIRCd keeps a user's real host (`METADATA host`) apart from its cloak (`cloakhost`, shown
/// while the user is +x). Services linked to ngIRCd change the real host of a cloaked user:
/// ngIRCd keeps showing the cloak, and so does Portico (the real host would be a leak there).
/// At -x ngIRCd shows the real host again and sends no METADATA: Portico shows the one it
/// kept hidden, then the next one, as ngIRCd does.
#[test]
fn a_cloaked_ngircd_users_real_host_stays_hidden() {
    let Some(bin) = binary() else { return };
    let (mut ng, mut services) = ng_with_services(&bin);
    let mut ngbob = ng.user("ngbob");
    let p = portico_linked_to(&mut ng);
    let mut alice = p.connect();
    alice.register_with_caps("alice", "chghost");
    meet(&p, &mut alice, &mut ngbob);
    join(&mut alice, "#hosts");
    join(&mut ngbob, "#hosts");
    alice.skip_until(&format!(":{} JOIN #hosts", mask("ngbob")));
    ng_oper(&mut ngbob);
    ngbob.send("MODE ngbob +x");
    let chg = alice.skip_until(" CHGHOST ").pop().unwrap();
    let cloak = chg.rsplit(' ').next().unwrap().to_string();
    assert_eq!(chg, format!(":{} CHGHOST ~ngbob {cloak}", mask("ngbob")));
    // A new real host, then a new username: services' lines reach Portico in order, so the
    // username's CHGHOST, with the cloak still in it, is the first alice sees.
    services.send(":services.test METADATA ngbob host :real.example");
    services.send(":services.test METADATA ngbob user :bobby");
    assert_eq!(
        alice.skip_until(" CHGHOST "),
        [format!(":ngbob!~ngbob@{cloak} CHGHOST bobby {cloak}")]
    );
    let mut ngcarl = ng.user("ngcarl");
    let whois = ask(&mut ngcarl, "WHOIS ngbob", " 318 ");
    assert_has(
        &whois,
        &format!(":ng.test 311 ngcarl ngbob bobby {cloak} * :ngbob real"),
    );
    // Uncloaked, ngIRCd shows the real host again: so does Portico, and its next one.
    ngbob.send("MODE ngbob -x");
    ngbob.skip_until("MODE ngbob :-x");
    assert_eq!(
        alice.skip_until(" CHGHOST "),
        [format!(":ngbob!bobby@{cloak} CHGHOST bobby real.example")]
    );
    let whois = ask(&mut alice, "WHOIS ngbob", " 318 ");
    assert_has(
        &whois,
        ":irc.test 311 alice ngbob bobby real.example * :ngbob real",
    );
    let whois = ask(&mut ngcarl, "WHOIS ngbob", " 318 ");
    assert_has(
        &whois,
        ":ng.test 311 ngcarl ngbob bobby real.example * :ngbob real",
    );
    services.send(":services.test METADATA ngbob host :moved.example");
    assert_eq!(
        alice.skip_until(" CHGHOST "),
        [":ngbob!bobby@real.example CHGHOST bobby moved.example"]
    );
    // Cloaked again, ngIRCd shows the cloak it has (no METADATA): so does Portico, not the
    // real host it hides.
    ngbob.send("MODE ngbob +x");
    ngbob.skip_until("MODE ngbob :+x");
    assert_eq!(
        alice.skip_until(" CHGHOST "),
        [format!(":ngbob!bobby@moved.example CHGHOST bobby {cloak}")]
    );
    let whois = ask(&mut alice, "WHOIS ngbob", " 318 ");
    assert_has(
        &whois,
        &format!(":irc.test 311 alice ngbob bobby {cloak} * :ngbob real"),
    );
}

/// A Portico operator's CHGHOST of a user ngIRCd cloaks (+x) changes the cloak there
/// (`METADATA cloakhost`, src/ngircd/irc-metadata.c): ngIRCd shows the new host, as Portico
/// does, and tells the user (396). A `host` would change only the real host ngIRCd hides.
/// After -x the new host is ngIRCd's `host`; after a second +x (ngIRCd sends no cloak then:
/// it has one) its cloak again.
#[test]
fn chghost_of_a_cloaked_ngircd_user_changes_its_cloak_there() {
    let Some(bin) = binary() else { return };
    let (mut ng, mut services) = ng_with_services(&bin);
    let mut ngbob = ng.user("ngbob");
    let mut ngcarl = ng.user("ngcarl");
    let p = portico_linked_to(&mut ng);
    let mut root = p.user_on("root");
    oper(&mut root);
    meet(&p, &mut root, &mut ngbob);
    // Services cloak ngbob as a vhost: the cloak, then +x.
    services.send(":services.test METADATA ngbob cloakhost :cloak.example");
    for (mode, host) in [
        ("+x", "vhost.one"),
        ("-x", "vhost.two"),
        ("+x", "vhost.three"),
    ] {
        services.send(&format!(":services.test MODE ngbob {mode}"));
        ngbob.skip_until(&format!(" MODE ngbob :{mode}"));
        barrier(&mut ngbob, &mut root);
        root.send(&format!("CHGHOST ngbob {host}"));
        root.skip_until(":irc.test NOTICE root :Changed the host of ngbob");
        let told = ngbob.skip_until(&format!(" 396 ngbob {host} ")).pop();
        assert_eq!(
            told.unwrap(),
            format!(":irc.test 396 ngbob {host} :is your displayed hostname now")
        );
        let whois = ask(&mut ngcarl, "WHOIS ngbob", " 318 ");
        assert_has(
            &whois,
            &format!(":ng.test 311 ngcarl ngbob ~ngbob {host} * :ngbob real"),
        );
    }
    let whois = ask(&mut root, "WHOIS ngbob", " 318 ");
    assert_has(
        &whois,
        ":irc.test 311 root ngbob ~ngbob vhost.three * :ngbob real",
    );
}

/// ngIRCd's burst is a netjoin for Portico's clients with `batch`: the users it brings
/// into a shared channel join in one `netjoin` batch, which ends with the burst. ngIRCd
/// sends no end of burst: Portico takes the answer to its first PING as one.
#[test]
fn ngircds_burst_is_a_netjoin_batch() {
    let Some(bin) = binary() else { return };
    let ng = ng_passive(&bin);
    let mut ngbob = ng.user("ngbob");
    join(&mut ngbob, "#c");
    let mut ngcarol = ng.user("ngcarol");
    join(&mut ngcarol, "#c");
    let p = portico(Dial::OnConnect(ng.addr()));
    let mut alice = p.connect();
    alice.register_with_caps("alice", "batch");
    join(&mut alice, "#c");
    let mut root = p.user_on("root");
    oper(&mut root);
    root.send("CONNECT ng.test");
    // The op status ngIRCd's NJOIN gave comes as a MODE of its own, outside the batch.
    assert_eq!(
        alice.skip_until("BATCH -"),
        [
            ":irc.test BATCH +L1 netjoin irc.test ng.test",
            "@batch=L1 :ngcarol!~ngcarol@127.0.0.1 JOIN #c",
            "@batch=L1 :ngbob!~ngbob@127.0.0.1 JOIN #c",
            ":ng.test MODE #c +o ngbob",
            ":irc.test BATCH -L1",
        ]
    );
}

/// ngIRCd cannot rename channels: with it anywhere in the network, a rename would leave
/// its users under the old name, so Portico refuses it, on the server linked to ngIRCd and
/// on a Portico server one hop further (told by `NORENAME`), and nothing changes.
#[test]
fn renames_are_refused_while_ngircd_is_in_the_network() {
    let Some(bin) = binary() else { return };
    let (ng, hub, leaf) = leaf_hub_ngircd(&bin);
    let mut lea = leaf.user_on("lea");
    let mut hubert = hub.user_on("hubert");
    let mut ngbob = ng.user("ngbob");
    // The leaf learns of ngbob last (through the hub); a barrier sent before would get 401.
    leaf.wait_for("ngbob on the leaf", |s| s.contains("user ngbob "));
    join(&mut lea, "#stay");
    join(&mut hubert, "#here");
    barrier(&mut lea, &mut ngbob);
    barrier(&mut hubert, &mut ngbob);
    join(&mut ngbob, "#stay");
    lea.expect(&format!(":{} JOIN #stay", mask("ngbob")));
    lea.send("RENAME #stay #moved");
    lea.expect(&format!(
        ":leaf.test FAIL RENAME CANNOT_RENAME #stay #moved :Server {NG_NAME} cannot rename channels, so the network would disagree on the name"
    ));
    hubert.send("RENAME #here #there");
    hubert.expect(&format!(
        ":irc.test FAIL RENAME CANNOT_RENAME #here #there :Server {NG_NAME} cannot rename channels, so the network would disagree on the name"
    ));
    ngbob.send("PRIVMSG #stay :same name");
    lea.expect(&format!(":{} PRIVMSG #stay :same name", mask("ngbob")));
}
