//! Threshold conditions as users write them: `> 0.05`, `>= 5%`, `< 300ms`,
//! `== 1`, `!= 0`, ranges `0.1..0.5` (inside, bounds included) and
//! `outside 0.1..0.5`, and relative thresholds against a baseline query,
//! `> 1.5x baseline`.
//!
//! Numbers may carry a unit that only changes how they are written:
//! `5%` is 0.05, `300ms` is 0.3 and `2s` is 2 (Prometheus's base units are
//! ratios and seconds). A condition never holds for NaN or ±Inf: callers
//! treat those as missing evidence before asking.

use std::fmt;

use serde::{Deserialize, Deserializer};

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `==`
    Eq,
    /// `!=`
    Ne,
}

impl Op {
    fn holds(self, v: f64, t: f64) -> bool {
        match self {
            Op::Gt => v > t,
            Op::Ge => v >= t,
            Op::Lt => v < t,
            Op::Le => v <= t,
            Op::Eq => v == t,
            Op::Ne => v != t,
        }
    }
}

/// How a number was written, so reports can echo it the same way.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Unit {
    /// A plain number.
    #[default]
    Plain,
    /// `5%`: shown as a percentage.
    Percent,
    /// `300ms`: seconds, shown in milliseconds.
    Millis,
    /// `2s`: seconds.
    Seconds,
}

/// A parsed condition.
#[derive(Debug, Clone, PartialEq)]
pub enum Condition {
    /// `OP number`.
    Compare(Op, f64),
    /// `OP FACTORx baseline`: compared with FACTOR × the baseline's value.
    Relative(Op, f64),
    /// `lo..hi` (`inside == true`) or `outside lo..hi`; bounds included
    /// in the inside form.
    Range {
        /// Lower bound.
        lo: f64,
        /// Upper bound.
        hi: f64,
        /// Whether the condition holds inside (true) or outside the range.
        inside: bool,
    },
}

/// A condition with the text it was written as.
#[derive(Debug, Clone, PartialEq)]
pub struct Threshold {
    /// The parsed condition.
    pub cond: Condition,
    /// The text as written (trimmed), for reports.
    pub text: String,
    /// The unit the first number was written in, for display.
    pub unit: Unit,
}

impl fmt::Display for Threshold {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl Threshold {
    /// Parse a condition; the error says what was wrong and shows the syntax.
    pub fn parse(s: &str) -> Result<Threshold, String> {
        let text = s.split_whitespace().collect::<Vec<_>>().join(" ");
        let hint = "want e.g. '> 0.05', '>= 5%', '< 300ms', '== 1', '0.1..0.5', 'outside 0.1..0.5' or '> 1.5x baseline'";
        if text.is_empty() {
            return Err(format!("empty condition; {hint}"));
        }
        let (cond, unit) =
            parse_cond(&text).map_err(|e| format!("invalid condition '{text}': {e}; {hint}"))?;
        Ok(Threshold { cond, text, unit })
    }

    /// Whether the condition is relative to a baseline.
    pub fn is_relative(&self) -> bool {
        matches!(self.cond, Condition::Relative(..))
    }

    /// Whether `v` meets the condition. `baseline` is the baseline value
    /// already floored (relative conditions only); `None` there means the
    /// condition cannot be judged and does not hold.
    pub fn holds(&self, v: f64, baseline: Option<f64>) -> bool {
        if !v.is_finite() {
            return false;
        }
        match self.cond {
            Condition::Compare(op, t) => op.holds(v, t),
            Condition::Relative(op, factor) => match baseline {
                Some(b) if b.is_finite() => op.holds(v, factor * b),
                _ => false,
            },
            Condition::Range { lo, hi, inside } => {
                let within = v >= lo && v <= hi;
                within == inside
            }
        }
    }

    /// The absolute bound a relative condition compares with, for messages.
    pub fn bound(&self, baseline: Option<f64>) -> Option<f64> {
        match self.cond {
            Condition::Compare(_, t) => Some(t),
            Condition::Relative(_, f) => baseline.map(|b| f * b),
            Condition::Range { .. } => None,
        }
    }

