//! Grids of sample images: plain grids, the paper's Figure 2 (samples next to
//! their nearest training example) and Figure 3 (interpolation rows).

use image::{Rgb, RgbImage};

use super::nn::nearest_rows;
use super::{count_images, values_per_image, ImageShape};
use crate::data::PixelRange;

/// Colour of the separators between tiles of [`sample_grid`] and
/// [`interpolation_grid`], and of empty cells: mid grey, visible against both
/// black backgrounds and white strokes.
pub const GRID_PAD_COLOR: Rgb<u8> = Rgb([128, 128, 128]);

/// Separator width, in pixels, used by [`figure2_grid`].
pub const FIGURE2_PAD: u32 = 2;

/// Colour of the frame around the nearest-training-example column of
/// [`figure2_grid`] (the paper outlines those examples in yellow).
pub const FIGURE2_PAD_COLOR: Rgb<u8> = Rgb([255, 215, 0]);

/// Largest side, in pixels, a grid may have; guards against a typo in `cols`
/// or `scale` allocating gigabytes.
const MAX_SIDE: u64 = 1 << 15;

/// Where tiles go in a grid of `rows x cols` tiles separated by `pad` pixels
/// (also around the outside).
#[derive(Debug, Clone, Copy)]
struct Layout {
    rows: u32,
    cols: u32,
    tile_w: u32,
    tile_h: u32,
    pad: u32,
}

impl Layout {
    fn new(
        shape: ImageShape,
        rows: usize,
        cols: usize,
        pad: u32,
        scale: u32,
    ) -> anyhow::Result<Self> {
        anyhow::ensure!(scale > 0, "scale must be at least 1");
        let tile_w = shape.width as u64 * scale as u64;
        let tile_h = shape.height as u64 * scale as u64;
        let width = cols as u64 * tile_w + (cols as u64 + 1) * pad as u64;
        let height = rows as u64 * tile_h + (rows as u64 + 1) * pad as u64;
        anyhow::ensure!(
            width <= MAX_SIDE && height <= MAX_SIDE,
            "grid of {rows}x{cols} tiles of {tile_h}x{tile_w} pixels would be \
             {width}x{height} pixels, more than {MAX_SIDE} on a side"
        );
        Ok(Self {
            rows: rows as u32,
            cols: cols as u32,
            tile_w: tile_w as u32,
            tile_h: tile_h as u32,
            pad,
        })
    }

    fn size(&self) -> (u32, u32) {
        (
            self.cols * self.tile_w + (self.cols + 1) * self.pad,
            self.rows * self.tile_h + (self.rows + 1) * self.pad,
        )
    }

    /// Top-left pixel of the tile in grid cell (`row`, `col`).
    fn origin(&self, row: u32, col: u32) -> (u32, u32) {
        (
            self.pad + col * (self.tile_w + self.pad),
            self.pad + row * (self.tile_h + self.pad),
        )
    }

    fn canvas(&self, background: Rgb<u8>) -> RgbImage {
        let (w, h) = self.size();
        RgbImage::from_pixel(w, h, background)
    }
}

/// Converts a value in `[0, 1]` to a byte, clamping (NaN draws as 0).
fn to_byte(v: f32) -> u8 {
    if v.is_nan() || v <= 0.0 {
        0
    } else if v >= 1.0 {
        255
    } else {
        (v * 255.0).round() as u8
    }
}

/// Draws one sample (CHW, 1 or 3 channels, values in `shape.range`) with its top-left at
/// (`x0`, `y0`), each source pixel becoming a `scale x scale` block. Three channels draw in
/// colour (red, green, blue planes); one draws grey.
fn draw_tile(img: &mut RgbImage, x0: u32, y0: u32, sample: &[f32], shape: ImageShape, scale: u32) {
    let plane = shape.height * shape.width;
    // Only contrast-normalised images need it; 0 elsewhere keeps unit data's arithmetic as it was.
    let max_abs = if shape.range == PixelRange::Contrast {
        sample
            .iter()
            .fold(0f32, |m, v| if v.abs() > m { v.abs() } else { m })
    } else {
        0.0
    };
    let byte = |i: usize| to_byte(shape.range.to_unit(sample[i], max_abs));
    for y in 0..shape.height {
        for x in 0..shape.width {
            let at = y * shape.width + x;
            let px = if shape.channels == 1 {
                let g = byte(at);
                Rgb([g, g, g])
            } else {
                Rgb([byte(at), byte(plane + at), byte(2 * plane + at)])
            };
            let (bx, by) = (x0 + x as u32 * scale, y0 + y as u32 * scale);
            for dy in 0..scale {
                for dx in 0..scale {
                    img.put_pixel(bx + dx, by + dy, px);
                }
            }
        }
    }
}

