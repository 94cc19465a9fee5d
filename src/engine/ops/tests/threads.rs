//! Every kernel gives the same bits under rayon pools of 1, 2 and 3 threads, on shapes large
//! enough that the GEMMs and the plane loops really split.

use super::{distinct, values};
use crate::engine::ops::*;

fn in_pool<T: Send>(threads: usize, f: impl FnOnce() -> T + Send) -> T {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap()
        .install(f)
}

/// Every output of one forward and backward pass of each kernel, concatenated.
fn everything() -> Vec<Vec<f32>> {
    let n = 6;
    let mut outs = Vec::new();
    // conv 16 → 32, 4x4 stride 2 padding 1 on 16x16 (a DCGAN D layer), with bias
    let img = Image::new(16, 16, 16);
    let c = Conv2d::try_new(img, 32, [4, 4], [2, 2], [1, 1], true).unwrap();
    let (x, w, b) = (
        values(n * img.len(), 1),
        values(c.weight_len(), 2),
        values(32, 3),
    );
    let mut work = ConvWork::default();
    let mut y = vec![0.0; n * c.output().len()];
    c.forward(n, &x, &w, Some(&b), &mut y, &mut work);
    let dy = values(y.len(), 4);
    let (mut dw, mut db, mut dx) = (vec![0.0; w.len()], vec![0.0; 32], vec![0.0; x.len()]);
    c.backward(
        n,
        &dy,
        &w,
        &mut work,
        Some(&mut dw),
        Some(&mut db),
        Some(&mut dx),
    );
    outs.extend([y, dw, db, dx]);
    // conv_transpose 32 → 8, 4x4 stride 2 padding 1 on 8x8 → 16x16
    let t = ConvTranspose2d::try_new(
        Image::new(32, 8, 8),
        8,
        [4, 4],
        [2, 2],
        [1, 1],
        [0, 0],
        true,
    )
    .unwrap();
    let (x, w, b) = (
        values(n * t.input().len(), 5),
        values(t.weight_len(), 6),
        values(8, 7),
    );
    let mut y = vec![0.0; n * t.output().len()];
    t.forward(n, &x, &w, Some(&b), &mut y, &mut work);
    let dy = values(y.len(), 8);
    let (mut dw, mut db, mut dx) = (vec![0.0; w.len()], vec![0.0; 8], vec![0.0; x.len()]);
    t.backward(
        n,
        &dy,
        &w,
        &mut work,
        Some(&mut dw),
        Some(&mut db),
        Some(&mut dx),
    );
    outs.extend([y, dw, db, dx]);
    // colour planes: conv 3 → 4 and conv_transpose 4 → 3, fewer channels than tasks, so
    // im2col and col2im split each channel's images over the threads
    let c = Conv2d::try_new(Image::new(3, 8, 8), 4, [4, 4], [2, 2], [1, 1], false).unwrap();
    let t = ConvTranspose2d::try_new(
        Image::new(4, 4, 4),
        3,
        [4, 4],
        [2, 2],
        [1, 1],
        [0, 0],
        false,
    )
    .unwrap();
    let (x, w) = (values(n * 3 * 64, 13), values(c.weight_len(), 14));
    let mut y = vec![0.0; n * c.output().len()];
    c.forward(n, &x, &w, None, &mut y, &mut work);
    let (mut dw, mut dx) = (vec![0.0; w.len()], vec![0.0; x.len()]);
    let dy = values(y.len(), 15);
    c.backward(n, &dy, &w, &mut work, Some(&mut dw), None, Some(&mut dx));
    outs.extend([y.clone(), dw, dx]);
    let tw = values(t.weight_len(), 16);
    let mut ty = vec![0.0; n * t.output().len()];
    t.forward(n, &y, &tw, None, &mut ty, &mut work);
    let (mut dw, mut dx) = (vec![0.0; tw.len()], vec![0.0; y.len()]);
    let dy = values(ty.len(), 17);
    t.backward(n, &dy, &tw, &mut work, Some(&mut dw), None, Some(&mut dx));
    outs.extend([ty, dw, dx]);
    // batch norm over 32 channels of 8x8 (training and its backward)
    let bn = BatchNorm::new(32, 64);
    let (x, g, bt) = (values(n * 32 * 64, 9), values(32, 10), values(32, 11));
    let (mut rm, mut rv, mut y) = (vec![0.0; 32], vec![1.0; 32], vec![0.0; x.len()]);
    let mut cache = BatchNormCache::default();
    bn.try_forward_train(n, &x, &g, &bt, &mut rm, &mut rv, &mut y, &mut cache)
        .unwrap();
    let dy = values(y.len(), 12);
    let (mut dg, mut db, mut dx) = (vec![0.0; 32], vec![0.0; 32], vec![0.0; x.len()]);
    bn.backward_train(n, &x, &dy, &g, &cache, &mut dg, &mut db, Some(&mut dx));
    outs.extend([y, rm, rv, dg, db, dx]);
    // max pool (overlapping, ceil), avg pool, upsample, maxout
    let img = Image::new(8, 33, 33);
    let p = MaxPool::try_new(img, 4, 2, PoolRounding::Ceil).unwrap();
    let x = distinct(n * img.len(), 13);
    let (mut y, mut arg) = (
        vec![0.0; n * p.output().len()],
        vec![0; n * p.output().len()],
    );
    p.forward(n, &x, &mut y, &mut arg);
    let mut dx = vec![0.0; x.len()];
    p.backward(n, &values(y.len(), 14), &arg, &mut dx);
    outs.extend([y, dx]);
    let img = Image::new(8, 16, 16);
    let x = values(n * img.len(), 15);
    let a = AvgPool::try_new(img, 2).unwrap();
    let u = Upsample::try_new(img, 2).unwrap();
    let m = ChannelMaxout::try_new(img, 2).unwrap();
    for (out_len, fwd, bwd) in [
        (
            a.output().len(),
            &|y: &mut [f32]| a.forward(n, &x, y) as _,
            &|dy: &[f32], dx: &mut [f32]| a.backward(n, dy, dx) as _,
        ),
        (
            u.output().len(),
            &|y: &mut [f32]| u.forward(n, &x, y),
            &|dy: &[f32], dx: &mut [f32]| u.backward(n, dy, dx),
        ),
        (
            m.output().len(),
            &|y: &mut [f32]| m.forward(n, &x, y),
            &|dy: &[f32], dx: &mut [f32]| m.backward(n, &x, dy, dx),
        ),
    ]
        as [(usize, &dyn Fn(&mut [f32]), &dyn Fn(&[f32], &mut [f32])); 3]
    {
        let mut y = vec![0.0; n * out_len];
        fwd(&mut y);
        let mut dx = vec![0.0; x.len()];
        bwd(&values(y.len(), 16), &mut dx);
        outs.extend([y, dx]);
    }
    outs
}

#[test]
fn results_do_not_depend_on_the_thread_count() {
    let bits = |v: Vec<Vec<f32>>| -> Vec<Vec<u32>> {
        v.iter()
            .map(|o| o.iter().map(|x| x.to_bits()).collect())
            .collect()
    };
    let one = bits(in_pool(1, everything));
    for t in [2, 3] {
        let other = bits(in_pool(t, everything));
        for (i, (a, b)) in one.iter().zip(&other).enumerate() {
            assert!(a == b, "output {i} differs between 1 and {t} threads");
        }
    }
}
