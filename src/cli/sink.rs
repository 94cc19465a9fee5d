//! The terminal renderer: text as lines, a progress bar on a TTY (plain epoch lines otherwise),
//! images as the paths they were written to.

use std::io::IsTerminal;
use std::path::Path;
use std::sync::Mutex;

use indicatif::{ProgressBar, ProgressStyle};

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

/// One epoch as a line: what a user scans for in a log.
pub fn epoch_line(gan: &str, m: &EpochMetrics) -> String {
    let who = if gan == "gan" {
        String::new()
    } else {
        format!("[{gan}] ")
    };
    format!(
        "{who}epoch {:>4}  step {:>8}  d_loss {:.4}  g_loss {:.4}  D(x) {:.3}  D(G(z)) {:.3}  lr {:.3e}  mom {:.3}  {:.1} it/s",
        m.epoch, m.step, m.d_loss, m.g_loss, m.d_real, m.d_fake, m.lr, m.momentum, m.it_per_s
    )
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
                    "{prefix} [{bar:30}] {pos}/{len} {per_sec} eta {eta} {msg}",
                )
                .unwrap()
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
