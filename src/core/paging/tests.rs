//! The cursor logic of paged replies, without sockets: pages bounded, every stable item
//! once, the end numeric once, input held until the end, and the flood cost.

use super::{page_bytes, PAGE_LINES, REPLY_FREE_LINES, REPLY_LINES_PER_COST};
use crate::core::testing::{TestWorld, BASE_CONFIG};
use crate::core::ConnId;

/// Many users from one address.
const CROWD: &str = "[limits]\nmax_clients_per_ip = 0\n";

fn world() -> TestWorld {
    TestWorld::with_config(&format!("{BASE_CONFIG}{CROWD}"))
}

/// `n` users `u0`… in `#big`, and the requester `me` (first in, so first in ID order).
fn crowd(t: &mut TestWorld, n: usize) -> (ConnId, Vec<ConnId>) {
    let me = t.user("me");
    t.feed(me, "JOIN #big");
    let users: Vec<ConnId> = (0..n)
        .map(|i| {
            let c = t.user(&format!("u{i}"));
            t.feed(c, "JOIN #big");
            c
        })
        .collect();
    for &c in users.iter().chain([&me]) {
        t.take(c);
    }
    (me, users)
}

/// The nick field of WHO replies (352) in `lines`.
fn who_nicks(lines: &[String]) -> Vec<String> {
    lines
        .iter()
        .filter(|l| l.contains(" 352 "))
        .map(|l| l.split(' ').nth(7).unwrap().to_string())
        .collect()
}

/// Drives `conn`'s paged reply to its end, as the shell does while the client reads.
fn drain(t: &mut TestWorld, conn: ConnId) -> Vec<String> {
    let mut got = t.take(conn);
    while t.next_page(conn) {
        got.extend(t.take(conn));
    }
    got.extend(t.take(conn));
    got
}

#[test]
fn a_short_reply_goes_whole_and_holds_nothing() {
    let mut t = world();
    let (me, _) = crowd(&mut t, 5);
    let got = t.ask(me, "WHO #big");
    assert_eq!(got.len(), 7, "{got:?}");
    assert_eq!(got[6], ":irc.test 315 me #big :End of WHO list");
    assert!(t.w.pages.is_empty());
    assert!(t.w.ready(me, t.now));
    assert!(t.resumed.is_empty(), "nothing was held");
}

#[test]
fn a_long_who_goes_a_page_at_a_time_with_the_end_once() {
    let mut t = world();
    let (me, _) = crowd(&mut t, 250);
    t.feed_paged(me, "WHO #big");
    let first = t.take(me);
    assert_eq!(first.len(), PAGE_LINES, "one page only");
    assert!(first.iter().all(|l| l.contains(" 352 ")));
    assert!(
        !t.w.ready(me, t.now),
        "input is held while the reply is pending"
    );
    assert!(t.next_page(me), "a second page of 100 leaves 51 lines");
    assert_eq!(t.take(me).len(), PAGE_LINES);
    assert!(!t.next_page(me), "the last page");
    let last = t.take(me);
    assert_eq!(last.len(), 52);
    assert_eq!(last[51], ":irc.test 315 me #big :End of WHO list");
    assert_eq!(t.resumed, [me], "the shell is told to read held input");
    assert!(t.w.ready(me, t.now));
    assert!(!t.next_page(me), "nothing more, no second 315");
    assert!(t.take(me).is_empty());
}

#[test]
fn pages_are_bounded_in_bytes_by_the_send_queue_limit() {
    let mut t = TestWorld::with_config(&format!("{BASE_CONFIG}{CROWD}sendq_bytes = 4096\n"));
    let (me, _) = crowd(&mut t, 60);
    t.feed_paged(me, "WHO #big");
    let first = t.take(me);
    let bytes: usize = first.iter().map(|l| l.len() + 2).sum();
    let longest = first.iter().map(|l| l.len() + 2).max().unwrap();
    assert_eq!(page_bytes(4096), 1024);
    assert!(bytes < 1024 + longest, "{bytes} bytes in the first page");
    assert!(first.len() < 60);
    let rest = drain(&mut t, me);
    assert_eq!(who_nicks(&first).len() + who_nicks(&rest).len(), 61);
}

#[test]
fn members_changing_mid_listing_are_shown_as_they_are_and_never_twice() {
    let mut t = world();
    let (me, users) = crowd(&mut t, 250);
    t.feed_paged(me, "WHO #big");
    let mut got = t.take(me);
    // Listed already (IDs below the cursor): leaving changes nothing listed.
    t.feed(users[10], "PART #big");
    // Not reached yet: one leaves, one is renamed, one quits, a new one joins.
    t.feed(users[200], "PART #big");
    t.feed(users[201], "NICK renamed");
    let late = t.user("late");
    t.feed(late, "JOIN #big");
    t.drop_conn(users[202], "gone");
    // A member listed already rejoins: not listed again.
    t.feed(users[11], "PART #big");
    t.feed(users[11], "JOIN #big");
    got.extend(drain(&mut t, me));
    let nicks = who_nicks(&got);
    let mut unique = nicks.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), nicks.len(), "nobody twice");
    assert!(nicks.contains(&"u10".to_string()) && nicks.contains(&"u11".to_string()));
    for gone in ["u200", "u201", "u202", "late"] {
        assert!(!nicks.contains(&gone.to_string()), "{gone} listed");
    }
    assert!(nicks.contains(&"renamed".to_string()));
    // Everyone else (me, 250 users, less the three gone or renamed) is there.
    assert_eq!(nicks.len(), 251 - 2);
    let ends = got.iter().filter(|l| l.contains(" 315 ")).count();
    assert_eq!(ends, 1);
    assert!(got.last().unwrap().contains(" 315 "));
}

