//! Case mapping of nicks and channel names, and validation of identifiers.

use serde::Deserialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum CaseMapping {
    /// RFC 1459: `[]\^` are the upper case of `{}|~` (0x5B-0x5E fold to 0x7B-0x7E).
    #[default]
    Rfc1459,
    /// Only A-Z fold (ngIRCd's choice).
    Ascii,
}

impl CaseMapping {
    pub fn name(self) -> &'static str {
        match self {
            CaseMapping::Rfc1459 => "rfc1459",
            CaseMapping::Ascii => "ascii",
        }
    }

    pub fn fold_byte(self, b: u8) -> u8 {
        match (self, b) {
            (_, b'A'..=b'Z') => b + 32,
            (CaseMapping::Rfc1459, b'[' | b']' | b'\\' | b'^') => b + 32,
            _ => b,
        }
    }

    /// The folded form, used as the key of every name map.
    pub fn fold(self, s: &str) -> Box<str> {
        let v: Vec<u8> = s.bytes().map(|b| self.fold_byte(b)).collect();
        // Folding maps ASCII to ASCII and leaves other bytes alone, so UTF-8 stays valid.
        String::from_utf8(v).unwrap_or_default().into_boxed_str()
    }

    pub fn eq(self, a: &str, b: &str) -> bool {
        a.len() == b.len()
            && a.bytes()
                .zip(b.bytes())
                .all(|(x, y)| self.fold_byte(x) == self.fold_byte(y))
    }
}

/// RFC 2812 §2.3.1 nick: a letter or special first, then letters, digits, specials or `-`.
pub fn valid_nick(nick: &[u8], max: usize) -> bool {
    let special = |b: u8| {
        matches!(
            b,
            b'[' | b']' | b'\\' | b'`' | b'_' | b'^' | b'{' | b'|' | b'}'
        )
    };
    match nick.split_first() {
        Some((&first, rest)) => {
            nick.len() <= max
                && (first.is_ascii_alphabetic() || special(first))
                && rest
                    .iter()
                    .all(|&b| b.is_ascii_alphanumeric() || special(b) || b == b'-')
        }
        None => false,
    }
}

/// A channel name: `#` or `&`, then UTF-8 without space, comma, BEL or controls.
pub fn valid_channel(name: &[u8], max: usize) -> bool {
    name.len() >= 2
        && name.len() <= max
        && matches!(name[0], b'#' | b'&')
        && std::str::from_utf8(name).is_ok()
        && !name.iter().any(|&b| b <= b' ' || b == b',' || b == 7)
}

pub fn is_channel(target: &[u8]) -> bool {
    matches!(target.first(), Some(b'#' | b'&'))
}

/// A username: printable ASCII without `@`, space or controls; cut to `max`.
pub fn clean_user(user: &[u8], max: usize) -> Option<String> {
    let u: String = user
        .iter()
        .filter(|&&b| b.is_ascii_graphic() && b != b'@' && b != b'!' && b != b':')
        .take(max)
        .map(|&b| b as char)
        .collect();
    (!u.is_empty()).then_some(u)
}

/// Wildcard match (`*`, `?`) under the case mapping, iterative with one backtrack point.
pub fn wild_match(cm: CaseMapping, mask: &[u8], s: &[u8]) -> bool {
    let (mut m, mut i) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while i < s.len() {
        if m < mask.len() && mask[m] == b'*' {
            star = Some((m, i));
            m += 1;
        } else if m < mask.len() && (mask[m] == b'?' || cm.fold_byte(mask[m]) == cm.fold_byte(s[i]))
        {
            m += 1;
            i += 1;
        } else if let Some((sm, si)) = star {
            m = sm + 1;
            i = si + 1;
            star = Some((sm, si + 1));
        } else {
            return false;
        }
    }
    mask[m..].iter().all(|&b| b == b'*')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folding() {
        let r = CaseMapping::Rfc1459;
        assert_eq!(&*r.fold("Nick[]\\^"), "nick{}|~");
        assert!(r.eq("FOO[x]", "foo{X}"));
        let a = CaseMapping::Ascii;
        assert_eq!(&*a.fold("Nick[]"), "nick[]");
        assert!(!a.eq("a[", "a{"));
        assert_eq!(&*r.fold("#Café"), "#café");
    }

    #[test]
    fn nicks() {
        for ok in [
            "a",
            "Alice",
            "[x]",
            "a-1",
            "`^_{|}",
            "x".repeat(30).as_str(),
        ] {
            assert!(valid_nick(ok.as_bytes(), 30), "{ok}");
        }
        for bad in [
            "",
            "1a",
            "-a",
            "a b",
            "a!b",
            "a@b",
            "#a",
            "\u{e9}t\u{e9}",
            "x".repeat(31).as_str(),
        ] {
            assert!(!valid_nick(bad.as_bytes(), 30), "{bad}");
        }
        assert!(!valid_nick(b"a\xff", 30));
    }

    #[test]
    fn channels() {
        assert!(valid_channel(b"#rust", 50));
        assert!(valid_channel("#café".as_bytes(), 50));
        assert!(valid_channel(b"&local", 50));
        for bad in [
            &b"#"[..],
            b"rust",
            b"#a,b",
            b"#a b",
            b"#a\x07",
            b"#\xff\xfe",
            b"+a",
        ] {
            assert!(!valid_channel(bad, 50), "{bad:?}");
        }
    }

    #[test]
    fn wildcards() {
        let r = CaseMapping::Rfc1459;
        assert!(wild_match(r, b"*!*@*", b"a!b@c"));
        assert!(wild_match(r, b"A*", b"abc"));
        assert!(wild_match(r, b"a?c", b"abc"));
        assert!(wild_match(r, b"*x*y", b"axbxcy"));
        assert!(!wild_match(r, b"a*d", b"abc"));
        assert!(wild_match(r, b"*", b""));
        assert!(wild_match(r, b"{x}", b"[X]"));
    }
}
