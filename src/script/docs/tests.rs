use super::*;
use std::collections::BTreeSet;

#[test]
fn complete_and_incomplete_input() {
    use Completeness::*;
    assert_eq!(is_complete("let x = 1;"), Complete);
    assert_eq!(is_complete("1 + 2"), Complete);
    assert_eq!(is_complete(""), Complete);
    assert_eq!(is_complete("fn f(x) {"), Incomplete);
    assert_eq!(is_complete("fn f(x) {\n  x * 2"), Incomplete);
    assert_eq!(is_complete("let s = stack(2)\n  .dense(3,"), Incomplete);
    assert_eq!(is_complete("let a = [1, 2,"), Incomplete);
    assert_eq!(is_complete("let m = #{ a: 1,\n"), Incomplete);
    assert_eq!(is_complete("let x = 1 +"), Incomplete);
    assert_eq!(is_complete("let s = \"abc"), Incomplete);
    assert_eq!(is_complete("/* a comment"), Incomplete);
    assert_eq!(is_complete("if x > 1 {\n print(x);\n} else {"), Incomplete);
    assert_eq!(is_complete("let x = 1 +* 2;"), Invalid);
    assert_eq!(is_complete("let = 3;"), Invalid);
    assert_eq!(is_complete("foo)"), Invalid);
    // strict variables are not a parse matter: undefined names still count as complete
    assert_eq!(is_complete("undefined_thing + 1"), Complete);
}

#[test]
fn words_and_completion() {
    let t = "let g = stack(100).den";
    assert_eq!(word_at(t, t.len()).unwrap().2, "den");
    assert_eq!(word_at("stack(", 6).unwrap().2, "stack");
    assert_eq!(word_at("x = gaussian_1d(4.0", 6).unwrap().2, "gaussian_1d");
    let (start, c) = complete(t, t.len(), &[], &[]);
    assert_eq!(start, t.len() - 3);
    assert_eq!(c, vec!["dense"]);
    let (_, c) = complete("gaus", 4, &[], &[]);
    assert_eq!(c, vec!["gaussian_1d"]);
    let vars = vec!["generator".to_string(), "d".to_string()];
    let (_, c) = complete("ge", 2, &vars, &[]);
    assert!(c.contains(&"generator".to_string()) && c.contains(&"generate".to_string()));
    let (_, c) = complete("print(\"sta", 10, &[], &[]);
    assert!(c.is_empty());
    let (_, c) = complete("g.st", 4, &[], &[]);
    assert_eq!(
        c,
        vec!["std", "step"]
            .into_iter()
            .map(String::from)
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect::<Vec<_>>()
    );
}

#[test]
fn help_texts() {
    let h = help("maxout").unwrap();
    assert!(h.contains("Stack.maxout(units: int, pieces: int)"), "{h}");
    assert!(help("no_such_fn").is_none());
    assert!(overview().contains("stack()"));
}

/// Every function registered on the DSL engine has an entry in DOCS.
#[test]
fn every_dsl_function_is_documented() {
    let host = crate::script::Host::new(
        crate::script::HostConfig::default(),
        std::sync::Arc::new(crate::script::NullSink),
    )
    .unwrap();
    let engine = crate::script::build_engine(&host);
    let documented: BTreeSet<&str> = DOCS.iter().map(|d| d.name).collect();
    let mut missing = BTreeSet::new();
    for sig in engine.gen_fn_signatures(false) {
        // "name(a: T, …) -> R" or "get$name(…)"
        let name = sig.split('(').next().unwrap_or("").trim();
        let name = name.strip_prefix("get$").unwrap_or(name);
        let name = name.strip_prefix("set$").unwrap_or(name);
        if name.is_empty() || !name.chars().next().unwrap().is_alphabetic() {
            continue;
        }
        if !documented.contains(name) {
            missing.insert(sig);
        }
    }
    assert!(
        missing.is_empty(),
        "DSL functions without an entry in src/script/docs.rs DOCS: {missing:#?}"
    );
}
