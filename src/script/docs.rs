//! The DSL's reference: name, signature and a one-paragraph doc of every function, method and
//! property a recipe can call, plus the Rhai-specific helpers interactive front ends need:
//! whether input is complete ([`is_complete`]), what to complete at a cursor ([`complete`]) and
//! the word under a cursor ([`word_at`]). `:help` in the REPL, tab completion and Jupyter's
//! inspect/complete all read from here (through the session).
//!
//! A unit test checks that every function registered on the DSL engine has an entry: a new DSL
//! function needs a line in [`DOCS`].

use std::sync::OnceLock;

use rhai::{Engine, ParseErrorType};

/// What kind of name an entry documents.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A plain function: `stack(784)`.
    Function,
    /// A method on a value: `g.dense(240)` (also callable as `dense(g, 240)`).
    Method,
    /// A read-only property: `gan.step`.
    Property,
}

/// One documented DSL name (a name with overloads has one entry per overload).
#[derive(Clone, Copy, Debug)]
pub struct FnDoc {
    pub name: &'static str,
    pub kind: Kind,
    /// The type the method or property belongs to (`Stack`, `Gan`, …); empty for functions.
    pub on: &'static str,
    pub signature: &'static str,
    pub doc: &'static str,
    /// A short topic for the overview (`stacks`, `data`, `training`, `output`, `misc`).
    pub topic: &'static str,
}

const fn f(
    topic: &'static str,
    name: &'static str,
    signature: &'static str,
    doc: &'static str,
) -> FnDoc {
    FnDoc {
        name,
        kind: Kind::Function,
        on: "",
        signature,
        doc,
        topic,
    }
}

const fn m(
    topic: &'static str,
    on: &'static str,
    name: &'static str,
    signature: &'static str,
    doc: &'static str,
) -> FnDoc {
    FnDoc {
        name,
        kind: Kind::Method,
        on,
        signature,
        doc,
        topic,
    }
}

const fn p(
    topic: &'static str,
    on: &'static str,
    name: &'static str,
    signature: &'static str,
    doc: &'static str,
) -> FnDoc {
    FnDoc {
        name,
        kind: Kind::Property,
        on,
        signature,
        doc,
        topic,
    }
}

