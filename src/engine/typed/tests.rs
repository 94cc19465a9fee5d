//! Typed stacks lower to the runtime specs the script layer would build (the comparison with
//! the script itself is tests/typed_dsl.rs, since the engine cannot name the script layer).

use dfdx::tensor::TensorFromVec;

use super::*;
use crate::engine::spec::ConvSpec;
use crate::engine::{GanLoss, UpdateScheme};
#[test]
fn typed_stack_lowers_to_the_runtime_spec() {
    let g = (
        Dense::<1200>::new(),
        Relu,
        Dense::<784>::with_irange(0.1),
        Sigmoid,
    );
    let s = stack_spec::<C<100>, _>(&g);
    assert_eq!(s.input, 100);
    assert_eq!(s.try_output().unwrap(), 784);
    assert_eq!(
        s.layers[2],
        LayerSpec::Dense {
            units: 784,
            irange: Some(0.1)
        }
    );
}

#[test]
fn typed_forward_matches_runtime_forward() {
    let g = (Dense::<8>::new(), Tanh, Dense::<3>::new());
    let d = (Dense::<4>::new(), LeakyRelu(0.2), Dense::<1>::new());
    let tg = TypedGan::<C<2>, C<3>>::try_new(
        g,
        d,
        GanLoss::NonSaturating,
        UpdateScheme::Simultaneous,
        NoiseKind::Gaussian(1.0),
        5,
    )
    .unwrap();
    let zv = vec![0.5f32, -1.0, 2.0, 0.25];
    let z = tg.gan.dev.tensor_from_vec(zv.clone(), (2, Const::<2>));
    let x = tg.generate(z);
    assert_eq!(x.as_vec(), tg.gan.generate(&zv));
    let p = tg.discriminate(x.clone());
    assert_eq!(p.as_vec(), tg.gan.discriminate(&x.as_vec()));
}

#[test]
fn typed_generate_samples_the_average_when_a_fit_kept_one() {
    use crate::engine::{FitSpec, OptimizerSpec, Schedule, Trainer};
    let g = (Dense::<8>::new(), Tanh, Dense::<3>::new());
    let d = (Dense::<4>::new(), LeakyRelu(0.2), Dense::<1>::new());
    let mut tg = TypedGan::<C<2>, C<3>>::try_new(
        g,
        d,
        GanLoss::NonSaturating,
        UpdateScheme::Simultaneous,
        NoiseKind::Gaussian(1.0),
        5,
    )
    .unwrap();
    crate::engine::ema::configure(&mut tg.gan, Some(0.9));
    let data: Vec<f32> = (0..48).map(|i| (i as f32 * 0.37).sin()).collect();
    let sgd = OptimizerSpec::Sgd {
        lr: Schedule::constant(0.1),
        momentum: Schedule::constant(0.0),
        nesterov: false,
        weight_decay: 0.0,
    };
    let fit = FitSpec {
        epochs: 2,
        batch: 4,
        d_opt: sgd.clone(),
        g_opt: sgd,
        steps_per_epoch: None,
    };
    Trainer::fit(
        &mut tg.gan,
        &data,
        3,
        &fit,
        &mut crate::engine::trainer::Quiet,
    )
    .unwrap();
    let zv = vec![0.5f32, -1.0, 2.0, 0.25];
    let z = tg.gan.dev.tensor_from_vec(zv.clone(), (2, Const::<2>));
    let x = tg.generate(z).as_vec();
    let live = tg
        .gan
        .path
        .eval(&tg.gan.g, tg.gan.dev.tensor_from_vec(zv.clone(), (2, 2)));
    assert_eq!(tg.gan.sampler_name(), "ema");
    assert_eq!(x, tg.gan.generate(&zv));
    assert_ne!(
        x,
        live.as_vec(),
        "8 averaged updates should differ from the live G"
    );
}

/// DCGAN's downsampling convolution (4×4, stride 2, padding 1) without bias.
const HALVING: ConvSpec = ConvSpec {
    out_channels: 8,
    kernel: 4,
    stride: 2,
    padding: 1,
    output_padding: 0,
    bias: false,
    irange: None,
    untied_bias: false,
};

/// The runtime's shape after the whole stack is the one the typed stack declares.
fn runtime_output<I: TypedShape, L: TypedLayer<I>>(l: &L) -> (StackSpec, Shape) {
    let s = stack_spec::<I, L>(l);
    let out = *s.try_layer_shapes().unwrap().last().unwrap();
    assert_eq!(out, <L::Out as TypedShape>::SHAPE, "{s:?}");
    (s, out)
}

