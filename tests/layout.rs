//! The source tree's shape, enforced: the dependency rules the README's Layout states, no circles
//! among files, and no source file over 500 lines (tests apart).
//!
//! Edges come from the code itself: every `use` tree and every inline `crate::…` / `super::…` /
//! `gan::…` path, resolved to the file that defines the module it names. Comments and string
//! literals are stripped first, so a doc link does not count as a dependency. A directory's
//! `mod.rs` is that directory's interface: its children may use it (that edge is not a circle),
//! and its `pub use` re-exports are not dependencies (a re-export anywhere else is).

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

const MAX_LINES: usize = 500;

/// Top-level modules that may name the `rhai` crate: the script layer and what renders it.
const RHAI_ALLOWED: &[&str] = &["script", "session", "cli", "main"];

/// `(from, to)`: a top-level module that must not depend on another, the direction the layering
/// forbids (engine <- script <- session <- front ends; leaves never reach back up).
const FORBIDDEN: &[(&str, &str)] = &[
    ("engine", "script"),
    ("engine", "session"),
    ("engine", "sweep"),
    ("engine", "eval"),
    ("engine", "viz"),
    ("engine", "checkpoint"),
    ("engine", "learner"),
    ("linalg", "engine"),
    ("data", "engine"),
    ("data", "script"),
    ("data", "session"),
    ("viz", "script"),
    ("viz", "session"),
    ("eval", "script"),
    ("eval", "session"),
    ("checkpoint", "script"),
    ("checkpoint", "session"),
    ("diagnose", "script"),
    ("diagnose", "session"),
    ("learner", "script"),
    ("learner", "session"),
    ("paper", "script"),
    ("paper", "session"),
    ("safe_fs", "script"),
    ("script", "session"),
    ("sweep", "session"),
];

struct SrcFile {
    /// Which crate the file belongs to: the library (`lib.rs`) or the binary (`main.rs`, `cli/`).
    bin: bool,
    /// Module path inside its crate (`["engine", "fast", "gemm"]`).
    module: Vec<String>,
    rel: String,
    /// `mod.rs` / `lib.rs`: a directory's interface, whose `pub use` re-exports are not dependencies.
    interface: bool,
    code: String,
    lines_before_tests: usize,
}

fn files_under(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).unwrap() {
        let p = entry.unwrap().path();
        if p.is_dir() {
            files_under(&p, out);
        } else if p.extension().is_some_and(|e| e == "rs") {
            out.push(p);
        }
    }
}

