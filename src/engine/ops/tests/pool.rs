//! Max and average pooling, nearest upsampling and channel-group maxout: forward against plain
//! loops, backward against finite differences.

use super::naive;
use super::{assert_close, check_fd, distinct, dot, sample, values};
use crate::engine::ops::{AvgPool, ChannelMaxout, Image, MaxPool, PoolRounding, Upsample};

/// (n, image, k, stride, rounding)
fn max_cases() -> Vec<(usize, Image, usize, usize, PoolRounding)> {
    use PoolRounding::*;
    vec![
        (2, Image::new(3, 6, 8), 2, 2, Exact),
        (1, Image::new(1, 7, 5), 3, 2, Exact),
        (2, Image::new(2, 9, 7), 3, 3, Ceil),
        (1, Image::new(2, 10, 6), 4, 3, Ceil),
        // the paper's CIFAR-10 D: 33 → 16 (pool 4, stride 2), 15 → 7 (4, 2), 9 → 5 (2, 2)
        (2, Image::new(2, 33, 33), 4, 2, Ceil),
        (1, Image::new(3, 15, 15), 4, 2, Ceil),
        (3, Image::new(1, 9, 9), 2, 2, Ceil),
    ]
}

#[test]
fn max_pool_matches_plain_loops_and_pylearn2_sizes() {
    for (t, &(n, img, k, s, rounding)) in max_cases().iter().enumerate() {
        let p = MaxPool::try_new(img, k, s, rounding).unwrap();
        let out = p.output();
        let count = |size: usize| match rounding {
            // cuda-convnet's rule as pylearn2 writes it: ceil((size − start − k) / stride) + 1
            PoolRounding::Ceil => ((size - k) as f64 / s as f64).ceil() as usize + 1,
            PoolRounding::Exact => (size - k) / s + 1,
        };
        assert_eq!((out.h, out.w), (count(img.h), count(img.w)), "case {t}");
        let x = values(n * img.len(), 400 + t as u64);
        let (mut y, mut arg) = (vec![0.0; n * out.len()], vec![0u32; n * out.len()]);
        p.forward(n, &x, &mut y, &mut arg);
        assert_close(
            &format!("max_pool case {t}"),
            &y,
            &naive::max_pool(n, img, &x, k, s, out.h, out.w),
            0.0,
        );
    }
    let sizes: Vec<usize> = [(33, 4, 2), (15, 4, 2), (9, 2, 2)]
        .iter()
        .map(|&(size, k, s)| {
            MaxPool::try_new(Image::new(1, size, size), k, s, PoolRounding::Ceil)
                .unwrap()
                .out_h
        })
        .collect();
    assert_eq!(sizes, [16, 7, 5]);
}

#[test]
fn max_pool_routes_gradients_to_the_argmax() {
    for (t, &(n, img, k, s, rounding)) in max_cases().iter().enumerate() {
        let p = MaxPool::try_new(img, k, s, rounding).unwrap();
        let out = p.output();
        let mut x = distinct(n * img.len(), 500 + t as u64);
        let r = values(n * out.len(), 510 + t as u64);
        let fwd = |x: &[f32]| {
            let (mut y, mut a) = (vec![0.0; n * out.len()], vec![0u32; n * out.len()]);
            p.forward(n, x, &mut y, &mut a);
            (y, a)
        };
        let (_, arg) = fwd(&x);
        let mut dx = vec![f32::NAN; x.len()];
        p.backward(n, &r, &arg, &mut dx);
        let len = x.len();
        check_fd(
            &format!("max_pool case {t}"),
            &mut x,
            &dx,
            sample(len)
                .into_iter()
                .chain(arg.iter().map(|&a| a as usize).take(20)),
            1e-3,
            |x| dot(&r, &fwd(x).0),
        );
    }
}

/// `bwd(x, r, dx)` against finite differences of `Σ r ⊙ fwd(x)` (r random, `out_len` outputs).
fn check_unary(
    what: &str,
    x: &mut [f32],
    out_len: usize,
    eps: f32,
    seed: u64,
    fwd: impl Fn(&[f32], &mut [f32]),
    bwd: impl Fn(&[f32], &[f32], &mut [f32]),
) {
    let r = values(out_len, seed);
    let mut dx = vec![f32::NAN; x.len()];
    bwd(x, &r, &mut dx);
    let at = sample(x.len());
    check_fd(what, x, &dx, at, eps, |x| {
        let mut y = vec![0.0; out_len];
        fwd(x, &mut y);
        dot(&r, &y)
    });
}

