//! draft/metadata-2 against the real server: the capability, METADATA transcripts, PROP
//! and METADATA viewing one channel store, and metadata across two linked servers.
mod common;
use common::net::{converge, linked_pair};
use common::{TestClient, TestServer};

/// A registered client that negotiated draft/metadata-2.
fn meta_client(c: TestClient, nick: &str) -> TestClient {
    registered_with(c, nick, "draft/metadata-2")
}

/// A client that negotiated `caps` before registering.
fn registered_with(mut c: TestClient, nick: &str, caps: &str) -> TestClient {
    c.register_with_caps(nick, caps);
    c
}

#[test]
fn metadata_transcript_and_the_prop_view() {
    let server = TestServer::start("");
    let mut probe = server.connect();
    probe.send("CAP LS 302");
    let ls = probe.expect_prefix(":irc.test CAP * LS :");
    assert!(
        ls.contains(" draft/metadata-2=max-subs=50,max-keys=20,max-value-bytes=255 "),
        "{ls}"
    );
    let mut alice = meta_client(server.connect(), "alice");
    let mut bob = meta_client(server.connect(), "bob");
    let mut carol = server.user("carol");
    carol.send("IRCX");
    carol.skip_until(" 800 ");
    alice.send("JOIN #c");
    alice.skip_until(" 366 ");
    bob.send("METADATA * SUB url subject");
    bob.expect(":irc.test 770 bob :url subject");
    bob.send("JOIN #c");
    bob.skip_until(" 366 ");
    carol.send("JOIN #c");
    carol.skip_until(" 366 ");
    alice.send("MODE #c +o carol");
    alice.skip_until("MODE #c +o carol");
    bob.skip_until("MODE #c +o carol");
    carol.skip_until("MODE #c +o carol");

    alice.send("METADATA * SET url :http://www.example.com");
    alice.expect(":irc.test 761 alice alice url * :http://www.example.com");
    bob.expect(":alice!~alice@127.0.0.1 METADATA alice url * :http://www.example.com");
    alice.send("METADATA $a:user SET url :x");
    alice.expect(":irc.test FAIL METADATA INVALID_TARGET $a:user :Invalid target");
    alice.send("METADATA * SET $url$ :x");
    alice.expect(":irc.test FAIL METADATA KEY_INVALID $url$ :Invalid key");
    alice.send("METADATA bob SET url :x");
    alice.expect(":irc.test FAIL METADATA KEY_NO_PERMISSION bob url :Permission denied");
    bob.send("METADATA alice GET url nope");
    bob.expect(":irc.test 761 bob alice url * :http://www.example.com");
    bob.expect(":irc.test 766 bob alice nope :key not set");

    // One store: PROP (IRCX) sets, METADATA reads and hears; and the other way round.
    carol.send("PROP #c SUBJECT :Rust");
    carol.expect(":carol!~carol@127.0.0.1 PROP #c SUBJECT :Rust");
    bob.expect(":carol!~carol@127.0.0.1 METADATA #c subject * :Rust");
    alice.send("METADATA #c GET subject");
    alice.expect(":irc.test 761 alice #c subject * :Rust");
    alice.send("METADATA #c SET url :https://c.example");
    alice.expect(":irc.test 761 alice #c url * :https://c.example");
    carol.expect(":alice!~alice@127.0.0.1 PROP #c url :https://c.example");
    bob.expect(":alice!~alice@127.0.0.1 METADATA #c url * :https://c.example");
    carol.send("PROP #c URL");
    carol.expect(":irc.test 818 carol #c url :https://c.example");
    carol.expect(":irc.test 819 carol #c :End of properties");
    bob.send("METADATA #c SYNC");
    let sync = bob.sync();
    assert_eq!(
        sync,
        [
            ":irc.test METADATA #c subject * :Rust",
            ":irc.test METADATA #c url * :https://c.example",
            ":irc.test METADATA alice url * :http://www.example.com",
        ]
    );
    alice.expect_nothing();
}

