//! Splits: how traffic is shared between named pools.
//!
//! A split is parsed from `blue=75,green=25` (`%` allowed, decimals allowed),
//! completed against the configured pools (one pool may be left out and gets
//! the remainder), mapped onto integer server weights, derived back from live
//! weights, and cut into ramp steps.

use serde_json::{Map, Value, json};

/// A pool of servers that receives one share of the traffic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pool {
    /// The user's name for it (`blue`, `green`, `canary`, …).
    pub name: String,
    /// Its servers (HAProxy server names, nginx `host:port`, or free-form
    /// identifiers for the exec backend). Never empty for HAProxy and nginx.
    pub servers: Vec<String>,
}

/// Percent differences below this are equal (floating-point noise).
pub const EPSILON: f64 = 1e-6;

/// A complete split: every pool in configuration order with its percentage;
/// the percentages sum to 100.
#[derive(Debug, Clone, PartialEq)]
pub struct Split(pub Vec<(String, f64)>);

/// Whether `name` is acceptable as a pool name: letters, digits, `_`, `-`,
/// `.`; it reaches command lines and config files, so nothing else.
pub fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

/// Parse `blue=75,green=25` (also `green=25%`, `green=0.5`) as typed: pool
/// names with percentages, not yet checked against the pools.
pub fn parse_spec(s: &str) -> Result<Vec<(String, f64)>, String> {
    let mut out: Vec<(String, f64)> = Vec::new();
    for part in s
        .split([',', ' ', '\n', '\t'])
        .filter(|p| !p.trim().is_empty())
    {
        let (name, pct) = part.split_once('=').ok_or_else(|| {
            format!("split part '{part}' is not POOL=PERCENT (e.g. blue=75,green=25)")
        })?;
        let name = name.trim();
        if !valid_name(name) {
            return Err(format!(
                "pool name '{name}' may only hold letters, digits, '_', '-' and '.'"
            ));
        }
        // Splits are kept to two decimals: 0.001 (or 1e-9) would silently
        // become 0. Judged on the text as typed, not on the float.
        if !two_decimals_at_most(pct) {
            return Err(format!(
                "'{name}={}': a split has two decimals at most (0.01% is the smallest share)",
                pct.trim()
            ));
        }
        let pct = golive_core::units::parse_percent(pct)?;
        if out.iter().any(|(n, _)| n == name) {
            return Err(format!("pool '{name}' appears twice in the split"));
        }
        out.push((name.to_string(), pct));
    }
    if out.is_empty() {
        return Err("empty split; use e.g. blue=75,green=25".into());
    }
    Ok(out)
}

/// `25`, `25%`, `0.5`, `12.25`, `12.50`: plain digits with at most two
/// significant decimals (no exponent).
fn two_decimals_at_most(typed: &str) -> bool {
    let t = typed.trim();
    let n = t.strip_suffix('%').unwrap_or(t).trim();
    let (int, frac) = n.split_once('.').unwrap_or((n, ""));
    if n.contains(['e', 'E']) {
        return false;
    }
    let digits = |s: &str| s.chars().all(|c| c.is_ascii_digit());
    // Anything else (a sign, garbage) is parse_percent's to refuse.
    if !digits(int) || !digits(frac) || (int.is_empty() && frac.is_empty()) {
        return true;
    }
    frac.trim_end_matches('0').len() <= 2
}

