//! Running DSL text from Rust through a session: variables persist between `eval` calls, and
//! outputs reach a [`Sink`] the host provides (here: printed).
//!
//! `cargo run --release --example 03-recipe-from-rust`

use std::sync::Arc;

use gan::script::{HostConfig, Sink};
use gan::session::Session;

struct Print;
impl Sink for Print {
    fn text(&self, s: &str) {
        println!("script: {s}");
    }
    fn epoch(&self, name: &str, m: &gan::engine::EpochMetrics) {
        if m.epoch.is_multiple_of(10) {
            println!(
                "{name} epoch {}: D(x) {:.3}, D(G(z)) {:.3}",
                m.epoch, m.d_real, m.d_fake
            );
        }
    }
}

fn main() -> anyhow::Result<()> {
    let mut s = Session::new(HostConfig::default(), Arc::new(Print))?;
    let _ = s.eval(
        r#"
        seed(3);
        let data = gaussian_1d(-1.0, 0.3, 5000);
        let g = stack(1).dense(32, 0.5).relu().dense(1, 0.5);
        let d = stack(1).dense(32, 0.5).relu().dense(1, 0.5);
        let m = gan(g, d, #{ loss: "non_saturating" });
        "#,
    )?;
    let _ =
        s.eval("m.fit(data, #{ epochs: 40, batch: 100, opt: adam(#{ lr: 0.002, beta1: 0.5 }) });")?;
    let mean = s
        .eval("m.sample(5000).mean()")?
        .as_float()
        .map_err(anyhow::Error::msg)?;
    println!("p_g mean {mean:.3} (data: -1.0)");
    Ok(())
}
