//! `docs/dsl.md` is the generated DSL reference: it must be what `gan docs` prints now, and it
//! must cover the names a first recipe and the paper's recipes use.

use gan::script::reference::{markdown, REGENERATE};

fn committed() -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/dsl.md");
    std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{} cannot be read ({e}); generate it with `{REGENERATE}`",
            path.display()
        )
    })
}

#[test]
fn the_committed_reference_is_not_stale() {
    let (file, now) = (committed(), markdown());
    if file != now {
        let line = file
            .lines()
            .zip(now.lines())
            .position(|(a, b)| a != b)
            .unwrap_or(file.lines().count().min(now.lines().count()));
        panic!(
            "docs/dsl.md is stale (first difference at line {}): regenerate it with `{REGENERATE}`",
            line + 1
        );
    }
}

#[test]
fn the_reference_covers_what_help_lists() {
    let md = markdown();
    for name in [
        "train_d",
        "train_steps",
        "resume",
        "value_at",
        "load_weights",
        "figure1",
        "figure2",
        "figure3",
        "plot_lines",
        "interpolate",
        "linspace",
        "g_grad_norm",
        "density_ratio_check",
        "image_folder",
        "fit",
        "stack",
    ] {
        let help = gan::script::docs::help(name).unwrap_or_else(|| panic!("no :help for {name}"));
        // the first line of :help is the first overload's signature
        let sig = help.lines().next().unwrap();
        assert!(md.contains(&format!("`{sig}`")), "{name}: {sig}");
    }
}
