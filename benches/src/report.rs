//! Pieces every written report shares: its section of a markdown file
//! between markers, the date, the machine, and how figures are printed.

use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

/// Replaces what lies between `begin` and `end` in `doc` with `section`,
/// or appends the markers and the section; the rest is kept as it is.
pub fn splice_between(doc: &str, begin: &str, end: &str, section: &str) -> String {
    let block = format!("{begin}\n{section}{end}");
    match doc.find(begin).map(|b| (b, doc[b..].find(end).map(|e| b + e))) {
        Some((b, Some(e))) => format!("{}{block}{}", &doc[..b], &doc[e + end.len()..]),
        _ => format!("{}\n{block}\n", doc.trim_end()),
    }
}

/// Writes `section` between `begin` and `end` in the markdown file at
/// `path` (created if missing).
///
/// # Errors
/// When the file cannot be written.
pub fn write_between(path: &Path, begin: &str, end: &str, section: &str) -> std::io::Result<()> {
    let doc = std::fs::read_to_string(path).unwrap_or_default();
    std::fs::write(path, splice_between(&doc, begin, end, section))
}

/// Today's date (UTC) as `YYYY-MM-DD`.
pub fn today() -> String {
    let secs = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let (y, m, d) = civil_from_days(i64::try_from(secs / 86_400).unwrap_or(0));
    format!("{y:04}-{m:02}-{d:02}")
}

/// The calendar date of a day counted from 1970-01-01 (Howard Hinnant's
/// `civil_from_days`, proleptic Gregorian).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// The CPU's model name from `/proc/cpuinfo`.
pub fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':').map(|(_, v)| v.trim().to_owned()))
        })
        .unwrap_or_else(|| "unknown CPU".into())
}

/// The 1-, 5- and 15-minute load averages, as `/proc/loadavg` has them.
pub fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}

/// A count with thousands separators: `54,957`.
pub fn thousands(value: f64) -> String {
    let digits = format!("{:.0}", value.max(0.0));
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Milliseconds with two decimals.
pub fn ms(d: std::time::Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    const B: &str = "<!-- x:begin -->";
    const E: &str = "<!-- x:end -->";

    #[test]
    fn a_section_is_replaced_in_place_or_appended() {
        let doc = format!("# T\n\n{B}\nold\n{E}\n\n## after\n");
        assert_eq!(splice_between(&doc, B, E, "new\n"), format!("# T\n\n{B}\nnew\n{E}\n\n## after\n"));
        assert_eq!(splice_between("# T\n", B, E, "x\n"), format!("# T\n{B}\nx\n{E}\n"));
        // Another section's end marker before ours is not ours.
        let doc = format!("{E}\n{B}\nold\n{E}\n");
        assert_eq!(splice_between(&doc, B, E, "n\n"), format!("{E}\n{B}\nn\n{E}\n"));
    }

    #[test]
    fn days_become_dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
        assert_eq!(civil_from_days(20_454), (2026, 1, 1));
        assert_eq!(today().len(), 10);
    }

    #[test]
    fn figures_are_printed_for_people() {
        assert_eq!(thousands(54_957.4), "54,957");
        assert_eq!(thousands(999.0), "999");
        assert_eq!(thousands(1_000_000.0), "1,000,000");
        assert_eq!(thousands(0.0), "0");
        assert_eq!(ms(std::time::Duration::from_micros(1_234)), "1.23 ms");
    }
}
