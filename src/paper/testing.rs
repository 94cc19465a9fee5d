//! A 1-D game with weights set by hand, for tests against closed forms.

use crate::engine::spec::{GanSpec, LayerSpec, StackSpec, UpdateScheme};
use crate::engine::{Gan, GanLoss, Noise};

/// G(z) = g.0·z + g.1 and D(x) = sigmoid(d.0·x + d.1), z ~ N(0, 1).
pub fn affine_gan(g: (f32, f32), d: (f32, f32)) -> Gan {
    let one = |input| StackSpec {
        input,
        layers: vec![LayerSpec::Dense {
            units: 1,
            irange: None,
        }],
    };
    let spec = GanSpec {
        noise: Noise::Gaussian { dim: 1, std: 1.0 },
        g: one(1),
        d: one(1),
        loss: GanLoss::NonSaturating,
        scheme: UpdateScheme::Simultaneous,
        init_g_bias_from_marginals: false,
    };
    let mut gan = Gan::try_new(spec, 0).unwrap();
    let mut p = gan.g.export();
    p[0].values = vec![g.0];
    p[1].values = vec![g.1];
    gan.g.try_import(&p).unwrap();
    let mut p = gan.d.export();
    p[0].values = vec![d.0];
    p[1].values = vec![d.1];
    gan.d.try_import(&p).unwrap();
    gan
}