/// Every DSL name, grouped by topic.
pub static DOCS: &[FnDoc] = &[
    // ---- stacks
    f("stacks", "stack", "stack(inputs: int) -> Stack",
      "Starts a layer stack taking `inputs` values per row (the noise size for G, the data size for D). Add layers with methods: `stack(100).dense(1200).relu().dense(784).sigmoid()`."),
    m("stacks", "Stack", "dense", "Stack.dense(units: int) -> Stack",
      "Appends a fully connected layer with `units` outputs (weights uniform in ±irange: 0.05 in G, 0.005 in D, the paper's values)."),
    m("stacks", "Stack", "dense", "Stack.dense(units: int, irange: float) -> Stack",
      "Appends a fully connected layer with `units` outputs, initial weights uniform in [-irange, irange] (the paper's pylearn2 `irange`)."),
    m("stacks", "Stack", "maxout", "Stack.maxout(units: int, pieces: int) -> Stack",
      "Appends a maxout layer: `units` outputs, each the max over `pieces` linear pieces (the paper's discriminators)."),
    m("stacks", "Stack", "maxout", "Stack.maxout(units: int, pieces: int, irange: float) -> Stack",
      "Appends a maxout layer with initial weights uniform in [-irange, irange]."),
    m("stacks", "Stack", "relu", "Stack.relu() -> Stack", "Appends a ReLU activation."),
    m("stacks", "Stack", "sigmoid", "Stack.sigmoid() -> Stack",
      "Appends a logistic sigmoid (G's output for pixels in [0, 1]; D ends in `dense(1)` instead: it outputs a logit and the losses apply the sigmoid)."),
    m("stacks", "Stack", "tanh", "Stack.tanh() -> Stack", "Appends a tanh activation."),
    m("stacks", "Stack", "leaky_relu", "Stack.leaky_relu(slope: float) -> Stack",
      "Appends a leaky ReLU with negative slope `slope`."),
    m("stacks", "Stack", "dropout", "Stack.dropout(keep: float) -> Stack",
      "Appends dropout on the layer's inputs; `keep` is the probability of keeping a value, in (0, 1] (the paper's D uses 0.8 on inputs, 0.5 inside)."),
    m("stacks", "Stack", "output_size", "Stack.output_size() -> int",
      "The number of values the stack outputs (an error names the layer if the stack is inconsistent)."),
    m("stacks", "Stack", "params", "Stack.params() -> int", "The number of trainable parameters."),
    p("stacks", "Stack", "input", "Stack.input -> int", "The number of inputs per row."),
    p("stacks", "Stack", "layers", "Stack.layers -> int", "The number of layers so far."),
    f("stacks", "stack", "stack(image: array) -> Stack",
      "Starts a stack taking images `[channels, height, width]` (rows of c·h·w values, channel after channel): `stack([1, 28, 28]).conv(64, 4, #{ stride: 2, padding: 1 })…`. The first layer is the `reshape` to that image."),
    m("stacks", "Stack", "conv", "Stack.conv(out_channels: int, kernel: int) -> Stack",
      "Appends a 2-D convolution (PyTorch's Conv2d, square kernel, stride 1, no padding, with a bias) on an image input. Weights N(0, 0.02²) as DCGAN initialises them. Fast path only (not GAN_ENGINE=reference)."),
    m("stacks", "Stack", "conv", "Stack.conv(out_channels: int, kernel: int, opts: map) -> Stack",
      "A convolution with options `#{ stride, padding, bias }` (1, 0, true). The windows must tile the padded input exactly: `size + 2·padding − kernel` a multiple of the stride, else an error at this call naming the input shape."),
    m("stacks", "Stack", "conv_transpose", "Stack.conv_transpose(out_channels: int, kernel: int) -> Stack",
      "Appends a transposed 2-D convolution (PyTorch's ConvTranspose2d): output side `(in − 1)·stride − 2·padding + kernel + output_padding`. Weights N(0, 0.02²). Fast path only."),
    m("stacks", "Stack", "conv_transpose", "Stack.conv_transpose(out_channels: int, kernel: int, opts: map) -> Stack",
      "A transposed convolution with options `#{ stride, padding, output_padding, bias }` (1, 0, 0, true); `output_padding` must be below the stride."),
    m("stacks", "Stack", "batch_norm", "Stack.batch_norm() -> Stack",
      "Appends batch normalisation (per channel on images, per feature on flat rows; momentum 0.1, eps 1e-5, PyTorch's conventions). Training uses each pass's batch statistics (D's real and fake halves separately, as two calls would), sampling and evaluation the running statistics, which checkpoints save. Fast path only."),
    m("stacks", "Stack", "batch_norm", "Stack.batch_norm(opts: map) -> Stack",
      "Batch normalisation with options `#{ momentum, eps }` (`momentum` is the new batch's weight in the running statistics)."),
    m("stacks", "Stack", "reshape", "Stack.reshape(c: int, h: int, w: int) -> Stack",
      "Sees each row as a `c × h × w` image (the sizes must hold the same number of values, else an error naming both shapes)."),
    m("stacks", "Stack", "flatten", "Stack.flatten() -> Stack",
      "Sees each row as flat features again (a `dense` layer also takes an image directly)."),
    m("stacks", "Stack", "upsample", "Stack.upsample(scale: int) -> Stack",
      "Appends nearest-neighbour upsampling of an image by `scale` on both axes. Fast path only."),
    m("stacks", "Stack", "avg_pool", "Stack.avg_pool(k: int) -> Stack",
      "Appends average pooling over non-overlapping k×k windows (height and width must be multiples of k). Fast path only."),
    m("stacks", "Stack", "max_pool", "Stack.max_pool(k: int, stride: int) -> Stack",
      "Appends max pooling over k×k windows `stride` apart (1 ≤ stride ≤ k; the windows must tile the image; ties go to the first maximum). Fast path only."),
    m("stacks", "Stack", "channel_maxout", "Stack.channel_maxout(pieces: int) -> Stack",
      "Appends maxout over channel groups: output channel u is the max of input channels u·pieces … u·pieces + pieces − 1 (pylearn2's maxout after a convolution). Fast path only."),
    m("stacks", "Stack", "summary", "Stack.summary() -> string",
      "A table of the stack: each layer with its output shape and parameter count, then the total."),
    // ---- data
    f("data", "mnist", "mnist(split: string) -> Dataset",
      "MNIST images (28×28, values in [0, 1]) from the data directory: \"train\" (rows 0–49,999 of the training file), \"valid\" (50,000–59,999), \"test\" (the 10,000 test images) or \"train_all\" (all 60,000). Read once per session."),
    f("data", "gaussian_1d", "gaussian_1d(mean: float, std: float) -> Dataset",
      "10,000 draws from N(mean, std²): the 1-D toy of the paper's Figure 1. Seeded by `seed(…)`."),
    f("data", "gaussian_1d", "gaussian_1d(mean: float, std: float, n: int) -> Dataset",
      "`n` draws from N(mean, std²) (at most 10,000,000)."),
    f("data", "ring", "ring(modes: int) -> Dataset",
      "10,000 points of a 2-D mixture of `modes` Gaussians on a circle of radius 2 (std 0.02); rows are labelled by mode."),
    f("data", "ring", "ring(modes: int, opts: map) -> Dataset",
      "A ring mixture with options `#{ radius, std, n }` (at most 256 modes and 10,000,000 rows)."),
    f("data", "grid", "grid(modes: int) -> Dataset",
      "10,000 points of a 2-D mixture of Gaussians on a square grid (`modes` must be a square, e.g. 25); spacing 2, std 0.02."),
    f("data", "grid", "grid(modes: int, opts: map) -> Dataset",
      "A grid mixture with options `#{ spacing, std, n }` (at most 256 modes and 10,000,000 rows)."),
    f("data", "image_folder", "image_folder(path: string, opts: map) -> Dataset",
      "Images from a folder inside `$GAN_IMAGES_DIR` when set, else inside the data directory, in `color: \"gray\"` or `\"rgb\"`. Every image is resized to `#{ width, height }` (default 28 × 28; triangle filter, aspect ratio not kept), so images of other sizes are stretched, not refused."),
    p("data", "Dataset", "rows", "Dataset.rows -> int", "The number of rows (examples)."),
    p("data", "Dataset", "dim", "Dataset.dim -> int", "Values per row (784 for MNIST)."),
    p("data", "Dataset", "name", "Dataset.name -> string", "The dataset's name."),
    m("data", "Dataset", "mean", "Dataset.mean() -> float", "The mean of all values."),
    m("data", "Dataset", "std", "Dataset.std() -> float", "The standard deviation of all values."),
    m("data", "Dataset", "slice", "Dataset.slice(start: int, end: int) -> Dataset",
      "Rows start..end (end excluded) as a new dataset."),
    m("data", "Dataset", "rows_of", "Dataset.rows_of(start: int, end: int) -> Samples",
      "Rows start..end as a Samples batch (to `show` real images next to generated ones)."),
    // ---- training
    f("training", "seed", "seed(n: int)",
      "Sets the seed for everything created afterwards (networks, noise, toy data, batches). `gan run --seed` overrides it."),
    f("training", "get_seed", "get_seed() -> int", "The current seed."),
    f("training", "param", "param(name: string, default) -> value",
      "A recipe parameter: `default`, unless `gan run --set name=VALUE` gives one (parsed as the default's type)."),
    f("training", "constant", "constant(v: float) -> Schedule", "A constant schedule."),
    f("training", "exp_decay", "exp_decay(start: float, factor: float, floor: float) -> Schedule",
      "start × factor^step, never below `floor` (the paper's learning-rate decay, per step)."),
    f("training", "ramp", "ramp(start: float, end: float, from: int, to: int) -> Schedule",
      "`start` until epoch `from`, then linear to `end` at epoch `to` (the paper's momentum ramp 0.5 → 0.7)."),
    f("training", "step_decay", "step_decay(start: float, factor: float, every: int) -> Schedule",
      "start × factor^⌊epoch / every⌋."),
    m("training", "Schedule", "value_at", "Schedule.value_at(step: int, epoch: int) -> float",
      "The schedule's value at a step and epoch."),
    f("training", "sgd", "sgd(opts: map) -> Optimizer",
      "SGD with `#{ lr, momentum, nesterov, weight_decay }`; `lr` and `momentum` take numbers or schedules."),
    f("training", "adam", "adam(opts: map) -> Optimizer",
      "Adam with `#{ lr, beta1, beta2, eps, weight_decay }`."),
    f("training", "paper_sgd", "paper_sgd() -> Optimizer",
      "The paper's optimizer: SGD, lr 0.1 decaying ×1/1.000004 per step to 1e-6, momentum 0.5 ramping to 0.7 over epochs 1..250."),
    f("training", "gan", "gan(g: Stack, d: Stack) -> Gan",
      "Builds the game from a generator and a discriminator stack (checked against each other), with the non-saturating loss and simultaneous updates."),
    f("training", "gan", "gan(g: Stack, d: Stack, opts: map) -> Gan",
      "Builds the game with options `#{ loss: \"non_saturating\"|\"saturating\"|\"least_squares\"|\"hinge\", scheme: \"simultaneous\"|\"alternating\", k, noise: \"uniform\"|\"gaussian\", noise_scale, init_bias_from_marginals, name }`."),
    m("training", "Gan", "fit", "Gan.fit(data: Dataset, opts: map) -> map",
      "Trains for `epochs` more epochs: `#{ epochs, batch, opt, d_opt, g_opt, steps_per_epoch, on_epoch: |epoch, metrics| {…}, every, samples_every, checkpoint_every, keep_checkpoints, max_minutes }`. Returns the last epoch's metrics. Without `opt`/`d_opt`/`g_opt` it goes on with the optimizers of this GAN's previous fit (and their state), on the first fit with the paper's SGD. An interrupt (Ctrl-C, Jupyter's stop) ends it at a step boundary; the GAN keeps its state and `fit` again continues (`epochs` more, the interrupted one first)."),
    m("training", "Gan", "sample", "Gan.sample(n: int) -> Samples", "`n` samples G(z) from fresh noise (at most 1,000,000 rows, and refused when n × G's layer widths would pass 2 GiB)."),
    m("training", "Gan", "sample_fixed", "Gan.sample_fixed(n: int) -> Samples",
      "`n` samples from the GAN's fixed noise (the same z every time: watch one sample evolve)."),
    m("training", "Gan", "discriminate", "Gan.discriminate(x: Samples) -> Samples",
      "D's output (probability of \"real\") for each row of `x`."),
    m("training", "Gan", "generate", "Gan.generate(z: Samples) -> Samples", "G applied to the noise rows `z`."),
    m("training", "Gan", "parzen", "Gan.parzen() -> map",
      "The paper's Parzen-window log-likelihood on MNIST test (σ picked on validation): `#{ ll, se, sigma, n_samples, n_test, secs }`."),
    m("training", "Gan", "parzen", "Gan.parzen(opts: map) -> map",
      "Parzen estimate with `#{ samples, sigma }` (default 10,000 samples, σ from validation)."),
    f("training", "classifier_metrics", "classifier_metrics(gan: Gan) -> map",
      "Fréchet distance and classifier score of 10,000 samples on the penultimate features of an MNIST classifier the engine trains (≥ 98.5% test accuracy; cached in `<data dir>/classifier/`, else `$GAN_CACHE_DIR`, `$XDG_CACHE_HOME/gan` or `~/.cache/gan`): `#{ fd, score, n_samples, ref_test_score, ref_train_fd, accuracy, secs, classifier_dir }`. References: the test set's own score and the distance of real train[0:10000] to the test set."),
    f("training", "classifier_metrics", "classifier_metrics(gan: Gan, opts: map) -> map",
      "Classifier metrics with `#{ samples }` (default 10,000, at least 2)."),
    f("training", "classifier_metrics", "classifier_metrics(x: Samples) -> map",
      "Classifier metrics of given 784-value image rows (e.g. real images, for a reference)."),
    m("training", "Gan", "resume", "Gan.resume() -> int",
      "Loads the newest checkpoint of this GAN found in the run directory; returns its epoch (0 when there is none)."),
    p("training", "Gan", "step", "Gan.step -> int", "Training steps taken so far."),
    p("training", "Gan", "epoch", "Gan.epoch -> int", "Epochs completed so far."),
    p("training", "Gan", "name", "Gan.name -> string", "The GAN's name (`gan`, `gan2`, … or the `name` option)."),
    p("training", "Gan", "history", "Gan.history -> array",
      "One metrics map per epoch trained: `#{ epoch, step, d_loss, g_loss, d_real, d_fake, lr, momentum, it_per_s, … }`."),
    // ---- output
    m("output", "Samples", "show", "show(s: Samples)",
      "Shows image rows as a grid (inline in a notebook, a PNG file in the REPL)."),
    m("output", "Samples", "save_grid", "save_grid(s: Samples, file: string)",
      "Writes image rows as a 10-column PNG grid into the run directory (and shows it)."),
    m("output", "Samples", "save_grid", "save_grid(s: Samples, file: string, cols: int)",
      "Writes image rows as a PNG grid with `cols` columns."),
    f("output", "plot_history", "plot_history(gan: Gan, file: string)",
      "Plots the losses and D's outputs per epoch into `file` (and shows the plot)."),
    f("output", "write_json", "write_json(file: string, value: map)",
      "Writes a map as pretty JSON into the run directory (not over the run's own files: config.json, recipe.rhai, metrics*.jsonl, checkpoints*/, weights*.safetensors)."),
    f("output", "report", "report(dir: string) -> map",
      "The results table of a sweep folder made by `gan sweep` (as `gan report DIR` prints it): `#{ table, by, metrics, groups, runs }`; `table` is Markdown, each group has `values`, `n`, `total`, `failed_seeds` and per metric `stats` `#{ mean, std, n }` (std with n − 1)."),
    p("output", "Samples", "rows", "Samples.rows -> int", "The number of rows."),
    p("output", "Samples", "dim", "Samples.dim -> int", "Values per row."),
    m("output", "Samples", "mean", "Samples.mean() -> float", "The mean of all values."),
    m("output", "Samples", "std", "Samples.std() -> float", "The standard deviation of all values."),
    m("output", "Samples", "min", "Samples.min() -> float", "The smallest value."),
    m("output", "Samples", "max", "Samples.max() -> float", "The largest value."),
    m("output", "Samples", "to_array", "Samples.to_array() -> array",
      "All values as a flat array of floats (at most 1,000,000)."),
    f("output", "scatter", "scatter(gan: Gan, data: Dataset, file: string)",
      "Real (black) and generated (red) points of 2-D data, 2,000 of each, into `file` (and shown)."),
    f("output", "mode_stats", "mode_stats(gan: Gan, data: Dataset) -> map",
      "Mode coverage of a 2-D mixture (ring or grid) from 2,500 samples: `#{ modes, modes_covered, high_quality, samples }`. Modes are the data's per-label means, σ its pooled per-coordinate std; a sample is high quality within 3σ of its nearest mode, and a mode is covered when it holds at least 20 of them."),
    // ---- the paper's figures and theory checks
    f("paper", "linspace", "linspace(lo: float, hi: float, n: int) -> Samples",
      "`n` evenly spaced values from `lo` to `hi` (both included), one per row."),
    f("paper", "normal_interval", "normal_interval(mean: float, std: float, mass: float) -> array",
      "`[lo, hi]`: the central interval holding `mass` of N(mean, std²)."),
    f("paper", "normal_pdf", "normal_pdf(x: float, mean: float, std: float) -> float",
      "The density of N(mean, std²) at `x`."),
    m("paper", "Gan", "d_on", "Gan.d_on(xs: array) -> array",
      "D(x) at each number of `xs` (a 1-D game), in evaluation mode."),
    m("paper", "Gan", "pg_density", "Gan.pg_density(xs: array) -> array",
      "p_g at each x of a 1-D game, by change of variables through G."),
    m("paper", "Gan", "pg_density", "Gan.pg_density(xs: array, opts: map) -> array",
      "p_g at each x with `#{ z_points }` (noise grid resolution)."),
    m("paper", "Gan", "noise", "Gan.noise(n: int) -> Samples",
      "`n` fresh noise rows z from the GAN's prior (for `generate` and `interpolate`)."),
    m("paper", "Gan", "value", "Gan.value(data: Dataset) -> map",
      "V(D, G) = E log D(x) + E log(1 − D(G(z))) on all rows of `data` and as many samples (Theorem 1: −log 4 at the optimum)."),
    m("paper", "Gan", "value", "Gan.value(data: Dataset, n: int) -> map",
      "V(D, G) on `n` real rows (a random subset) and `n` samples."),
    m("paper", "Gan", "d_range", "Gan.d_range(lo: float, hi: float) -> map",
      "D's smallest, largest and mean value on 401 points from `lo` to `hi` (a 1-D game)."),
    m("paper", "Gan", "d_range", "Gan.d_range(lo: float, hi: float, points: int) -> map",
      "D's range on `points` evenly spaced points."),
    f("paper", "density_ratio_check", "density_ratio_check(gan: Gan, mean: float, std: float) -> map",
      "Proposition 1: compares D with D* = p_data / (p_data + p_g) for data N(mean, std²)."),
    f("paper", "density_ratio_check", "density_ratio_check(gan: Gan, mean: float, std: float, opts: map) -> map",
      "Proposition 1 check with `#{ mass, points, z_points, range }`."),
    m("paper", "Gan", "train_d", "Gan.train_d(data: Dataset, opts: map) -> map",
      "Trains D alone with G frozen (towards D*): `#{ steps, batch, opt, record }`."),
    m("paper", "Gan", "train_steps", "Gan.train_steps(data: Dataset, opts: map) -> map",
      "Runs the game step by step, recording every step: `#{ steps, batch, opt, d_opt, g_opt, probe_every, probe_n }` (the saturation remark of §3)."),
    m("paper", "Gan", "g_grad_norm", "Gan.g_grad_norm() -> map",
      "‖∇θ_G L_G‖ on G's images of fixed noise, under the saturating and non-saturating losses."),
    m("paper", "Gan", "g_grad_norm", "Gan.g_grad_norm(opts: map) -> map",
      "G's gradient norm with `#{ n, loss, z }`."),
    f("paper", "figure1_panel", "figure1_panel(gan: Gan, data: Dataset, opts: map) -> Figure1Panel",
      "Snapshots a 1-D game for Figure 1: p_data, p_g, D and the mapping x = G(z); `#{ label, mean, std, range, points, samples, arrows }`."),
    f("paper", "figure1", "figure1(panels: array, file: string) -> map",
      "Draws Figure 1 panels side by side into `file` (and shows it)."),
    f("paper", "figure1", "figure1(panels: array, opts: map) -> map",
      "Draws Figure 1 with `#{ file, width, height }`."),
    p("paper", "Figure1Panel", "label", "Figure1Panel.label -> string", "The panel's label."),
    f("paper", "figure2", "figure2(gan: Gan, data: Dataset, opts: map) -> map",
      "Figure 2: samples with each one's nearest training image in the last column; `#{ rows, cols, file, scale, samples }`."),
    f("paper", "interpolate", "interpolate(gan: Gan, z0: Samples, z1: Samples, steps: int) -> Samples",
      "G's images along straight lines from each row of `z0` to the same row of `z1`, `steps` points each."),
    f("paper", "figure3", "figure3(gan: Gan, opts: map) -> map",
      "Figure 3: interpolations in z space; `#{ rows, steps, file, scale, z0, z1, like }`."),
    f("paper", "load_weights", "load_weights(gan: Gan, file: string)",
      "Loads weights (a safetensors file from the run or data directory) into the GAN."),
    f("paper", "plot_lines", "plot_lines(file: string, panels: array) -> map",
      "Line charts stacked top to bottom, sharing the x axis: `[#{ title, y_label, series: [#{ name, ys, xs }] }, …]` (xs default to 0, 1, 2, …); written to `file` and shown."),
    f("paper", "plot_lines", "plot_lines(file: string, panels: array, opts: map) -> map",
      "Line charts with `#{ x_label, width, height }`."),
    // ---- misc (every value)
    m("misc", "any", "to_string", "to_string(v) -> string", "A value as text (what `print` shows)."),
    m("misc", "any", "to_debug", "to_debug(v) -> string", "A value as debug text."),
];

