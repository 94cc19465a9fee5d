//! The grid of a sweep: `--set NAME=V1,V2` axes and `--seed a..b` seeds, expanded into one task
//! per combination, each named `name=value,…,seed=S` (its run directory's name).

use anyhow::{bail, Result};
use serde::{Deserialize, Serialize};

/// One swept (or fixed) parameter: `--set lr=0.1,0.01` has two values.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Axis {
    pub name: String,
    pub values: Vec<String>,
}

/// One run of the sweep: its `--set` values (in the order the axes were given) and its seed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Task {
    pub name: String,
    pub set: Vec<(String, String)>,
    pub seed: u64,
}

/// Most tasks one sweep may hold (a typo like `--seed 1..100000000` is refused, not expanded).
pub const MAX_TASKS: usize = 100_000;

/// Parses `--set NAME=V1,V2,…`.
pub fn parse_axis(s: &str) -> Result<Axis> {
    let Some((name, values)) = s.split_once('=') else {
        bail!("--set {s}: expected NAME=VALUE or NAME=V1,V2,…")
    };
    let name = name.trim();
    check_name(name).map_err(|e| anyhow::anyhow!("--set {s}: {e}"))?;
    if name == "seed" {
        bail!("--set {s}: the seed is swept with --seed, not --set");
    }
    let values: Vec<String> = values.split(',').map(|v| v.trim().to_string()).collect();
    for v in &values {
        check_value(v).map_err(|e| anyhow::anyhow!("--set {s}: {e}"))?;
    }
    Ok(Axis {
        name: name.to_string(),
        values,
    })
}

/// Parses `--seed a..b` (inclusive) or `--seed 1,2,5`.
pub fn parse_seeds(s: &str) -> Result<Vec<u64>> {
    let num = |t: &str| {
        t.trim()
            .parse::<u64>()
            .map_err(|_| anyhow::anyhow!("--seed {s}: `{t}` is not a seed (a whole number ≥ 0)"))
    };
    let seeds: Vec<u64> = match s.split_once("..") {
        Some((a, b)) => {
            let (a, b) = (num(a)?, num(b)?);
            if a > b {
                bail!("--seed {s}: the range is empty ({a} > {b})");
            }
            if b - a >= MAX_TASKS as u64 {
                bail!("--seed {s}: more than {MAX_TASKS} seeds");
            }
            (a..=b).collect()
        }
        None => s.split(',').map(num).collect::<Result<_>>()?,
    };
    let mut sorted = seeds.clone();
    sorted.sort_unstable();
    if let Some(w) = sorted.windows(2).find(|w| w[0] == w[1]) {
        bail!("--seed {s}: seed {} is given twice", w[0]);
    }
    Ok(seeds)
}

/// Every combination of the axes' values, for each seed (seeds vary fastest). Refuses a name
/// given twice, a value given twice within an axis, and grids over [`MAX_TASKS`].
pub fn expand(axes: &[Axis], seeds: &[u64]) -> Result<Vec<Task>> {
    for (i, a) in axes.iter().enumerate() {
        if axes[..i].iter().any(|b| b.name == a.name) {
            bail!("--set {}: the name is given twice", a.name);
        }
        for (j, v) in a.values.iter().enumerate() {
            if a.values[..j].contains(v) {
                bail!("--set {}: the value `{v}` is given twice", a.name);
            }
        }
    }
    if seeds.is_empty() {
        bail!("no seeds");
    }
    let total = axes
        .iter()
        .try_fold(seeds.len(), |n, a| n.checked_mul(a.values.len()))
        .filter(|&n| n <= MAX_TASKS);
    if total.is_none() {
        bail!("the grid holds more than {MAX_TASKS} tasks");
    }
    let mut combos: Vec<Vec<(String, String)>> = vec![vec![]];
    for a in axes {
        combos = combos
            .into_iter()
            .flat_map(|c| {
                a.values.iter().map(move |v| {
                    let mut c = c.clone();
                    c.push((a.name.clone(), v.clone()));
                    c
                })
            })
            .collect();
    }
    Ok(combos
        .into_iter()
        .flat_map(|set| {
            seeds.iter().map(move |&seed| Task {
                name: task_name(&set, seed),
                set: set.clone(),
                seed,
            })
        })
        .collect())
}

