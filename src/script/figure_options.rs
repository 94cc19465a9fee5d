//! The options of the paper's figure functions (`figure1_panel`, `figure1`, `figure2`,
//! `figure3`), each with its defaults declared once; [`super::api_figures`] checks what their
//! types cannot say (ranges between options, shapes against the GAN).

use rhai::Dynamic;
use serde::{Deserialize, Serialize};

use super::option_struct::{Count, Number};
use crate::paper::Figure1PanelOptions;

/// `figure1_panel(gan, data, #{…})`'s options; the defaults are the library's.
#[derive(Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct Figure1PanelOpts {
    pub(super) label: String,
    /// The exact p_data = N(mean, std²), given together: drawn as a curve, centring the range.
    pub(super) mean: Option<Number>,
    pub(super) std: Option<Number>,
    /// `[lo, hi]`, the x range drawn; left out, ±4 std around p_data's mean.
    pub(super) range: Option<Dynamic>,
    pub(super) points: Count<2>,
    pub(super) samples: Count<1>,
    pub(super) arrows: Count<1>,
}

impl Default for Figure1PanelOpts {
    fn default() -> Self {
        let d = Figure1PanelOptions::default();
        Figure1PanelOpts {
            label: d.label,
            mean: d.exact.map(|e| Number(e.0)),
            std: d.exact.map(|e| Number(e.1)),
            range: None,
            points: Count(d.points as u64),
            samples: Count(d.samples as u64),
            arrows: Count(d.arrows as u64),
        }
    }
}

/// `figure1(panels, #{…})`'s options.
#[derive(Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct Figure1Opts {
    pub(super) file: String,
    /// Pixels; left out, 300 per panel.
    pub(super) width: Option<Count<50>>,
    pub(super) height: Count<50>,
}

impl Default for Figure1Opts {
    fn default() -> Self {
        Figure1Opts {
            file: "figure1.png".into(),
            width: None,
            height: Count(340),
        }
    }
}

/// `figure2(gan, data, #{…})`'s options.
#[derive(Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct Figure2Opts {
    pub(super) rows: Count<1, 100>,
    /// Samples per row plus the nearest training image.
    pub(super) cols: Count<2, 100>,
    pub(super) file: String,
    /// Pixels per image pixel.
    pub(super) scale: Count<1, 16>,
    /// The samples shown; left out, fresh ones from the GAN.
    pub(super) samples: Option<Dynamic>,
}

impl Default for Figure2Opts {
    fn default() -> Self {
        Figure2Opts {
            rows: Count(6),
            cols: Count(6),
            file: "figure2.png".into(),
            scale: Count(2),
            samples: None,
        }
    }
}

/// `figure3(gan, #{…})`'s options: `z0` and `z1` (given together) fix the lines' ends, `rows`
/// how many lines otherwise; `like` gives the image shape of a GAN not fitted on images.
#[derive(Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct Figure3Opts {
    pub(super) rows: Option<Count<1>>,
    pub(super) steps: Count<0>,
    pub(super) file: String,
    pub(super) scale: Count<1, 16>,
    pub(super) z0: Option<Dynamic>,
    pub(super) z1: Option<Dynamic>,
    pub(super) like: Option<Dynamic>,
}

impl Default for Figure3Opts {
    fn default() -> Self {
        Figure3Opts {
            rows: None,
            steps: Count(10),
            file: "figure3.png".into(),
            scale: Count(2),
            z0: None,
            z1: None,
            like: None,
        }
    }
}
