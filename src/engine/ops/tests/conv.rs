//! conv2d and conv_transpose2d against the direct references, and their gradients against
//! finite differences.

use super::naive::{self, ConvCase};
use super::{assert_close, check_fd, dot, sample, values};
use crate::engine::ops::{Conv2d, ConvTranspose2d, ConvWork, Image};

#[allow(clippy::too_many_arguments)]
fn case(
    n: usize,
    c: usize,
    h: usize,
    w: usize,
    out_c: usize,
    k: [usize; 2],
    stride: [usize; 2],
    pad: [usize; 2],
) -> ConvCase {
    ConvCase {
        n,
        input: Image::new(c, h, w),
        out_c,
        k,
        stride,
        pad,
    }
}

/// Odd shapes: strides 1, 2, 3; padding 0..2; non-square images and kernels; one and several
/// channels and images. Every one tiles its input.
fn conv_cases() -> Vec<ConvCase> {
    vec![
        case(1, 1, 5, 7, 2, [3, 3], [1, 1], [0, 0]),
        case(2, 3, 8, 6, 4, [4, 4], [2, 2], [1, 1]),
        case(3, 2, 7, 10, 3, [3, 2], [3, 2], [1, 0]),
        case(2, 4, 9, 9, 5, [5, 5], [1, 1], [2, 2]),
        case(1, 3, 6, 5, 2, [2, 3], [2, 1], [2, 1]),
        case(1, 2, 11, 8, 3, [3, 3], [3, 3], [2, 2]),
        case(2, 1, 4, 4, 1, [1, 1], [1, 1], [0, 0]),
    ]
}

fn build_conv(cs: &ConvCase, bias: bool) -> Conv2d {
    Conv2d::try_new(cs.input, cs.out_c, cs.k, cs.stride, cs.pad, bias).expect("case tiles")
}

fn run_conv(l: &Conv2d, n: usize, x: &[f32], w: &[f32], b: Option<&[f32]>) -> Vec<f32> {
    let mut y = vec![f32::NAN; n * l.output().len()];
    l.forward(n, x, w, b, &mut y, &mut ConvWork::default());
    y
}

#[test]
fn conv2d_matches_the_direct_convolution() {
    for (t, cs) in conv_cases().iter().enumerate() {
        for bias in [false, true] {
            let l = build_conv(cs, bias);
            let x = values(cs.n * cs.input.len(), 10 + t as u64);
            let w = values(l.weight_len(), 20 + t as u64);
            let b = values(cs.out_c, 30 + t as u64);
            let b = bias.then_some(&b[..]);
            let out = l.output();
            let want = naive::conv2d(cs, &x, &w, b, out.h, out.w);
            assert_close(
                &format!("conv2d case {t} bias {bias}"),
                &run_conv(&l, cs.n, &x, &w, b),
                &want,
                1e-4,
            );
        }
    }
}

/// (case, output padding) pairs; the case's `out_c` is the transposed convolution's output channels.
fn transpose_cases() -> Vec<(ConvCase, [usize; 2])> {
    vec![
        (case(1, 1, 3, 4, 2, [3, 3], [1, 1], [0, 0]), [0, 0]),
        (case(2, 3, 4, 3, 2, [4, 4], [2, 2], [1, 1]), [0, 0]),
        (case(2, 2, 3, 5, 3, [5, 5], [3, 3], [2, 2]), [1, 2]),
        (case(3, 4, 5, 4, 1, [3, 2], [2, 1], [1, 0]), [1, 0]),
        (case(1, 2, 2, 2, 3, [4, 4], [2, 2], [1, 1]), [1, 1]),
    ]
}

fn build_t(cs: &ConvCase, op: [usize; 2], bias: bool) -> ConvTranspose2d {
    ConvTranspose2d::try_new(cs.input, cs.out_c, cs.k, cs.stride, cs.pad, op, bias)
        .expect("valid case")
}

fn run_t(l: &ConvTranspose2d, n: usize, x: &[f32], w: &[f32], b: Option<&[f32]>) -> Vec<f32> {
    let mut y = vec![f32::NAN; n * l.output().len()];
    l.forward(n, x, w, b, &mut y, &mut ConvWork::default());
    y
}

#[test]
fn conv_transpose2d_matches_the_direct_scatter() {
    for (t, (cs, op)) in transpose_cases().iter().enumerate() {
        for bias in [false, true] {
            let l = build_t(cs, *op, bias);
            let out = l.output();
            // PyTorch's size rule, computed here independently
            for d in 0..2 {
                let size = [cs.input.h, cs.input.w][d];
                let want = (size - 1) * cs.stride[d] + cs.k[d] + op[d] - 2 * cs.pad[d];
                assert_eq!([out.h, out.w][d], want, "case {t} axis {d}");
            }
            let x = values(cs.n * cs.input.len(), 110 + t as u64);
            let w = values(l.weight_len(), 120 + t as u64);
            let b = values(cs.out_c, 130 + t as u64);
            let b = bias.then_some(&b[..]);
            let want = naive::conv_transpose2d(cs, &x, &w, b, out.h, out.w);
            assert_close(
                &format!("conv_transpose2d case {t} bias {bias}"),
                &run_t(&l, cs.n, &x, &w, b),
                &want,
                1e-4,
            );
        }
    }
}