/// Draws `n = samples.len() / (height * width * channels)` images in a grid,
/// `cols` per row (fewer if `n < cols`), in row-major order.
///
/// Tiles are `width * scale` by `height * scale` pixels (nearest-neighbour
/// scaling), separated and surrounded by `pad` pixels of [`GRID_PAD_COLOR`];
/// cells after the last sample stay that colour. The result is therefore
/// `cols * width * scale + (cols + 1) * pad` pixels wide and
/// `rows * height * scale + (rows + 1) * pad` high, `rows = ceil(n / cols)`.
///
/// Errors when the buffer is not a whole number of samples, when there are no
/// samples, when `cols` or `scale` is 0, or when the image would be huge.
pub fn sample_grid(
    samples: &[f32],
    shape: ImageShape,
    cols: usize,
    pad: u32,
    scale: u32,
) -> anyhow::Result<RgbImage> {
    let n = count_images(shape, samples.len())?;
    anyhow::ensure!(n > 0, "no samples to draw");
    anyhow::ensure!(cols > 0, "a grid needs at least one column");
    let cols = cols.min(n);
    let rows = n.div_ceil(cols);
    let layout = Layout::new(shape, rows, cols, pad, scale)?;
    let mut img = layout.canvas(GRID_PAD_COLOR);
    for (i, sample) in samples.chunks_exact(values_per_image(shape)).enumerate() {
        let (x0, y0) = layout.origin((i / cols) as u32, (i % cols) as u32);
        draw_tile(&mut img, x0, y0, sample, shape, scale);
    }
    Ok(img)
}

/// The paper's Figure 2: `rows x cols` tiles where the first `cols - 1`
/// columns are generated samples (taken in order from `samples`, which must
/// hold at least `rows * (cols - 1)`) and the last column shows, for the sample
/// just left of it, the nearest training example in Euclidean distance,
/// framed in [`FIGURE2_PAD_COLOR`]. It shows the model has not merely
/// memorised the training set.
///
/// Tiles are separated by [`FIGURE2_PAD`] pixels, so the geometry is that of
/// [`sample_grid`] with `pad = FIGURE2_PAD`. Returns the image and, per row,
/// the index of the training row shown.
pub fn figure2_grid(
    samples: &[f32],
    train: &[f32],
    shape: ImageShape,
    rows: usize,
    cols: usize,
    scale: u32,
) -> anyhow::Result<(RgbImage, Vec<usize>)> {
    let n = count_images(shape, samples.len())?;
    let n_train = count_images(shape, train.len()).map_err(|e| e.context("training set"))?;
    anyhow::ensure!(rows > 0, "figure 2 needs at least one row");
    anyhow::ensure!(
        cols >= 2,
        "figure 2 needs at least 2 columns (samples, then nearest neighbours), got {cols}"
    );
    anyhow::ensure!(n_train > 0, "figure 2 needs a non-empty training set");
    let per_row = cols - 1;
    anyhow::ensure!(
        n >= rows * per_row,
        "figure 2 with {rows} rows and {cols} columns needs {} samples, got {n}",
        rows * per_row
    );
    let dim = values_per_image(shape);
    let sample = |i: usize| &samples[i * dim..(i + 1) * dim];

    // The query for each row is the sample adjacent to the neighbour column.
    let queries: Vec<f32> = (0..rows)
        .flat_map(|r| sample(r * per_row + per_row - 1).iter().copied())
        .collect();
    let nearest = nearest_rows(&queries, train, dim);

    let layout = Layout::new(shape, rows, cols, FIGURE2_PAD, scale)?;
    let mut img = layout.canvas(GRID_PAD_COLOR);
    for (r, &t) in nearest.iter().enumerate() {
        for c in 0..per_row {
            let (x0, y0) = layout.origin(r as u32, c as u32);
            draw_tile(&mut img, x0, y0, sample(r * per_row + c), shape, scale);
        }
        let (x0, y0) = layout.origin(r as u32, per_row as u32);
        frame(&mut img, x0, y0, layout);
        draw_tile(
            &mut img,
            x0,
            y0,
            &train[t * dim..(t + 1) * dim],
            shape,
            scale,
        );
    }
    Ok((img, nearest))
}

/// Fills the separator band around the tile at (`x0`, `y0`) with the
/// Figure 2 highlight colour.
fn frame(img: &mut RgbImage, x0: u32, y0: u32, layout: Layout) {
    let p = layout.pad;
    for y in y0 - p..y0 + layout.tile_h + p {
        for x in x0 - p..x0 + layout.tile_w + p {
            img.put_pixel(x, y, FIGURE2_PAD_COLOR);
        }
    }
}