/// Rhai keywords and built-ins offered by completion besides the DSL.
pub const KEYWORDS: &[&str] = &[
    "let", "const", "fn", "if", "else", "while", "loop", "for", "in", "do", "until", "break",
    "continue", "return", "throw", "try", "catch", "true", "false", "print", "debug", "this",
    "switch", "import", "export", "as", "type_of", "len", "push", "keys", "values", "range",
    "to_int", "to_float", "round", "floor", "abs", "sqrt", "exp", "ln",
];

/// Entries for `name` (several for overloads; methods and functions alike).
pub fn lookup(name: &str) -> Vec<&'static FnDoc> {
    DOCS.iter().filter(|d| d.name == name).collect()
}

/// `signature` lines then the docs, for `:help name` and Jupyter's inspect. `None` when the name
/// is not a DSL name.
pub fn help(name: &str) -> Option<String> {
    let entries = lookup(name);
    if entries.is_empty() {
        return None;
    }
    let mut out = String::new();
    for (i, d) in entries.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        out.push_str(d.signature);
        out.push_str("\n    ");
        out.push_str(d.doc);
        out.push('\n');
    }
    Some(out)
}

/// The topics of [`DOCS`] in the order they are shown, with a title for the generated reference.
pub const TOPICS: &[(&str, &str)] = &[
    ("stacks", "Stacks"),
    ("data", "Data"),
    ("training", "Games, optimizers and training"),
    ("output", "Outputs"),
    ("paper", "The paper's experiments and diagnostics"),
    ("misc", "Any value"),
];

