//! Per-value functions (`abs`, `ln`, `sin`, `round`, `clamp`, `year`, ...) and Go-compatible
//! float formatting for annotation texts.
//!
//! The transcendental functions are Rust's (the platform's libm). They may differ from
//! Prometheus's Go implementations in the last bit, which is below every tolerance results
//! are compared with; special values (NaN, ±Inf, domain errors) behave the same.

/// The function behind a PromQL per-value function of one float: `abs`, `ceil`, `floor`,
/// `exp`, `sqrt`, `ln`, `log2`, `log10`, `sgn`, trigonometric and hyperbolic functions and
/// their inverses, `deg`, `rad`. `None` for any other name.
pub fn unary_fn(name: &str) -> Option<fn(f64) -> f64> {
    let f: fn(f64) -> f64 = match name {
        "abs" => f64::abs,
        "ceil" => f64::ceil,
        "floor" => f64::floor,
        "exp" => f64::exp,
        "sqrt" => f64::sqrt,
        "ln" => f64::ln,
        "log2" => f64::log2,
        "log10" => f64::log10,
        "sgn" => sgn,
        "sin" => f64::sin,
        "cos" => f64::cos,
        "tan" => f64::tan,
        "asin" => f64::asin,
        "acos" => f64::acos,
        "atan" => f64::atan,
        "sinh" => f64::sinh,
        "cosh" => f64::cosh,
        "tanh" => f64::tanh,
        "asinh" => f64::asinh,
        "acosh" => f64::acosh,
        "atanh" => f64::atanh,
        "deg" => deg,
        "rad" => rad,
        _ => return None,
    };
    Some(f)
}

/// `sgn`: -1 for negative, 1 for positive, the value itself otherwise (±0, NaN).
fn sgn(v: f64) -> f64 {
    if v < 0.0 {
        -1.0
    } else if v > 0.0 {
        1.0
    } else {
        v
    }
}

/// `deg`: radians to degrees, evaluated as `(v * 180) / π` like Prometheus.
fn deg(v: f64) -> f64 {
    v * 180.0 / std::f64::consts::PI
}

/// `rad`: degrees to radians, evaluated as `(v * π) / 180` like Prometheus.
fn rad(v: f64) -> f64 {
    v * std::f64::consts::PI / 180.0
}

/// `round(v, to_nearest)`: rounds to the nearest multiple of `to_nearest`, ties up, computed
/// as `floor(v * (1/to_nearest) + 0.5) / (1/to_nearest)` exactly as Prometheus does.
pub fn round(v: f64, to_nearest: f64) -> f64 {
    let inverse = 1.0 / to_nearest;
    (v * inverse + 0.5).floor() / inverse
}

/// `clamp(v, min, max)`: `None` when `max < min` (Prometheus then returns no samples at all),
/// else `Max(min, Min(max, v))` with Go's NaN/±Inf/±0 rules.
pub fn clamp(v: f64, min: f64, max: f64) -> Option<f64> {
    if max < min {
        return None;
    }
    Some(go_max(min, go_min(max, v)))
}

/// `clamp_min(v, min)`, as Prometheus: `clamp(v, min, +Inf)`.
pub fn clamp_min(v: f64, min: f64) -> f64 {
    go_max(min, go_min(f64::INFINITY, v))
}

/// `clamp_max(v, max)`, as Prometheus: `clamp(v, -Inf, max)`.
pub fn clamp_max(v: f64, max: f64) -> f64 {
    go_max(f64::NEG_INFINITY, go_min(max, v))
}

/// Go's `math.Max`: `+Inf` if either is `+Inf` (even against NaN), else NaN if either is NaN,
/// `+0` over `-0`, else the larger. Also what `max_of` uses.
pub fn go_max(x: f64, y: f64) -> f64 {
    if x == f64::INFINITY || y == f64::INFINITY {
        return f64::INFINITY;
    }
    if x.is_nan() || y.is_nan() {
        return f64::NAN;
    }
    if x == 0.0 && x == y {
        return if x.is_sign_negative() { y } else { x };
    }
    if x > y { x } else { y }
}

