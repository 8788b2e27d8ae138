//! Property tests for shift's splits (`blue=75,green=25`): parsing never
//! panics, a split that does not add up to 100 or names an unknown pool is
//! refused, and a split's display (and its JSON) reads back as the same
//! split.

use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::select;
use shift::split::{
    EPSILON, MAX_WEIGHT, Pool, Split, hundred_weights, parse_spec, pool_weights, ramp, shares,
    valid_name,
};
use testkit::props::cfg;

/// Any text, including control characters and the pieces splits are made
/// of.
fn any_text() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        "[a-z]{1,6}",
        "[0-9]{1,30}",
        select(vec![
            "=", ",", " ", "\n", "\t", "%", ".", "-", "+", "e", "NaN", "inf", "blue", "green",
            "\0", "é", "🦀", ";", "==", ",,",
        ])
        .prop_map(str::to_string),
    ];
    prop_oneof![
        vec(any::<char>(), 0..40).prop_map(|v| v.into_iter().collect()),
        "\\PC{0,40}",
        vec(piece, 0..14).prop_map(|v| v.concat()),
    ]
}

/// 1 to 6 pools with distinct valid names, each with 1 to 4 servers.
fn pools() -> impl Strategy<Value = Vec<Pool>> {
    vec(("[a-zA-Z0-9_.-]{1,12}", 1usize..=4), 1..=6).prop_map(|v| {
        let mut out: Vec<Pool> = Vec::new();
        for (name, n) in v {
            if !out.iter().any(|p| p.name == name) {
                out.push(Pool {
                    servers: (0..n).map(|i| format!("{name}-{i}")).collect(),
                    name,
                });
            }
        }
        out
    })
}

/// Shares in hundredths of a percent that add up to exactly 100%.
fn hundredths(n: usize) -> impl Strategy<Value = Vec<u32>> {
    vec(0u32..=10_000, n).prop_map(move |raw| {
        let total: u64 = raw.iter().map(|&x| u64::from(x)).sum();
        if total == 0 {
            let mut v = vec![0; n];
            v[0] = 10_000;
            return v;
        }
        let mut v: Vec<u32> = raw
            .iter()
            .map(|&x| (u64::from(x) * 10_000 / total) as u32)
            .collect();
        let short = 10_000 - v.iter().sum::<u32>();
        v[0] += short;
        v
    })
}

/// Pools and a complete split over them.
fn pools_and_split() -> impl Strategy<Value = (Vec<Pool>, Split)> {
    pools()
        .prop_flat_map(|p| {
            let n = p.len();
            (Just(p), hundredths(n))
        })
        .prop_map(|(p, h)| {
            let split = Split(
                p.iter()
                    .zip(h)
                    .map(|(pool, x)| (pool.name.clone(), f64::from(x) / 100.0))
                    .collect(),
            );
            (p, split)
        })
}

fn sum(s: &Split) -> f64 {
    s.0.iter().map(|(_, p)| p).sum()
}