    /// The numbers a value is compared with (the floored baseline times
    /// its factor for a relative condition), for showing values beside them.
    pub fn bounds(&self, baseline: Option<f64>) -> Vec<f64> {
        match self.cond {
            Condition::Range { lo, hi, .. } => vec![lo, hi],
            _ => self.bound(baseline).into_iter().collect(),
        }
    }

    /// +1 when larger values are worse, -1 when smaller are, 0 otherwise:
    /// used to pick the worst series among equals.
    pub fn direction(&self) -> i8 {
        match self.cond {
            Condition::Compare(op, _) | Condition::Relative(op, _) => match op {
                Op::Gt | Op::Ge => 1,
                Op::Lt | Op::Le => -1,
                _ => 0,
            },
            Condition::Range { .. } => 0,
        }
    }
}

fn parse_cond(t: &str) -> Result<(Condition, Unit), String> {
    if let Some(rest) = t.strip_prefix("outside") {
        if !rest.starts_with(' ') {
            return Err("'outside' takes a range, e.g. outside 0.1..0.5".into());
        }
        let (lo, hi, unit) = parse_range(rest.trim())?;
        return Ok((
            Condition::Range {
                lo,
                hi,
                inside: false,
            },
            unit,
        ));
    }
    let ops = [
        (">=", Op::Ge),
        ("<=", Op::Le),
        ("==", Op::Eq),
        ("!=", Op::Ne),
        (">", Op::Gt),
        ("<", Op::Lt),
    ];
    for (sym, op) in ops {
        if let Some(rest) = t.strip_prefix(sym) {
            let rest = rest.trim();
            if let Some(factor) = relative_factor(rest)? {
                return Ok((Condition::Relative(op, factor), Unit::Plain));
            }
            let (v, unit) = parse_number(rest)?;
            return Ok((Condition::Compare(op, v), unit));
        }
    }
    if t.contains("..") {
        let (lo, hi, unit) = parse_range(t)?;
        return Ok((
            Condition::Range {
                lo,
                hi,
                inside: true,
            },
            unit,
        ));
    }
    if t.starts_with('=') {
        return Err("use '==' to compare for equality".into());
    }
    Err("no operator".into())
}

/// `1.5x baseline` → Some(1.5); anything not mentioning the baseline → None.
fn relative_factor(s: &str) -> Result<Option<f64>, String> {
    if !s.contains("baseline") {
        return Ok(None);
    }
    let Some(before) = s.strip_suffix("baseline") else {
        return Err("'baseline' must come last, as in '> 1.5x baseline'".into());
    };
    let before = before.trim();
    if before.is_empty() {
        return Ok(Some(1.0));
    }
    let num = before
        .strip_suffix(['x', '×', '*'])
        .ok_or("write the factor as '1.5x baseline'")?
        .trim();
    let f: f64 = num
        .parse()
        .map_err(|_| format!("factor '{num}' is not a number"))?;
    if !f.is_finite() || f < 0.0 {
        return Err(format!("factor '{num}' must be a finite number ≥ 0"));
    }
    Ok(Some(f))
}

fn parse_range(s: &str) -> Result<(f64, f64, Unit), String> {
    let (a, b) = s.split_once("..").ok_or("a range is written lo..hi")?;
    let (lo, unit) = parse_number(a.trim())?;
    let (hi, _) = parse_number(b.trim())?;
    if lo > hi {
        return Err(format!(
            "range {lo}..{hi} is empty (lower bound above upper)"
        ));
    }
    Ok((lo, hi, unit))
}

/// A finite number with an optional `%`, `ms` or `s` suffix.
pub fn parse_number(s: &str) -> Result<(f64, Unit), String> {
    let s = s.trim();
    // The scale is a power of ten applied to the decimal text, so `95%` is
    // exactly the double nearest 0.95 (95 × 0.01 is 0.9500000000000001, and
    // a success ratio of exactly 0.95 would be "below 95%").
    let (num, exp10, unit) = if let Some(n) = s.strip_suffix('%') {
        (n, 2, Unit::Percent)
    } else if let Some(n) = s.strip_suffix("ms") {
        (n, 3, Unit::Millis)
    } else if let Some(n) = s.strip_suffix('s') {
        (n, 0, Unit::Seconds)
    } else {
        (s, 0, Unit::Plain)
    };
    let num = num.trim().replace('_', "");
    if num.is_empty() {
        return Err("missing number".into());
    }
    let v: f64 = num
        .parse()
        .map_err(|_| format!("'{s}' is not a number (units allowed: %, ms, s)"))?;
    if !v.is_finite() {
        return Err(format!("'{s}' is not a finite number"));
    }
    if exp10 == 0 {
        return Ok((v, unit));
    }
    // `95` → `95e-2`; a number written with its own exponent (`5e1%`)
    // falls back to division, which is exact for integers and halves.
    let scaled = if num.contains(['e', 'E']) {
        v / 10f64.powi(exp10)
    } else {
        format!("{num}e-{exp10}")
            .parse()
            .unwrap_or(v / 10f64.powi(exp10))
    };
    Ok((scaled, unit))
}

impl<'de> Deserialize<'de> for Threshold {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            S(String),
            N(f64),
        }
        let s = match Raw::deserialize(d)? {
            Raw::S(s) => s,
            Raw::N(n) => {
                return Err(serde::de::Error::custom(format!(
                    "a condition needs an operator: write '> {n}' (or '< {n}', '== {n}', …)"
                )));
            }
        };
        Threshold::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// A number for people: up to four significant digits, no trailing zeros.
pub fn fmt_num(v: f64) -> String {
    fmt_sig(v, 4)
}

/// A number with up to `sig` significant digits, no trailing zeros.
fn fmt_sig(v: f64, sig: i32) -> String {
    if v.is_nan() {
        return "NaN".into();
    }
    if v.is_infinite() {
        return if v > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        };
    }
    if v == v.trunc() && v.abs() < 1e15 {
        return format!("{}", v as i64);
    }
    let mag = v.abs().log10().floor() as i32;
    let prec = (sig - 1 - mag).clamp(0, 20) as usize;
    let s = format!("{v:.prec$}");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

/// A value written the way its threshold was: `1.23%`, `120ms`, `0.5s`.
pub fn fmt_in(v: f64, unit: Unit) -> String {
    fmt_in_sig(v, unit, 4)
}

fn fmt_in_sig(v: f64, unit: Unit, sig: i32) -> String {
    if !v.is_finite() {
        return fmt_num(v);
    }
    match unit {
        Unit::Plain => fmt_sig(v, sig),
        Unit::Percent => format!("{}%", fmt_sig(v * 100.0, sig)),
        Unit::Millis => format!("{}ms", fmt_sig(v * 1000.0, sig)),
        Unit::Seconds => format!("{}s", fmt_sig(v, sig)),
    }
}

/// `v` as [`fmt_in`] writes it, with as many more digits as it takes not to
/// read the same as a different bound: `5.000001% > 5%`, never `5% > 5%`.
/// (A bound printed beside a value goes through here too, the other way
/// round, so neither reads as the other.) A value too small for decimals
/// prints in scientific notation: `1e-21`, never `0` beside a bound of 0.
pub fn fmt_beside(v: f64, unit: Unit, bounds: &[f64]) -> String {
    let clashes = |s: &str, sig: i32| {
        bounds
            .iter()
            .any(|&b| b != v && b.is_finite() && fmt_in_sig(b, unit, sig) == s)
    };
    for sig in 4..=17 {
        let s = fmt_in_sig(v, unit, sig);
        if !clashes(&s, sig) {
            return s;
        }
    }
    let scaled = match unit {
        Unit::Plain | Unit::Seconds => v,
        Unit::Percent => v * 100.0,
        Unit::Millis => v * 1000.0,
    };
    let suffix = match unit {
        Unit::Plain => "",
        Unit::Percent => "%",
        Unit::Millis => "ms",
        Unit::Seconds => "s",
    };
    format!("{scaled:e}{suffix}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> Threshold {
        Threshold::parse(s).unwrap()
    }

    #[test]
    fn operators() {
        assert!(t("> 0.05").holds(0.06, None));
        assert!(!t("> 0.05").holds(0.05, None));
        assert!(t(">= 0.05").holds(0.05, None));
        assert!(t("<0.99").holds(0.98, None));
        assert!(t("<= 1").holds(1.0, None));
        assert!(t("== 1").holds(1.0, None));
        assert!(t("!= 1").holds(0.0, None));
    }

    #[test]
    fn units_scale() {
        assert_eq!(t("> 5%").cond, Condition::Compare(Op::Gt, 0.05));
        assert_eq!(t("> 300ms").cond, Condition::Compare(Op::Gt, 0.3));
        assert_eq!(t("> 2s").cond, Condition::Compare(Op::Gt, 2.0));
        assert_eq!(t("> 5%").unit, Unit::Percent);
        // The double nearest the decimal written, not 95 × 0.01.
        assert_eq!(t("< 95%").cond, Condition::Compare(Op::Lt, 0.95));
        assert_eq!(t(">= 57%").cond, Condition::Compare(Op::Ge, 0.57));
        assert_eq!(t(">= 9ms").cond, Condition::Compare(Op::Ge, 0.009));
        assert_eq!(t("> 0.5%").cond, Condition::Compare(Op::Gt, 0.005));
        assert_eq!(t("> 5e1%").cond, Condition::Compare(Op::Gt, 0.5));
        assert_eq!(t("> -1.5%").cond, Condition::Compare(Op::Gt, -0.015));
    }

    #[test]
    fn ranges() {
        let inside = t("0.1..0.5");
        assert!(inside.holds(0.1, None) && inside.holds(0.5, None));
        assert!(!inside.holds(0.6, None));
        let out = t("outside 0.1..0.5");
        assert!(out.holds(0.6, None) && out.holds(0.05, None));
        assert!(!out.holds(0.3, None));
        assert!(Threshold::parse("0.5..0.1").is_err());
    }

    #[test]
    fn relative() {
        let r = t("> 1.5x baseline");
        assert_eq!(r.cond, Condition::Relative(Op::Gt, 1.5));
        assert!(r.holds(0.2, Some(0.1)));
        assert!(!r.holds(0.1, Some(0.1)));
        assert!(!r.holds(0.2, None), "no baseline: not judged");
        assert_eq!(t("> baseline").cond, Condition::Relative(Op::Gt, 1.0));
        assert!(Threshold::parse("> baseline 2").is_err());
    }

    #[test]
    fn non_finite_never_holds() {
        for c in ["> 0.05", "< 0.99", "!= 1", "outside 0..1"] {
            assert!(!t(c).holds(f64::NAN, None), "{c}");
            assert!(!t(c).holds(f64::INFINITY, None), "{c}");
        }
    }

    #[test]
    fn bad_conditions_explain() {
        for bad in [
            "", "0.05", "= 1", "> abc", "> 5m", "outside", "> NaN", "> inf",
        ] {
            let e = Threshold::parse(bad).unwrap_err();
            assert!(e.contains("want e.g."), "{bad}: {e}");
        }
    }

    #[test]
    fn numbers_for_people() {
        assert_eq!(fmt_num(0.082345), "0.08235");
        assert_eq!(fmt_num(123.456), "123.5");
        assert_eq!(fmt_num(2.0), "2");
        assert_eq!(fmt_num(f64::NAN), "NaN");
        assert_eq!(fmt_in(0.0123, Unit::Percent), "1.23%");
        assert_eq!(fmt_in(0.12, Unit::Millis), "120ms");
        assert_eq!(fmt_num(1e-13), "0.0000000000001");
    }

    #[test]
    fn values_beside_a_bound_never_read_as_equal_to_it() {
        assert_eq!(fmt_beside(0.05000001, Unit::Percent, &[0.05]), "5.000001%");
        assert_eq!(fmt_beside(0.98999, Unit::Percent, &[0.99]), "98.999%");
        assert_eq!(fmt_beside(1.0000001, Unit::Seconds, &[1.0]), "1.0000001s");
        assert_eq!(fmt_beside(1e-13, Unit::Plain, &[0.0]), "0.0000000000001");
        assert_eq!(fmt_beside(1.0, Unit::Plain, &[1.0000001]), "1");
        assert_eq!(fmt_beside(0.05, Unit::Percent, &[0.05]), "5%");
        assert_eq!(fmt_beside(0.0823, Unit::Percent, &[0.05, 0.01]), "8.23%");
    }
}