/// Go's `math.Min`: `-Inf` if either is `-Inf` (even against NaN), else NaN if either is NaN,
/// `-0` over `+0`, else the smaller. Also what `min_of` uses.
pub fn go_min(x: f64, y: f64) -> f64 {
    if x == f64::NEG_INFINITY || y == f64::NEG_INFINITY {
        return f64::NEG_INFINITY;
    }
    if x.is_nan() || y.is_nan() {
        return f64::NAN;
    }
    if x == 0.0 && x == y {
        return if x.is_sign_negative() { x } else { y };
    }
    if x < y { x } else { y }
}

/// The function behind a PromQL date function: `minute`, `hour`, `day_of_week` (0 = Sunday),
/// `day_of_month`, `day_of_year`, `days_in_month`, `month`, `year`. The argument is a Unix
/// time in seconds, truncated toward zero to whole seconds (Go's `int64(f)`) and read in UTC
/// (proleptic Gregorian calendar). `None` for any other name.
///
/// Called without an argument, Prometheus uses the evaluation time `time.Unix(ts_ms/1000, 0)`:
/// pass `(ts_ms / 1000) as f64` (Rust's `/` truncates toward zero like Go's).
///
/// NaN, ±Inf and values outside the int64 range give NaN. (Prometheus converts them with Go's
/// `int64(f)`, which on amd64 yields the minimum int64, and returns a meaningless date for
/// that instant; NaN is the sane reading of "no date".)
pub fn date_fn(name: &str) -> Option<fn(f64) -> f64> {
    let f: fn(f64) -> f64 = match name {
        "minute" => |t| civil(t).map_or(f64::NAN, |c| c.minute as f64),
        "hour" => |t| civil(t).map_or(f64::NAN, |c| c.hour as f64),
        "day_of_week" => |t| civil(t).map_or(f64::NAN, |c| c.weekday as f64),
        "day_of_month" => |t| civil(t).map_or(f64::NAN, |c| c.day as f64),
        "day_of_year" => |t| civil(t).map_or(f64::NAN, |c| c.yday as f64),
        "days_in_month" => |t| civil(t).map_or(f64::NAN, |c| days_in_month(c.year, c.month) as f64),
        "month" => |t| civil(t).map_or(f64::NAN, |c| c.month as f64),
        "year" => |t| civil(t).map_or(f64::NAN, |c| c.year as f64),
        _ => return None,
    };
    Some(f)
}

/// A UTC calendar date and time of day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Civil {
    year: i64,
    /// 1..=12
    month: u32,
    /// 1..=31
    day: u32,
    /// 1..=366
    yday: u32,
    /// 0 = Sunday
    weekday: u32,
    hour: u32,
    minute: u32,
}

fn is_leap(year: i64) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if is_leap(year) => 29,
        _ => 28,
    }
}

/// Splits Unix seconds (as a float, truncated toward zero) into calendar fields.
fn civil(t: f64) -> Option<Civil> {
    // 2^63 is exactly representable; anything at or above it (or NaN) is out of range.
    if !(-9_223_372_036_854_775_808.0..9_223_372_036_854_775_808.0).contains(&t) {
        return None;
    }
    let secs = t as i64; // truncates toward zero, in range here
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400) as u32;

    // Days since 0000-03-01, in 400-year eras of 146097 days (civil_from_days).
    let z = days as i128 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097); // [0, 146096]
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365; // [0, 399]
    let doy_mar = doe - (365 * yoe + yoe / 4 - yoe / 100); // [0, 365], from March 1st
    let mp = (5 * doy_mar + 2) / 153; // [0, 11], March = 0
    let day = (doy_mar - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = (yoe + era * 400 + if month <= 2 { 1 } else { 0 }) as i64;

    const CUMULATIVE: [u32; 12] = [0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334];
    let mut yday = CUMULATIVE[month as usize - 1] + day;
    if month > 2 && is_leap(year) {
        yday += 1;
    }
    // 1970-01-01 was a Thursday.
    let weekday = (days as i128 + 4).rem_euclid(7) as u32;
    Some(Civil {
        year,
        month,
        day,
        yday,
        weekday,
        hour: sod / 3600,
        minute: sod % 3600 / 60,
    })
}