proptest! {
    #![proptest_config(cfg())]

    #[test]
    fn specs_never_panic_and_ok_means_valid_parts(s in any_text()) {
        let Ok(spec) = parse_spec(&s) else { return Ok(()) };
        prop_assert!(!spec.is_empty());
        for (i, (name, pct)) in spec.iter().enumerate() {
            prop_assert!(valid_name(name), "{s:?} → {name:?}");
            prop_assert!(pct.is_finite() && (0.0..=100.0).contains(pct), "{s:?} → {pct}");
            // Two decimals at most.
            prop_assert!(((pct * 100.0).round() / 100.0 - pct).abs() < 1e-9, "{s:?} → {pct}");
            prop_assert!(spec[..i].iter().all(|(n, _)| n != name), "{s:?}: {name} twice");
        }
    }

    #[test]
    fn resolved_splits_always_sum_to_100(s in any_text(), p in pools()) {
        let Ok(spec) = parse_spec(&s) else { return Ok(()) };
        let Ok(split) = Split::resolve(&spec, &p) else { return Ok(()) };
        prop_assert!((sum(&split) - 100.0).abs() <= EPSILON, "{s:?} → {split:?}");
        let names: Vec<&str> = split.0.iter().map(|(n, _)| n.as_str()).collect();
        let want: Vec<&str> = p.iter().map(|p| p.name.as_str()).collect();
        prop_assert_eq!(names, want);
    }

    #[test]
    fn a_splits_display_parses_back_to_the_same_split((p, split) in pools_and_split()) {
        let shown = split.spec();
        let again = Split::resolve(&parse_spec(&shown).unwrap(), &p).unwrap();
        prop_assert_eq!(&again, &split, "{}", shown);
        // Through JSON too (the journal's form).
        prop_assert_eq!(Split::from_json(&split.to_json(), &p), Some(split.clone()));
        // With `%` signs, spaces and another order.
        let mut parts: Vec<String> = split.0.iter().map(|(n, v)| format!(" {n}={v}% ")).collect();
        parts.reverse();
        let spec = parse_spec(&parts.join(",")).unwrap();
        prop_assert_eq!(Split::resolve(&spec, &p).unwrap(), split);
    }

    #[test]
    fn the_pool_left_out_gets_the_rest(
        (p, split) in pools_and_split(),
        left_out in any::<prop::sample::Index>(),
    ) {
        let k = left_out.index(split.0.len());
        let spec: Vec<(String, f64)> = split.0.iter().enumerate()
            .filter(|(i, _)| *i != k)
            .map(|(_, x)| x.clone())
            .collect();
        let got = Split::resolve(&spec, &p).unwrap();
        prop_assert!(got.close_to(&split, 1e-9), "{got:?} vs {split:?}");
        prop_assert!((sum(&got) - 100.0).abs() <= EPSILON);
    }

    #[test]
    fn a_split_that_does_not_sum_to_100_is_refused(
        (p, split) in pools_and_split(),
        delta in prop_oneof![1u32..=5000, 1u32..=3].prop_map(f64::from),
        up in any::<bool>(),
        which in any::<prop::sample::Index>(),
    ) {
        let mut bad = split.0.clone();
        let i = which.index(bad.len());
        let d = delta / 100.0;
        if up {
            bad[i].1 += d;
        } else {
            prop_assume!(bad[i].1 >= d);
            bad[i].1 -= d;
        }
        prop_assume!(bad[i].1 <= 100.0);
        let shown = Split(bad).spec();
        let spec = parse_spec(&shown).unwrap();
        let got = Split::resolve(&spec, &p);
        prop_assert!(got.is_err(), "{shown} accepted as {got:?}");
    }

    #[test]
    fn more_than_100_before_the_pool_left_out_is_refused(
        (p, split) in pools_and_split(),
        extra in 1u32..=5000,
    ) {
        prop_assume!(p.len() >= 2);
        // Every pool but the last, already at 100%, plus a little more.
        let mut spec: Vec<(String, f64)> = split.0[..p.len() - 1].to_vec();
        let named: f64 = spec.iter().map(|(_, v)| v).sum();
        spec[0].1 += 100.0 - named + f64::from(extra) / 100.0;
        prop_assume!(spec[0].1 <= 100.0);
        let got = Split::resolve(&spec, &p);
        prop_assert!(got.is_err(), "{spec:?} accepted as {got:?}");
    }

    #[test]
    fn unknown_pools_and_two_missing_pools_are_refused(
        (p, split) in pools_and_split(),
        stranger in "[a-z]{1,8}",
    ) {
        prop_assume!(!p.iter().any(|x| x.name == stranger));
        let mut spec = split.0.clone();
        spec[0].0 = stranger;
        prop_assert!(Split::resolve(&spec, &p).is_err());
        if p.len() >= 3 {
            prop_assert!(Split::resolve(&split.0[..p.len() - 2], &p).is_err());
        }
    }

    #[test]
    fn garbage_percentages_and_names_are_refused(
        name in "[a-z]{1,8}",
        bad_pct in select(vec![
            "NaN", "inf", "-inf", "-1", "100.01", "101", "1e3", "0.001", "33.333", "", "%", "x",
            "1e-8", "50%%",
        ]),
        bad_name in select(vec!["", "gr;een", "a b", "é", "a/b", "a=b"]),
    ) {
        let typed = format!("{name}={bad_pct}");
        prop_assert!(parse_spec(&typed).is_err(), "{typed:?}");
        let typed = format!("{bad_name}=50");
        prop_assert!(parse_spec(&typed).is_err(), "{typed:?}");
        let typed = format!("{name}=50,{name}=50");
        prop_assert!(parse_spec(&typed).is_err(), "{typed:?}");
        prop_assert!(parse_spec(&name).is_err());
        let long = format!("{}=1", "a".repeat(65));
        prop_assert!(parse_spec(&long).is_err());
    }

    #[test]
    fn hundred_weights_sum_to_100_and_keep_every_live_pool((_, split) in pools_and_split()) {
        let w = hundred_weights(&split);
        prop_assert_eq!(w.iter().sum::<u32>(), 100, "{:?} → {:?}", split, w);
        for ((_, pct), w) in split.0.iter().zip(&w) {
            prop_assert_eq!(*pct > EPSILON, *w > 0, "{:?} → {:?}", split, w);
        }
    }

    #[test]
    fn server_weights_stay_in_range_and_keep_every_live_pool((p, split) in pools_and_split()) {
        let input: Vec<(f64, usize)> = split.0.iter().zip(&p).map(|((_, pct), pool)| (*pct, pool.servers.len())).collect();
        let w = pool_weights(&input, MAX_WEIGHT);
        prop_assert_eq!(w.len(), input.len());
        for ((pct, _), w) in input.iter().zip(&w) {
            prop_assert!(*w <= MAX_WEIGHT);
            prop_assert_eq!(*pct > EPSILON, *w > 0, "{:?} → {:?}", input, w);
        }
        let s = shares(&input, &w);
        prop_assert!((s.iter().sum::<f64>() - 100.0).abs() < 1e-6, "{s:?}");
    }

    #[test]
    fn ramps_end_at_the_target_in_bounded_steps(
        (p, from) in pools_and_split(),
        to_h in hundredths(6),
        step in prop::option::of((1u32..=5000).prop_map(|s| f64::from(s) / 100.0)),
    ) {
        let to = Split(p.iter().zip(to_h).map(|(pool, h)| (pool.name.clone(), f64::from(h) / 100.0)).collect());
        // `to_h` was made for six pools; rescale to these.
        let total = sum(&to);
        prop_assume!(total > 0.0);
        let to = Split(to.0.into_iter().map(|(n, v)| (n, v * 100.0 / total)).collect());
        let steps = ramp(&from, &to, step);
        prop_assert!(!steps.is_empty());
        prop_assert_eq!(steps.last().unwrap(), &to);
        let mut prev = from.clone();
        for s in &steps {
            if let Some(st) = step {
                let moved = s.0.iter().map(|(n, v)| (v - prev.get(n)).abs()).fold(0.0, f64::max);
                prop_assert!(moved <= st + 1e-5, "moved {moved} > step {st}");
            }
            prop_assert!((sum(s) - 100.0).abs() < 1e-4, "{s:?}");
            prev = s.clone();
        }
    }
}

// ------------------------------------------ failing cases kept as #[test]

/// "a split has two decimals at most (0.01% is the smallest share)": the
/// check allows 1e-9 of slack, so a share of 0.000000001% (or 1e-10) is
/// accepted as it is, and then weighs nothing.
#[test]
fn a_share_below_one_hundredth_is_refused_however_small() {
    for typed in [
        "green=1e-9",
        "green=0.000000001",
        "green=1e-12%",
        "green=50.0000000005",
    ] {
        let got = parse_spec(typed);
        assert!(got.is_err(), "{typed} accepted as {got:?}");
    }
}
