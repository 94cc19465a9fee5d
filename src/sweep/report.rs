//! The results table of one or more sweeps (`gan report`, `report(dir)` in the DSL): per run
//! the swept values, its state and its numbers (the last `metrics.jsonl` line, the numeric
//! fields of a `results.json` the recipe wrote, and `eval_parzen.json` / `eval_classifier.json`);
//! grouped by every swept name but the seed (or by the names asked for): mean ± standard
//! deviation (n − 1), n finished of the group's total, and the seeds that failed.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::Result;
use serde::Serialize;
use serde_json::Value;

use super::plan::Sweep;
use super::status::{State, Status};
use crate::safe_fs::read_regular;

/// `metrics.jsonl` fields that are settings or timings, not results.
const NOT_RESULTS: [&str; 8] = [
    "epoch", "step", "lr", "lr_g", "momentum", "steps", "secs", "it_per_s",
];
/// Most bytes read of any one file of a run.
const MAX_FILE: u64 = 256 << 20;

/// One run of a sweep.
#[derive(Clone, Debug, Serialize)]
pub struct Row {
    pub sweep: String,
    pub name: String,
    pub values: BTreeMap<String, String>,
    pub seed: u64,
    pub state: State,
    /// Numbers in [`Report::metrics`] order's names; absent where the run has none.
    pub metrics: BTreeMap<String, f64>,
    /// The per-epoch curve of each `metrics.jsonl` result field.
    #[serde(skip)]
    pub curves: BTreeMap<String, Vec<f64>>,
}

/// One group of runs (same values of the grouping names).
#[derive(Clone, Debug, Serialize)]
pub struct Group {
    pub values: BTreeMap<String, String>,
    /// Finished runs, and all runs of the group.
    pub n: usize,
    pub total: usize,
    pub failed_seeds: Vec<u64>,
    /// Per metric: (mean, standard deviation with n − 1; NaN below two runs, count).
    pub stats: BTreeMap<String, Stat>,
}

#[derive(Clone, Copy, Debug, Serialize, PartialEq)]
pub struct Stat {
    pub mean: f64,
    pub std: f64,
    pub n: usize,
}

#[derive(Clone, Debug, Serialize)]
pub struct Report {
    /// The names groups are made by, and every metric any run has (in order).
    pub by: Vec<String>,
    pub metrics: Vec<String>,
    pub groups: Vec<Group>,
    pub runs: Vec<Row>,
}

/// Mean and sample standard deviation (n − 1) of `xs`.
pub fn mean_std(xs: &[f64]) -> Stat {
    let n = xs.len();
    let mean = xs.iter().sum::<f64>() / n as f64;
    let std = if n < 2 {
        f64::NAN
    } else {
        (xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1) as f64).sqrt()
    };
    Stat { mean, std, n }
}

