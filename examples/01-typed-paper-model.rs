//! The paper's MNIST generator and discriminator declared with compile-time sizes.
//!
//! `TypedGan<C<100>, C<784>>` says: noise has 100 dimensions, data 784. G must map 100 → 784 and
//! D must map 784 → 1, and each layer's input must be the previous layer's output: a mismatch
//! is a compile error, not a runtime one. The typed stacks lower to the same runtime networks
//! the script layer builds, so training uses the one `Trainer`. This example trains a few
//! hundred steps on MNIST (from `GAN_DATA_DIR` or `../shared/data/mnist`) and writes a grid.
//!
//! `cargo run --release --example 01-typed-paper-model`

use gan::data::{load_mnist, MnistSplit};
use gan::engine::trainer::Quiet;
use gan::engine::typed::*;
use gan::engine::{FitSpec, GanLoss, OptimizerSpec, Trainer, UpdateScheme};

type PaperG = (Dense<1200>, Relu, Dense<1200>, Relu, Dense<784>, Sigmoid);
type PaperD = (
    Dropout,
    Maxout<240, 5>,
    Dropout,
    Maxout<240, 5>,
    Dropout,
    Dense<1>,
);

fn main() -> anyhow::Result<()> {
    let g: PaperG = (
        Dense::new(),
        Relu,
        Dense::new(),
        Relu,
        Dense::new(),
        Sigmoid,
    );
    let d: PaperD = (
        Dropout(0.8),
        Maxout::new(),
        Dropout(0.5),
        Maxout::new(),
        Dropout(0.5),
        Dense::new(),
    );
    let mut typed = TypedGan::<C<100>, C<784>>::try_new(
        g,
        d,
        GanLoss::NonSaturating,
        UpdateScheme::Simultaneous,
        NoiseKind::PaperUniform,
        1234,
    )?;
    typed.gan.spec.init_g_bias_from_marginals = true;

    let dir = std::env::var_os("GAN_DATA_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| {
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data/mnist")
        });
    let data = load_mnist(&dir, MnistSplit::Train)?;
    let fit = FitSpec {
        epochs: 1,
        batch: 100,
        d_opt: OptimizerSpec::paper_sgd(),
        g_opt: OptimizerSpec::paper_sgd(),
        steps_per_epoch: Some(200),
    };
    let (metrics, _) = Trainer::fit(&mut typed.gan, &data.x, data.dim, &fit, &mut Quiet)?;
    let m = &metrics[0];
    println!(
        "{} steps: d_loss {:.3}, g_loss {:.3}, D(x) {:.3}, D(G(z)) {:.3}",
        m.steps, m.d_loss, m.g_loss, m.d_real, m.d_fake
    );

    // Typed sampling: (B, 100) noise in, (B, 784) images out.
    let z = typed.fixed_noise(16);
    let x = typed.generate(z);
    let shape = data.image.expect("MNIST rows are images");
    let png = gan::viz::encode_png(&gan::viz::sample_grid(&x.as_vec(), shape, 4, 1, 3)?)?;
    std::fs::write("typed_samples.png", png)?;
    println!("wrote typed_samples.png");
    Ok(())
}