/// The two layers' shared interface, so that one gradient check serves both.
trait XwbLayer {
    /// x, w, b, y
    fn lens(&self, n: usize) -> [usize; 4];
    fn fwd(
        &self,
        n: usize,
        x: &[f32],
        w: &[f32],
        b: Option<&[f32]>,
        y: &mut [f32],
        work: &mut ConvWork,
    );
    #[allow(clippy::too_many_arguments)]
    fn bwd(
        &self,
        n: usize,
        dy: &[f32],
        w: &[f32],
        work: &mut ConvWork,
        dw: Option<&mut [f32]>,
        db: Option<&mut [f32]>,
        dx: Option<&mut [f32]>,
    );
}

// The two layers have the same method signatures; one impl written once for both.
macro_rules! xwb_layer {
    ($($t:ty),*) => {$(
        impl XwbLayer for $t {
            fn lens(&self, n: usize) -> [usize; 4] {
                let out = self.output();
                [n * self.input().len(), self.weight_len(), out.c, n * out.len()]
            }
            fn fwd(&self, n: usize, x: &[f32], w: &[f32], b: Option<&[f32]>, y: &mut [f32], work: &mut ConvWork) {
                self.forward(n, x, w, b, y, work)
            }
            fn bwd(&self, n: usize, dy: &[f32], w: &[f32], work: &mut ConvWork, dw: Option<&mut [f32]>, db: Option<&mut [f32]>, dx: Option<&mut [f32]>) {
                self.backward(n, dy, w, work, dw, db, dx)
            }
        }
    )*};
}
xwb_layer!(Conv2d, ConvTranspose2d);

/// dx, dw and db of `l` against finite differences of `Σ r ⊙ y`; then the same dw and db when the
/// input gradient is skipped (a first layer).
fn check_gradients(what: &str, l: &impl XwbLayer, n: usize, seed: u64) {
    let [lx, lw, lb, ly] = l.lens(n);
    let args = [values(lx, seed), values(lw, seed + 1), values(lb, seed + 2)];
    let r = values(ly, seed + 3);
    let run = |a: &[Vec<f32>; 3]| {
        let mut y = vec![f32::NAN; ly];
        l.fwd(
            n,
            &a[0],
            &a[1],
            Some(&a[2]),
            &mut y,
            &mut ConvWork::default(),
        );
        y
    };
    let mut work = ConvWork::default();
    l.fwd(
        n,
        &args[0],
        &args[1],
        Some(&args[2]),
        &mut vec![0.0; ly],
        &mut work,
    );
    let mut grads = [vec![0.0; lx], vec![0.0; lw], vec![0.0; lb]];
    let [dx, dw, db] = &mut grads;
    l.bwd(n, &r, &args[1], &mut work, Some(dw), Some(db), Some(dx));
    for (i, name) in ["dx", "dw", "db"].into_iter().enumerate() {
        let mut v = args[i].clone();
        check_fd(
            &format!("{what} {name}"),
            &mut v,
            &grads[i],
            sample(args[i].len()),
            1e-2,
            |v| {
                let mut a = args.clone();
                a[i] = v.to_vec();
                dot(&r, &run(&a))
            },
        );
    }
    let (mut dw2, mut db2) = (vec![0.0; lw], vec![0.0; lb]);
    l.fwd(
        n,
        &args[0],
        &args[1],
        Some(&args[2]),
        &mut vec![0.0; ly],
        &mut work,
    );
    l.bwd(
        n,
        &r,
        &args[1],
        &mut work,
        Some(&mut dw2),
        Some(&mut db2),
        None,
    );
    assert_eq!(
        [&grads[1], &grads[2]],
        [&dw2, &db2],
        "{what}: dw and db without dx"
    );
    // The input gradient alone reads no forward buffer: the same bits from empty ones.
    let mut dx2 = vec![f32::NAN; lx];
    l.bwd(
        n,
        &r,
        &args[1],
        &mut ConvWork::default(),
        None,
        None,
        Some(&mut dx2),
    );
    assert_eq!(grads[0], dx2, "{what}: dx without dw and db");
}

#[test]
fn conv2d_gradients_match_finite_differences() {
    for (t, cs) in conv_cases().iter().enumerate() {
        check_gradients(
            &format!("conv2d case {t}"),
            &build_conv(cs, true),
            cs.n,
            40 + 10 * t as u64,
        );
    }
}

#[test]
fn conv_transpose2d_gradients_match_finite_differences() {
    for (t, (cs, op)) in transpose_cases().iter().enumerate() {
        check_gradients(
            &format!("conv_transpose2d case {t}"),
            &build_t(cs, *op, true),
            cs.n,
            140 + 10 * t as u64,
        );
    }
}
