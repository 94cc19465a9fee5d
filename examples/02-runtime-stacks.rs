//! Runtime-sized stacks and the trainer, without scripts: the 1-D toy of the paper's Figure 1.
//!
//! A [`StackSpec`] is plain data (what `config.json` records); [`Gan::try_new`] shape-checks both
//! stacks against each other and builds them. The same spec could come from a recipe.
//!
//! `cargo run --release --example 02-runtime-stacks`

use ::gan::data::gaussian_1d;
use ::gan::engine::trainer::Quiet;
use ::gan::engine::{
    FitSpec, Gan, GanLoss, GanSpec, LayerSpec, Noise, OptimizerSpec, Schedule, StackSpec, Trainer,
    UpdateScheme,
};

fn main() -> anyhow::Result<()> {
    let mlp = |input, hidden, out| StackSpec {
        input,
        layers: vec![
            LayerSpec::Dense {
                units: hidden,
                irange: Some(0.5),
            },
            LayerSpec::Relu,
            LayerSpec::Dense {
                units: hidden,
                irange: Some(0.5),
            },
            LayerSpec::Relu,
            LayerSpec::Dense {
                units: out,
                irange: Some(0.5),
            },
        ],
    };
    let spec = GanSpec {
        g: mlp(1, 32, 1),
        d: mlp(1, 64, 1),
        loss: GanLoss::NonSaturating,
        scheme: UpdateScheme::Simultaneous,
        noise: Noise::Uniform {
            dim: 1,
            half_width: 1.0,
        },
        init_g_bias_from_marginals: false,
    };
    println!("{}", serde_json::to_string(&spec)?);
    let mut model = Gan::try_new(spec, 7)?;
    let data = gaussian_1d(4.0, 0.5, 10_000, 7);
    let adam = OptimizerSpec::Adam {
        lr: Schedule::constant(1e-3),
        beta1: 0.5,
        beta2: 0.999,
        eps: 1e-8,
        weight_decay: 0.0,
    };
    let fit = FitSpec {
        epochs: 150,
        batch: 100,
        d_opt: adam.clone(),
        g_opt: adam,
        steps_per_epoch: None,
    };
    let (metrics, _) = Trainer::fit(&mut model, &data.x, 1, &fit, &mut Quiet)?;
    let last = metrics.last().expect("150 epochs");
    println!(
        "after {} steps: D(x) {:.3}, D(G(z)) {:.3}",
        last.step, last.d_real, last.d_fake
    );
    let s = model.sample(10_000);
    let mean = s.iter().map(|&v| v as f64).sum::<f64>() / s.len() as f64;
    let std = (s.iter().map(|&v| (v as f64 - mean).powi(2)).sum::<f64>() / s.len() as f64).sqrt();
    println!("p_g: mean {mean:.3}, std {std:.3} (p_data: 4.0, 0.5)");
    Ok(())
}
