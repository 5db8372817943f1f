//! UTC formatting for IRCv3 server-time, without a date crate.

/// `YYYY-MM-DDThh:mm:ss.sssZ` for milliseconds since the Unix epoch.
pub fn iso8601(unix_ms: u64) -> String {
    let mut out = Vec::with_capacity(24);
    write_iso8601(&mut out, unix_ms);
    String::from_utf8(out).unwrap_or_default()
}

/// [`iso8601`] appended to `out` (a server-time tag written straight into a line).
pub fn write_iso8601(out: &mut Vec<u8>, unix_ms: u64) {
    use std::io::Write;
    let secs = unix_ms / 1000;
    let (y, m, d) = civil_from_days((secs / 86400) as i64);
    let s = secs % 86400;
    // Writing into a Vec cannot fail.
    let _ = write!(
        out,
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z",
        s / 3600,
        s / 60 % 60,
        s % 60,
        unix_ms % 1000
    );
}

/// Milliseconds since the Unix epoch of a `YYYY-MM-DDThh:mm:ss.sssZ` time (the form
/// [`iso8601`] writes, as IRCv3 server-time and read-marker use it); `None` for anything
/// else.
pub fn parse_iso8601(s: &str) -> Option<u64> {
    let b = s.as_bytes();
    let shape = b"dddd-dd-ddTdd:dd:dd.dddZ";
    let fits = b.len() == shape.len()
        && b.iter().zip(shape).all(|(&c, &want)| match want {
            b'd' => c.is_ascii_digit(),
            _ => c == want,
        });
    if !fits {
        return None;
    }
    let num = |r: std::ops::Range<usize>| s[r].parse::<u32>().ok();
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, sec, ms) = (num(11..13)?, num(14..16)?, num(17..19)?, num(20..23)?);
    if !(1970..=9999).contains(&y) || !(1..=12).contains(&mo) || h > 23 || mi > 59 || sec > 59 {
        return None;
    }
    let days = days_from_civil(i64::from(y), mo, d)?;
    let secs = days as u64 * 86400 + u64::from(h * 3600 + mi * 60 + sec);
    Some(secs * 1000 + u64::from(ms))
}

/// Days since 1970-01-01 of a date, `None` for a day the month does not have (the
/// inverse of [`civil_from_days`]).
fn days_from_civil(year: i64, m: u32, d: u32) -> Option<i64> {
    let y = year - i64::from(m <= 2);
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = i64::from(if m > 2 { m - 3 } else { m + 9 });
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    // A day past the month's end comes back as another date.
    (d >= 1 && civil_from_days(days) == (year, m, d)).then_some(days)
}

/// Howard Hinnant's days-to-civil algorithm (proleptic Gregorian calendar).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    #[test]
    fn parses_what_it_writes() {
        for ms in [0, 951_782_400_123, 1_795_308_445_000, 1_546_612_406_123] {
            assert_eq!(super::parse_iso8601(&super::iso8601(ms)), Some(ms));
        }
        assert_eq!(
            super::parse_iso8601("2019-01-04T14:33:26.123Z"),
            Some(1_546_612_406_123)
        );
        for bad in [
            "",
            "2019-01-04T14:33:26Z",
            "2019-02-30T00:00:00.000Z",
            "2019-13-01T00:00:00.000Z",
            "2019-01-04 14:33:26.123Z",
            "1969-12-31T23:59:59.999Z",
            "2019-01-04T24:00:00.000Z",
        ] {
            assert_eq!(super::parse_iso8601(bad), None, "{bad}");
        }
    }

    #[test]
    fn known_dates() {
        assert_eq!(super::iso8601(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(super::iso8601(951_782_400_123), "2000-02-29T00:00:00.123Z");
        assert_eq!(
            super::iso8601(1_795_308_445_000),
            "2026-11-22T00:47:25.000Z"
        );
    }
}