/// Formats like Go's `%v`/`%g` on a float64 (`strconv.FormatFloat(f, 'g', -1, 64)`): the
/// shortest digits that read back as `f`, in exponent form (`1e+06`, `1.5e-07`) when the
/// decimal exponent is < -4 or >= 6, else plain (`100000`, `0.0001`). `NaN`, `+Inf`, `-Inf`
/// and `-0` as Go writes them.
pub fn format_go_float(f: f64) -> String {
    format_g(f, None)
}

/// Formats like Go's `%.{precision}g` (e.g. `%.2g`: 0.125 → `0.12`, 100 → `1e+02`).
/// `precision` 0 is treated as 1, as Go does.
pub fn format_go_float_prec(f: f64, precision: usize) -> String {
    format_g(f, Some(precision.max(1)))
}

/// Formats like Go's `%.{decimals}f` (`%f` is `decimals` = 6), with Go's `NaN`/`+Inf`/`-Inf`.
pub fn format_go_float_fixed(f: f64, decimals: usize) -> String {
    if let Some(s) = non_finite(f) {
        return s.to_string();
    }
    format!("{f:.decimals$}")
}

/// `NaN`, `+Inf`, `-Inf` as Prometheus writes them; `None` for finite values.
pub fn non_finite(f: f64) -> Option<&'static str> {
    if f.is_nan() {
        Some("NaN")
    } else if f == f64::INFINITY {
        Some("+Inf")
    } else if f == f64::NEG_INFINITY {
        Some("-Inf")
    } else {
        None
    }
}

fn format_g(f: f64, precision: Option<usize>) -> String {
    if let Some(s) = non_finite(f) {
        return s.to_string();
    }
    let mut out = String::new();
    if f.is_sign_negative() {
        out.push('-');
    }
    let a = f.abs();
    if a == 0.0 {
        out.push('0');
        return out;
    }
    // Decimal digits (no trailing zeros) and the exponent of the first digit.
    let sci = match precision {
        None => {
            // Rust's shortest digits may break an exact tie between two equally short
            // candidates upwards; Go takes the correctly rounded one (ties to even).
            let shortest = format!("{a:e}");
            let n = shortest
                .split_once('e')
                .map_or(1, |(m, _)| m.len() - m.contains('.') as usize);
            let rounded = format!("{a:.*e}", n - 1);
            if rounded.parse::<f64>() == Ok(a) {
                rounded
            } else {
                shortest
            }
        }
        Some(p) => format!("{a:.*e}", p - 1),
    };
    let (mantissa, exp) = sci
        .split_once('e')
        .expect("LowerExp output has an exponent");
    let exp: i32 = exp.parse().expect("LowerExp exponent is an integer");
    let mut digits: Vec<u8> = mantissa.bytes().filter(|b| *b != b'.').collect();
    while digits.len() > 1 && digits.last() == Some(&b'0') {
        digits.pop();
    }
    let nd = digits.len() as i32;
    let dp = exp + 1; // position of the decimal point relative to the digits
    let eprec = match precision {
        None => 6,
        Some(p) => {
            let p = p as i32;
            if p > nd && nd >= dp { nd } else { p }
        }
    };
    if exp < -4 || exp >= eprec {
        out.push(digits[0] as char);
        if digits.len() > 1 {
            out.push('.');
            out.extend(digits[1..].iter().map(|&b| b as char));
        }
        out.push('e');
        out.push(if exp < 0 { '-' } else { '+' });
        let e = exp.unsigned_abs();
        if e < 10 {
            out.push('0');
        }
        out.push_str(&e.to_string());
    } else if dp <= 0 {
        out.push_str("0.");
        for _ in 0..-dp {
            out.push('0');
        }
        out.extend(digits.iter().map(|&b| b as char));
    } else {
        let dp = dp as usize;
        for i in 0..dp {
            out.push(digits.get(i).map_or('0', |&b| b as char));
        }
        if digits.len() > dp {
            out.push('.');
            out.extend(digits[dp..].iter().map(|&b| b as char));
        }
    }
    out
}