/// Every DSL name by topic, for `:help` without an argument.
pub fn overview() -> String {
    let mut out = String::new();
    for &(topic, _) in TOPICS {
        let mut names: Vec<String> = Vec::new();
        for d in DOCS.iter().filter(|d| d.topic == topic) {
            let n = match d.kind {
                Kind::Function => format!("{}()", d.name),
                Kind::Method => format!(".{}()", d.name),
                Kind::Property => format!(".{}", d.name),
            };
            if !names.contains(&n) {
                names.push(n);
            }
        }
        out.push_str(&format!("{topic:>9}: "));
        let mut width = 11;
        for (i, n) in names.iter().enumerate() {
            if i > 0 {
                out.push_str(", ");
                width += 2;
            }
            if width + n.len() > 96 {
                out.push_str("\n           ");
                width = 11;
            }
            out.push_str(n);
            width += n.len();
        }
        out.push('\n');
    }
    out
}

/// Every distinct DSL name callable as a function: plain functions and methods (in Rhai,
/// `g.sample(10)` is also `sample(g, 10)`); not properties.
pub fn function_names() -> Vec<&'static str> {
    let mut v: Vec<&'static str> = DOCS
        .iter()
        .filter(|d| d.kind != Kind::Property)
        .map(|d| d.name)
        .collect();
    v.sort_unstable();
    v.dedup();
    v
}

