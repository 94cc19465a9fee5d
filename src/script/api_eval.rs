//! Metrics of a GAN on MNIST: `parzen(gan, #{ samples, sigma })` (the paper's protocol) and
//! `classifier_metrics(gan_or_samples, #{ samples })`.

use std::sync::Arc;

use rhai::{Dynamic, Engine, Map, INT};

use super::host::Host;
use super::options::{err, Opts, RhaiResult};
use super::values::{GanHandle, Samples};
use crate::eval::{ClassifierMetrics, MnistEvaluator};

pub fn register(engine: &mut Engine, host: &Arc<Host>) {
    let h = host.clone();
    engine.register_fn("parzen", move |gan: GanHandle| {
        parzen(&h, &gan, &Map::new())
    });
    let h = host.clone();
    engine.register_fn("parzen", move |gan: GanHandle, opts: Map| {
        parzen(&h, &gan, &opts)
    });
    let h = host.clone();
    engine.register_fn("classifier_metrics", move |gan: GanHandle| {
        of_gan(&h, &gan, &Map::new())
    });
    let h = host.clone();
    engine.register_fn("classifier_metrics", move |gan: GanHandle, opts: Map| {
        of_gan(&h, &gan, &opts)
    });
    let h = host.clone();
    engine.register_fn("classifier_metrics", move |s: Samples| -> RhaiResult<Map> {
        let ev = evaluator(&h)?;
        let r = ev
            .evaluate_samples(&s.x)
            .or_else(|e| err(format!("classifier_metrics(): {e:#}")))?;
        Ok(to_map(&r, &ev))
    });
}

/// The process-wide MNIST evaluator for this session's data directory; the first call loads or
/// trains the classifier, and says so (and where its cache is) through the sink.
fn evaluator(h: &Host) -> RhaiResult<Arc<MnistEvaluator>> {
    MnistEvaluator::shared(&h.config.data_dir, &mut |line| h.sink.text(line))
        .or_else(|e| err(format!("classifier_metrics(): {e:#}")))
}

fn of_gan(h: &Host, gan: &GanHandle, opts: &Map) -> RhaiResult<Map> {
    let o = Opts::new(opts, "classifier_metrics()", &["samples"])?;
    let n = o.count_in("samples", 10_000, 2, usize::MAX as u64)?;
    crate::eval::check_sample_count(n, gan.lock().gan.data_dim())
        .or_else(|e| err(format!("option `samples` of classifier_metrics(): {e:#}")))?;
    let ev = evaluator(h)?;
    let r = ev
        .evaluate_gan(&mut gan.lock().gan, n)
        .or_else(|e| err(format!("classifier_metrics(): {e:#}")))?;
    Ok(to_map(&r, &ev))
}

fn to_map(r: &ClassifierMetrics, ev: &MnistEvaluator) -> Map {
    let mut m = Map::new();
    m.insert("fd".into(), Dynamic::from(r.fd));
    m.insert("score".into(), Dynamic::from(r.score));
    m.insert("n_samples".into(), Dynamic::from(r.n_samples as INT));
    m.insert("ref_test_score".into(), Dynamic::from(r.ref_test_score));
    m.insert("ref_train_fd".into(), Dynamic::from(r.ref_train_fd));
    m.insert("accuracy".into(), Dynamic::from(r.accuracy));
    m.insert("secs".into(), Dynamic::from(r.secs));
    m.insert(
        "classifier_dir".into(),
        Dynamic::from(ev.cache_dir.display().to_string()),
    );
    m
}

/// `parzen(gan, #{ samples, sigma })`: the paper's MNIST Parzen protocol, as a map.
fn parzen(h: &Host, gan: &GanHandle, opts: &Map) -> RhaiResult<Map> {
    let o = Opts::new(opts, "parzen()", &["samples", "sigma"])?;
    let n = o.count("samples", 10_000, 1)? as usize;
    let sigma = o.opt_f64("sigma")?;
    let dim = gan.lock().gan.data_dim();
    crate::eval::check_sample_count(n, dim)
        .or_else(|e| err(format!("option `samples` of parzen(): {e:#}")))?;
    let valid = h.mnist("valid").or_else(|e| err(format!("{e:#}")))?;
    let test = h.mnist("test").or_else(|e| err(format!("{e:#}")))?;
    let r = crate::eval::gan_parzen(&mut gan.lock().gan, &valid, &test, n, sigma)
        .or_else(|e| err(format!("parzen(): {e:#}")))?;
    let mut m = Map::new();
    m.insert("ll".into(), Dynamic::from(r.ll));
    m.insert("se".into(), Dynamic::from(r.se));
    m.insert("sigma".into(), Dynamic::from(r.sigma));
    m.insert("n_samples".into(), Dynamic::from(r.n_samples as INT));
    m.insert("n_test".into(), Dynamic::from(r.n_test as INT));
    m.insert("secs".into(), Dynamic::from(r.secs));
    Ok(m)
}
