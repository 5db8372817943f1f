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
    fn known_dates() {
        assert_eq!(super::iso8601(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(super::iso8601(951_782_400_123), "2000-02-29T00:00:00.123Z");
        assert_eq!(
            super::iso8601(1_795_308_445_000),
            "2026-11-22T00:47:25.000Z"
        );
    }
}