/// The report over the sweeps in `dirs`, grouped by `by` (default: every swept name).
pub fn report(dirs: &[&Path], by: Option<&[String]>) -> Result<Report> {
    let mut runs = Vec::new();
    let mut names: Vec<String> = Vec::new();
    for dir in dirs {
        let sweep = Sweep::load(dir)?;
        for a in &sweep.plan.axes {
            if !names.contains(&a.name) {
                names.push(a.name.clone());
            }
        }
        for t in &sweep.plan.tasks {
            runs.push(read_row(&sweep, t)?);
        }
    }
    let by: Vec<String> = match by {
        Some(b) => {
            for n in b {
                anyhow::ensure!(
                    names.contains(n),
                    "--by {n}: not a swept name (the sweeps have: {})",
                    names.join(", ")
                );
            }
            b.to_vec()
        }
        None => names,
    };
    let mut metrics: Vec<String> = Vec::new();
    for r in &runs {
        for k in r.metrics.keys() {
            if !metrics.contains(k) {
                metrics.push(k.clone());
            }
        }
    }
    // each group with the indices of its runs, in the order groups first appear
    let mut groups: Vec<(Group, Vec<usize>)> = Vec::new();
    for (i, r) in runs.iter().enumerate() {
        let key: BTreeMap<String, String> = by
            .iter()
            .map(|n| (n.clone(), r.values.get(n).cloned().unwrap_or_default()))
            .collect();
        match groups.iter_mut().find(|(g, _)| g.values == key) {
            Some((_, members)) => members.push(i),
            None => groups.push((
                Group {
                    values: key,
                    n: 0,
                    total: 0,
                    failed_seeds: vec![],
                    stats: BTreeMap::new(),
                },
                vec![i],
            )),
        }
    }
    let groups = groups
        .into_iter()
        .map(|(mut g, members)| {
            let members: Vec<&Row> = members.iter().map(|&i| &runs[i]).collect();
            g.total = members.len();
            g.failed_seeds = members
                .iter()
                .filter(|r| r.state == State::Failed)
                .map(|r| r.seed)
                .collect();
            let done: Vec<&&Row> = members.iter().filter(|r| r.state == State::Done).collect();
            g.n = done.len();
            for m in &metrics {
                let xs: Vec<f64> = done
                    .iter()
                    .filter_map(|r| r.metrics.get(m).copied())
                    .collect();
                if !xs.is_empty() {
                    g.stats.insert(m.clone(), mean_std(&xs));
                }
            }
            g
        })
        .collect();
    Ok(Report {
        by,
        metrics,
        groups,
        runs,
    })
}

fn read_row(sweep: &Sweep, t: &super::grid::Task) -> Result<Row> {
    let dir = sweep.run_dir(t);
    let status = Status::read(&dir)?;
    let mut metrics = BTreeMap::new();
    let mut curves: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    if status.state == State::Done {
        let text = read_text(&dir.join("metrics.jsonl"))?.unwrap_or_default();
        for (i, line) in text.lines().enumerate() {
            let v: Value = serde_json::from_str(line).map_err(|e| {
                anyhow::anyhow!("{}:{}: {e}", dir.join("metrics.jsonl").display(), i + 1)
            })?;
            for (k, x) in numbers(&v, "") {
                if !NOT_RESULTS.contains(&k.as_str()) {
                    curves.entry(k.clone()).or_default().push(x);
                    metrics.insert(k, x);
                }
            }
        }
        for (file, prefix) in [
            ("results.json", ""),
            ("eval_parzen.json", "parzen_"),
            ("eval_classifier.json", ""),
        ] {
            if let Some(text) = read_text(&dir.join(file))? {
                let v: Value = serde_json::from_str(&text)
                    .map_err(|e| anyhow::anyhow!("{}: {e}", dir.join(file).display()))?;
                let keep = |k: &str| match file {
                    "eval_parzen.json" => matches!(k, "ll" | "se"),
                    "eval_classifier.json" => matches!(k, "fd" | "score"),
                    _ => true,
                };
                metrics.extend(numbers(&v, prefix).filter(|(k, _)| keep(&k[prefix.len()..])));
            }
        }
    }
    Ok(Row {
        sweep: sweep.dir.display().to_string(),
        name: t.name.clone(),
        values: t.set.iter().cloned().collect(),
        seed: t.seed,
        state: status.state,
        metrics,
        curves,
    })
}

/// A run's file as text; None when absent.
fn read_text(path: &Path) -> Result<Option<String>> {
    if std::fs::symlink_metadata(path).is_err() {
        return Ok(None);
    }
    let bytes = read_regular(path, MAX_FILE)?;
    Ok(Some(String::from_utf8(bytes).map_err(|_| {
        anyhow::anyhow!("{}: not UTF-8", path.display())
    })?))
}

/// The top-level finite numbers of a JSON object, names prefixed.
fn numbers<'a>(v: &'a Value, prefix: &'a str) -> impl Iterator<Item = (String, f64)> + 'a {
    v.as_object()
        .into_iter()
        .flatten()
        .filter_map(move |(k, x)| {
            Some((
                format!("{prefix}{k}"),
                x.as_f64().filter(|f| f.is_finite())?,
            ))
        })
}