impl Split {
    /// Complete a parsed spec against the pools: every named pool must exist;
    /// if every pool is named the percentages must sum to 100; one pool may
    /// be left out and receives the remainder.
    pub fn resolve(spec: &[(String, f64)], pools: &[Pool]) -> Result<Split, String> {
        for (name, _) in spec {
            if !pools.iter().any(|p| &p.name == name) {
                let known: Vec<&str> = pools.iter().map(|p| p.name.as_str()).collect();
                return Err(format!(
                    "the split names pool '{name}', which is not configured (pools: {})",
                    known.join(", ")
                ));
            }
        }
        let named: f64 = spec.iter().map(|(_, p)| p).sum();
        let missing: Vec<&Pool> = pools
            .iter()
            .filter(|p| !spec.iter().any(|(n, _)| n == &p.name))
            .collect();
        let rest = 100.0 - named;
        match missing.len() {
            0 if (named - 100.0).abs() > EPSILON => {
                Err(format!("the split sums to {}%, not 100%", fmt_pct(named)))
            }
            0 => Ok(Split(
                pools
                    .iter()
                    .map(|p| (p.name.clone(), spec_value(spec, &p.name)))
                    .collect(),
            )),
            1 if rest < -EPSILON => Err(format!(
                "the split gives {}% before pool '{}' gets the rest",
                fmt_pct(named),
                missing[0].name
            )),
            1 => Ok(Split(
                pools
                    .iter()
                    .map(|p| {
                        let v = if p.name == missing[0].name {
                            rest.max(0.0)
                        } else {
                            spec_value(spec, &p.name)
                        };
                        (p.name.clone(), v)
                    })
                    .collect(),
            )),
            _ => Err(format!(
                "name every pool but one in the split (missing: {})",
                missing
                    .iter()
                    .map(|p| p.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
        }
    }

    /// The percentage of `pool` (0 if absent).
    pub fn get(&self, pool: &str) -> f64 {
        self.0
            .iter()
            .find(|(n, _)| n == pool)
            .map(|(_, p)| *p)
            .unwrap_or(0.0)
    }

    /// Whether two splits agree within `tolerance` percentage points for
    /// every pool either names.
    pub fn close_to(&self, other: &Split, tolerance: f64) -> bool {
        self.0
            .iter()
            .chain(other.0.iter())
            .all(|(n, _)| (self.get(n) - other.get(n)).abs() <= tolerance + EPSILON)
    }

    /// `blue=75,green=25`.
    pub fn spec(&self) -> String {
        self.0
            .iter()
            .map(|(n, p)| format!("{n}={}", fmt_pct(*p)))
            .collect::<Vec<_>>()
            .join(",")
    }

    /// `{"blue": 75, "green": 25}` (whole numbers print without decimals).
    pub fn to_json(&self) -> Value {
        let mut m = Map::new();
        for (n, p) in &self.0 {
            m.insert(n.clone(), pct_json(*p));
        }
        Value::Object(m)
    }

    /// Read back what [`Split::to_json`] wrote, keeping the pools' order.
    pub fn from_json(v: &Value, pools: &[Pool]) -> Option<Split> {
        let obj = v.as_object()?;
        let mut out: Vec<(String, f64)> = Vec::new();
        for p in pools {
            out.push((
                p.name.clone(),
                obj.get(&p.name).and_then(Value::as_f64).unwrap_or(0.0),
            ));
        }
        // Pools the journal knows but the configuration no longer has.
        for (k, v) in obj {
            if !pools.iter().any(|p| &p.name == k) {
                out.push((k.clone(), v.as_f64().unwrap_or(0.0)));
            }
        }
        Some(Split(out))
    }
}

fn spec_value(spec: &[(String, f64)], name: &str) -> f64 {
    spec.iter()
        .find(|(n, _)| n == name)
        .map(|(_, p)| *p)
        .unwrap_or(0.0)
}

/// A percentage for people and for placeholders: `75`, `0.5`, `33.33`.
pub fn fmt_pct(p: f64) -> String {
    let r = (p * 100.0).round() / 100.0;
    if (r - r.round()).abs() < 1e-9 {
        format!("{}", r.round() as i64)
    } else {
        let s = format!("{r:.2}");
        s.trim_end_matches('0').to_string()
    }
}

/// A percentage as a JSON number: an integer when whole, else two decimals.
pub fn pct_json(p: f64) -> Value {
    let r = (p * 100.0).round() / 100.0;
    if (r - r.round()).abs() < 1e-9 {
        json!(r.round() as i64)
    } else {
        json!(r)
    }
}

/// The largest weight HAProxy accepts (`set server … weight 256`).
pub const MAX_WEIGHT: u32 = 256;

/// Per-server weights for each pool so that each pool's share of the total
/// weight equals the requested split as nearly as integer weights up to
/// `max` allow.
///
/// Every server of a pool gets the same weight `w_p`; pool p then carries
/// `n_p·w_p / Σ n_q·w_q` of the traffic. Among all scales whose largest
/// per-server weight is 1..=`max`, the one with the smallest worst error
/// (in percentage points) wins, and among equals the smallest scale: 75/25
/// over one server each is 3 and 1, 50/50 is 1 and 1, 99/1 is 99 and 1. A
/// pool with a share above zero never gets weight 0; a pool at 0% gets 0.
///
/// `pools` holds `(percent, number_of_servers)`; the result is one weight
/// per pool (per server of that pool). All-zero input gives all zeros.
pub fn pool_weights(pools: &[(f64, usize)], max: u32) -> Vec<u32> {
    let per_server: Vec<f64> = pools
        .iter()
        .map(|&(pct, n)| if n == 0 { 0.0 } else { pct / n as f64 })
        .collect();
    let top = per_server.iter().cloned().fold(0.0, f64::max);
    if top <= EPSILON {
        return vec![0; pools.len()];
    }
    let mut best: Option<(f64, Vec<u32>)> = None;
    for t in 1..=max {
        let k = f64::from(t) / top;
        let w: Vec<u32> = pools
            .iter()
            .zip(&per_server)
            .map(|(&(pct, n), &r)| {
                if pct <= EPSILON || n == 0 {
                    0
                } else {
                    ((r * k).round() as u32).clamp(1, max)
                }
            })
            .collect();
        let err = worst_error(pools, &w);
        if best.as_ref().is_none_or(|(e, _)| err < e - 1e-9) {
            best = Some((err, w));
        }
        if err < 1e-9 {
            break;
        }
    }
    best.map(|(_, w)| w).unwrap_or_else(|| vec![0; pools.len()])
}

/// The share (percent) each pool gets from per-server weights `w`.
pub fn shares(pools: &[(f64, usize)], w: &[u32]) -> Vec<f64> {
    let total: f64 = pools
        .iter()
        .zip(w)
        .map(|(&(_, n), &w)| n as f64 * f64::from(w))
        .sum();
    pools
        .iter()
        .zip(w)
        .map(|(&(_, n), &w)| {
            if total > 0.0 {
                n as f64 * f64::from(w) / total * 100.0
            } else {
                0.0
            }
        })
        .collect()
}

fn worst_error(pools: &[(f64, usize)], w: &[u32]) -> f64 {
    shares(pools, w)
        .iter()
        .zip(pools)
        .map(|(s, &(pct, _))| (s - pct).abs())
        .fold(0.0, f64::max)
}

/// Integer weights per pool that sum to 100 (largest remainder), for the
/// exec backend's `{weight}`.
pub fn hundred_weights(split: &Split) -> Vec<u32> {
    let floors: Vec<u32> = split.0.iter().map(|(_, p)| p.floor() as u32).collect();
    let mut left = 100u32.saturating_sub(floors.iter().sum());
    let mut order: Vec<usize> = (0..split.0.len()).collect();
    order.sort_by(|&a, &b| {
        let ra = split.0[a].1 - split.0[a].1.floor();
        let rb = split.0[b].1 - split.0[b].1.floor();
        rb.partial_cmp(&ra).unwrap_or(std::cmp::Ordering::Equal)
    });
    let mut w = floors;
    for i in order {
        if left == 0 {
            break;
        }
        if split.0[i].1 - split.0[i].1.floor() > EPSILON {
            w[i] += 1;
            left -= 1;
        }
    }
    // A pool above 0% never gets weight 0 (a 0.5% canary must get some
    // traffic): its 1 comes from the largest.
    for i in 0..w.len() {
        if w[i] == 0
            && split.0[i].1 > EPSILON
            && let Some(top) = (0..w.len()).filter(|&j| w[j] > 1).max_by_key(|&j| w[j])
        {
            w[top] -= 1;
            w[i] = 1;
        }
    }
    w
}

/// The splits a ramp passes through from `from` to `to`, `step` percentage
/// points at a time (measured on the pool that moves most), ending exactly
/// at `to`: 0 → 25 by 5 is 5, 10, 15, 20, 25; 0 → 23 by 5 ends 20, 23.
/// Without a step (or when nothing moves) it is just `[to]`.
pub fn ramp(from: &Split, to: &Split, step: Option<f64>) -> Vec<Split> {
    let delta =
        to.0.iter()
            .map(|(n, p)| (p - from.get(n)).abs())
            .fold(0.0, f64::max);
    let Some(step) = step.filter(|s| *s > EPSILON) else {
        return vec![to.clone()];
    };
    if delta <= step + EPSILON {
        return vec![to.clone()];
    }
    let n = (delta / step - EPSILON).ceil() as usize;
    let mut out = Vec::with_capacity(n);
    for i in 1..=n {
        let t = ((step * i as f64) / delta).min(1.0);
        if i == n {
            out.push(to.clone());
        } else {
            out.push(Split(
                to.0.iter()
                    .map(|(name, p)| {
                        let a = from.get(name);
                        (name.clone(), round6(a + (p - a) * t))
                    })
                    .collect(),
            ));
        }
    }
    out
}

fn round6(v: f64) -> f64 {
    (v * 1e6).round() / 1e6
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pools(spec: &[(&str, usize)]) -> Vec<Pool> {
        spec.iter()
            .map(|(n, k)| Pool {
                name: n.to_string(),
                servers: (0..*k).map(|i| format!("{n}{i}")).collect(),
            })
            .collect()
    }

    #[test]
    fn parse_and_resolve() {
        let p = pools(&[("blue", 1), ("green", 1)]);
        let s = Split::resolve(&parse_spec("blue=75,green=25").unwrap(), &p).unwrap();
        assert_eq!(s.spec(), "blue=75,green=25");
        let s = Split::resolve(&parse_spec("green=25%").unwrap(), &p).unwrap();
        assert_eq!(s.spec(), "blue=75,green=25");
        let s = Split::resolve(&parse_spec("green=100").unwrap(), &p).unwrap();
        assert_eq!(s.spec(), "blue=0,green=100");
        assert!(Split::resolve(&parse_spec("blue=70,green=20").unwrap(), &p).is_err());
        assert!(Split::resolve(&parse_spec("red=10").unwrap(), &p).is_err());
        assert!(Split::resolve(&parse_spec("green=120").unwrap_or_default(), &p).is_err());
        assert!(parse_spec("green").is_err());
        assert!(parse_spec("gr;een=5").is_err());
        assert!(parse_spec("green=5,green=6").is_err());
        // Shares below what a split keeps are refused, not rounded to 0.
        assert!(
            parse_spec("green=0.001")
                .unwrap_err()
                .contains("two decimals")
        );
        assert_eq!(parse_spec("green=0.01").unwrap()[0].1, 0.01);
        let three = pools(&[("a", 1), ("b", 1), ("c", 1)]);
        assert!(Split::resolve(&parse_spec("a=10").unwrap(), &three).is_err());
    }

    #[test]
    fn weights_match_the_split_when_pools_differ_in_size() {
        // blue has 2 servers, green 1: 75/25 means 2·w_b : w_g = 3 : 1.
        let w = pool_weights(&[(75.0, 2), (25.0, 1)], MAX_WEIGHT);
        assert_eq!(w, vec![3, 2]);
        let s = shares(&[(75.0, 2), (25.0, 1)], &w);
        assert!((s[0] - 75.0).abs() < 1e-9 && (s[1] - 25.0).abs() < 1e-9);
        assert_eq!(pool_weights(&[(75.0, 1), (25.0, 1)], 256), vec![3, 1]);
        assert_eq!(pool_weights(&[(50.0, 1), (50.0, 1)], 256), vec![1, 1]);
        assert_eq!(pool_weights(&[(99.0, 1), (1.0, 1)], 256), vec![99, 1]);
        assert_eq!(pool_weights(&[(0.0, 1), (100.0, 3)], 256), vec![0, 1]);
        assert_eq!(pool_weights(&[(0.0, 1), (0.0, 1)], 256), vec![0, 0]);
    }

    #[test]
    fn weights_stay_in_range_and_nonzero_pools_keep_traffic() {
        // 0.1% cannot be exact with weights up to 256: the small pool still
        // gets weight 1 and the big one the most resolution.
        let w = pool_weights(&[(99.9, 1), (0.1, 1)], 256);
        assert_eq!(w, vec![256, 1]);
        for a in 0..=100 {
            for (na, nb) in [(1, 1), (2, 1), (3, 2), (5, 7)] {
                let p = [(f64::from(a), na), (f64::from(100 - a), nb)];
                let w = pool_weights(&p, 256);
                assert!(w.iter().all(|&x| x <= 256));
                let s = shares(&p, &w);
                for (share, (pct, _)) in s.iter().zip(p) {
                    assert!((share - pct).abs() < 0.5, "{p:?} → {w:?} = {s:?}");
                    assert_eq!(pct == 0.0, *share == 0.0, "{p:?} → {w:?}");
                }
            }
        }
    }

    #[test]
    fn hundred_weights_sum_to_100() {
        let p = pools(&[("a", 1), ("b", 1), ("c", 1)]);
        let s = Split::resolve(&parse_spec("a=33.3,b=33.3,c=33.4").unwrap(), &p).unwrap();
        let w = hundred_weights(&s);
        assert_eq!(w.iter().sum::<u32>(), 100);
        let s = Split::resolve(&parse_spec("a=75,b=25,c=0").unwrap(), &p).unwrap();
        assert_eq!(hundred_weights(&s), vec![75, 25, 0]);
        // Pools above 0% keep some weight, and the sum stays 100.
        let s = Split::resolve(&parse_spec("a=99.5,b=0.5").unwrap(), &p[..2]).unwrap();
        assert_eq!(hundred_weights(&s), vec![99, 1]);
        let s = Split::resolve(&parse_spec("a=99.4,b=0.3,c=0.3").unwrap(), &p).unwrap();
        assert_eq!(hundred_weights(&s), vec![98, 1, 1]);
    }

    #[test]
    fn ramp_steps() {
        let p = pools(&[("blue", 1), ("green", 1)]);
        let from = Split::resolve(&parse_spec("green=0").unwrap(), &p).unwrap();
        let to = Split::resolve(&parse_spec("green=25").unwrap(), &p).unwrap();
        let steps: Vec<String> = ramp(&from, &to, Some(5.0))
            .iter()
            .map(Split::spec)
            .collect();
        assert_eq!(
            steps,
            [
                "blue=95,green=5",
                "blue=90,green=10",
                "blue=85,green=15",
                "blue=80,green=20",
                "blue=75,green=25"
            ]
        );
        let to = Split::resolve(&parse_spec("green=23").unwrap(), &p).unwrap();
        let steps: Vec<String> = ramp(&from, &to, Some(5.0))
            .iter()
            .map(Split::spec)
            .collect();
        assert_eq!(steps.last().unwrap(), "blue=77,green=23");
        assert_eq!(steps[3], "blue=80,green=20");
        assert_eq!(ramp(&from, &to, None).len(), 1);
        // Backwards works too.
        let back: Vec<String> = ramp(&to, &from, Some(10.0))
            .iter()
            .map(Split::spec)
            .collect();
        assert_eq!(
            back,
            ["blue=87,green=13", "blue=97,green=3", "blue=100,green=0"]
        );
    }

    #[test]
    fn percent_formatting() {
        assert_eq!(fmt_pct(75.0), "75");
        assert_eq!(fmt_pct(0.5), "0.5");
        assert_eq!(fmt_pct(33.333333), "33.33");
        assert_eq!(pct_json(25.0), json!(25));
        assert_eq!(pct_json(12.5), json!(12.5));
    }
}
