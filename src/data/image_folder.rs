//! A dataset made from a folder of image files (PNG or JPEG), e.g. for training on faces.
//!
//! Every regular, non-hidden file directly inside the folder must be a decodable image; a stray
//! file is reported rather than silently skipped, so a typo'd folder does not train on half the
//! data. Images are resized to a common size, so mixed sizes are fine.

use super::dataset::{Dataset, ImageShape};
use anyhow::{anyhow, bail, Result};
use image::imageops::{resize, FilterType};
use image::ImageReader;
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

/// How pixels are turned into channels.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ColorMode {
    /// One channel of luminance.
    Gray,
    /// Three channels, red, green, blue (alpha is dropped).
    Rgb,
}

impl ColorMode {
    /// Values per pixel: 1 or 3.
    pub fn channels(self) -> usize {
        match self {
            ColorMode::Gray => 1,
            ColorMode::Rgb => 3,
        }
    }
}

impl fmt::Display for ColorMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ColorMode::Gray => "gray",
            ColorMode::Rgb => "rgb",
        })
    }
}

/// Error for an unrecognised color mode name.
#[derive(Debug, thiserror::Error)]
#[error("unknown color mode {0:?}; valid modes are: gray, rgb")]
pub struct UnknownColorMode(pub String);

impl FromStr for ColorMode {
    type Err = UnknownColorMode;

    /// Accepts `gray` (or `grey`) and `rgb`, case-insensitively.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "gray" | "grey" => Ok(ColorMode::Gray),
            "rgb" => Ok(ColorMode::Rgb),
            _ => Err(UnknownColorMode(s.to_string())),
        }
    }
}

/// The files `load_image_folder` would read: regular files directly in `dir` whose names do not
/// start with `.`, sorted by file name.
pub fn list_image_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let entries = std::fs::read_dir(dir)
        .map_err(|e| anyhow!("cannot read image folder {}: {e}", dir.display()))?;
    let mut files = Vec::new();
    for entry in entries {
        let entry =
            entry.map_err(|e| anyhow!("cannot list image folder {}: {e}", dir.display()))?;
        if entry.file_name().to_string_lossy().starts_with('.') {
            continue; // .DS_Store, editor swap files, ...
        }
        let path = entry.path();
        // is_file follows symlinks, so a link to an image counts; subfolders are not descended.
        if path.is_file() {
            files.push(path);
        }
    }
    files.sort_by(|a, b| a.file_name().cmp(&b.file_name()));
    Ok(files)
}

/// The widest or tallest image size an image folder is resized to.
pub const MAX_IMAGE_SIDE: u32 = 4096;

/// The most values (f32) a loaded image folder may hold: 1 GiB.
pub const MAX_FOLDER_VALUES: usize = 1 << 28;

/// Checks a requested image width or height (`what`) before anything is allocated.
pub fn check_side(what: &str, v: u32) -> Result<()> {
    if v == 0 || v > MAX_IMAGE_SIDE {
        bail!("image {what} must be in 1..={MAX_IMAGE_SIDE}, got {v}");
    }
    Ok(())
}

/// Loads every image in `dir` (see [`list_image_files`]), resized to `width × height` with a
/// triangle (bilinear) filter, as rows of `channels * height * width` values in `[0, 1]`, CHW order (one plane per channel).
pub fn load_image_folder(dir: &Path, width: u32, height: u32, mode: ColorMode) -> Result<Dataset> {
    check_side("width", width)?;
    check_side("height", height)?;
    let files = list_image_files(dir)?;
    if files.is_empty() {
        bail!(
            "image folder {} contains no image files (hidden files are ignored)",
            dir.display()
        );
    }
    let shape = ImageShape::new(mode.channels(), height as usize, width as usize);
    let values = files.len().saturating_mul(shape.len());
    if values > MAX_FOLDER_VALUES {
        bail!(
            "image folder {}: {} images of {width}×{height}×{} would hold {values} values ({:.1} GiB), \
             more than the limit of {MAX_FOLDER_VALUES}; use smaller images or fewer files",
            dir.display(),
            files.len(),
            shape.channels,
            values as f64 * 4.0 / (1u64 << 30) as f64
        );
    }
    let mut x = Vec::with_capacity(values);
    for path in &files {
        load_one(path, width, height, mode, &mut x)?;
    }
    let name = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "images".to_string());
    Dataset::try_new(name, x, shape.len(), None, Some(shape))
}

