//! Typed image stacks against the script layer: the same DCGAN declared in Rust types and in
//! the DSL lowers to the same runtime game — equal specs, equal shapes after every layer, and
//! (the same seed) bit-identical initial weights and batch-norm state.

mod common;

#[allow(dead_code)]
#[path = "../examples/04-typed-dcgan.rs"]
mod example;

use gan::engine::typed::*;
use gan::engine::{Gan, GanLoss, UpdateScheme};
use gan::script::values::GanHandle;
use gan::session::Notebook;

/// Runs `code` in a fresh notebook and returns the GAN it leaves in `gan`.
fn dsl_gan(code: &str) -> GanHandle {
    let mut nb = Notebook::with_config(gan::script::HostConfig {
        data_dir: common::mnist_dir(),
        ..Default::default()
    })
    .unwrap();
    let c = nb.run(code);
    assert!(c.error.is_none(), "{:?}", c.error);
    nb.var("gan").unwrap()
}

/// Every parameter and state tensor of a network, by layer, name and values.
fn tensors(net: &gan::engine::Network) -> Vec<(usize, &'static str, Vec<f32>)> {
    let mut out = Vec::new();
    for (i, l) in net.layers.iter().enumerate() {
        for (name, p) in l.params() {
            out.push((i, name, p.values()));
        }
        for (name, v) in l.state() {
            out.push((i, name, v));
        }
    }
    out
}

/// The same game: specs, shapes and initial tensors.
fn assert_same(typed: &Gan, dsl: &Gan) {
    assert_eq!(typed.spec, dsl.spec);
    for (t, s) in [(&typed.g, &dsl.g), (&typed.d, &dsl.d)] {
        assert_eq!(
            t.spec.try_layer_shapes().unwrap(),
            s.spec.try_layer_shapes().unwrap()
        );
        let (tt, st) = (tensors(t), tensors(s));
        assert!(!tt.is_empty());
        assert_eq!(tt, st);
    }
    assert_eq!(
        gan::script::api_image::summary(&typed.g.spec),
        gan::script::api_image::summary(&dsl.g.spec)
    );
}

#[test]
fn the_typed_mnist_dcgan_is_the_recipes_game() {
    let typed = example::typed_dcgan(42).unwrap();
    // the recipe itself, at its default widths (G 64, D 32), up to its gan() call (it loads
    // MNIST on the way, as a user's run does)
    let recipe = include_str!("../scripts/dcgan_mnist.rhai");
    let start = recipe
        .find("let gan = gan(")
        .expect("the recipe builds `gan`");
    let end = start + recipe[start..].find(");").expect("its gan() call ends") + 2;
    let h = dsl_gan(&recipe[..end]);
    let dsl = &h.lock().gan;
    assert_same(&typed.gan, dsl);
    // G: 101·6272 + 2·128 + 128·64·16 + 2·64 + 64·64·9 + 2·64 + 64·1·16 + 1;
    // D: 32·16 + 32 + 32·64·16 + 2·64 + 64·128·9 + 2·128 + 128·16 + 1
    assert_eq!(
        typed.gan.g.param_count(),
        101 * 6272 + 256 + 128 * 64 * 16 + 128 + 64 * 64 * 9 + 128 + 64 * 16 + 1
    );
    assert_eq!(
        typed.gan.d.param_count(),
        32 * 16 + 32 + 32 * 64 * 16 + 128 + 64 * 128 * 9 + 256 + 2049
    );
}

/// The issue's benchmark DCGAN at CIFAR size (colour, tanh), flattened before D's logit.
type CifarG = (
    Dense<{ 256 * 4 * 4 }>,
    Reshape<256, 4, 4>,
    BatchNorm,
    Relu,
    ConvTranspose<Img<128, 8, 8>, 4, 2, 1>,
    BatchNorm,
    Relu,
    ConvTranspose<Img<64, 16, 16>, 4, 2, 1>,
    BatchNorm,
    Relu,
    ConvTranspose<Img<3, 32, 32>, 4, 2, 1>,
    Tanh,
);
type CifarD = (
    (Conv<Img<64, 16, 16>, 4, 2, 1>, LeakyRelu),
    (Conv<Img<128, 8, 8>, 4, 2, 1>, BatchNorm, LeakyRelu),
    (Conv<Img<256, 4, 4>, 4, 2, 1>, BatchNorm, LeakyRelu),
    (Flatten<{ 256 * 4 * 4 }>, Dense<1>),
);

#[test]
fn the_typed_cifar_size_dcgan_is_the_scripts_game() {
    let lrelu = LeakyRelu(0.2);
    let g: CifarG = (
        Dense::new(),
        Reshape,
        BatchNorm::new(),
        Relu,
        ConvTranspose::no_bias(),
        BatchNorm::new(),
        Relu,
        ConvTranspose::no_bias(),
        BatchNorm::new(),
        Relu,
        ConvTranspose::new(),
        Tanh,
    );
    let d: CifarD = (
        (Conv::new(), lrelu),
        (Conv::no_bias(), BatchNorm::new(), lrelu),
        (Conv::no_bias(), BatchNorm::new(), lrelu),
        (Flatten, Dense::new()),
    );
    let typed = TypedGan::<C<64>, Img<3, 32, 32>>::try_new(
        g,
        d,
        GanLoss::NonSaturating,
        UpdateScheme::Simultaneous,
        NoiseKind::Uniform(1.0),
        7,
    )
    .unwrap();
    let h = dsl_gan(
        r#"
seed(7);
let s2 = #{ stride: 2, padding: 1, bias: false };
let g = stack(64).dense(256 * 4 * 4).reshape(256, 4, 4).batch_norm().relu()
    .conv_transpose(128, 4, s2).batch_norm().relu()
    .conv_transpose(64, 4, s2).batch_norm().relu()
    .conv_transpose(3, 4, #{ stride: 2, padding: 1 }).tanh();
let d = stack([3, 32, 32])
    .conv(64, 4, #{ stride: 2, padding: 1 }).leaky_relu(0.2)
    .conv(128, 4, s2).batch_norm().leaky_relu(0.2)
    .conv(256, 4, s2).batch_norm().leaky_relu(0.2)
    .flatten().dense(1);
let gan = gan(g, d, #{ loss: "non_saturating", scheme: "simultaneous", noise: "uniform", noise_scale: 1.0 });
"#,
    );
    let dsl = &h.lock().gan;
    assert_same(&typed.gan, dsl);
    // typed sampling gives rows of 3·32·32 values through the same G
    let z = typed.fixed_noise(2);
    let zv = z.as_vec();
    assert_eq!(typed.generate(z).as_vec(), dsl.generate(&zv));
}
