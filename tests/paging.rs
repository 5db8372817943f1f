//! Paged replies (issue 14): a listing larger than the requester's send queue is produced
//! a page at a time as the client reads, every line arrives, and the requester stays.

mod common;
use common::*;

/// A 16 KiB send queue and a small kernel buffer: `WHO *` of 2,000 users (about 170 KiB)
/// is ten send queues long, so produced at once it would close the requester.
const SMALL_SENDQ: &str =
    "[limits]\nflood_burst = 1000\nmax_clients_per_ip = 0\nsendq_bytes = 16384\nso_sndbuf = 4096\n";

/// `n` registered users `u0`… (in no channel: 2,000 joins would fill their own queues).
fn crowd(s: &TestServer, n: usize) -> Vec<TestClient> {
    let mut users: Vec<TestClient> = (0..n)
        .map(|i| {
            let mut c = s.connect();
            c.nick = format!("u{i}");
            c.send(&format!("NICK u{i}\r\nUSER u{i} 0 * :u{i} real"));
            c
        })
        .collect();
    for c in &mut users {
        c.skip_until(" 376 ");
    }
    users
}

#[test]
fn who_larger_than_the_send_queue_arrives_whole_and_keeps_the_requester() {
    let s = TestServer::start(SMALL_SENDQ);
    let _users = crowd(&s, 2000);
    let mut me = TestClient::connect_small_rcvbuf(s.addr());
    me.register("me");
    // The PING is read by the server with the WHO, but held until the WHO is answered.
    me.send("WHO *\r\nPING :after");
    let got = me.skip_until(" 315 ");
    assert_eq!(got.last().unwrap(), ":irc.test 315 me * :End of WHO list");
    let who: Vec<&String> = got.iter().filter(|l| l.contains(" 352 ")).collect();
    assert_eq!(who.len(), 2001, "every user once, then 315");
    assert_eq!(got.len(), 2002, "nothing else in between: {:?}", &got[..3]);
    let mut nicks: Vec<&str> = who.iter().map(|l| l.split(' ').nth(7).unwrap()).collect();
    nicks.sort_unstable();
    nicks.dedup();
    assert_eq!(nicks.len(), 2001);
    // The held PING is answered after the reply, and the requester is still here.
    me.expect(":irc.test PONG irc.test :after");
    me.expect_nothing();
}

#[test]
fn a_long_list_arrives_whole_under_a_small_send_queue() {
    let s = TestServer::start(SMALL_SENDQ);
    let pad = "t".repeat(300);
    // 40 users, 50 channels each (CHANLIMIT), every channel with a 300-byte topic:
    // 2,000 322 lines of ~340 bytes, 40 send queues long.
    let mut ops: Vec<TestClient> = (0..40).map(|i| s.user(&format!("op{i}"))).collect();
    for (i, op) in ops.iter_mut().enumerate() {
        // In batches the op's own queue holds (each JOIN and TOPIC is echoed).
        for batch in 0..10 {
            let cmds: String = (batch * 5..batch * 5 + 5)
                .map(|j| format!("JOIN #c{i}x{j}\r\nTOPIC #c{i}x{j} :{pad}\r\n"))
                .collect();
            op.send_raw(cmds.as_bytes());
            op.send("PING :joined");
            op.skip_until("PONG irc.test :joined");
        }
    }
    let mut me = TestClient::connect_small_rcvbuf(s.addr());
    me.register("me");
    me.send("LIST");
    me.expect(":irc.test 321 me Channel :Users  Name");
    let got = me.skip_until(" 323 ");
    assert_eq!(got.len(), 2001, "2,000 channels, then 323");
    assert!(got[..2000]
        .iter()
        .all(|l| l.starts_with(":irc.test 322 me #c")));
    me.expect_nothing();
}