/// `lr=0.1,epochs=5,seed=3`: the task's run directory name.
pub fn task_name(set: &[(String, String)], seed: u64) -> String {
    let mut parts: Vec<String> = set.iter().map(|(k, v)| format!("{k}={v}")).collect();
    parts.push(format!("seed={seed}"));
    parts.join(",")
}

/// A parameter name: what `--set` accepts (letters, digits, `_`).
pub fn check_name(name: &str) -> Result<()> {
    if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        bail!("the name `{name}` must be letters, digits and `_`");
    }
    Ok(())
}

/// A value becomes part of a directory name, so it may not hold `/`, `,`, `=`, control
/// characters, or be empty or start with `.` (`..`, hidden files).
pub fn check_value(v: &str) -> Result<()> {
    if v.is_empty() {
        bail!("an empty value");
    }
    if v.starts_with('.') || v.len() > 100 {
        bail!("the value `{v}` may not start with `.` nor be longer than 100 bytes");
    }
    if let Some(c) = v
        .chars()
        .find(|c| matches!(c, '/' | '\\' | ',' | '=') || c.is_control())
    {
        bail!("the value `{v}` may not hold {c:?} (it names a run directory)");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expands_every_combination_with_seeds_fastest() {
        let axes = [
            parse_axis("lr=0.1, 0.01").unwrap(),
            parse_axis("k=1").unwrap(),
        ];
        let t = expand(&axes, &parse_seeds("1..2").unwrap()).unwrap();
        let names: Vec<&str> = t.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "lr=0.1,k=1,seed=1",
                "lr=0.1,k=1,seed=2",
                "lr=0.01,k=1,seed=1",
                "lr=0.01,k=1,seed=2"
            ]
        );
        assert_eq!(
            t[2].set,
            [("lr".into(), "0.01".into()), ("k".into(), "1".into())]
        );
        assert_eq!(t[2].seed, 1);
        assert_eq!(parse_seeds("3,1,7").unwrap(), [3, 1, 7]);
        assert_eq!(expand(&[], &[5]).unwrap()[0].name, "seed=5");
    }

    #[test]
    fn refuses_bad_names_values_seeds_and_huge_grids() {
        let e = |r: Result<Axis>| r.unwrap_err().to_string();
        assert!(e(parse_axis("lr")).contains("expected NAME=VALUE"));
        assert!(e(parse_axis("l r=1")).contains("letters, digits"));
        assert!(e(parse_axis("seed=1")).contains("--seed"));
        assert!(e(parse_axis("x=../up")).contains("may not start with `.`"));
        assert!(e(parse_axis("x=a/b")).contains("'/'"));
        assert!(e(parse_axis("x=1,,2")).contains("empty value"));
        let s = |t: &str| parse_seeds(t).unwrap_err().to_string();
        assert!(s("5..1").contains("empty (5 > 1)"));
        assert!(s("1,x").contains("`x` is not a seed"));
        assert!(s("1,2,1").contains("seed 1 is given twice"));
        assert!(s("0..99999999999").contains("more than"));
        let a = parse_axis("a=1,2").unwrap();
        let dup = expand(&[a.clone(), a.clone()], &[1])
            .unwrap_err()
            .to_string();
        assert!(dup.contains("given twice"), "{dup}");
        let big = Axis {
            name: "b".into(),
            values: (0..1000).map(|i| i.to_string()).collect(),
        };
        let c = Axis {
            name: "c".into(),
            ..big.clone()
        };
        assert!(expand(&[big, c], &[1])
            .unwrap_err()
            .to_string()
            .contains("more than"));
    }
}
