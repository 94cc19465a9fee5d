//! A sweep report as text: a Markdown table (what `gan report` prints), CSV, or JSON.

use super::report::{Report, Stat};

/// `x` to 4 significant digits (no exponent for the magnitudes a GAN's metrics take).
pub fn num(x: f64) -> String {
    if !x.is_finite() {
        return "—".into();
    }
    if x == 0.0 {
        return "0".into();
    }
    let magnitude = x.abs().log10().floor() as i32;
    if !(-4..=6).contains(&magnitude) {
        return format!("{x:.3e}");
    }
    let decimals = (3 - magnitude).clamp(0, 10) as usize;
    format!("{x:.decimals$}")
}

fn cell(s: Option<&Stat>) -> String {
    match s {
        None => String::new(),
        Some(s) if s.n < 2 => num(s.mean),
        Some(s) => format!("{} ± {}", num(s.mean), num(s.std)),
    }
}

fn seeds(v: &[u64]) -> String {
    v.iter()
        .map(|s| s.to_string())
        .collect::<Vec<_>>()
        .join(" ")
}

/// The grouped table in Markdown: one row a group, `mean ± std` (n − 1) per metric.
pub fn markdown(r: &Report) -> String {
    let mut head: Vec<String> = r.by.clone();
    head.push("n".into());
    head.extend(r.metrics.iter().cloned());
    head.push("failed seeds".into());
    let mut out = format!("| {} |\n", head.join(" | "));
    out += &format!("|{}\n", "---|".repeat(head.len()));
    for g in &r.groups {
        let mut row: Vec<String> = r.by.iter().map(|b| g.values[b].clone()).collect();
        row.push(format!("{}/{}", g.n, g.total));
        row.extend(r.metrics.iter().map(|m| cell(g.stats.get(m))));
        row.push(seeds(&g.failed_seeds));
        out += &format!("| {} |\n", row.join(" | "));
    }
    out
}

/// The grouped table as CSV: per metric a `_mean` and a `_std` column, full precision.
pub fn csv(r: &Report) -> String {
    let quote = |s: &str| {
        if s.contains([',', '"', '\n']) {
            format!("\"{}\"", s.replace('"', "\"\""))
        } else {
            s.to_string()
        }
    };
    let mut head: Vec<String> = r.by.iter().map(|b| quote(b)).collect();
    head.extend(["n".into(), "total".into()]);
    for m in &r.metrics {
        head.push(quote(&format!("{m}_mean")));
        head.push(quote(&format!("{m}_std")));
    }
    head.push("failed_seeds".into());
    let mut out = head.join(",") + "\n";
    for g in &r.groups {
        let mut row: Vec<String> = r.by.iter().map(|b| quote(&g.values[b])).collect();
        row.extend([g.n.to_string(), g.total.to_string()]);
        for m in &r.metrics {
            let s = g.stats.get(m);
            let f = |x: Option<f64>| {
                x.filter(|x| x.is_finite())
                    .map(|x| x.to_string())
                    .unwrap_or_default()
            };
            row.push(f(s.map(|s| s.mean)));
            row.push(f(s.map(|s| s.std)));
        }
        row.push(seeds(&g.failed_seeds));
        out += &(row.join(",") + "\n");
    }
    out
}
