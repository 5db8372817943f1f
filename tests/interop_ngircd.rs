//! Portico linked with a real ngIRCd (Debian's `ngircd`) over the rfc2813 portal profile.
mod common;
use common::net::start;
use common::ngircd::{binary, Ngircd, PorticoPeer, LINK_PASSWORD, NG_NAME};
use common::TestServer;

/// Portico's side: ascii case mapping and 30-character nicks, as the ngIRCd config has.
fn portico(dial_ng: Option<&Ngircd>) -> TestServer {
    let mut extra = format!(
        "casemapping = \"ascii\"\nnick_length = 30\n\n[[portal]]\nname = \"{NG_NAME}\"\nid = 50\npassword = \"{LINK_PASSWORD}\"\nprotocol = \"rfc2813\"\n"
    );
    if let Some(ng) = dial_ng {
        extra.push_str(&format!("address = \"{}\"\nconnect = true\n", ng.addr()));
    }
    start("irc.test", 1, &[], &extra)
}

#[test]
fn ngircd_dials_portico_on_the_client_port_and_users_chat() {
    let Some(bin) = binary() else { return };
    let p = portico(None);
    let mut ng = Ngircd::start(
        &bin,
        &[PorticoPeer {
            name: "irc.test",
            dial: Some(p.addr()),
        }],
    );
    ng.wait_log("Synchronization with \"irc.test\" done");
    p.wait_servers(&[NG_NAME]);
    let mut alice = p.user_on("alice");
    let mut ngbob = ng.user("ngbob");
    alice.send("JOIN #x");
    alice.skip_until(" 366 ");
    p.wait_servers(&[NG_NAME]);
    ngbob.send("JOIN #x");
    let names = ngbob.skip_until(" 366 ");
    assert!(
        names
            .iter()
            .any(|l| l.contains(" 353 ngbob ") && l.contains("@alice")),
        "{names:#?}"
    );
    alice.expect(":ngbob!~ngbob@127.0.0.1 JOIN #x");
    ngbob.send("PRIVMSG #x :hello from ngircd");
    alice.expect(":ngbob!~ngbob@127.0.0.1 PRIVMSG #x :hello from ngircd");
    alice.send("PRIVMSG #x :hello from portico");
    ngbob.expect(":alice!~alice@127.0.0.1 PRIVMSG #x :hello from portico");
    alice.send("PRIVMSG ngbob :private");
    ngbob.expect(":alice!~alice@127.0.0.1 PRIVMSG ngbob :private");
    ngbob.send("PRIVMSG alice :back");
    alice.expect(":ngbob!~ngbob@127.0.0.1 PRIVMSG alice :back");
}
