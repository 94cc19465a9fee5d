//! A DCGAN (Radford et al. 2015) on MNIST declared with compile-time image shapes.
//!
//! `TypedGan<C<100>, Img<1, 28, 28>>` says: noise has 100 dimensions, data are 1×28×28 images.
//! Each layer that changes an image's size names its output (`Conv<Img<64, 14, 14>, 4, 2, 1>`:
//! 64 channels of 14×14 from a 4×4 kernel, stride 2, padding 1), and a const assertion checks it
//! against the kernel, stride and padding: a layer that does not tile its input, a reshape of
//! the wrong size or a generator that does not make 28×28 images fails `cargo build`. The stacks
//! and starting learning rates are `scripts/dcgan_mnist.rhai`'s at its default widths (G 64,
//! D 32), and the stacks lower to the same runtime networks as that recipe's DSL stacks
//! (`tests/typed_dsl.rs` checks the specs and the initial weights are identical). The recipe's
//! rates also fall to 0 over the second half of its epochs; this example keeps them constant
//! over the short step budget it trains on MNIST (from `GAN_DATA_DIR` or
//! `../shared/data/mnist`), optionally with a moving average of G's weights (`GAN_G_EMA=0.999`;
//! typed sampling then draws from the average), and writes a grid of samples.
//!
//! `cargo run --release --example 04-typed-dcgan [STEPS] [OUT.png]` (default 100 steps,
//! `typed_dcgan.png`)

use gan::data::{load_mnist, MnistSplit};
use gan::engine::trainer::Quiet;
use gan::engine::typed::*;
use gan::engine::{FitSpec, GanLoss, OptimizerSpec, Schedule, Trainer, UpdateScheme};

/// G: z → dense 128·7·7 → [128, 7, 7] → batch norm → ReLU → transposed conv 64 (4×4, stride 2,
/// padding 1) → batch norm → ReLU → [64, 14, 14] → conv 64 (3×3, stride 1, padding 1) → batch
/// norm → ReLU → transposed conv 1 → tanh → [1, 28, 28].
pub type G = (
    (Dense<{ 128 * 7 * 7 }>, Reshape<128, 7, 7>, BatchNorm, Relu),
    (ConvTranspose<Img<64, 14, 14>, 4, 2, 1>, BatchNorm, Relu),
    (Conv<Img<64, 14, 14>, 3, 1, 1>, BatchNorm, Relu),
    (ConvTranspose<Img<1, 28, 28>, 4, 2, 1>, Tanh),
);

/// D: [1, 28, 28] → conv 32 (4×4, stride 2, padding 1) → leaky ReLU → [32, 14, 14] → conv 64 →
/// batch norm → leaky ReLU → [64, 7, 7] → conv 128 (3×3, stride 2, padding 1) → batch norm →
/// leaky ReLU → [128, 4, 4] → one logit.
pub type D = (
    (Conv<Img<32, 14, 14>, 4, 2, 1>, LeakyRelu),
    (Conv<Img<64, 7, 7>, 4, 2, 1>, BatchNorm, LeakyRelu),
    (Conv<Img<128, 4, 4>, 3, 2, 1>, BatchNorm, LeakyRelu),
    Dense<1>,
);

/// The typed DCGAN (`scripts/dcgan_mnist.rhai` at its default widths): the least-squares game,
/// alternating updates (k = 1), z ~ N(0, 1)^100.
pub fn typed_dcgan(seed: u64) -> anyhow::Result<TypedGan<C<100>, Img<1, 28, 28>>> {
    let g: G = (
        (Dense::new(), Reshape, BatchNorm::new(), Relu),
        (ConvTranspose::no_bias(), BatchNorm::new(), Relu),
        (Conv::no_bias(), BatchNorm::new(), Relu),
        (ConvTranspose::new(), Tanh),
    );
    let d: D = (
        (Conv::new(), LeakyRelu(0.2)),
        (Conv::no_bias(), BatchNorm::new(), LeakyRelu(0.2)),
        (Conv::no_bias(), BatchNorm::new(), LeakyRelu(0.2)),
        Dense::new(),
    );
    Ok(TypedGan::try_new(
        g,
        d,
        GanLoss::LeastSquares,
        UpdateScheme::Alternating { k: 1 },
        NoiseKind::Gaussian(1.0),
        seed,
    )?)
}

/// Adam with β1 0.5 (DCGAN's) at learning rate `lr`: the recipe starts D at 4e-4 and G at 1e-3.
pub fn dcgan_adam(lr: f64) -> OptimizerSpec {
    OptimizerSpec::Adam {
        lr: Schedule::Constant { value: lr },
        beta1: 0.5,
        beta2: 0.999,
        eps: 1e-8,
        weight_decay: 0.0,
    }
}

#[allow(dead_code)] // tests/typed_dsl.rs includes this file for its types, not its main
fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let steps: u64 = match args.next() {
        Some(s) => s
            .parse()
            .map_err(|_| anyhow::anyhow!("STEPS must be a whole number, got {s:?}"))?,
        None => 100,
    };
    let out = args.next().unwrap_or_else(|| "typed_dcgan.png".into());
    let mut typed = typed_dcgan(42)?;
    if let Some(v) = std::env::var_os("GAN_G_EMA") {
        let v = v.to_string_lossy();
        let decay: f64 = v
            .parse()
            .map_err(|_| anyhow::anyhow!("GAN_G_EMA must be a number, got {v:?}"))?;
        let decay =
            gan::engine::ema::GEma::try_decay(decay, "GAN_G_EMA").map_err(anyhow::Error::msg)?;
        gan::engine::ema::configure(&mut typed.gan, Some(decay));
    }

    let dir = std::env::var_os("GAN_DATA_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| {
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data/mnist")
        });
    // tanh output: pixels in [-1, 1], as the recipe's `range: "symmetric"`.
    let data =
        load_mnist(&dir, MnistSplit::Train)?.try_with_range(gan::data::PixelRange::Symmetric)?;
    // The data exist only at run time: the one shape check the compiler cannot make.
    TypedGan::<C<100>, Img<1, 28, 28>>::try_check_data(data.dim, data.image_chw())
        .map_err(anyhow::Error::msg)?;
    let fit = FitSpec {
        epochs: 1,
        batch: 64,
        d_opt: dcgan_adam(4e-4),
        g_opt: dcgan_adam(1e-3),
        steps_per_epoch: Some(steps),
    };
    let t = std::time::Instant::now();
    let (metrics, _) = Trainer::fit(&mut typed.gan, &data.x, data.dim, &fit, &mut Quiet)?;
    let m = &metrics[0];
    println!(
        "{} steps in {:.1} s: d_loss {:.3}, g_loss {:.3}, D(x) {:.3}, D(G(z)) {:.3}",
        m.steps,
        t.elapsed().as_secs_f64(),
        m.d_loss,
        m.g_loss,
        m.d_real,
        m.d_fake
    );

    // Typed sampling: (B, 100) noise in, (B, 1×28×28) images out (from the average when there
    // is one).
    let z = typed.fixed_noise(64);
    let x = typed.generate(z);
    let shape = data.image.expect("MNIST rows are images");
    let png = gan::viz::encode_png(&gan::viz::sample_grid(&x.as_vec(), shape, 8, 1, 3)?)?;
    std::fs::write(&out, png)?;
    println!("wrote {out}");
    Ok(())
}