/// The paper's Figure 3: each row is one interpolation sequence of `steps`
/// images (already decoded by the caller, row after row), drawn with 1-pixel
/// separators. Errors unless the sample count is a multiple of `steps`.
pub fn interpolation_grid(
    samples: &[f32],
    shape: ImageShape,
    steps: usize,
    scale: u32,
) -> anyhow::Result<RgbImage> {
    let n = count_images(shape, samples.len())?;
    anyhow::ensure!(steps > 0, "an interpolation needs at least one step");
    anyhow::ensure!(
        n % steps == 0,
        "{n} images do not split into rows of {steps} interpolation steps"
    );
    sample_grid(samples, shape, steps, 1, scale)
}

#[cfg(test)]
mod tests {
    use super::*;

    const GREY: ImageShape = ImageShape {
        height: 3,
        width: 2,
        channels: 1,
        range: PixelRange::Unit,
    };

    /// Sample `i` of a grey batch: pixel `p` has value `(i * 10 + p) / 255`.
    fn grey_batch(n: usize) -> Vec<f32> {
        (0..n)
            .flat_map(|i| (0..values_per_image(GREY)).map(move |p| (i * 10 + p) as f32 / 255.0))
            .collect()
    }

    #[test]
    fn grid_size_follows_n_cols_pad_scale() {
        let img = sample_grid(&grey_batch(5), GREY, 3, 2, 4).unwrap();
        // 3 columns of 2*4 px + 4 pads of 2; 2 rows of 3*4 px + 3 pads of 2.
        assert_eq!(img.dimensions(), (3 * 8 + 4 * 2, 2 * 12 + 3 * 2));
        // Fewer samples than columns: the grid shrinks to the samples.
        let img = sample_grid(&grey_batch(2), GREY, 10, 1, 1).unwrap();
        assert_eq!(img.dimensions(), (2 * 2 + 3, 3 + 2));
        // pad 0 packs tiles edge to edge.
        let img = sample_grid(&grey_batch(4), GREY, 2, 0, 1).unwrap();
        assert_eq!(img.dimensions(), (4, 6));
    }

    #[test]
    fn grey_pixels_land_scaled_at_their_tile() {
        let (pad, scale) = (2u32, 3u32);
        let img = sample_grid(&grey_batch(5), GREY, 3, pad, scale).unwrap();
        // Sample 4 is row 1, col 1. Its pixel (y=2, x=1) is value index 5.
        let x0 = pad + (2 * scale + pad);
        let y0 = pad + (3 * scale + pad);
        let expected = (4 * 10 + 5) as u8;
        for dy in 0..scale {
            for dx in 0..scale {
                let px = img.get_pixel(x0 + scale + dx, y0 + 2 * scale + dy);
                assert_eq!(px.0, [expected; 3]);
            }
        }
        // Separators and the empty sixth cell are pad-coloured.
        assert_eq!(*img.get_pixel(0, 0), GRID_PAD_COLOR);
        assert_eq!(*img.get_pixel(x0 - 1, y0), GRID_PAD_COLOR);
        let (ex, ey) = (pad + 2 * (2 * scale + pad), y0);
        assert_eq!(*img.get_pixel(ex + 1, ey + 1), GRID_PAD_COLOR);
    }

    #[test]
    fn rgb_samples_read_planes_and_clamp() {
        let shape = ImageShape::new(3, 1, 2);
        // CHW: red plane [1, -3], green plane [0.5, 7], blue plane [0, NaN].
        let samples = [1.0, -3.0, 0.5, 7.0, 0.0, f32::NAN];
        let img = sample_grid(&samples, shape, 1, 0, 1).unwrap();
        assert_eq!(img.dimensions(), (2, 1));
        assert_eq!(img.get_pixel(0, 0).0, [255, 128, 0]);
        assert_eq!(img.get_pixel(1, 0).0, [0, 255, 0]);
    }

    #[test]
    fn colour_grid_exact_bytes_of_a_2x2_rgb_image() {
        // Two 2×2 RGB images; pixel (y, x) of channel c of image i is (i*64 + c*16 + y*4 + x)/255.
        let shape = ImageShape::new(3, 2, 2);
        let samples: Vec<f32> = (0..2)
            .flat_map(|i| {
                (0..3).flat_map(move |c| (0..4).map(move |p| (i * 64 + c * 16 + p) as f32 / 255.0))
            })
            .collect();
        let img = sample_grid(&samples, shape, 2, 1, 1).unwrap();
        assert_eq!(img.dimensions(), (2 * 2 + 3, 2 + 2));
        for i in 0..2u32 {
            for y in 0..2u32 {
                for x in 0..2u32 {
                    let want = [0, 16, 32].map(|c| (i * 64 + c + y * 2 + x) as u8);
                    let px = img.get_pixel(1 + i * 3 + x, 1 + y).0;
                    assert_eq!(px, want, "image {i} pixel ({y}, {x})");
                }
            }
        }
    }