/// Every distinct method and property name (what may follow a `.`).
pub fn member_names() -> Vec<&'static str> {
    let mut v: Vec<&'static str> = DOCS
        .iter()
        .filter(|d| d.kind != Kind::Function)
        .map(|d| d.name)
        .collect();
    v.sort_unstable();
    v.dedup();
    v
}

/// Whether a piece of input is ready to run (Jupyter's `is_complete`; the REPL's continuation).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Completeness {
    /// Parses (or fails in a way more input cannot fix): run it.
    Complete,
    /// Ends inside a block, call, string or expression: read another line.
    Incomplete,
    /// A syntax error that more input cannot fix.
    Invalid,
}

fn parse_engine() -> &'static Engine {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    ENGINE.get_or_init(|| {
        let mut e = Engine::new_raw();
        e.set_max_expr_depths(super::limits::EXPR_DEPTH, super::limits::FN_EXPR_DEPTH);
        e
    })
}

/// Decides with Rhai's own parser whether `text` is complete: input that fails to parse only
/// because it ended too early (an open `{`, `(`, `[`, string or an operator waiting for its
/// operand) is [`Completeness::Incomplete`].
pub fn is_complete(text: &str) -> Completeness {
    if text.trim().is_empty() {
        return Completeness::Complete;
    }
    let engine = parse_engine();
    let err = match engine.compile(text) {
        // Rhai accepts an unterminated block comment at the end of input
        Ok(_) if open_delimiters(text) > 0 => return Completeness::Incomplete,
        Ok(_) => return Completeness::Complete,
        Err(e) => e,
    };
    if ends_early(&err, text) {
        return Completeness::Incomplete;
    }
    // An unfinished string or block comment, or a trailing binary operator / comma: the
    // parser reports those at the end of input too, but some as other errors; retry with a
    // closing sentinel appended to tell "needs more" from "wrong".
    if open_delimiters(text) > 0 {
        return Completeness::Incomplete;
    }
    let trimmed = text.trim_end();
    if trimmed.ends_with([
        '+', '-', '*', '/', '%', '=', '<', '>', '&', '|', '^', ',', '.', '!', '\\',
    ]) && !trimmed.ends_with("++")
        && !trimmed.ends_with("--")
    {
        return Completeness::Incomplete;
    }
    Completeness::Invalid
}

