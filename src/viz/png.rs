//! PNG encoding and atomic saving of rendered images.

use std::path::Path;

use anyhow::Context;
use image::codecs::png::PngEncoder;
use image::{ImageEncoder, RgbImage};

/// Encodes an image as PNG bytes (8-bit RGB).
pub fn encode_png(img: &RgbImage) -> anyhow::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    PngEncoder::new(&mut bytes)
        .write_image(
            img.as_raw(),
            img.width(),
            img.height(),
            image::ExtendedColorType::Rgb8,
        )
        .context("encoding PNG")?;
    Ok(bytes)
}

/// Writes an image as a PNG file atomically ([`crate::safe_fs::write_atomic`]), creating
/// missing parent directories, so a reader (or a run interrupted mid-write) never sees a
/// half-written picture.
pub fn save_png(img: &RgbImage, path: &Path) -> anyhow::Result<()> {
    crate::safe_fs::write_atomic(path, &encode_png(img)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::Rgb;
    use std::fs;

    fn test_image() -> RgbImage {
        RgbImage::from_fn(7, 5, |x, y| {
            Rgb([(x * 30) as u8, (y * 50) as u8, (x * y) as u8])
        })
    }

    #[test]
    fn png_round_trip_keeps_size_and_pixels() {
        let img = test_image();
        let bytes = encode_png(&img).unwrap();
        assert_eq!(&bytes[1..4], b"PNG");
        let back = image::load_from_memory(&bytes).unwrap().to_rgb8();
        assert_eq!(back.dimensions(), (7, 5));
        assert_eq!(back.as_raw(), img.as_raw());
    }

    #[test]
    fn save_png_writes_the_file_and_no_temp_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nested/deeper/grid.png");
        let img = test_image();
        save_png(&img, &path).unwrap();
        // Saving again replaces the file in place.
        save_png(&img, &path).unwrap();
        let back = image::open(&path).unwrap().to_rgb8();
        assert_eq!(back.as_raw(), img.as_raw());
        let names: Vec<_> = fs::read_dir(path.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("grid.png")]);
    }

    #[test]
    fn save_png_reports_the_path_on_failure() {
        let dir = tempfile::tempdir().unwrap();
        // A directory where the file should go makes the rename fail.
        let path = dir.path().join("taken");
        fs::create_dir(&path).unwrap();
        fs::write(path.join("x"), b"keep").unwrap();
        let err = save_png(&test_image(), &path).unwrap_err();
        assert!(format!("{err:#}").contains("taken"), "{err:#}");
        let leftovers = fs::read_dir(dir.path()).unwrap().count();
        assert_eq!(leftovers, 1, "temp file was not cleaned up");
    }
}
