//! `reshape(c, h, w)` and `flatten()`: the same values per row seen as an image or as flat
//! features. Rows are stored flat either way (an image row-major, channel after channel), so
//! both are the identity on the values, on either path; only the shape the next layer sees
//! changes. A reshape whose sizes differ is refused naming both shapes.

use rand_chacha::ChaCha8Rng;

use super::{BackwardPass, FastLayer, ForwardPass, Layer, LayerKind, Masks, Shape, MAX_SIDE};
use crate::engine::{Dev, Mat, Tp};

/// The spec and the built layer at once (it holds nothing).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reshape {
    Image { c: usize, h: usize, w: usize },
    Flatten,
}

impl LayerKind for Reshape {
    fn name(&self) -> String {
        match self {
            Reshape::Image { c, h, w } => format!("reshape({c}, {h}, {w})"),
            Reshape::Flatten => "flatten()".into(),
        }
    }

    fn output_shape(&self, input: Shape) -> Result<Shape, String> {
        let n = input
            .len()
            .ok_or_else(|| format!("input {input} has more values than fit in memory"))?;
        match *self {
            Reshape::Flatten => Ok(Shape::Flat(n)),
            Reshape::Image { c, h, w } => {
                let out = Shape::Image { c, h, w };
                if c.min(h).min(w) == 0 || c.max(h).max(w) > MAX_SIDE {
                    return Err(format!(
                        "reshape to {out}: every size must be in 1..={MAX_SIDE}"
                    ));
                }
                match out.len() {
                    Some(m) if m == n => Ok(out),
                    m => Err(format!(
                        "cannot reshape input {input} ({n} values) to {out} ({} values)",
                        m.map_or("too many".into(), |m| m.to_string())
                    )),
                }
            }
        }
    }

    fn build(&self, _: Shape, _: f64, _: &Dev, _: &mut ChaCha8Rng) -> Box<dyn Layer> {
        Box::new(*self)
    }
}

impl Layer for Reshape {
    fn forward(&self, x: Mat, _: &mut Masks) -> Mat {
        x
    }
    fn forward_traced(&self, x: Mat<Tp>, _: &mut Masks) -> Mat<Tp> {
        x
    }
    fn mirror(&self) -> Box<dyn FastLayer> {
        Box::new(*self)
    }
}

impl FastLayer for Reshape {
    fn forward(&self, f: ForwardPass<'_>) {
        f.y.copy_from_slice(f.x);
    }
    fn backward(&mut self, b: BackwardPass<'_, '_>) {
        b.elementwise(|o, dy, _| o.copy_from_slice(dy));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::layers::testing::check_paths;
    use crate::engine::spec::LayerSpec;

    #[test]
    fn reshape_and_flatten_keep_values_and_change_shapes() {
        let img = Reshape::Image { c: 2, h: 3, w: 4 };
        assert_eq!(
            img.output_shape(Shape::Flat(24)),
            Ok(Shape::Image { c: 2, h: 3, w: 4 })
        );
        assert_eq!(
            Reshape::Flatten.output_shape(Shape::Image { c: 2, h: 3, w: 4 }),
            Ok(Shape::Flat(24))
        );
        check_paths(&LayerSpec::Reshape { c: 2, h: 3, w: 4 }, 24);
        check_paths(&LayerSpec::Flatten, 24);
    }

    #[test]
    fn a_reshape_whose_sizes_differ_names_both_shapes() {
        let e = Reshape::Image { c: 1, h: 28, w: 28 }
            .output_shape(Shape::Image { c: 3, h: 32, w: 32 })
            .unwrap_err();
        assert_eq!(
            e,
            "cannot reshape input [3, 32, 32] (3072 values) to [1, 28, 28] (784 values)"
        );
        let e = Reshape::Image { c: 0, h: 2, w: 2 }
            .output_shape(Shape::Flat(0))
            .unwrap_err();
        assert!(e.contains("every size must be in 1..="), "{e}");
    }
}