/// The parse error sits at the very end of the input (or has no position), and says that
/// something was missing rather than wrong.
fn ends_early(err: &rhai::ParseError, text: &str) -> bool {
    let at_end = match (err.position().line(), err.position().position()) {
        (None, _) => true,
        (Some(line), col) => {
            let lines: Vec<&str> = text.lines().collect();
            let last = lines.len().max(1);
            let trailing_nl = text.ends_with('\n');
            if line > last {
                true
            } else if line == last {
                let len = lines.last().map(|l| l.chars().count()).unwrap_or(0);
                trailing_nl || col.is_none_or(|c| c > len)
            } else {
                // Errors on an earlier line can still be end-of-input if only blank lines follow.
                lines[line..].iter().all(|l| l.trim().is_empty())
                    && col.is_none_or(|c| c > lines[line - 1].chars().count())
            }
        }
    };
    match err.err_type() {
        ParseErrorType::UnexpectedEOF => true,
        ParseErrorType::MissingToken(..) | ParseErrorType::MissingSymbol(..) => at_end,
        ParseErrorType::BadInput(lex) => {
            let s = lex.to_string().to_lowercase();
            s.contains("unterminated") || s.contains("open") && at_end
        }
        _ => at_end && open_delimiters(text) > 0,
    }
}