/// Replaces comments and the contents of string and char literals with spaces (lines kept).
fn strip(text: &str) -> String {
    let b: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    let blank = |c: char| if c == '\n' { '\n' } else { ' ' };
    while i < b.len() {
        let c = b[i];
        let next = b.get(i + 1).copied();
        if c == '/' && next == Some('/') {
            while i < b.len() && b[i] != '\n' {
                out.push(' ');
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            let mut depth = 0;
            while i < b.len() {
                if b[i] == '/' && b.get(i + 1) == Some(&'*') {
                    depth += 1;
                    out.push_str("  ");
                    i += 2;
                } else if b[i] == '*' && b.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    out.push_str("  ");
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    out.push(blank(b[i]));
                    i += 1;
                }
            }
        } else if c == 'r'
            && (next == Some('"') || next == Some('#'))
            && !ident_char(b.get(i.wrapping_sub(1)).copied())
        {
            // Raw string r"…" / r#"…"#.
            let mut j = i + 1;
            let mut hashes = 0;
            while b.get(j) == Some(&'#') {
                hashes += 1;
                j += 1;
            }
            if b.get(j) != Some(&'"') {
                out.push(c);
                i += 1;
                continue;
            }
            for _ in i..=j {
                out.push(' ');
            }
            i = j + 1;
            while i < b.len() {
                if b[i] == '"' && (0..hashes).all(|h| b.get(i + 1 + h) == Some(&'#')) {
                    for _ in 0..=hashes {
                        out.push(' ');
                    }
                    i += 1 + hashes;
                    break;
                }
                out.push(blank(b[i]));
                i += 1;
            }
        } else if c == '"' {
            out.push(' ');
            i += 1;
            while i < b.len() && b[i] != '"' {
                if b[i] == '\\' {
                    out.push(' ');
                    i += 1;
                }
                if i < b.len() {
                    out.push(blank(b[i]));
                    i += 1;
                }
            }
            out.push(' ');
            i += 1;
        } else if c == '\'' {
            // A char literal ('x', '\n', '\u{..}') or a lifetime ('a): blank only literals.
            let close = if next == Some('\\') {
                (i + 2..b.len().min(i + 12)).find(|&j| b[j] == '\'')
            } else if b.get(i + 2) == Some(&'\'') {
                Some(i + 2)
            } else {
                None
            };
            match close {
                Some(j) => {
                    for _ in i..=j {
                        out.push(' ');
                    }
                    i = j + 1;
                }
                None => {
                    out.push(c);
                    i += 1;
                }
            }
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

fn ident_char(c: Option<char>) -> bool {
    c.is_some_and(|c| c.is_alphanumeric() || c == '_')
}

fn load(root: &Path) -> Vec<SrcFile> {
    let src = root.join("src");
    let mut paths = Vec::new();
    files_under(&src, &mut paths);
    paths.sort();
    paths
        .into_iter()
        .map(|p| {
            let rel_path = p.strip_prefix(&src).unwrap();
            let mut module: Vec<String> = rel_path
                .iter()
                .map(|s| s.to_string_lossy().into_owned())
                .collect();
            let last = module.pop().unwrap();
            let stem = last.trim_end_matches(".rs");
            let bin =
                module.first().is_some_and(|m| m == "cli") || (module.is_empty() && stem == "main");
            if stem != "mod" && stem != "lib" && stem != "main" {
                module.push(stem.to_string());
            }
            let text = fs::read_to_string(&p).unwrap();
            // Tests apart: a file's trailing `#[cfg(test)]` module is neither counted nor a
            // dependency, and test-only files (`tests.rs`, `testing.rs`, `tests/`) are skipped.
            let lines: Vec<&str> = text.lines().collect();
            let tests_at = (0..lines.len())
                .find(|&i| {
                    lines[i].trim_start().starts_with("#[cfg(test)]")
                        && lines
                            .get(i + 1)
                            .is_some_and(|n| n.contains("mod ") && n.trim_end().ends_with('{'))
                })
                .unwrap_or(lines.len());
            let before_tests = &lines[..tests_at];
            let lines_before_tests = before_tests.len();
            let test_only =
                stem == "tests" || stem == "testing" || module.iter().any(|m| m == "tests");
            let code = if test_only {
                String::new()
            } else {
                strip(&before_tests.join("\n"))
            };
            SrcFile {
                bin,
                module,
                rel: format!("src/{}", rel_path.display()),
                interface: stem == "mod" || stem == "lib",
                code,
                lines_before_tests,
            }
        })
        .collect()
}

/// Expands a `use` tree (whitespace removed) into full paths: `a::{b,c::d}` -> `a::b`, `a::c::d`.
fn expand_use(tree: &str, prefix: &str, out: &mut Vec<String>) {
    let tree = tree.trim();
    if tree.is_empty() {
        return;
    }
    if let Some(open) = tree.find('{') {
        let head = &tree[..open];
        let body = &tree[open + 1..tree.rfind('}').unwrap_or(tree.len())];
        let mut depth = 0;
        let mut start = 0;
        let parts: Vec<&str> = {
            let mut v = Vec::new();
            for (i, ch) in body.char_indices() {
                match ch {
                    '{' => depth += 1,
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        v.push(&body[start..i]);
                        start = i + 1;
                    }
                    _ => {}
                }
            }
            v.push(&body[start..]);
            v
        };
        let new_prefix = format!("{prefix}{head}");
        for part in parts {
            expand_use(part, &new_prefix, out);
        }
    } else {
        let path = tree.split(" as ").next().unwrap_or(tree);
        out.push(format!("{prefix}{path}"));
    }
}

/// Every path a file names, as segment lists, with where it came from.
fn paths_named(code: &str) -> Vec<(Vec<String>, bool)> {
    let mut out = Vec::new();
    // `use` trees (the flag says whether it was a `pub use`, a re-export).
    let mut rest = code;
    let mut outside_uses = String::with_capacity(code.len());
    while let Some(pos) = find_keyword(rest, "use") {
        outside_uses.push_str(&rest[..pos]);
        let before = rest[..pos].trim_end();
        let is_pub = before.ends_with("pub") || before.ends_with(')') && before.contains("pub(");
        let after = &rest[pos + 3..];
        let end = after.find(';').unwrap_or(after.len());
        let tree: String = after[..end]
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        let tree = tree
            .replace(" ::", "::")
            .replace(":: ", "::")
            .replace(" {", "{")
            .replace("{ ", "{");
        let tree = tree
            .replace(", ", ",")
            .replace(" }", "}")
            .replace(" ,", ",");
        let mut expanded = Vec::new();
        expand_use(&tree, "", &mut expanded);
        for e in expanded {
            out.push((
                e.split("::").map(|s| s.trim().to_string()).collect(),
                is_pub,
            ));
        }
        rest = &after[end.min(after.len())..];
    }
    outside_uses.push_str(rest);
    let code = outside_uses.as_str();
    // Inline paths: `crate::a::b`, `super::x`, `gan::m`, outside `use` lines too (duplicates are harmless).
    let chars: Vec<char> = code.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        if ident_char(Some(chars[i]))
            && !ident_char(i.checked_sub(1).map(|j| chars[j]))
            && !(i > 1 && chars[i - 1] == ':' && chars[i - 2] == ':')
        {
            let mut j = i;
            let mut segs = Vec::new();
            loop {
                let s = j;
                while j < chars.len() && ident_char(Some(chars[j])) {
                    j += 1;
                }
                segs.push(chars[s..j].iter().collect::<String>());
                if j + 2 < chars.len()
                    && chars[j] == ':'
                    && chars[j + 1] == ':'
                    && ident_char(Some(chars[j + 2]))
                {
                    j += 2;
                } else {
                    break;
                }
            }
            if segs.len() > 1 && matches!(segs[0].as_str(), "crate" | "super" | "gan" | "self") {
                out.push((segs, false));
            }
            i = j.max(i + 1);
        } else {
            i += 1;
        }
    }
    out
}

fn find_keyword(hay: &str, kw: &str) -> Option<usize> {
    let mut from = 0;
    while let Some(p) = hay[from..].find(kw) {
        let at = from + p;
        let before = hay[..at].chars().next_back();
        let after = hay[at + kw.len()..].chars().next();
        if !ident_char(before) && after.is_some_and(|c| c.is_whitespace()) {
            return Some(at);
        }
        from = at + kw.len();
    }
    None
}

/// Which file a path names, given the file it appears in: the longest prefix that is a module file.
fn resolve(
    file: &SrcFile,
    segs: &[String],
    modules: &BTreeMap<(bool, Vec<String>), usize>,
) -> Option<usize> {
    let (bin, mut abs): (bool, Vec<String>) = match segs[0].as_str() {
        "crate" => (file.bin, segs[1..].to_vec()),
        "gan" => (false, segs[1..].to_vec()),
        "self" => {
            let mut m = file.module.clone();
            m.extend_from_slice(&segs[1..]);
            (file.bin, m)
        }
        "super" => {
            let mut m = file.module.clone();
            let mut k = 0;
            while segs.get(k).is_some_and(|s| s == "super") {
                m.pop();
                k += 1;
            }
            m.extend_from_slice(&segs[k..]);
            (file.bin, m)
        }
        _ => return None,
    };
    while !abs.is_empty() {
        if let Some(&i) = modules.get(&(bin, abs.clone())) {
            return Some(i);
        }
        abs.pop();
    }
    None
}

fn top(f: &SrcFile) -> String {
    if f.bin {
        return f.module.first().cloned().unwrap_or_else(|| "main".into());
    }
    f.module.first().cloned().unwrap_or_else(|| "lib".into())
}

fn graph(files: &[SrcFile]) -> Vec<BTreeSet<usize>> {
    let mut modules = BTreeMap::new();
    for (i, f) in files.iter().enumerate() {
        modules.insert((f.bin, f.module.clone()), i);
    }
    files
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let mut deps = BTreeSet::new();
            for (segs, reexport) in paths_named(&f.code) {
                if reexport && f.interface {
                    continue;
                }
                let Some(j) = resolve(f, &segs, &modules) else {
                    continue;
                };
                let to = &files[j];
                // A directory's interface (its mod.rs, or lib.rs) used by its own descendants.
                let ancestor = to.bin == f.bin && f.module.starts_with(&to.module);
                if j != i && !ancestor {
                    deps.insert(j);
                }
            }
            deps
        })
        .collect()
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn no_source_file_is_over_500_lines() {
    let files = load(&root());
    let long: Vec<String> = files
        .iter()
        .filter(|f| f.lines_before_tests > MAX_LINES && !f.rel.ends_with("/tests.rs"))
        .map(|f| {
            format!(
                "{} ({} lines before its tests)",
                f.rel, f.lines_before_tests
            )
        })
        .collect();
    assert!(
        long.is_empty(),
        "files over {MAX_LINES} lines:\n  {}",
        long.join("\n  ")
    );
}

