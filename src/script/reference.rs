//! The DSL reference as Markdown (`gan docs`, committed as `docs/dsl.md`), generated from the
//! same table [`super::docs::DOCS`] that `:help` reads, so the two cannot drift apart.

use super::docs::{Kind, DOCS, TOPICS};

/// The command that regenerates `docs/dsl.md`; the staleness test names it.
pub const REGENERATE: &str = "cargo run --release -- docs > docs/dsl.md";

/// Every entry of [`DOCS`], grouped by topic, overloads in the table's order.
pub fn markdown() -> String {
    let mut out = String::from("# DSL reference\n\n");
    out.push_str(&format!(
        "<!-- Generated from src/script/docs.rs by `gan docs`; do not edit by hand. \
         Regenerate with `{REGENERATE}` (tests/docs_reference.rs fails when this file is stale). -->\n\n"
    ));
    out.push_str(
        "Every function, method and property a recipe can call, from the table that `:help NAME` \
         shows in the REPL and Jupyter's inspect (Shift-Tab) shows in notebooks. A method \
         `x.f(a)` can also be called as `f(x, a)`. Option maps (`#{ … }`) are checked: an \
         unknown key or a value of the wrong type is an error naming the key and the call.\n",
    );
    for &(topic, title) in TOPICS {
        out.push_str(&format!("\n## {title}\n\n"));
        for d in DOCS.iter().filter(|d| d.topic == topic) {
            let what = match d.kind {
                Kind::Function => "",
                Kind::Method => " (method)",
                Kind::Property => " (property)",
            };
            out.push_str(&format!("- `{}`{what}: {}\n", d.signature, d.doc));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_entry_is_in_the_reference_once_under_its_topic() {
        let md = markdown();
        for d in DOCS {
            let line = format!("- `{}`", d.signature);
            assert_eq!(md.matches(&line).count(), 1, "{line}");
            let title = TOPICS.iter().find(|t| t.0 == d.topic).expect(d.topic).1;
            let (section, at) = (md.find(&format!("\n## {title}\n")), md.find(&line));
            assert!(section < at, "{line} before its section {title}");
        }
    }
}