/// `({[` opened and not closed, outside strings and comments (a count; negative when closed
/// too often).
fn open_delimiters(text: &str) -> i64 {
    let mut depth = 0i64;
    let mut chars = text.chars().peekable();
    let mut in_str: Option<char> = None;
    while let Some(c) = chars.next() {
        if let Some(q) = in_str {
            if c == '\\' {
                chars.next();
            } else if c == q {
                in_str = None;
            }
            continue;
        }
        match c {
            '"' | '`' | '\'' => in_str = Some(c),
            '/' if chars.peek() == Some(&'/') => {
                for c in chars.by_ref() {
                    if c == '\n' {
                        break;
                    }
                }
            }
            '/' if chars.peek() == Some(&'*') => {
                chars.next();
                let mut prev = ' ';
                let mut closed = false;
                for c in chars.by_ref() {
                    if prev == '*' && c == '/' {
                        closed = true;
                        break;
                    }
                    prev = c;
                }
                if !closed {
                    return depth + 1;
                }
            }
            '(' | '{' | '[' => depth += 1,
            ')' | '}' | ']' => depth -= 1,
            _ => {}
        }
    }
    if in_str.is_some() {
        depth + 1
    } else {
        depth
    }
}

fn is_ident_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// The identifier under (or just before) the cursor, as a byte range of `text`. `cursor` is a
/// byte offset (clamped to `text`, moved back to a char boundary).
pub fn word_at(text: &str, cursor: usize) -> Option<(usize, usize, &str)> {
    let mut cursor = cursor.min(text.len());
    while !text.is_char_boundary(cursor) {
        cursor -= 1;
    }
    let start = text[..cursor]
        .char_indices()
        .rev()
        .take_while(|(_, c)| is_ident_char(*c))
        .last()
        .map_or(cursor, |(i, _)| i);
    let end = text[cursor..]
        .char_indices()
        .find(|(_, c)| !is_ident_char(*c))
        .map_or(text.len(), |(i, _)| cursor + i);
    if start == end {
        // cursor right after `name(`: document the function being called
        let before = text[..cursor].trim_end();
        if let Some(b) = before.strip_suffix('(') {
            let b = b.trim_end();
            let s = b
                .char_indices()
                .rev()
                .take_while(|(_, c)| is_ident_char(*c))
                .last()
                .map(|(i, _)| i)?;
            return Some((s, b.len(), &text[s..b.len()]));
        }
        return None;
    }
    Some((start, end, &text[start..end]))
}

