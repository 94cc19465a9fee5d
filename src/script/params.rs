//! Which `param(NAME, default)` names a recipe reads, found in its syntax tree before it runs:
//! `gan sweep` refuses a swept name the recipe never reads before any run starts (a typo would
//! otherwise cost a whole grid of identical runs).

use std::collections::BTreeSet;

use rhai::{ASTNode, Engine, Expr};

use super::ScriptError;

/// The names a recipe passes to `param`.
#[derive(Debug, Default, PartialEq)]
pub struct ParamsRead {
    /// Names given as string literals (anywhere: top level, functions, closures).
    pub names: BTreeSet<String>,
    /// `line:col` of each `param` call whose name is computed, so cannot be known in advance.
    pub computed: Vec<String>,
    /// `line:col` of each `import`: a module may read parameters this text does not show.
    pub imports: Vec<String>,
}

impl ParamsRead {
    /// Whether the recipe may read names besides [`ParamsRead::names`].
    pub fn is_complete(&self) -> bool {
        self.computed.is_empty() && self.imports.is_empty()
    }
}

/// Parses `text` (named `source_name` in errors) and lists the `param` names it reads.
pub fn params_read(source_name: &str, text: &str) -> Result<ParamsRead, ScriptError> {
    // A bare engine parses the same language: calls are bound at run time, so the DSL's
    // functions need not be registered to find them in the tree.
    let mut engine = Engine::new();
    engine.set_optimization_level(rhai::OptimizationLevel::None);
    let ast = engine
        .compile(text)
        .map_err(|e| ScriptError::from_parse(&e, source_name, text))?;
    let mut out = ParamsRead::default();
    ast.walk(&mut |path: &[ASTNode]| {
        match path.last() {
            Some(ASTNode::Expr(Expr::FnCall(call, pos))) if call.name == "param" => {
                match call.args.first() {
                    Some(Expr::StringConstant(name, _)) => {
                        out.names.insert(name.to_string());
                    }
                    _ => out.computed.push(at(*pos)),
                }
            }
            Some(ASTNode::Stmt(rhai::Stmt::Import(_, pos))) => out.imports.push(at(*pos)),
            _ => {}
        }
        true
    });
    Ok(out)
}

/// `line:col`, as script errors write a position.
fn at(pos: rhai::Position) -> String {
    format!(
        "{}:{}",
        pos.line().unwrap_or(0),
        pos.position().unwrap_or(0)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(p: &ParamsRead) -> Vec<&str> {
        p.names.iter().map(String::as_str).collect()
    }

    #[test]
    fn finds_literal_names_everywhere_and_flags_computed_ones() {
        let text = r#"
// param("in_a_comment", 1)
let s = "param(\"in_a_string\", 2)";
let epochs = param("epochs", 5);
fn lr() { param("lr", 0.1) }
let f = |x| x * param("scale", 2.0);
let n = param("n" + "x", 3);
"#;
        let p = params_read("r.rhai", text).unwrap();
        assert_eq!(names(&p), ["epochs", "lr", "scale"]);
        assert_eq!(p.computed, ["7:9"]);
        assert!(p.imports.is_empty() && !p.is_complete());
        let p = params_read("r.rhai", "import \"m\" as m;\nlet a = param(\"a\", 1);").unwrap();
        assert_eq!(names(&p), ["a"]);
        assert_eq!(p.imports, ["1:1"]);
        assert!(params_read("r.rhai", "let a = param(\"a\", 1);")
            .unwrap()
            .is_complete());
    }

    #[test]
    fn a_syntax_error_names_its_place() {
        let e = params_read("r.rhai", "let a = 1;\nlet = 2;")
            .unwrap_err()
            .to_string();
        assert!(e.contains("r.rhai:2:"), "{e}");
    }
}
