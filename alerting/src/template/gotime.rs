//! What templates reach of Go's `time` package through `toTime`, `toDuration` and `now`:
//! instants (always in UTC here), durations, their `String` forms and `Time.Format` with
//! Go's reference layout ("Mon Jan 2 15:04:05 MST 2006").

/// An instant: seconds since the Unix epoch and nanoseconds within the second.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct GoTime {
    pub secs: i64,
    pub nsec: u32,
}

const NANOS: i64 = 1_000_000_000;

pub(crate) const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

pub(crate) const WEEKDAYS: [&str; 7] = [
    "Sunday",
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
];

/// Civil date of a day count since 1970-01-01 (proleptic Gregorian).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

pub(crate) fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = if m > 2 { m - 3 } else { m + 9 } as i64;
    let doy = (153 * mp + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The broken-down fields of an instant in UTC.
pub(crate) struct Civil {
    pub year: i64,
    pub month: u32,
    pub day: u32,
    pub hour: u32,
    pub min: u32,
    pub sec: u32,
    pub nsec: u32,
    pub weekday: u32,
    pub yday: u32,
}

impl GoTime {
    pub fn from_unix_nanos(ns: i128) -> GoTime {
        GoTime {
            secs: ns.div_euclid(NANOS as i128) as i64,
            nsec: ns.rem_euclid(NANOS as i128) as u32,
        }
    }

    pub fn unix_nanos(self) -> i128 {
        self.secs as i128 * NANOS as i128 + self.nsec as i128
    }

    pub fn civil(self) -> Civil {
        let days = self.secs.div_euclid(86_400);
        let rem = self.secs.rem_euclid(86_400) as u32;
        let (year, month, day) = civil_from_days(days);
        let yday = (days - days_from_civil(year, 1, 1)) as u32 + 1;
        Civil {
            year,
            month,
            day,
            hour: rem / 3600,
            min: rem / 60 % 60,
            sec: rem % 60,
            nsec: self.nsec,
            weekday: (days + 4).rem_euclid(7) as u32,
            yday,
        }
    }

    pub fn add(self, d: i64) -> GoTime {
        GoTime::from_unix_nanos(self.unix_nanos() + d as i128)
    }

    /// `t.Sub(u)`, saturating as Go does.
    pub fn sub(self, u: GoTime) -> i64 {
        let d = self.unix_nanos() - u.unix_nanos();
        d.clamp(i64::MIN as i128, i64::MAX as i128) as i64
    }

    /// `Time.String()`: "2006-01-02 15:04:05.999999999 -0700 MST".
    pub fn string(self) -> String {
        self.format("2006-01-02 15:04:05.999999999 -0700 MST")
    }

    /// `Time.Truncate(d)` / `Time.Round(d)` relative to the zero time (year 1), as Go.
    pub fn round_to(self, d: i64, round: bool) -> GoTime {
        if d <= 0 {
            return self;
        }
        // Go measures from January 1, year 1; 62135596800 s before the Unix epoch.
        let since_zero = self.unix_nanos() + 62_135_596_800i128 * NANOS as i128;
        let r = since_zero.rem_euclid(d as i128);
        let down = self.unix_nanos() - r;
        if round && r + r >= d as i128 {
            GoTime::from_unix_nanos(down + d as i128)
        } else {
            GoTime::from_unix_nanos(down)
        }
    }

    /// `Time.Format(layout)` in UTC.
    pub fn format(self, layout: &str) -> String {
        let c = self.civil();
        let mut out = String::new();
        let mut rest = layout;
        while !rest.is_empty() {
            let (prefix, chunk, suffix) = next_std_chunk(rest);
            out.push_str(prefix);
            let Some(chunk) = chunk else { break };
            rest = suffix;
            match chunk {
                Std::Year => {
                    let y = c.year;
                    if y < 0 {
                        out.push('-');
                    }
                    out.push_str(&format!("{:04}", y.unsigned_abs()));
                }
                Std::Year2 => out.push_str(&format!("{:02}", c.year.rem_euclid(100))),
                Std::Month => out.push_str(&MONTHS[c.month as usize - 1][..3]),
                Std::LongMonth => out.push_str(MONTHS[c.month as usize - 1]),
                Std::NumMonth => out.push_str(&c.month.to_string()),
                Std::ZeroMonth => out.push_str(&format!("{:02}", c.month)),
                Std::Weekday => out.push_str(&WEEKDAYS[c.weekday as usize][..3]),
                Std::LongWeekday => out.push_str(WEEKDAYS[c.weekday as usize]),
                Std::Day => out.push_str(&c.day.to_string()),
                Std::UnderDay => out.push_str(&format!("{:>2}", c.day)),
                Std::ZeroDay => out.push_str(&format!("{:02}", c.day)),
                Std::UnderYearDay => out.push_str(&format!("{:>3}", c.yday)),
                Std::ZeroYearDay => out.push_str(&format!("{:03}", c.yday)),
                Std::Hour => out.push_str(&format!("{:02}", c.hour)),
                Std::Hour12 => out.push_str(
                    &(if c.hour.is_multiple_of(12) {
                        12
                    } else {
                        c.hour % 12
                    })
                    .to_string(),
                ),
                Std::ZeroHour12 => out.push_str(&format!(
                    "{:02}",
                    if c.hour.is_multiple_of(12) {
                        12
                    } else {
                        c.hour % 12
                    }
                )),
                Std::Minute => out.push_str(&c.min.to_string()),
                Std::ZeroMinute => out.push_str(&format!("{:02}", c.min)),
                Std::Second => out.push_str(&c.sec.to_string()),
                Std::ZeroSecond => out.push_str(&format!("{:02}", c.sec)),
                Std::PM => out.push_str(if c.hour >= 12 { "PM" } else { "AM" }),
                Std::Pm => out.push_str(if c.hour >= 12 { "pm" } else { "am" }),
                // UTC: the ISO forms print Z, the numeric ones +00.
                Std::IsoTz => out.push('Z'),
                Std::NumTz(s) => out.push_str(s),
                Std::Tz => out.push_str("UTC"),
                Std::Frac { sep, digits, trim } => {
                    let all = format!("{:09}", c.nsec);
                    let mut f = all[..digits].to_string();
                    if trim {
                        while f.ends_with('0') {
                            f.pop();
                        }
                        if f.is_empty() {
                            continue;
                        }
                    }
                    out.push(sep);
                    out.push_str(&f);
                }
            }
        }
        out
    }
}

#[derive(Clone, Copy)]
enum Std {
    Year,
    Year2,
    Month,
    LongMonth,
    NumMonth,
    ZeroMonth,
    Weekday,
    LongWeekday,
    Day,
    UnderDay,
    ZeroDay,
    UnderYearDay,
    ZeroYearDay,
    Hour,
    Hour12,
    ZeroHour12,
    Minute,
    ZeroMinute,
    Second,
    ZeroSecond,
    PM,
    Pm,
    IsoTz,
    NumTz(&'static str),
    Tz,
    Frac {
        sep: char,
        digits: usize,
        trim: bool,
    },
}

fn starts_with_lower(s: &str) -> bool {
    s.as_bytes().first().is_some_and(|b| b.is_ascii_lowercase())
}

/// Splits `layout` at the first layout element: text before it, the element, the rest.
fn next_std_chunk(layout: &str) -> (&str, Option<Std>, &str) {
    let b = layout.as_bytes();
    let mut i = 0;
    while i < b.len() {
        let rest = &layout[i..];
        let hit = |n: usize, s: Std| Some((n, s));
        let found: Option<(usize, Std)> = match b[i] {
            b'J' if rest.starts_with("January") => hit(7, Std::LongMonth),
            b'J' if rest.starts_with("Jan") && !starts_with_lower(&rest[3..]) => hit(3, Std::Month),
            b'M' if rest.starts_with("Monday") => hit(6, Std::LongWeekday),
            b'M' if rest.starts_with("Mon") && !starts_with_lower(&rest[3..]) => {
                hit(3, Std::Weekday)
            }
            b'M' if rest.starts_with("MST") => hit(3, Std::Tz),
            b'0' if rest.len() >= 2 && (b'1'..=b'6').contains(&b[i + 1]) => match b[i + 1] {
                b'1' => hit(2, Std::ZeroMonth),
                b'2' => hit(2, Std::ZeroDay),
                b'3' => hit(2, Std::ZeroHour12),
                b'4' => hit(2, Std::ZeroMinute),
                b'5' => hit(2, Std::ZeroSecond),
                _ => hit(2, Std::Year2),
            },
            b'0' if rest.starts_with("002") => hit(3, Std::ZeroYearDay),
            b'1' if rest.starts_with("15") => hit(2, Std::Hour),
            b'1' => hit(1, Std::NumMonth),
            b'2' if rest.starts_with("2006") => hit(4, Std::Year),
            b'2' => hit(1, Std::Day),
            b'_' if rest.starts_with("_2006") => {
                // "_2006" is "_" followed by the year.
                return (&layout[..i + 1], Some(Std::Year), &layout[i + 5..]);
            }
            b'_' if rest.starts_with("__2") => hit(3, Std::UnderYearDay),
            b'_' if rest.starts_with("_2") => hit(2, Std::UnderDay),
            b'3' => hit(1, Std::Hour12),
            b'4' => hit(1, Std::Minute),
            b'5' => hit(1, Std::Second),
            b'P' if rest.starts_with("PM") => hit(2, Std::PM),
            b'p' if rest.starts_with("pm") => hit(2, Std::Pm),
            b'-' if rest.starts_with("-070000") => hit(7, Std::NumTz("+000000")),
            b'-' if rest.starts_with("-07:00:00") => hit(9, Std::NumTz("+00:00:00")),
            b'-' if rest.starts_with("-0700") => hit(5, Std::NumTz("+0000")),
            b'-' if rest.starts_with("-07:00") => hit(6, Std::NumTz("+00:00")),
            b'-' if rest.starts_with("-07") => hit(3, Std::NumTz("+00")),
            b'Z' if rest.starts_with("Z070000") => hit(7, Std::IsoTz),
            b'Z' if rest.starts_with("Z07:00:00") => hit(9, Std::IsoTz),
            b'Z' if rest.starts_with("Z0700") => hit(5, Std::IsoTz),
            b'Z' if rest.starts_with("Z07:00") => hit(6, Std::IsoTz),
            b'Z' if rest.starts_with("Z07") => hit(3, Std::IsoTz),
            b'.' | b',' if i + 1 < b.len() && (b[i + 1] == b'0' || b[i + 1] == b'9') => {
                let ch = b[i + 1];
                let mut j = i + 1;
                while j < b.len() && b[j] == ch {
                    j += 1;
                }
                // A fraction only if not followed by another digit.
                if j < b.len() && b[j].is_ascii_digit() {
                    None
                } else {
                    hit(
                        j - i,
                        Std::Frac {
                            sep: b[i] as char,
                            digits: (j - i - 1).min(9),
                            trim: ch == b'9',
                        },
                    )
                }
            }
            _ => None,
        };
        if let Some((n, s)) = found {
            return (&layout[..i], Some(s), &layout[i + n..]);
        }
        i += layout[i..].chars().next().map_or(1, char::len_utf8);
    }
    (layout, None, "")
}

/// `Duration.String()`: "72h3m0.5s", "1.5ms", "0s".
pub(crate) fn duration_string(d: i64) -> String {
    if d == 0 {
        return "0s".into();
    }
    let neg = d < 0;
    let u = d.unsigned_abs();
    let mut out = String::new();
    if u < NANOS as u64 {
        // Less than a second: one unit with a fraction.
        let (unit, scale) = if u < 1_000 {
            ("ns", 1u64)
        } else if u < 1_000_000 {
            ("µs", 1_000)
        } else {
            ("ms", 1_000_000)
        };
        out.push_str(&frac(u, scale));
        out.push_str(unit);
    } else {
        let secs = u / NANOS as u64;
        let ns = u % NANOS as u64;
        let h = secs / 3600;
        let m = secs / 60 % 60;
        let s = secs % 60;
        if h > 0 {
            out.push_str(&format!("{h}h"));
        }
        if h > 0 || m > 0 {
            out.push_str(&format!("{m}m"));
        }
        out.push_str(&frac(s * NANOS as u64 + ns, NANOS as u64));
        out.push('s');
    }
    if neg {
        out.insert(0, '-');
    }
    out
}

/// `v / scale` with the fraction's trailing zeros dropped.
fn frac(v: u64, scale: u64) -> String {
    let int = v / scale;
    let mut f = v % scale;
    if f == 0 {
        return int.to_string();
    }
    let mut width = scale.to_string().len() - 1;
    while f.is_multiple_of(10) {
        f /= 10;
        width -= 1;
    }
    format!("{int}.{f:0width$}")
}

/// `Duration.Round` / `Duration.Truncate`, saturating as Go does.
pub(crate) fn duration_round(d: i64, m: i64, round: bool) -> i64 {
    if m <= 0 {
        return d;
    }
    let r = d % m;
    if !round {
        return d - r;
    }
    if d < 0 {
        let r = -r;
        if r + r < m {
            return d + r;
        }
        return d.checked_sub(m - r).unwrap_or(i64::MIN);
    }
    if r + r < m {
        return d - r;
    }
    d.checked_add(m - r).unwrap_or(i64::MAX)
}