/// Completion at a cursor (byte offset): the start of the word being completed and the
/// candidates, sorted, without duplicates. After a `.`, methods and properties; otherwise DSL
/// functions, `variables` in scope, `functions` the user defined, and Rhai keywords.
pub fn complete(
    text: &str,
    cursor: usize,
    variables: &[String],
    functions: &[String],
) -> (usize, Vec<String>) {
    let mut cursor = cursor.min(text.len());
    while !text.is_char_boundary(cursor) {
        cursor -= 1;
    }
    let start = text[..cursor]
        .char_indices()
        .rev()
        .take_while(|(_, c)| is_ident_char(*c))
        .last()
        .map_or(cursor, |(i, _)| i);
    let prefix = &text[start..cursor];
    // inside a string or comment: nothing to complete
    if in_string_or_comment(&text[..start]) {
        return (start, vec![]);
    }
    let after_dot =
        text[..start].trim_end().ends_with('.') && !text[..start].trim_end().ends_with("..");
    let mut out: Vec<String> = if after_dot {
        member_names()
            .into_iter()
            .filter(|n| n.starts_with(prefix))
            .map(str::to_string)
            .collect()
    } else {
        let mut v: Vec<String> = variables
            .iter()
            .chain(functions.iter())
            .filter(|n| n.starts_with(prefix))
            .cloned()
            .collect();
        v.extend(
            function_names()
                .into_iter()
                .chain(KEYWORDS.iter().copied())
                .filter(|n| n.starts_with(prefix))
                .map(str::to_string),
        );
        v
    };
    out.sort();
    out.dedup();
    if prefix.is_empty() && !after_dot {
        // an empty prefix outside a member access would list everything: offer nothing
        // unless there are few names (a blank line then Tab in the REPL indents instead)
        out.retain(|n| variables.contains(n));
    }
    (start, out)
}

fn in_string_or_comment(before: &str) -> bool {
    let mut in_str: Option<char> = None;
    let mut chars = before.chars().peekable();
    while let Some(c) = chars.next() {
        if let Some(q) = in_str {
            if c == '\\' {
                chars.next();
            } else if c == q {
                in_str = None;
            }
            continue;
        }
        match c {
            '"' | '`' => in_str = Some(c),
            '/' if chars.peek() == Some(&'/') && !chars.by_ref().any(|c| c == '\n') => {
                return true;
            }
            _ => {}
        }
    }
    in_str.is_some()
}

#[cfg(test)]
mod tests {
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
        let host = super::super::Host::new(
            super::super::HostConfig::default(),
            std::sync::Arc::new(super::super::NullSink),
        )
        .unwrap();
        let engine = super::super::build_engine(&host);
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
}