#[test]
fn avg_pool_and_upsample_match_plain_loops_and_finite_differences() {
    for (t, &(n, img, k)) in [
        (2, Image::new(3, 4, 6), 2),
        (1, Image::new(1, 9, 3), 3),
        (3, Image::new(2, 5, 5), 1),
    ]
    .iter()
    .enumerate()
    {
        let p = AvgPool::try_new(img, k).unwrap();
        let out = p.output();
        let mut x = values(n * img.len(), 600 + t as u64);
        let mut y = vec![0.0; n * out.len()];
        p.forward(n, &x, &mut y);
        let want: Vec<f64> = (0..y.len())
            .map(|o| {
                let (q, oy, ox) = (o / out.plane(), (o % out.plane()) / out.w, o % out.w);
                let mut s = 0.0;
                for r in oy * k..(oy + 1) * k {
                    for c in ox * k..(ox + 1) * k {
                        s += x[q * img.plane() + r * img.w + c] as f64;
                    }
                }
                s / (k * k) as f64
            })
            .collect();
        assert_close(&format!("avg_pool case {t}"), &y, &want, 1e-5);
        check_unary(
            &format!("avg_pool case {t}"),
            &mut x,
            y.len(),
            1e-2,
            610 + t as u64,
            |x, y| p.forward(n, x, y),
            |_, dy, dx| p.backward(n, dy, dx),
        );
    }
    for (t, &(n, img, s)) in [
        (2, Image::new(2, 3, 5), 2),
        (1, Image::new(1, 2, 2), 3),
        (2, Image::new(3, 4, 1), 1),
    ]
    .iter()
    .enumerate()
    {
        let u = Upsample::try_new(img, s).unwrap();
        let out = u.output();
        assert_eq!((out.c, out.h, out.w), (img.c, img.h * s, img.w * s));
        let mut x = values(n * img.len(), 700 + t as u64);
        let mut y = vec![0.0; n * out.len()];
        u.forward(n, &x, &mut y);
        let want: Vec<f64> = (0..y.len())
            .map(|o| {
                let (q, oy, ox) = (o / out.plane(), (o % out.plane()) / out.w, o % out.w);
                x[q * img.plane() + (oy / s) * img.w + ox / s] as f64
            })
            .collect();
        assert_close(&format!("upsample case {t}"), &y, &want, 0.0);
        check_unary(
            &format!("upsample case {t}"),
            &mut x,
            y.len(),
            1e-2,
            710 + t as u64,
            |x, y| u.forward(n, x, y),
            |_, dy, dx| u.backward(n, dy, dx),
        );
    }
}

#[test]
fn channel_maxout_takes_the_max_of_consecutive_channels() {
    for (t, &(n, img, pieces)) in [
        (2, Image::new(6, 3, 4), 2),
        (1, Image::new(5, 2, 2), 5),
        (3, Image::new(4, 1, 3), 1),
    ]
    .iter()
    .enumerate()
    {
        let m = ChannelMaxout::try_new(img, pieces).unwrap();
        let out = m.output();
        let mut x = distinct(n * img.len(), 800 + t as u64);
        let mut y = vec![0.0; n * out.len()];
        m.forward(n, &x, &mut y);
        let want: Vec<f64> = (0..y.len())
            .map(|o| {
                let (b, u, s) = (
                    o / out.len(),
                    (o % out.len()) / out.plane(),
                    o % out.plane(),
                );
                (0..pieces)
                    .map(|q| x[(b * img.c + u * pieces + q) * img.plane() + s] as f64)
                    .fold(f64::NEG_INFINITY, f64::max)
            })
            .collect();
        assert_close(&format!("maxout case {t}"), &y, &want, 0.0);
        check_unary(
            &format!("maxout case {t}"),
            &mut x,
            y.len(),
            1e-3,
            810 + t as u64,
            |x, y| m.forward(n, x, y),
            |x, dy, dx| m.backward(n, x, dy, dx),
        );
    }
}

#[test]
fn ties_route_to_the_first_maximum() {
    // one plane of equal values: every window's gradient goes to its first (top-left) pixel
    let img = Image::new(1, 4, 4);
    let p = MaxPool::try_new(img, 2, 2, PoolRounding::Exact).unwrap();
    let (mut y, mut arg) = (vec![0.0; 4], vec![0u32; 4]);
    p.forward(1, &[0.5; 16], &mut y, &mut arg);
    assert_eq!(arg, [0, 2, 8, 10]);
    let mut dx = vec![f32::NAN; 16];
    p.backward(1, &[1.0, 2.0, 3.0, 4.0], &arg, &mut dx);
    let mut want = [0.0; 16];
    (want[0], want[2], want[8], want[10]) = (1.0, 2.0, 3.0, 4.0);
    assert_eq!(dx, want);
    // channel maxout: the first of two equal pieces takes the gradient
    let m = ChannelMaxout::try_new(Image::new(2, 1, 2), 2).unwrap();
    let mut dx = vec![f32::NAN; 4];
    m.backward(1, &[1.0, 3.0, 1.0, 2.0], &[5.0, 6.0], &mut dx);
    assert_eq!(dx, [5.0, 6.0, 0.0, 0.0]);
}
