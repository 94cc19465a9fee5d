//! The terminal renderer: text as lines, a progress bar on a TTY (plain epoch lines otherwise),
//! images as the paths they were written to.

use std::io::IsTerminal;
use std::path::Path;
use std::sync::Mutex;

use indicatif::{ProgressBar, ProgressState, ProgressStyle};

use gan::engine::EpochMetrics;
use gan::script::{Progress, Sink};

pub struct TerminalSink {
    tty: bool,
    bar: Mutex<Option<(String, u64, ProgressBar)>>,
}

impl TerminalSink {
    pub fn new() -> Self {
        TerminalSink {
            tty: std::io::stderr().is_terminal(),
            bar: Mutex::new(None),
        }
    }

    fn println(&self, s: &str) {
        match &*self.bar.lock().unwrap() {
            Some((_, _, bar)) => bar.suspend(|| println!("{s}")),
            None => println!("{s}"),
        }
    }
}

impl Default for TerminalSink {
    fn default() -> Self {
        Self::new()
    }
}

/// One epoch as a line: what a user scans for in a log. No momentum: the line cannot tell SGD's
/// momentum from Adam's β1 (both are `momentum` in metrics.jsonl), and a `mom` beside Adam misled.
pub fn epoch_line(gan: &str, m: &EpochMetrics) -> String {
    let who = if gan == "gan" {
        String::new()
    } else {
        format!("[{gan}] ")
    };
    format!(
        "{who}epoch {:>4}  step {:>8}  d_loss {:.4}  g_loss {:.4}  D(x) {:.3}  D(G(z)) {:.3}  lr {:.3e}  {:.1} it/s",
        m.epoch, m.step, m.d_loss, m.g_loss, m.d_real, m.d_fake, m.lr, m.it_per_s
    )
}

/// Steps per second for the progress bar: `43.2 it/s`, `1271k it/s` (no grouping, no
/// spurious digits).
fn rate(per_sec: f64) -> String {
    if per_sec >= 10_000.0 {
        format!("{:.0}k it/s", per_sec / 1000.0)
    } else {
        format!("{per_sec:.1} it/s")
    }
}

impl Sink for TerminalSink {
    fn text(&self, s: &str) {
        self.println(s);
    }

    fn image(&self, caption: &str, _png: &[u8], saved: Option<&Path>) {
        match saved {
            Some(p) => self.println(&format!("wrote {}", p.display())),
            None => self.println(&format!(
                "(image {caption}: not saved; this session has no run directory)"
            )),
        }
    }

    fn progress(&self, p: &Progress) {
        if !self.tty {
            return;
        }
        let mut slot = self.bar.lock().unwrap();
        let stale = !matches!(&*slot, Some((g, e, _)) if *g == p.gan && *e == p.epoch);
        if stale {
            if let Some((_, _, old)) = slot.take() {
                old.finish_and_clear();
            }
            let bar = ProgressBar::new(p.total);
            bar.set_style(
                ProgressStyle::with_template(
                    "{prefix} [{bar:30}] {pos}/{len} {rate} eta {eta} {msg}",
                )
                .unwrap()
                // indicatif's {per_sec} prints rates like `1,270,681.4539/s`.
                .with_key("rate", |s: &ProgressState, w: &mut dyn std::fmt::Write| {
                    let _ = write!(w, "{}", rate(s.per_sec()));
                })
                .progress_chars("=> "),
            );
            bar.set_prefix(format!("epoch {}/{}", p.epoch, p.epochs));
            *slot = Some((p.gan.clone(), p.epoch, bar));
        }
        if let Some((_, _, bar)) = &*slot {
            bar.set_position(p.done);
            bar.set_message(format!("d {:.3} g {:.3}", p.d_loss, p.g_loss));
        }
    }

    fn epoch(&self, gan: &str, m: &EpochMetrics) {
        if let Some((_, _, bar)) = self.bar.lock().unwrap().take() {
            bar.finish_and_clear();
        }
        self.println(&epoch_line(gan, m));
    }

    fn fit_end(&self, _gan: &str) {
        if let Some((_, _, bar)) = self.bar.lock().unwrap().take() {
            bar.finish_and_clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::rate;

    #[test]
    fn rates_print_short() {
        assert_eq!(rate(1_270_681.453_9), "1271k it/s");
        assert_eq!(rate(43.21), "43.2 it/s");
        assert_eq!(rate(9_999.94), "9999.9 it/s");
    }
}
