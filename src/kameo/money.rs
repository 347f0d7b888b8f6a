//! Kameo's web host writes money as Swedish text: `"34 667,48"`. We hold it
//! as integer öre (hundredths), parsed exactly, never through a float.

/// Why a money string could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{text}` is not a Swedish money amount like \"34 667,48\": {reason}")]
pub struct MoneyError {
    pub text: String,
    pub reason: &'static str,
}

/// Thousands separators seen or expected: space, no-break space, narrow
/// no-break space, thin space.
const SEPARATORS: [char; 4] = [' ', '\u{a0}', '\u{202f}', '\u{2009}'];

/// `"34 667,48"` → `3_466_748` öre. Accepts a leading `-` or `−`, any of the
/// separators above, a comma decimal mark with one or two digits, or none.
pub fn parse_ore(text: &str) -> Result<i64, MoneyError> {
    let fail = |reason| MoneyError {
        text: text.to_string(),
        reason,
    };
    let trimmed = text.trim_matches(|c: char| c.is_whitespace() || SEPARATORS.contains(&c));
    let (negative, body) = match trimmed.strip_prefix(['-', '\u{2212}']) {
        Some(rest) => (true, rest),
        None => (false, trimmed),
    };
    let compact: String = body.chars().filter(|c| !SEPARATORS.contains(c)).collect();
    if compact.is_empty() {
        return Err(fail("no digits"));
    }
    let (units, fraction) = match compact.split_once(',') {
        Some((_, "")) => return Err(fail("a comma with no decimals after it")),
        Some((u, f)) => (u, f),
        None => (compact.as_str(), ""),
    };
    if units.is_empty() || !units.chars().all(|c| c.is_ascii_digit()) {
        return Err(fail("the whole part must be digits"));
    }
    if fraction.len() > 2 || !fraction.chars().all(|c| c.is_ascii_digit()) {
        return Err(fail("at most two decimals after the comma"));
    }
    let units: i64 = units.parse().map_err(|_| fail("too large"))?;
    let cents: i64 = match fraction.len() {
        0 => 0,
        1 => fraction.parse::<i64>().map_err(|_| fail("bad decimals"))? * 10,
        _ => fraction.parse::<i64>().map_err(|_| fail("bad decimals"))?,
    };
    let ore = units
        .checked_mul(100)
        .and_then(|u| u.checked_add(cents))
        .ok_or_else(|| fail("too large"))?;
    Ok(if negative { -ore } else { ore })
}

/// Whole currency units in `ore`, rounded down: what can be bid from it.
pub fn whole_units(ore: i64) -> u64 {
    if ore <= 0 { 0 } else { (ore / 100) as u64 }
}

/// `25000000` → `"25 000 000"`, as Kameo writes amounts in text.
pub fn group_thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(' ');
        }
        out.push(c);
    }
    out
}

/// Öre as Kameo's web host writes money: `"34 667,48"`, thousands separated
/// by `sep` (a space, U+00A0 or U+202F: all three are seen).
pub fn format_ore(ore: i64, sep: char) -> String {
    let sign = if ore < 0 { "-" } else { "" };
    let abs = ore.unsigned_abs();
    let units = group_thousands(abs / 100).replace(' ', &sep.to_string());
    format!("{sign}{units},{:02}", abs % 100)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_every_shape_of_swedish_money() {
        let cases: [(&str, i64); 14] = [
            ("34 667,48", 3_466_748),
            ("0,00", 0),
            ("500", 50_000),
            ("1\u{a0}234\u{a0}567,89", 123_456_789),
            ("1\u{202f}000,5", 100_050),
            ("12\u{2009}345,01", 1_234_501),
            ("-0,50", -50),
            ("\u{2212}1 000,00", -100_000),
            (" 7,3 ", 730),
            ("1000000", 100_000_000),
            ("-12", -1_200),
            ("0,07", 7),
            ("99 999 999 999,99", 9_999_999_999_999),
            ("\u{a0}250,00\u{a0}", 25_000),
        ];
        for (text, ore) in cases {
            assert_eq!(parse_ore(text), Ok(ore), "{text:?}");
        }
    }

    #[test]
    fn refuses_what_is_not_money() {
        for bad in [
            "",
            " ",
            "-",
            "abc",
            "1,234,5",
            "12,345",
            "1.5",
            "1,",
            "1,x",
            "kr 100",
            "--1",
            "99999999999999999999",
        ] {
            assert!(parse_ore(bad).is_err(), "{bad:?} should be refused");
        }
    }

    #[test]
    fn formats_and_reads_back() {
        assert_eq!(format_ore(3_466_748, ' '), "34 667,48");
        assert_eq!(format_ore(0, ' '), "0,00");
        assert_eq!(format_ore(-50, ' '), "-0,50");
        assert_eq!(group_thousands(1000), "1 000");
        for ore in [0, 7, 99, 100, 123_456_789, -1_000_000, 9_999_999_999_999] {
            for sep in [' ', '\u{a0}', '\u{202f}'] {
                assert_eq!(parse_ore(&format_ore(ore, sep)), Ok(ore));
            }
        }
    }

    #[test]
    fn whole_units_round_down() {
        assert_eq!(whole_units(3_466_748), 34_667);
        assert_eq!(whole_units(99), 0);
        assert_eq!(whole_units(-500), 0);
    }
}