/// Quotes `s` like Go's `%q` (`strconv.Quote`), as annotation texts quote metric names and
/// label values: `"` and `\\` escaped, printable characters kept (non-ASCII too), `\n`, `\t`
/// etc. for the usual controls, `\xHH` for other ASCII controls, `\uHHHH`/`\UHHHHHHHH` for
/// other non-printable characters. Go's "printable" is approximated without Unicode tables:
/// controls, whitespace other than ' ', common format characters, private-use characters and
/// noncharacters count as non-printable; unassigned code points count as printable.
pub fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{b}' => out.push_str("\\v"),
            c if go_is_print(c) => out.push(c),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\x{:02x}", c as u32));
            }
            c if (c as u32) < 0x10000 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push_str(&format!("\\U{:08x}", c as u32)),
        }
    }
    out.push('"');
    out
}

fn go_is_print(c: char) -> bool {
    if c == ' ' {
        return true;
    }
    let u = c as u32;
    !(c.is_control()
        || c.is_whitespace()
        || matches!(u, 0xAD | 0x600..=0x605 | 0x61C | 0x6DD | 0x70F | 0x180E)
        || matches!(u, 0x200B..=0x200F | 0x202A..=0x202E | 0x2060..=0x2064 | 0x2066..=0x206F)
        || matches!(u, 0xFEFF | 0xFFF9..=0xFFFB | 0xE000..=0xF8FF | 0xF0000..)
        || u & 0xFFFE == 0xFFFE
        || (0xFDD0..=0xFDEF).contains(&u))
}

#[cfg(test)]
// Values are copied as Prometheus's tests and Go print them.
#[allow(clippy::excessive_precision, clippy::approx_constant)]
mod tests {
    use super::*;

    fn f(name: &str) -> fn(f64) -> f64 {
        unary_fn(name).unwrap()
    }

    #[test]
    fn formats_like_go() {
        let cases: &[(f64, &str)] = &[
            (1.5, "1.5"),
            (1e21, "1e+21"),
            (f64::NAN, "NaN"),
            (f64::INFINITY, "+Inf"),
            (f64::NEG_INFINITY, "-Inf"),
            (100000.0, "100000"),
            (1e-05, "1e-05"),
            (1e6, "1e+06"),
            (123456789.0, "1.23456789e+08"),
            (0.0, "0"),
            (-0.0, "-0"),
            (0.0001, "0.0001"),
            (1.23e-4, "0.000123"),
            (12345.678, "12345.678"),
            (5e-324, "5e-324"),
            (f64::MAX, "1.7976931348623157e+308"),
            (-2.5, "-2.5"),
            (0.30000000000000004, "0.30000000000000004"),
            (1.234567e6, "1.234567e+06"),
            (1e100, "1e+100"),
        ];
        for (v, want) in cases {
            assert_eq!(format_go_float(*v), *want, "{v:e}");
        }
        let cases2: &[(f64, &str)] = &[
            (100000.0, "1e+05"),
            (123456789.0, "1.2e+08"),
            (1.23e-4, "0.00012"),
            (12345.678, "1.2e+04"),
            (5e-324, "4.9e-324"),
            (0.125, "0.12"),
            (0.35, "0.35"),
            (1.05, "1.1"),
            (99.0, "99"),
            (100.0, "1e+02"),
            (999.0, "1e+03"),
            (15.0, "15"),
            (150.0, "1.5e+02"),
            (1.0, "1"),
            (f64::INFINITY, "+Inf"),
        ];
        for (v, want) in cases2 {
            assert_eq!(format_go_float_prec(*v, 2), *want, "{v:e}");
        }
        assert_eq!(format_go_float_fixed(1.5, 6), "1.500000");
        assert_eq!(format_go_float_fixed(0.0078125, 6), "0.007812");
        assert_eq!(format_go_float_fixed(0.0234375, 6), "0.023438");
        assert_eq!(
            format_go_float(-219040723096896.625),
            "-2.1904072309689662e+14"
        );
        assert_eq!(format_go_float_fixed(f64::INFINITY, 6), "+Inf");
    }