#[test]
fn metadata_crosses_a_link() {
    let (hub, leaf) = linked_pair("");
    let mut alice = meta_client(hub.connect(), "alice");
    let mut bob = meta_client(leaf.connect(), "bob");
    alice.send("METADATA * SUB url");
    alice.skip_until(" 770 ");
    bob.send("METADATA * SUB url");
    bob.skip_until(" 770 ");
    alice.send("JOIN #c");
    alice.skip_until(" 366 ");
    converge(&[&hub, &leaf]);
    bob.send("JOIN #c");
    bob.skip_until(" 366 ");
    alice.expect(":bob!~bob@127.0.0.1 JOIN #c");

    // A user's key, set on the leaf, reaches the hub's subscriber.
    bob.send("METADATA * SET url :https://bob.example");
    bob.expect(":leaf.test 761 bob bob url * :https://bob.example");
    alice.expect(":bob!~bob@127.0.0.1 METADATA bob url * :https://bob.example");
    alice.send("METADATA bob GET url");
    alice.expect(":hub.test 761 alice bob url * :https://bob.example");

    // A channel key, set on the hub by its op, reaches the leaf as the property it is.
    alice.send("METADATA #c SET url :https://c.example");
    alice.expect(":hub.test 761 alice #c url * :https://c.example");
    bob.expect(":alice!~alice@127.0.0.1 METADATA #c url * :https://c.example");
    bob.send("METADATA #c GET url");
    bob.expect(":leaf.test 761 bob #c url * :https://c.example");

    // Deleting a user's key (SET with no value) reaches the other server too.
    bob.send("METADATA * SET url");
    bob.expect(":leaf.test 766 bob bob url :key not set");
    alice.expect(":bob!~bob@127.0.0.1 METADATA bob url *");
    alice.send("METADATA bob GET url");
    alice.expect(":hub.test 766 alice bob url :key not set");
}

/// A registered client that negotiated draft/metadata-2, batch and labeled-response.
fn batch_client(c: TestClient, nick: &str) -> TestClient {
    registered_with(c, nick, "draft/metadata-2 batch labeled-response")
}

/// With `batch`, GET, LIST, SYNC and a join's sync come in `metadata` batches (the
/// draft's examples); labeled, a reply that is one batch carries the label on its start,
/// and a JOIN's reply nests the sync's batch in its `labeled-response` batch.
#[test]
fn metadata_replies_come_in_batches() {
    let server = TestServer::start("");
    let mut alice = batch_client(server.connect(), "alice");
    let mut bob = server.user("bob");
    alice.send("METADATA * SET url :http://www.example.com");
    alice.expect(":irc.test 761 alice alice url * :http://www.example.com");
    alice.send("METADATA alice LIST");
    for want in [
        ":irc.test BATCH +L1 metadata alice",
        "@batch=L1 :irc.test 761 alice alice url * :http://www.example.com",
        ":irc.test BATCH -L1",
    ] {
        alice.expect(want);
    }
    alice.send("METADATA alice GET blargh url");
    for want in [
        ":irc.test BATCH +L2 metadata alice",
        "@batch=L2 :irc.test 766 alice alice blargh :key not set",
        "@batch=L2 :irc.test 761 alice alice url * :http://www.example.com",
        ":irc.test BATCH -L2",
    ] {
        alice.expect(want);
    }
    // Nothing to sync is still a batch (the reply to SYNC is one).
    alice.send("METADATA alice SYNC");
    alice.expect(":irc.test BATCH +L3 metadata alice");
    alice.expect(":irc.test BATCH -L3");
    alice.send("@label=abc METADATA alice LIST");
    for want in [
        "@label=abc :irc.test BATCH +L4 metadata alice",
        "@batch=L4 :irc.test 761 alice alice url * :http://www.example.com",
        ":irc.test BATCH -L4",
    ] {
        alice.expect(want);
    }
    bob.send("JOIN #c");
    bob.skip_until(" 366 ");
    bob.send("METADATA #c SET url :https://c.example");
    bob.expect(":irc.test 761 bob #c url * :https://c.example");
    alice.send("METADATA * SUB url");
    alice.expect(":irc.test 770 alice :url");
    alice.send("@label=j1 JOIN #c");
    let got: Vec<String> = (0..9).map(|_| alice.line()).collect();
    assert_eq!(
        got,
        [
            "@label=j1 :irc.test BATCH +L6 labeled-response",
            "@batch=L6 :alice!~alice@127.0.0.1 JOIN #c",
            "@batch=L6 :irc.test 353 alice = #c :alice @bob",
            "@batch=L6 :irc.test 366 alice #c :End of /NAMES list",
            "@batch=L6 :irc.test BATCH +L5 metadata #c",
            "@batch=L5 :irc.test METADATA #c url * :https://c.example",
            "@batch=L5 :irc.test METADATA alice url * :http://www.example.com",
            "@batch=L6 :irc.test BATCH -L5",
            ":irc.test BATCH -L6",
        ]
    );
    alice.expect_nothing();
}