#[test]
fn only_the_script_layer_and_its_renderers_name_rhai() {
    let files = load(&root());
    let offenders: Vec<&str> = files
        .iter()
        .filter(|f| !RHAI_ALLOWED.contains(&top(f).as_str()))
        .filter(|f| {
            paths_named(&f.code).iter().any(|(s, _)| s[0] == "rhai") || f.code.contains("rhai::")
        })
        .map(|f| f.rel.as_str())
        .collect();
    assert!(
        offenders.is_empty(),
        "rhai named outside {RHAI_ALLOWED:?}: {offenders:?}"
    );
}

#[test]
fn dependencies_point_one_way_between_top_level_modules() {
    let files = load(&root());
    let g = graph(&files);
    let mut bad = Vec::new();
    for (i, deps) in g.iter().enumerate() {
        for &j in deps {
            let (a, b) = (top(&files[i]), top(&files[j]));
            if FORBIDDEN.contains(&(a.as_str(), b.as_str())) {
                bad.push(format!(
                    "{} -> {} ({a} must not depend on {b})",
                    files[i].rel, files[j].rel
                ));
            }
        }
    }
    assert!(bad.is_empty(), "layering broken:\n  {}", bad.join("\n  "));
    // The top-level graph itself has no circle (within one crate: the binary sits above the library).
    let tops: Vec<(bool, String)> = files
        .iter()
        .map(|f| (f.bin, top(f)))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let at = |f: &SrcFile| tops.iter().position(|t| *t == (f.bin, top(f))).unwrap();
    let mut tg = vec![BTreeSet::new(); tops.len()];
    for (i, deps) in g.iter().enumerate() {
        for &j in deps {
            let (a, b) = (at(&files[i]), at(&files[j]));
            if a != b && files[i].bin == files[j].bin {
                tg[a].insert(b);
            }
        }
    }
    if std::env::var_os("GAN_LAYOUT_PRINT").is_some() {
        for (a, deps) in tg.iter().enumerate() {
            let names: Vec<&str> = deps.iter().map(|&b| tops[b].1.as_str()).collect();
            eprintln!(
                "{}{} -> {}",
                if tops[a].0 { "bin " } else { "" },
                tops[a].1,
                names.join(", ")
            );
        }
    }
    let circles: Vec<String> = strongly_connected(&tg)
        .into_iter()
        .filter(|c| c.len() > 1)
        .map(|c| {
            c.iter()
                .map(|&i| tops[i].1.as_str())
                .collect::<Vec<_>>()
                .join(" <-> ")
        })
        .collect();
    assert!(
        circles.is_empty(),
        "top-level modules that depend on each other: {circles:?}"
    );
}