    #[test]
    fn quotes_like_go() {
        assert_eq!(go_quote("foo"), "\"foo\"");
        assert_eq!(go_quote("a\"b\\c"), "\"a\\\"b\\\\c\"");
        assert_eq!(go_quote("x\ny\t\u{1}\u{7f}"), "\"x\\ny\\t\\x01\\x7f\"");
        assert_eq!(go_quote("üñ 日本"), "\"üñ 日本\"");
        assert_eq!(
            go_quote("\u{a0}\u{200b}\u{10ffff}"),
            "\"\\u00a0\\u200b\\U0010ffff\""
        );
    }

    fn close(a: f64, b: f64) -> bool {
        a == b || ((a - b) / (a.abs() + b.abs())).abs() < 1e-12
    }

    #[test]
    fn special_values() {
        assert_eq!(f("log2")(8.0), 3.0);
        assert_eq!(f("log2")(0.0), f64::NEG_INFINITY);
        assert!(f("log2")(-1.0).is_nan());
        assert_eq!(f("log10")(10.0), 1.0);
        assert_eq!(f("ln")(0.0), f64::NEG_INFINITY);
        assert!(f("ln")(-10.0).is_nan());
        assert_eq!(f("ln")(f64::INFINITY), f64::INFINITY);
        assert_eq!(f("exp")(f64::NEG_INFINITY), 0.0);
        assert_eq!(f("exp")(710.0), f64::INFINITY);
        assert_eq!(f("sinh")(711.0), f64::INFINITY);
        assert_eq!(f("cosh")(711.0), f64::INFINITY);
        assert_eq!(f("tanh")(20.0), 1.0);
        assert_eq!(f("atanh")(1.0), f64::INFINITY);
        assert!(f("atanh")(1.5).is_nan());
        assert!(f("acosh")(0.5).is_nan());
        assert!(f("asin")(1.5).is_nan());
        assert!(f("sin")(f64::INFINITY).is_nan());
        assert!(f("sgn")(f64::NAN).is_nan());
        assert_eq!(f("sgn")(-3.0), -1.0);
        assert!(f("sgn")(-0.0).is_sign_negative());
        assert_eq!(f("deg")(std::f64::consts::PI), 180.0);
        // Values from Prometheus's trig_functions.test / functions.test.
        let cases: &[(&str, f64, f64)] = &[
            ("sin", 10.0, -0.5440211108893699),
            ("cos", 20.0, 0.40808206181339196),
            ("tan", 20.0, 2.2371609442247427),
            ("asin", 10.0 - 10.1, -0.10016742116155944),
            ("acos", 10.0 - 10.1, 1.670963747956456),
            ("atan", 20.0, 1.5208379310729538),
            ("sinh", 20.0, 2.4258259770489514e+08),
            ("tanh", 10.0, 0.9999999958776927),
            ("asinh", 20.0, 3.6895038689889055),
            ("acosh", 10.0, 2.993222846126381),
            ("atanh", 10.0 - 10.1, -0.10033534773107522),
            ("rad", 20.0, 0.3490658503988659),
            ("deg", 20.0, 1145.9155902616465),
            ("exp", 20.0, 485165195.4097903),
            ("ln", 20.0, 2.995732273553991),
            ("log2", 10.0, 3.3219280948873626),
            ("log10", 20.0, 1.301029995663981),
        ];
        for (name, x, want) in cases {
            assert!(close(f(name)(*x), *want), "{name}({x})");
        }
        assert!(unary_fn("nope").is_none());
    }