#[test]
fn image_stacks_lower_to_their_layers_with_the_declared_shapes() {
    // 8×8: conv (8 + 2 − 4)/2 + 1 = 4; max pool (4 − 2)/2 + 1 = 2; maxout 8/2 = 4 channels;
    // upsample ×3 = 6; avg pool 6/2 = 3; transposed (3 − 1)·2 − 2 + 4 + 1 = 7.
    let d = (
        Conv::<Img<8, 4, 4>, 4, 2, 1>::no_bias(),
        BatchNorm::new(),
        MaxPool::<Img<8, 2, 2>, 2, 2>::new(),
        ChannelMaxout::<Img<4, 2, 2>, 2>::new(),
        Upsample::<Img<4, 6, 6>, 3>::new(),
        AvgPool::<Img<4, 3, 3>, 2>::new(),
        ConvTranspose::<Img<2, 7, 7>, 4, 2, 1, 1>::new(),
        Flatten::<98>,
        Dense::<1>::new(),
    );
    let (s, out) = runtime_output::<Img<3, 8, 8>, _>(&d);
    assert_eq!(out, Shape::Flat(1));
    assert_eq!(s.input, 3 * 8 * 8);
    let t = ConvSpec {
        out_channels: 2,
        output_padding: 1,
        bias: true,
        ..HALVING
    };
    assert_eq!(
        s.layers,
        vec![
            LayerSpec::Reshape { c: 3, h: 8, w: 8 },
            LayerSpec::Conv(HALVING),
            LayerSpec::BatchNorm {
                momentum: 0.1,
                eps: 1e-5
            },
            LayerSpec::MaxPool {
                k: 2,
                stride: 2,
                ceil: false
            },
            LayerSpec::ChannelMaxout { pieces: 2 },
            LayerSpec::Upsample { scale: 3 },
            LayerSpec::AvgPool { k: 2 },
            LayerSpec::ConvTranspose(t),
            LayerSpec::Flatten,
            LayerSpec::Dense {
                units: 1,
                irange: None
            },
        ]
    );
    // every intermediate shape too: each prefix of the stack as its own typed stack
    runtime_output::<Img<3, 8, 8>, _>(&(d.0, d.1, d.2));
    runtime_output::<Img<3, 8, 8>, _>(&(d.0, d.1, d.2, d.3, d.4));
    runtime_output::<Img<3, 8, 8>, _>(&(d.0, d.1, d.2, d.3, d.4, d.5, d.6));
    // nested tuples lower to the same flat stack
    let nested = ((d.0, d.1, d.2), (d.3, d.4), (d.5, d.6, d.7, d.8));
    assert_eq!(runtime_output::<Img<3, 8, 8>, _>(&nested).0, s);
}

#[test]
fn a_flat_to_image_generator_lowers_with_its_reshape() {
    let g = (
        Dense::<{ 16 * 2 * 2 }>::new(),
        Reshape::<16, 2, 2>,
        BatchNorm {
            momentum: 0.2,
            eps: 1e-3,
        },
        Relu,
        ConvTranspose::<Img<3, 4, 4>, 4, 2, 1>::no_bias(),
        Tanh,
    );
    let (s, out) = runtime_output::<C<10>, _>(&g);
    assert_eq!(out, Shape::Image { c: 3, h: 4, w: 4 });
    assert_eq!(
        s.layers[0],
        LayerSpec::Dense {
            units: 64,
            irange: None
        }
    );
    assert_eq!(s.layers[1], LayerSpec::Reshape { c: 16, h: 2, w: 2 });
    assert_eq!(
        s.layers[2],
        LayerSpec::BatchNorm {
            momentum: 0.2,
            eps: 1e-3
        }
    );
    // dense 11·64 + batch norm 2 per channel of 16 + 16·3·4·4 transposed weights, no bias
    assert_eq!(s.param_count(), 11 * 64 + 2 * 16 + 16 * 3 * 16);
}

#[test]
fn data_must_have_the_declared_shape() {
    type Mnist = TypedGan<C<100>, Img<1, 28, 28>>;
    assert_eq!(Mnist::try_check_data(784, Some([1, 28, 28])), Ok(()));
    assert_eq!(
        Mnist::try_check_data(784, None).unwrap_err(),
        "the data are 784 flat features per row, the GAN's type declares [1, 28, 28]"
    );
    assert_eq!(
        Mnist::try_check_data(784, Some([4, 14, 14])).unwrap_err(),
        "the data are images [4, 14, 14] per row, the GAN's type declares [1, 28, 28]"
    );
    type Flat = TypedGan<C<2>, C<784>>;
    assert_eq!(Flat::try_check_data(784, Some([1, 28, 28])), Ok(()));
    assert!(Flat::try_check_data(783, None).is_err());
}