#[test]
fn no_circles_among_files() {
    let files = load(&root());
    let g = graph(&files);
    let circles: Vec<String> = strongly_connected(&g)
        .into_iter()
        .filter(|c| c.len() > 1)
        .map(|c| {
            c.iter()
                .map(|&i| files[i].rel.as_str())
                .collect::<Vec<_>>()
                .join(" <-> ")
        })
        .collect();
    assert!(
        circles.is_empty(),
        "files that import each other (each line one circle):\n  {}",
        circles.join("\n  ")
    );
}

/// The strongly connected components of a directed graph (Tarjan), each sorted.
fn strongly_connected(g: &[BTreeSet<usize>]) -> Vec<Vec<usize>> {
    struct T<'a> {
        g: &'a [BTreeSet<usize>],
        index: Vec<Option<usize>>,
        low: Vec<usize>,
        on: Vec<bool>,
        stack: Vec<usize>,
        next: usize,
        out: Vec<Vec<usize>>,
    }
    fn visit(t: &mut T, v: usize) {
        t.index[v] = Some(t.next);
        t.low[v] = t.next;
        t.next += 1;
        t.stack.push(v);
        t.on[v] = true;
        for &w in t.g[v].iter() {
            match t.index[w] {
                None => {
                    visit(t, w);
                    t.low[v] = t.low[v].min(t.low[w]);
                }
                Some(iw) if t.on[w] => t.low[v] = t.low[v].min(iw),
                _ => {}
            }
        }
        if Some(t.low[v]) == t.index[v] {
            let mut c = Vec::new();
            loop {
                let w = t.stack.pop().unwrap();
                t.on[w] = false;
                c.push(w);
                if w == v {
                    break;
                }
            }
            c.sort();
            t.out.push(c);
        }
    }
    let n = g.len();
    let mut t = T {
        g,
        index: vec![None; n],
        low: vec![0; n],
        on: vec![false; n],
        stack: Vec::new(),
        next: 0,
        out: Vec::new(),
    };
    for v in 0..n {
        if t.index[v].is_none() {
            visit(&mut t, v);
        }
    }
    t.out
}