#[test]
fn a_channel_gone_mid_listing_ends_the_listing_once() {
    let mut t = world();
    let (me, users) = crowd(&mut t, 150);
    let outsider = t.user("outsider");
    t.feed_paged(outsider, "WHO #big");
    assert_eq!(t.take(outsider).len(), PAGE_LINES);
    for &c in users.iter().chain([&me]) {
        t.feed(c, "PART #big");
    }
    // Re-created in the same slot: a different channel (another OID).
    t.feed(me, "JOIN #big");
    let rest = drain(&mut t, outsider);
    assert_eq!(rest, [":irc.test 315 outsider #big :End of WHO list"]);
}

#[test]
fn who_by_mask_walks_client_slots() {
    let mut t = world();
    let (me, users) = crowd(&mut t, 250);
    t.feed_paged(me, "WHO u*");
    let mut got = t.take(me);
    assert_eq!(got.len(), PAGE_LINES);
    // A slot not reached yet is freed and taken by a new client: the new one is listed.
    t.drop_conn(users[240], "gone");
    let newer = t.user("unew");
    got.extend(drain(&mut t, me));
    let nicks = who_nicks(&got);
    assert_eq!(nicks.len(), 250);
    assert!(nicks.contains(&"unew".to_string()) && !nicks.contains(&"u240".to_string()));
    assert_eq!(got.last().unwrap(), ":irc.test 315 me u* :End of WHO list");
    let _ = newer;
}

#[test]
fn names_of_two_big_channels_come_in_order_each_ended_once() {
    let mut t = world();
    let (me, users) = crowd(&mut t, 1200);
    for &c in &users[..600] {
        t.feed(c, "JOIN #two");
    }
    t.feed(me, "JOIN #two");
    t.take(me);
    t.feed_paged(me, "NAMES #big,#nowhere,#two");
    let got = drain(&mut t, me);
    let pos = |needle: &str| got.iter().position(|l| l.contains(needle)).unwrap();
    let end_big = pos(" 366 me #big ");
    let end_none = pos(" 366 me #nowhere ");
    let end_two = pos(" 366 me #two ");
    assert!(
        end_big < end_none && end_none < end_two,
        "{end_big} {end_none} {end_two}"
    );
    assert!(got[..end_big]
        .iter()
        .all(|l| l.contains(" 353 me = #big :")));
    assert!(got[end_none + 1..end_two]
        .iter()
        .all(|l| l.contains(" 353 me = #two :")));
    let names = |lines: &[String]| -> Vec<String> {
        lines
            .iter()
            .flat_map(|l| l.split(" :").nth(1).unwrap().split(' '))
            .map(|n| n.trim_start_matches('@').to_string())
            .collect()
    };
    let big = names(&got[..end_big]);
    assert_eq!(big.len(), 1201);
    let mut unique = big.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), 1201);
    assert_eq!(names(&got[end_none + 1..end_two]).len(), 601);
    assert_eq!(got.iter().filter(|l| l.contains(" 366 ")).count(), 3);
}

#[test]
fn list_walks_channel_slots_and_skips_channels_gone() {
    let mut t = world();
    let me = t.user("me");
    // 50 channels each (CHANLIMIT).
    for i in 0..250 {
        let c = if i % 50 == 0 {
            t.user(&format!("op{i}"))
        } else {
            ConnId(t.w.locals.len() as u32 - 1)
        };
        t.feed(c, &format!("JOIN #c{i}"));
    }
    t.take(me);
    t.feed_paged(me, "LIST");
    let mut got = t.take(me);
    assert_eq!(got.len(), 1 + PAGE_LINES, "321 and one page");
    let last = ConnId(t.w.locals.len() as u32 - 1);
    t.feed(last, "PART #c249");
    got.extend(drain(&mut t, me));
    let listed = got.iter().filter(|l| l.contains(" 322 ")).count();
    assert_eq!(listed, 249);
    assert_eq!(got.last().unwrap(), ":irc.test 323 me :End of /LIST");
}

#[test]
fn a_closed_connection_takes_its_pending_reply_with_it() {
    let mut t = world();
    let (me, _) = crowd(&mut t, 250);
    t.feed_paged(me, "WHO #big");
    assert!(!t.w.pages.is_empty());
    t.drop_conn(me, "gone");
    assert!(t.w.pages.is_empty());
    assert!(!t.next_page(me));
}

#[test]
fn long_replies_cost_flood_budget_past_the_free_lines() {
    let mut t = world();
    let (me, _) = crowd(&mut t, 1500);
    // An ordinary channel's WHO (the free lines) costs the one line it is.
    let small = t.user("small");
    for i in 0..150 {
        let c = t.user(&format!("s{i}"));
        t.feed(c, "JOIN #small");
    }
    t.feed(small, "JOIN #small");
    let before = t.w.local(small).unwrap().flood_tat_ms.max(t.now.mono_ms);
    t.feed(small, "WHO #small");
    let interval = t.w.config.limits.flood_interval_ms;
    assert_eq!(t.w.local(small).unwrap().flood_tat_ms, before + interval);
    // 1501 lines: (1501 - 200) / 100 = 13 lines of budget more.
    let before = t.w.local(me).unwrap().flood_tat_ms.max(t.now.mono_ms);
    t.feed(me, "WHO #big");
    let cost = (1501 - REPLY_FREE_LINES) / REPLY_LINES_PER_COST;
    assert_eq!(cost, 13);
    assert_eq!(
        t.w.local(me).unwrap().flood_tat_ms,
        before + interval * (1 + u64::from(cost))
    );
    assert!(!t.w.ready(me, t.now), "past the burst: the next line waits");
}
