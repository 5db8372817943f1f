//! The random generator and the grammar's word lists.

// ---- generator --------------------------------------------------------------------------

/// xorshift64*: tiny, fast, and the same everywhere.
pub(super) struct Rng(u64);

impl Rng {
    pub(super) fn new(seed: u64) -> Rng {
        Rng(seed.max(1))
    }
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    pub(super) fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }
    /// True `num` times in `den`.
    pub(super) fn chance(&mut self, num: usize, den: usize) -> bool {
        self.below(den) < num
    }
    pub(super) fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.below(xs.len())]
    }
    pub(super) fn pick_bytes<'a>(&mut self, xs: &[&'a [u8]]) -> &'a [u8] {
        xs[self.below(xs.len())]
    }
}

pub(super) const NICKS: &[&str] = &[
    "alice", "bob", "carol", "dave", "Eve", "frank", "g[x]", "h{y}", "i|j", "k\\l", "m^n", "n`o",
    "o_p", "r1", "r2", "r3", "Remote", "zed",
];
pub(super) const CHANS: &[&str] = &[
    "#a",
    "#b",
    "#Chan",
    "&loc",
    "#[x]",
    "#{X}",
    "#café",
    "#long-channel-name",
    "##",
];
pub(super) const JUNK: &[&[u8]] = &[
    b"",
    b"*",
    b"0",
    b",",
    b",,,",
    b":",
    b"::",
    b"-",
    b"+",
    b"@",
    b"!",
    b"#",
    b"&",
    b"a,b,c",
    b"\xff\xfe",
    b"\xc3",
    b"\xe9t\xe9",
    "é".as_bytes(),
    b"a\rb",
    b"\x07",
    b"\x01ACTION x\x01",
    b"nick!user@host",
    b"irc.test",
    b"leaf.test",
    b"-1",
    b"18446744073709551616",
];
pub(super) const HOT: &[&str] = &[
    "JOIN", "JOIN", "JOIN", "MODE", "MODE", "MODE", "MODE", "PRIVMSG", "NOTICE", "TAGMSG", "PART",
    "KICK", "KICK", "TOPIC", "NICK", "NICK", "INVITE", "AWAY", "SETNAME", "WHO", "NAMES", "WHOIS",
    "WHISPER", "IRCX", "CREATE", "DATA", "LISTX", "PROP", "ACCESS", "ACCESS",
];
pub(super) const MODE_LETTERS: &[u8] = b"+-ovbklimnpstqaehIzZOxywdEf";
pub(super) const MODE_STRINGS: &[&str] = &[
    // IRCX: auditorium, cloneable with its limit, noformat, and the server's own z and E.
    "+x",
    "-x",
    "+dl",
    "+ld",
    "-d",
    "+f",
    "+zE",
    "+ovbklimnpst-ov",
    "+",
    "-",
    "",
    "b",
    "+b",
    "-b",
    "+k",
    "-k",
    "+l",
    "-l",
    "+oooo",
    "+vvvvv",
    "+bbbbbb",
    "+kl",
    "-kl",
    "+imnpst",
    "-imnpst",
    "+i-i+i",
    "+o-o",
    "+q",
    "-q",
    "+qo-q",
    "+qqqq",
    "+iows",
    "-iows",
    "+a",
    "-a",
    "+eIqhaPzM",
];
pub(super) const NUMBERS: &[&str] = &[
    "0",
    "1",
    "-1",
    "2",
    "5",
    "10",
    "50",
    "255",
    "4095",
    "4096",
    "65535",
    "65536",
    "4294967295",
    "4294967296",
    "18446744073709551615",
    "18446744073709551616",
    "99999999999999999999999999",
    "+3",
    "0x10",
    "1e3",
    "abc",
    "",
    "1700000000",
    "1700000000000",
];
pub(super) const CAPS: &[&str] = &[
    "message-tags",
    "server-time",
    "echo-message",
    "away-notify",
    "extended-join",
    "multi-prefix",
    "userhost-in-names",
    "invite-notify",
    "setname",
    "cap-notify",
    "batch",
    "labeled-response",
    "draft/no-implicit-names",
    "extended-monitor",
    "standard-replies",
    "chghost",
    "draft/read-marker",
    "-message-tags",
    "bogus",
];
pub(super) const TAGS: &[&[u8]] = &[
    b"@a=b",
    b"@+typing=active",
    b"@+draft/reply=abc;+x=y",
    b"@label=1",
    b"@;;;",
    b"@",
    b"@+a=\xff\xfe",
    b"@+a=b\rc",
    b"@+=x",
    b"@time=2020-01-01T00:00:00.000Z",
    b"@+a\\:b=c\\sd",
];
pub(super) const JUNK_VERBS: &[&[u8]] = &[
    b"FOO",
    b"PRIVMSGX",
    b"123",
    b"001",
    b"SJOIN",
    b"NJOIN",
    b"EOB",
    b"TB",
    b"BMASK",
    b"CHANINFO",
    b"ERROR",
    b"\xff\xfe",
    b"\xc3\xa9",
    b"CAP\x01",
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZ",
    b":",
    b"@",
];
