//! Finding a font for plot text.
//!
//! plotters is built with its pure-Rust `ab_glyph` text backend rather than
//! `ttf`, which would link fontconfig and FreeType at build time. `ab_glyph`
//! knows no system fonts, so one TrueType file is looked up here, once, and
//! registered under the family name the plots use. When none is found, plots
//! are drawn without text rather than failing.

use std::path::PathBuf;
use std::sync::OnceLock;

use plotters::style::{register_font, FontDesc, FontFamily, FontStyle};

/// Environment variable naming a `.ttf`/`.otf` file to use for plot text,
/// tried before the usual system locations.
pub const FONT_ENV: &str = "GAN_PLOT_FONT";

/// The family name plots ask for; the found font is registered under it.
pub(super) const FAMILY: &str = "sans-serif";

/// Where common systems keep a plain sans-serif font. Debian and Ubuntu get
/// the first from the `fonts-dejavu-core` package.
const CANDIDATES: &[&str] = &[
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/TTF/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu-sans-fonts/DejaVuSans.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
    "/usr/share/fonts/liberation-sans/LiberationSans-Regular.ttf",
    "/usr/share/fonts/truetype/freefont/FreeSans.ttf",
    "/usr/share/fonts/truetype/noto/NotoSans-Regular.ttf",
    "/System/Library/Fonts/Supplemental/Arial.ttf",
    "/Library/Fonts/Arial.ttf",
    "C:\\Windows\\Fonts\\arial.ttf",
];

/// Whether plot text can be drawn: true once a usable font file has been
/// found and registered (from [`FONT_ENV`] or a standard system location).
/// The search runs on the first call only.
pub fn text_available() -> bool {
    static AVAILABLE: OnceLock<bool> = OnceLock::new();
    *AVAILABLE.get_or_init(find_and_register)
}

fn find_and_register() -> bool {
    let from_env = std::env::var_os(FONT_ENV).map(PathBuf::from);
    let paths = from_env
        .into_iter()
        .chain(CANDIDATES.iter().map(PathBuf::from));
    for path in paths {
        let Ok(bytes) = std::fs::read(&path) else {
            continue;
        };
        // plotters keeps fonts for the life of the program, so the bytes are
        // leaked on purpose; this happens at most once per candidate file.
        let bytes: &'static [u8] = Box::leak(bytes.into_boxed_slice());
        if register_font(FAMILY, FontStyle::Normal, bytes).is_ok() && can_lay_out() {
            return true;
        }
    }
    false
}

/// Checks that text in the registered family can actually be measured, which
/// is what every text-drawing call does first.
fn can_lay_out() -> bool {
    FontDesc::new(FontFamily::Name(FAMILY), 12.0, FontStyle::Normal)
        .box_size("Ag0.5")
        .is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_availability_matches_installed_fonts() {
        let any_installed = CANDIDATES.iter().any(|p| std::path::Path::new(p).exists());
        if any_installed && std::env::var_os(FONT_ENV).is_none() {
            assert!(text_available(), "a system font exists but was not usable");
        }
        // Asking twice gives the same answer without searching again.
        assert_eq!(text_available(), text_available());
    }
}
