//! Metrics of a GAN on MNIST or Fashion-MNIST: `parzen(gan, #{ samples, sigma })` (the paper's
//! protocol) and `classifier_metrics(gan_or_samples, #{ samples, data })`.
//!
//! A GAN is scored against the data set it was last fit on, through that set's own classifier,
//! with its samples mapped from the data's pixel range onto `[0, 1]` (what `config.json` records
//! and `gan eval` reads, so both agree); before any fit, MNIST in `[0, 1]`.

use std::sync::Arc;

use rhai::{Dynamic, Engine, Map, INT};
use serde::{Deserialize, Serialize};

use super::host::Host;
use super::option_struct::{self, Count, Number};
use super::options::{err, RhaiResult};
use super::values::{GanHandle, Samples};
use crate::data::PixelRange;
use crate::eval::{ClassifierMetrics, EvalSet, Evaluator, TrainedOn};

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
    engine.register_fn("classifier_metrics", move |s: Samples| {
        of_samples(&h, &s, &Map::new())
    });
    let h = host.clone();
    engine.register_fn("classifier_metrics", move |s: Samples, opts: Map| {
        of_samples(&h, &s, &opts)
    });
}

/// The process-wide evaluator of `set` for this session's data directory; the first call loads
/// or trains the classifier, and says so (and where its cache is) through the sink.
fn evaluator(h: &Host, set: EvalSet) -> RhaiResult<Arc<Evaluator>> {
    Evaluator::shared(set, &h.config.data_dir, &mut |line| h.sink.text(line))
        .or_else(|e| err(format!("classifier_metrics(): {e:#}")))
}

/// What `gan` was last fit on, as its `config.json` entry records it; MNIST in `[0, 1]` before
/// any fit.
fn trained_on(h: &Host, gan: &GanHandle, call: &str) -> RhaiResult<TrainedOn> {
    let name = gan.lock().name.clone();
    let entries = h.config_json.lock().unwrap();
    match entries.get(&name).and_then(|e| e.get("data")) {
        None => Ok(TrainedOn {
            set: EvalSet::Mnist,
            range: PixelRange::Unit,
        }),
        Some(data) => TrainedOn::from_data_entry(data, &format!("GAN `{name}`'s data"))
            .or_else(|e| err(format!("{call}: {e:#}"))),
    }
}

/// `classifier_metrics(gan, #{…})`'s options.
#[derive(Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct GanMetricsOptions {
    /// How many samples the GAN draws (the score's variance needs at least two).
    samples: Count<2>,
}

impl Default for GanMetricsOptions {
    fn default() -> Self {
        GanMetricsOptions {
            samples: Count(10_000),
        }
    }
}

/// `classifier_metrics(samples, #{…})`'s options: the rows carry no data set name.
#[derive(Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct SampleMetricsOptions {
    /// The data set whose classifier scores the rows.
    data: String,
}

impl Default for SampleMetricsOptions {
    fn default() -> Self {
        SampleMetricsOptions {
            data: EvalSet::Mnist.key().into(),
        }
    }
}

/// `parzen(gan, #{…})`'s options.
#[derive(Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct ParzenOptions {
    /// How many samples the GAN draws for the density estimate.
    samples: Count<1>,
    /// The kernel width; left out, it is chosen on the validation split as the paper does.
    sigma: Option<Number>,
}

impl Default for ParzenOptions {
    fn default() -> Self {
        ParzenOptions {
            samples: Count(10_000),
            sigma: None,
        }
    }
}

fn of_gan(h: &Host, gan: &GanHandle, opts: &Map) -> RhaiResult<Map> {
    let o: GanMetricsOptions = option_struct::parse(opts, "classifier_metrics()")?;
    let n = o.samples.try_get("samples", "classifier_metrics()")?;
    crate::eval::check_sample_count(n, gan.lock().gan.data_dim())
        .or_else(|e| err(format!("option `samples` of classifier_metrics(): {e:#}")))?;
    let on = trained_on(h, gan, "classifier_metrics()")?;
    let ev = evaluator(h, on.set)?;
    let r = ev
        .evaluate_gan(&mut gan.lock().gan, n, on.range)
        .or_else(|e| err(format!("classifier_metrics(): {e:#}")))?;
    Ok(to_map(&r, &ev))
}

/// Image rows in the range their image shape records (`[0, 1]` without one), scored against
/// `#{ data }` (default `"mnist"`): rows carry no data set name.
fn of_samples(h: &Host, s: &Samples, opts: &Map) -> RhaiResult<Map> {
    let o: SampleMetricsOptions = option_struct::parse(opts, "classifier_metrics()")?;
    let set = EvalSet::from_key(&o.data)
        .or_else(|e| err(format!("option `data` of classifier_metrics(): {e:#}")))?;
    let range = s.image.map_or(PixelRange::Unit, |i| i.range);
    let ev = evaluator(h, set)?;
    let r = ev
        .evaluate_in_range(&s.x, range)
        .or_else(|e| err(format!("classifier_metrics(): {e:#}")))?;
    Ok(to_map(&r, &ev))
}

fn to_map(r: &ClassifierMetrics, ev: &Evaluator) -> Map {
    let mut m = Map::new();
    m.insert("fd".into(), Dynamic::from(r.fd));
    m.insert("score".into(), Dynamic::from(r.score));
    m.insert("n_samples".into(), Dynamic::from(r.n_samples as INT));
    m.insert("ref_test_score".into(), Dynamic::from(r.ref_test_score));
    m.insert("ref_train_fd".into(), Dynamic::from(r.ref_train_fd));
    m.insert("accuracy".into(), Dynamic::from(r.accuracy));
    m.insert("secs".into(), Dynamic::from(r.secs));
    m.insert("data".into(), Dynamic::from(ev.set.key().to_string()));
    m.insert(
        "classifier_dir".into(),
        Dynamic::from(ev.cache_dir.display().to_string()),
    );
    m
}

/// `parzen(gan, #{ samples, sigma })`: the paper's Parzen protocol on the data set the GAN was
/// fit on, as a map.
fn parzen(h: &Host, gan: &GanHandle, opts: &Map) -> RhaiResult<Map> {
    let o: ParzenOptions = option_struct::parse(opts, "parzen()")?;
    let n = o.samples.try_get("samples", "parzen()")?;
    let sigma = o.sigma.map(|s| s.0);
    let dim = gan.lock().gan.data_dim();
    crate::eval::check_sample_count(n, dim)
        .or_else(|e| err(format!("option `samples` of parzen(): {e:#}")))?;
    let on = trained_on(h, gan, "parzen()")?;
    let (valid, test) = match on.set {
        // MNIST splits come from the session's cache (read once, counted in its memory budget).
        EvalSet::Mnist => (h.mnist("valid"), h.mnist("test")),
        set => {
            let load = |s| set.load(&h.config.data_dir, s).map(Arc::new);
            (
                load(crate::data::MnistSplit::Valid),
                load(crate::data::MnistSplit::Test),
            )
        }
    };
    let valid = valid.or_else(|e| err(format!("{e:#}")))?;
    let test = test.or_else(|e| err(format!("{e:#}")))?;
    let r = crate::eval::gan_parzen(&mut gan.lock().gan, on.range, &valid, &test, n, sigma)
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