#[test]
fn the_checks_see_what_they_claim_to() {
    // The parser itself, on known snippets: a grouped use tree, an inline path, a doc link, a string.
    let code = strip("use crate::engine::{gan::Gan, fast::{gemm, kernels as k}};\n/// [`crate::viz::grid`]\nfn f() { let s = \"crate::eval::x\"; crate::data::mnist::load(); }\npub use super::sibling::Thing;\nuse super::dataset::Dataset;");
    let paths: Vec<(String, bool)> = paths_named(&code)
        .into_iter()
        .map(|(s, p)| (s.join("::"), p))
        .collect();
    for want in [
        "crate::engine::gan::Gan",
        "crate::engine::fast::gemm",
        "crate::engine::fast::kernels",
        "crate::data::mnist::load",
    ] {
        assert!(
            paths.iter().any(|(p, _)| p == want),
            "missed {want} in {paths:?}"
        );
    }
    assert!(
        paths
            .iter()
            .any(|(p, re)| p == "super::sibling::Thing" && *re),
        "pub use not seen as a re-export: {paths:?}"
    );
    // A segment that merely contains "as" is not an alias.
    assert!(
        paths.iter().any(|(p, _)| p == "super::dataset::Dataset"),
        "{paths:?}"
    );
    assert!(
        !paths
            .iter()
            .any(|(p, _)| p.contains("viz") || p.contains("eval")),
        "comment or string counted: {paths:?}"
    );
    let g = vec![BTreeSet::from([1]), BTreeSet::from([0, 2]), BTreeSet::new()];
    assert_eq!(
        strongly_connected(&g)
            .into_iter()
            .filter(|c| c.len() > 1)
            .collect::<Vec<_>>(),
        [vec![0, 1]]
    );
}