    #[test]
    fn round_and_clamp() {
        assert_eq!(round(2.5, 1.0), 3.0);
        assert_eq!(round(-2.5, 1.0), -2.0);
        assert_eq!(round(12.34, 0.1), 12.3);
        assert_eq!(round(17.0, 5.0), 15.0);
        assert!(round(f64::NAN, 1.0).is_nan());
        assert_eq!(clamp(5.0, 0.0, 3.0), Some(3.0));
        assert_eq!(clamp(-5.0, 0.0, 3.0), Some(0.0));
        assert_eq!(clamp(1.0, 3.0, 0.0), None);
        assert!(clamp(f64::NAN, 0.0, 3.0).unwrap().is_nan());
        assert!(clamp(1.0, f64::NAN, 3.0).unwrap().is_nan());
        assert_eq!(clamp_min(f64::NAN, f64::INFINITY), f64::INFINITY);
        assert_eq!(clamp_max(f64::NAN, f64::NEG_INFINITY), f64::NEG_INFINITY);
        assert!(clamp_min(f64::NAN, 0.0).is_nan());
        assert_eq!(clamp_min(-1.0, 0.0), 0.0);
        assert_eq!(clamp_max(7.0, 5.0), 5.0);
        assert!(go_max(-0.0, 0.0).is_sign_positive());
        assert!(go_min(0.0, -0.0).is_sign_negative());
    }

    #[test]
    fn dates() {
        let d = |n: &str, t: f64| date_fn(n).unwrap()(t);
        assert_eq!(d("year", 0.0), 1970.0);
        assert_eq!(d("day_of_week", 0.0), 4.0);
        assert_eq!(d("year", 1136239445.0), 2006.0);
        assert_eq!(d("month", 1136239445.0), 1.0);
        assert_eq!(d("day_of_month", 1136239445.0), 2.0);
        assert_eq!(d("day_of_year", 1136239445.0), 2.0);
        assert_eq!(d("day_of_week", 1136239445.0), 1.0);
        assert_eq!(d("hour", 1136239445.0), 22.0);
        assert_eq!(d("minute", 1136239445.0), 4.0);
        assert_eq!(d("year", 1230767999.0), 2008.0);
        assert_eq!(d("year", 1230768000.0), 2009.0);
        assert_eq!(d("month", 1456790399.0), 2.0);
        assert_eq!(d("day_of_month", 1456790399.0), 29.0);
        assert_eq!(d("month", 1456790400.0), 3.0);
        assert_eq!(d("day_of_year", 1483191420.0), 366.0);
        assert_eq!(d("day_of_year", 1672493820.0), 365.0);
        assert_eq!(d("days_in_month", 1454284800.0), 29.0);
        assert_eq!(d("days_in_month", 1485907200.0), 28.0);
        assert_eq!(d("days_in_month", 951782400.0), 29.0); // Feb 2000
        // Truncation toward zero, then floor to days: -0.5 s is 1970-01-01 00:00:00.
        assert_eq!(d("year", -0.5), 1970.0);
        assert_eq!(d("year", -1.0), 1969.0);
        assert_eq!(d("day_of_week", -86400.0), 3.0);
        assert_eq!(d("hour", -1.0), 23.0);
        assert_eq!(d("year", -62135596800.0), 1.0); // 0001-01-01
        assert_eq!(d("year", -62135596801.0), 0.0);
        assert!(d("year", f64::NAN).is_nan());
        assert!(d("month", f64::INFINITY).is_nan());
        assert!(d("month", 1e19).is_nan());
        assert!(date_fn("week").is_none());
    }
}