/// Decodes one file, converts, resizes and appends its values to `out`.
fn load_one(
    path: &Path,
    width: u32,
    height: u32,
    mode: ColorMode,
    out: &mut Vec<f32>,
) -> Result<()> {
    let not_image =
        |e: &dyn fmt::Display| anyhow!("{}: not a decodable image: {e}", path.display());
    // Format from the content, not the extension: a .png that is really a JPEG still loads.
    let img = ImageReader::open(path)
        .map_err(|e| anyhow!("cannot open {}: {e}", path.display()))?
        .with_guessed_format()
        .map_err(|e| not_image(&e))?
        .decode()
        .map_err(|e| not_image(&e))?;
    // Convert before resizing: fewer channels to filter, and the filter sees final colours.
    let samples: Vec<u8> = match mode {
        ColorMode::Gray => {
            let buf = img.to_luma8();
            if buf.dimensions() == (width, height) {
                buf.into_raw()
            } else {
                resize(&buf, width, height, FilterType::Triangle).into_raw()
            }
        }
        ColorMode::Rgb => {
            let buf = img.to_rgb8();
            if buf.dimensions() == (width, height) {
                buf.into_raw()
            } else {
                resize(&buf, width, height, FilterType::Triangle).into_raw()
            }
        }
    };
    // The decoder interleaves channels (HWC); rows are CHW, one plane per channel.
    let c = mode.channels();
    for ch in 0..c {
        out.extend(
            samples
                .iter()
                .skip(ch)
                .step_by(c)
                .map(|&v| v as f32 / 255.0),
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{GrayImage, Luma, Rgb, RgbImage};

    /// A folder with a white 4x4 gray PNG, a red 8x6 RGB JPEG, and a hidden junk file.
    fn mixed_folder() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        GrayImage::from_pixel(4, 4, Luma([255]))
            .save(dir.path().join("b_white.png"))
            .unwrap();
        RgbImage::from_pixel(8, 6, Rgb([255, 0, 0]))
            .save(dir.path().join("a_red.jpg"))
            .unwrap();
        std::fs::write(dir.path().join(".DS_Store"), b"junk, not an image").unwrap();
        std::fs::create_dir(dir.path().join("subdir")).unwrap();
        dir
    }

    #[test]
    fn mixed_sizes_resized_sorted_rgb() {
        let dir = mixed_folder();
        let d = load_image_folder(dir.path(), 5, 3, ColorMode::Rgb).unwrap();
        let shape = ImageShape::new(3, 3, 5);
        assert_eq!(d.image, Some(shape));
        assert_eq!((d.rows(), d.dim), (2, 45));
        // Row 0 is a_red.jpg (sorted by name), CHW: a red plane ≈ 1, then green and blue ≈ 0
        // (up to JPEG error).
        let (red, rest) = d.row(0).split_at(15);
        assert!(red.iter().all(|&v| v > 0.9), "{red:?}");
        assert!(rest.iter().all(|&v| v < 0.1), "{rest:?}");
        // Row 1 is the white PNG, exact after resizing a constant image.
        assert!(d.row(1).iter().all(|&v| v == 1.0), "{:?}", d.row(1));
    }

    #[test]
    fn gray_mode_one_channel() {
        let dir = mixed_folder();
        let d = load_image_folder(dir.path(), 4, 4, ColorMode::Gray).unwrap();
        assert_eq!((d.rows(), d.dim), (2, 16));
        assert_eq!(d.image.unwrap().channels, 1);
        // Pure red has luminance ≈ 0.2126 (Rec. 709 weights used by the image crate).
        assert!(
            d.row(0).iter().all(|&v| (v - 0.2126).abs() < 0.05),
            "{:?}",
            d.row(0)
        );
        assert!(d.row(1).iter().all(|&v| v == 1.0));
        assert!(d.x.iter().all(|v| (0.0..=1.0).contains(v)));
    }

    #[test]
    fn text_file_named_png_is_error_naming_it() {
        let dir = mixed_folder();
        std::fs::write(dir.path().join("x.png"), "this is text, not a PNG").unwrap();
        let err = load_image_folder(dir.path(), 4, 4, ColorMode::Gray)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("x.png") && err.contains("not a decodable image"),
            "{err}"
        );
    }

    #[test]
    fn empty_folder_is_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(".hidden.png"), b"x").unwrap();
        let err = load_image_folder(dir.path(), 4, 4, ColorMode::Gray)
            .unwrap_err()
            .to_string();
        assert!(err.contains(&dir.path().display().to_string()), "{err}");
        assert!(err.contains("no image files"), "{err}");
        let missing = dir.path().join("nope");
        let err = load_image_folder(&missing, 4, 4, ColorMode::Gray)
            .unwrap_err()
            .to_string();
        assert!(err.contains("nope"), "{err}");
    }

    #[test]
    fn color_mode_parse() {
        assert_eq!("RGB".parse::<ColorMode>().unwrap(), ColorMode::Rgb);
        assert_eq!("grey".parse::<ColorMode>().unwrap(), ColorMode::Gray);
        let err = "cmyk".parse::<ColorMode>().unwrap_err().to_string();
        assert!(err.contains("gray") && err.contains("rgb"), "{err}");
    }
}
