//! The DSL reference as Markdown (`gan docs`, committed as `docs/dsl.md`), generated from the
//! same table [`super::docs::DOCS`] that `:help` reads, so the two cannot drift apart.

use super::docs::{Kind, DOCS, TOPICS};
use super::option_struct::defaults;
use super::{
    api_data as data, api_data_sets as sets, api_eval as eval, api_image as image,
    api_plot as plot, api_study as study, api_theory as theory, figure_options as figures,
    train_options as train,
};

/// The typed option maps: the call and its options with their defaults, from the declarations
/// the calls read.
fn option_maps() -> Vec<(&'static str, Vec<(String, String)>)> {
    vec![
        ("gan(g, d, opts)", defaults::<train::GanOptions>()),
        ("Gan.fit(data, opts)", defaults::<train::FitOptions>()),
        ("sgd(opts)", defaults::<train::SgdOptions>()),
        ("adam(opts)", defaults::<train::AdamOptions>()),
        ("ring(modes, opts)", defaults::<data::RingOptions>()),
        ("grid(modes, opts)", defaults::<data::GridOptions>()),
        (
            "image_folder(path, opts)",
            defaults::<data::ImageFolderOptions>(),
        ),
        ("Dataset.gcn(opts)", defaults::<data::GcnOptions>()),
        (
            "mnist / fashion_mnist / cifar10(split, opts)",
            defaults::<sets::SetOptions>(),
        ),
        ("Stack.conv(out, k, opts)", defaults::<image::ConvOptions>()),
        (
            "Stack.conv_transpose(out, k, opts)",
            defaults::<image::ConvTransposeOptions>(),
        ),
        (
            "Stack.batch_norm(opts)",
            defaults::<image::BatchNormOptions>(),
        ),
        (
            "Stack.max_pool(k, stride, opts)",
            defaults::<image::MaxPoolOptions>(),
        ),
        ("parzen(gan, opts)", defaults::<eval::ParzenOptions>()),
        (
            "classifier_metrics(gan, opts)",
            defaults::<eval::GanMetricsOptions>(),
        ),
        (
            "classifier_metrics(samples, opts)",
            defaults::<eval::SampleMetricsOptions>(),
        ),
        (
            "Gan.pg_density(xs, opts)",
            defaults::<theory::PgDensityOptions>(),
        ),
        (
            "density_ratio_check(gan, mean, std, opts)",
            defaults::<theory::DensityRatioCheckOptions>(),
        ),
        (
            "plot_lines(file, panels, opts)",
            defaults::<plot::PlotLinesOptions>(),
        ),
        ("a plot_lines() panel", defaults::<plot::PanelOptions>()),
        ("a plot_lines() series", defaults::<plot::SeriesOptions>()),
        ("Gan.train_d(data, opts)", defaults::<study::TrainDOpts>()),
        (
            "Gan.train_steps(data, opts)",
            defaults::<study::TrainStepsOpts>(),
        ),
        ("Gan.g_grad_norm(opts)", defaults::<study::GradNormOpts>()),
        (
            "figure1_panel(gan, data, opts)",
            defaults::<figures::Figure1PanelOpts>(),
        ),
        ("figure1(panels, opts)", defaults::<figures::Figure1Opts>()),
        (
            "figure2(gan, data, opts)",
            defaults::<figures::Figure2Opts>(),
        ),
        ("figure3(gan, opts)", defaults::<figures::Figure3Opts>()),
    ]
}

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
    out.push_str(
        "\n## Option defaults\n\nWhat each key of these option maps is when the map leaves it out \
         (`—`: the function's entry above says).\n\n",
    );
    for (call, options) in option_maps() {
        let listed: Vec<String> = options.iter().map(|(k, v)| format!("`{k}` {v}")).collect();
        out.push_str(&format!("- `{call}`: {}\n", listed.join(", ")));
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
