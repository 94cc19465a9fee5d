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

#[test]
fn conv2d_gradients_match_finite_differences() {
    for (t, cs) in conv_cases().iter().enumerate() {
        let l = build_conv(cs, true);
        let n = cs.n;
        let mut x = values(n * cs.input.len(), 40 + t as u64);
        let mut w = values(l.weight_len(), 50 + t as u64);
        let mut b = values(cs.out_c, 60 + t as u64);
        let r = values(n * l.output().len(), 70 + t as u64);
        let mut work = ConvWork::default();
        let mut y = vec![0.0; r.len()];
        l.forward(n, &x, &w, Some(&b), &mut y, &mut work);
        let (mut dw, mut db, mut dx) = (vec![0.0; w.len()], vec![0.0; b.len()], vec![0.0; x.len()]);
        l.backward(n, &r, &w, &mut work, &mut dw, Some(&mut db), Some(&mut dx));
        let what = format!("conv2d case {t}");
        let (w0, b0, x0) = (w.clone(), b.clone(), x.clone());
        check_fd(
            &format!("{what} dx"),
            &mut x,
            &dx,
            sample(x0.len()),
            1e-2,
            |x| dot(&r, &run_conv(&l, n, x, &w0, Some(&b0))),
        );
        check_fd(
            &format!("{what} dw"),
            &mut w,
            &dw,
            sample(w0.len()),
            1e-2,
            |w| dot(&r, &run_conv(&l, n, &x0, w, Some(&b0))),
        );
        check_fd(
            &format!("{what} db"),
            &mut b,
            &db,
            sample(b0.len()),
            1e-2,
            |b| dot(&r, &run_conv(&l, n, &x0, &w0, Some(b))),
        );
        // a first layer skips the input gradient; the weight gradient is the same
        let (mut dw2, mut db2) = (vec![0.0; w.len()], vec![0.0; b.len()]);
        l.forward(n, &x0, &w0, Some(&b0), &mut y, &mut work);
        l.backward(n, &r, &w0, &mut work, &mut dw2, Some(&mut db2), None);
        assert_eq!((dw, db), (dw2, db2), "{what}: dw and db without dx");
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

#[test]
fn conv_transpose2d_gradients_match_finite_differences() {
    for (t, (cs, op)) in transpose_cases().iter().enumerate() {
        let l = build_t(cs, *op, true);
        let n = cs.n;
        let mut x = values(n * cs.input.len(), 140 + t as u64);
        let mut w = values(l.weight_len(), 150 + t as u64);
        let mut b = values(cs.out_c, 160 + t as u64);
        let r = values(n * l.output().len(), 170 + t as u64);
        let mut work = ConvWork::default();
        let mut y = vec![0.0; r.len()];
        l.forward(n, &x, &w, Some(&b), &mut y, &mut work);
        let (mut dw, mut db, mut dx) = (vec![0.0; w.len()], vec![0.0; b.len()], vec![0.0; x.len()]);
        l.backward(n, &r, &w, &mut work, &mut dw, Some(&mut db), Some(&mut dx));
        let what = format!("conv_transpose2d case {t}");
        let (w0, b0, x0) = (w.clone(), b.clone(), x.clone());
        check_fd(
            &format!("{what} dx"),
            &mut x,
            &dx,
            sample(x0.len()),
            1e-2,
            |x| dot(&r, &run_t(&l, n, x, &w0, Some(&b0))),
        );
        check_fd(
            &format!("{what} dw"),
            &mut w,
            &dw,
            sample(w0.len()),
            1e-2,
            |w| dot(&r, &run_t(&l, n, &x0, w, Some(&b0))),
        );
        check_fd(
            &format!("{what} db"),
            &mut b,
            &db,
            sample(b0.len()),
            1e-2,
            |b| dot(&r, &run_t(&l, n, &x0, &w0, Some(b))),
        );
    }
}
