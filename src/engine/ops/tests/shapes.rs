//! Shapes that do not fit are errors naming the input shape and the operation's own.

use crate::engine::ops::*;

fn msg<T: std::fmt::Debug>(r: Result<T, crate::engine::ShapeError>) -> String {
    r.unwrap_err().message
}

#[test]
fn misfits_are_errors_naming_both_shapes() {
    let m = msg(Conv2d::try_new(
        Image::new(3, 31, 32),
        64,
        [4, 4],
        [2, 2],
        [1, 1],
        false,
    ));
    assert!(
        m.contains("[3, 31, 32]")
            && m.contains("kernel 4x4, stride 2x2, padding 1x1")
            && m.contains("height")
            && m.contains("29"),
        "{m}"
    );
    let m = msg(Conv2d::try_new(
        Image::new(1, 28, 3),
        8,
        [5, 5],
        [1, 1],
        [0, 0],
        false,
    ));
    assert!(
        m.contains("[1, 28, 3]") && m.contains("kernel 5x5") && m.contains("width"),
        "{m}"
    );
    let m = msg(Conv2d::try_new(
        Image::new(1, 8, 8),
        8,
        [3, 3],
        [0, 1],
        [0, 0],
        false,
    ));
    assert!(m.contains("at least 1"), "{m}");
    let m = msg(Conv2d::try_new(
        Image::new(0, 8, 8),
        8,
        [3, 3],
        [1, 1],
        [0, 0],
        false,
    ));
    assert!(m.contains("[0, 8, 8]") && m.contains("empty"), "{m}");
    let m = msg(ConvTranspose2d::try_new(
        Image::new(4, 7, 7),
        2,
        [4, 4],
        [2, 2],
        [1, 1],
        [2, 0],
        false,
    ));
    assert!(
        m.contains("output padding 2x0") && m.contains("stride 2"),
        "{m}"
    );
    let m = msg(ConvTranspose2d::try_new(
        Image::new(4, 1, 1),
        2,
        [2, 2],
        [1, 1],
        [1, 1],
        [0, 0],
        false,
    ));
    assert!(m.contains("[4, 1, 1]") && m.contains("padding 1"), "{m}");
    let m = msg(MaxPool::try_new(
        Image::new(2, 7, 8),
        2,
        2,
        PoolRounding::Exact,
    ));
    assert!(
        m.contains("[2, 7, 8]") && m.contains("max_pool 2x2, stride 2") && m.contains("height"),
        "{m}"
    );
    let m = msg(MaxPool::try_new(
        Image::new(2, 3, 8),
        4,
        2,
        PoolRounding::Ceil,
    ));
    assert!(m.contains("[2, 3, 8]") && m.contains("larger"), "{m}");
    let m = msg(MaxPool::try_new(
        Image::new(2, 9, 9),
        2,
        3,
        PoolRounding::Ceil,
    ));
    assert!(m.contains("stride ≤ window"), "{m}");
    let m = msg(AvgPool::try_new(Image::new(1, 6, 7), 2));
    assert!(m.contains("[1, 6, 7]") && m.contains("avg_pool 2x2"), "{m}");
    let m = msg(ChannelMaxout::try_new(Image::new(10, 4, 4), 3));
    assert!(m.contains("[10, 4, 4]") && m.contains("3 pieces"), "{m}");
    let m = msg(Upsample::try_new(Image::new(1, 4, 4), 0));
    assert!(m.contains("[1, 4, 4]") && m.contains("scale"), "{m}");
    // the fitting neighbours of those shapes build
    assert!(Conv2d::try_new(Image::new(3, 32, 32), 64, [4, 4], [2, 2], [1, 1], false).is_ok());
    assert!(MaxPool::try_new(Image::new(2, 8, 8), 2, 2, PoolRounding::Exact).is_ok());
}
