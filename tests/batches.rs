//! IRCv3 `netsplit` and `netjoin` batches between two real linked servers: clients with
//! `batch` get the QUITs of a split and the JOINs of a link's burst in one batch, tagged
//! and otherwise exactly as before; clients without `batch` get today's lines.
mod common;
use common::net::{converge, linked_pair, start_with, Peer};
use common::{TestClient, TestServer};

const OPER: &str = "\n[[oper]]\nname = \"root\"\npassword = \"rootpw\"\n";

/// A registered client that negotiated `batch`.
fn batch_user(s: &TestServer, nick: &str) -> TestClient {
    let mut c = s.connect();
    c.register_with_caps(nick, "batch");
    c
}

fn join(c: &mut TestClient, chan: &str) {
    c.send(&format!("JOIN {chan}"));
    c.skip_until(&format!(" 366 {} {chan} ", c.nick));
}

/// `n` lines, the middle ones (between a batch's start and end) sorted: the order in
/// which a split's users quit or a burst's users join is the server's own.
fn batch_lines(c: &mut TestClient, n: usize) -> Vec<String> {
    let mut got: Vec<String> = (0..n).map(|_| c.line()).collect();
    got[1..n - 1].sort();
    got
}

#[test]
fn a_link_burst_is_a_netjoin_and_a_split_a_netsplit() {
    let hub = common::net::hub("");
    let dial = Peer {
        name: "hub.test",
        id: 1,
        dial: Some(hub.addr()),
    };
    let leaf = start_with("leaf.test", 2, &[], &[dial], OPER);
    // The hub's #c is older: the leaf's members join it without their status.
    let mut alice = batch_user(&hub, "alice");
    let mut dave = hub.user_on("dave");
    join(&mut alice, "#c");
    join(&mut dave, "#c");
    alice.expect(":dave!~dave@127.0.0.1 JOIN #c");
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let mut bob = leaf.user_on("bob");
    let mut carol = leaf.user_on("carol");
    join(&mut bob, "#c");
    join(&mut carol, "#c");
    bob.expect(":carol!~carol@127.0.0.1 JOIN #c");
    let mut op = leaf.user_on("op");
    op.send("OPER root rootpw");
    op.skip_until(" 381 ");
    op.send("CONNECT hub.test");
    hub.wait_servers(&["leaf.test"]);
    converge(&[&hub, &leaf]);

    assert_eq!(
        batch_lines(&mut alice, 4),
        [
            ":hub.test BATCH +L1 netjoin hub.test leaf.test",
            "@batch=L1 :bob!~bob@127.0.0.1 JOIN #c",
            "@batch=L1 :carol!~carol@127.0.0.1 JOIN #c",
            ":hub.test BATCH -L1",
        ]
    );
    let mut plain = vec![dave.line(), dave.line()];
    plain.sort();
    assert_eq!(
        plain,
        [
            ":bob!~bob@127.0.0.1 JOIN #c",
            ":carol!~carol@127.0.0.1 JOIN #c",
        ]
    );
    // Once the burst is over, a join is news of its own.
    let mut erin = leaf.user_on("erin");
    join(&mut erin, "#c");
    alice.expect(":erin!~erin@127.0.0.1 JOIN #c");
    dave.expect(":erin!~erin@127.0.0.1 JOIN #c");
    alice.expect_nothing();
    dave.expect_nothing();

    leaf.running.handle.stop();
    assert_eq!(
        batch_lines(&mut alice, 5),
        [
            ":hub.test BATCH +L2 netsplit hub.test leaf.test",
            "@batch=L2 :bob!~bob@127.0.0.1 QUIT :hub.test leaf.test",
            "@batch=L2 :carol!~carol@127.0.0.1 QUIT :hub.test leaf.test",
            "@batch=L2 :erin!~erin@127.0.0.1 QUIT :hub.test leaf.test",
            ":hub.test BATCH -L2",
        ]
    );
    let mut plain = vec![dave.line(), dave.line(), dave.line()];
    plain.sort();
    assert_eq!(
        plain,
        [
            ":bob!~bob@127.0.0.1 QUIT :hub.test leaf.test",
            ":carol!~carol@127.0.0.1 QUIT :hub.test leaf.test",
            ":erin!~erin@127.0.0.1 QUIT :hub.test leaf.test",
        ]
    );
    alice.expect_nothing();
    dave.expect_nothing();
}

/// On the other side of a split too, and each client's batch holds only the QUITs it
/// would see: a user sharing no channel with the leaf's users gets no batch at all.
#[test]
fn each_client_gets_only_its_own_quits_in_the_batch() {
    let (hub, leaf) = linked_pair(OPER);
    let mut alice = hub.user_on("alice");
    let mut bob = batch_user(&leaf, "bob");
    let mut carol = batch_user(&leaf, "carol");
    join(&mut alice, "#c");
    converge(&[&hub, &leaf]);
    join(&mut bob, "#c");
    alice.expect(":bob!~bob@127.0.0.1 JOIN #c");
    join(&mut carol, "#elsewhere");
    let mut op = hub.user_on("op");
    op.send("OPER root rootpw");
    op.skip_until(" 381 ");
    converge(&[&hub, &leaf]);
    op.send("SQUIT leaf.test :test");
    assert_eq!(
        batch_lines(&mut bob, 3),
        [
            ":leaf.test BATCH +L1 netsplit leaf.test hub.test",
            "@batch=L1 :alice!~alice@127.0.0.1 QUIT :leaf.test hub.test",
            ":leaf.test BATCH -L1",
        ]
    );
    alice.expect(":bob!~bob@127.0.0.1 QUIT :hub.test leaf.test");
    carol.expect_nothing();
    bob.expect_nothing();
}