    #[test]
    fn symmetric_and_contrast_ranges_map_back_to_bytes() {
        let sym = ImageShape::new(1, 1, 3).with_range(PixelRange::Symmetric);
        let img = sample_grid(&[-1.0, 0.0, 1.0], sym, 1, 0, 1).unwrap();
        let row: Vec<u8> = (0..3).map(|x| img.get_pixel(x, 0).0[0]).collect();
        assert_eq!(row, vec![0, 128, 255]);
        // Contrast: each image divided by its largest |value| (here 4), then as symmetric.
        let gcn = ImageShape::new(1, 1, 3).with_range(PixelRange::Contrast);
        let img = sample_grid(&[-4.0, 2.0, 4.0], gcn, 1, 0, 1).unwrap();
        let row: Vec<u8> = (0..3).map(|x| img.get_pixel(x, 0).0[0]).collect();
        assert_eq!(row, vec![0, 191, 255]);
    }

    #[test]
    fn bad_lengths_and_shapes_are_errors() {
        let err = sample_grid(&[0.0; 7], GREY, 2, 1, 1)
            .unwrap_err()
            .to_string();
        assert!(err.contains('7') && err.contains('6'), "{err}");
        let two = ImageShape {
            channels: 2,
            ..GREY
        };
        assert!(sample_grid(&[0.0; 12], two, 1, 1, 1).is_err());
        assert!(sample_grid(&[], GREY, 1, 1, 1).is_err());
        assert!(sample_grid(&grey_batch(2), GREY, 0, 1, 1).is_err());
        assert!(sample_grid(&grey_batch(2), GREY, 1, 1, 0).is_err());
        assert!(sample_grid(&grey_batch(2), GREY, 1, 1, 100_000).is_err());
    }

    #[test]
    fn figure2_last_column_is_the_nearest_training_image() {
        let shape = ImageShape::new(1, 2, 2);
        // Training images are constant: image t has all pixels t / 10.
        let train: Vec<f32> = (0..10).flat_map(|t| [t as f32 / 10.0; 4]).collect();
        // Two rows of two samples; the second in each row is the query.
        let samples = [
            [0.8; 4],
            [0.31, 0.29, 0.3, 0.32], // nearest: image 3
            [0.0; 4],
            [0.74, 0.71, 0.7, 0.69], // nearest: image 7
        ]
        .concat();
        let scale = 2;
        let (img, idx) = figure2_grid(&samples, &train, shape, 2, 3, scale).unwrap();
        assert_eq!(idx, vec![3, 7]);
        let (p, tile) = (FIGURE2_PAD, 2 * scale);
        assert_eq!(img.dimensions(), (3 * tile + 4 * p, 2 * tile + 3 * p));
        for (row, t) in [(0u32, 3u8), (1, 7)] {
            let (x0, y0) = (p + 2 * (tile + p), p + row * (tile + p));
            let want = (t as f32 / 10.0 * 255.0).round() as u8;
            for y in y0..y0 + tile {
                for x in x0..x0 + tile {
                    assert_eq!(img.get_pixel(x, y).0, [want; 3], "row {row} at ({x},{y})");
                }
            }
            // The neighbour is framed in the highlight colour.
            assert_eq!(*img.get_pixel(x0 - 1, y0), FIGURE2_PAD_COLOR);
            assert_eq!(*img.get_pixel(x0 + tile, y0 + tile), FIGURE2_PAD_COLOR);
        }
        // The samples themselves are drawn in the first columns.
        assert_eq!(img.get_pixel(p, p).0, [204; 3]);
    }

    #[test]
    fn figure2_checks_its_inputs() {
        let shape = ImageShape::new(1, 1, 1);
        assert!(figure2_grid(&[0.0; 3], &[0.0; 2], shape, 2, 3, 1).is_err()); // 3 < 4 samples
        assert!(figure2_grid(&[0.0; 4], &[0.0; 2], shape, 2, 1, 1).is_err()); // 1 column
        assert!(figure2_grid(&[0.0; 4], &[], shape, 2, 3, 1).is_err()); // no training set
        assert!(figure2_grid(&[0.0; 4], &[0.0; 2], shape, 2, 3, 1).is_ok());
    }

    #[test]
    fn interpolation_rows_have_steps_images() {
        let img = interpolation_grid(&grey_batch(6), GREY, 3, 1).unwrap();
        assert_eq!(img.dimensions(), (3 * 2 + 4, 2 * 3 + 3));
        let err = interpolation_grid(&grey_batch(5), GREY, 3, 1).unwrap_err();
        assert!(err.to_string().contains("5 images"), "{err}");
    }
}
